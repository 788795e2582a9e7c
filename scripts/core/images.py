"""The app's images: the fingerprints of what they are baked from (primal's, reused when an image of
the same inputs exists), this environment's app images (carnivore), which of them live groups use,
and removing one with all of its snapshots."""

import hashlib
from collections.abc import Iterable
from pathlib import Path

import jmespath

from .aws import search, tag_filters
from .settings import ROOT
from .step import Context, StepError

IMAGES = "Images[]"
SNAPSHOT_IDS = "BlockDeviceMappings[].Ebs.SnapshotId"
TEMPLATE_VERSION = "[].LaunchTemplate.[LaunchTemplateId, Version]"
TEMPLATE_IMAGE = "LaunchTemplateVersions[0].LaunchTemplateData.ImageId"
CONFIGURATION_IMAGES = "LaunchConfigurations[].ImageId"
RELEASED = "Tags[?Key == 'Released'].Value | [0]"


def environment_images(step: Context) -> list[dict]:
    """This environment's carnivore images."""
    filters = tag_filters({**step.settings.ownership_tags, "Role": "carnivore"})
    return search(step.client("ec2"), "describe_images", IMAGES, Owners=["self"], Filters=filters)


def app_images(step: Context, role: str, *filters: dict) -> list[dict]:
    """The app's images of a role (primal, or every environment's carnivore) that also match
    `filters`, the newest first."""
    filters = [*tag_filters({"App": step.settings.app_name, "Role": role}), *filters]
    found = search(step.client("ec2"), "describe_images", IMAGES, Owners=["self"], Filters=filters)
    return sorted(found, key=lambda image: image["CreationDate"], reverse=True)


def fingerprint(seed: str, files: Iterable[tuple[str, Path]]) -> str:
    """A digest of what an image is baked from: the image it starts from (`seed`) and every file
    the bake reads, each by its name and content."""
    digest = hashlib.sha256(seed.encode() + b"\0")
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def baked_from(step: Context, role: str, tag: str, inputs: str) -> list[dict]:
    """The app's available images of `role` whose tag `tag` is the fingerprint `inputs`, the newest first."""
    return app_images(step, role, *tag_filters({tag: inputs}), {"Name": "state", "Values": ["available"]})


def bake_files(role: str) -> list[tuple[str, Path]]:
    """The project's files a bake of `role` reads, by their names in it: its template
    (deploy/templates/<role>.json) and every file of deploy/<role>/."""
    files = [ROOT / f"deploy/templates/{role}.json", *sorted(p for p in (ROOT / "deploy" / role).rglob("*")
                                                            if p.is_file())]
    return [(str(path.relative_to(ROOT)), path) for path in files]


def reusable_primal(step: Context, base_ami: str) -> tuple[str, str | None]:
    """(the fingerprint of what primal is baked from: the base image and its bake's files; the newest
    available primal image baked from it, or None), looked up once per run: check-deploy validates
    the primal template only when it will be baked, and the run's plan and its primal-image step
    take the same answer."""
    key = f"primal from {base_ami}"
    if key not in step.looked_up:
        inputs = fingerprint(base_ami, bake_files("primal"))
        found = baked_from(step, "primal", "PrimalFingerprint", inputs)
        step.looked_up[key] = inputs, found[0]["ImageId"] if found else None
    return step.looked_up[key]


def released(image: dict) -> str:
    """When the image last went live (tag Released=<stamp>, set by cleanup-image); "" if never."""
    return jmespath.search(RELEASED, image) or ""


def images_in_use(step: Context, groups: list[dict]) -> set[str]:
    """The images the groups launch from (their pinned template versions or configurations)."""
    ec2, used = step.client("ec2"), set()
    for template_id, version in jmespath.search(TEMPLATE_VERSION, groups) or []:
        found = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[version])
        used.add(jmespath.search(TEMPLATE_IMAGE, found))
    configurations = [g["LaunchConfigurationName"] for g in groups if g.get("LaunchConfigurationName")]
    if configurations:
        found = step.client("autoscaling").describe_launch_configurations(LaunchConfigurationNames=configurations)
        used.update(jmespath.search(CONFIGURATION_IMAGES, found))
    return used - {None}


def delete_image(step: Context, image: dict) -> None:
    ec2 = step.client("ec2")
    step.say(f"deregistering image {image['ImageId']} ({image.get('Name')})...")
    ec2.deregister_image(ImageId=image["ImageId"])
    for snapshot in jmespath.search(SNAPSHOT_IDS, image) or []:
        step.say(f"deleting snapshot {snapshot}...")
        ec2.delete_snapshot(SnapshotId=snapshot)


def require_image(step: Context, image_id: str, setting: str, baked_from: bool = False) -> dict:
    """The image, available in the region; `baked_from`: one Packer's amazon-ebs can start from
    (EBS-backed: it refuses an instance-store image only once its build instance runs)."""
    images = step.client("ec2").describe_images(
        Filters=[{"Name": "image-id", "Values": [image_id]}, {"Name": "state", "Values": ["available"]}])["Images"]
    if not images:
        raise StepError(f"{setting}={image_id} is not an available image in {step.aws.region}: fix {setting}")
    if baked_from and images[0].get("RootDeviceType") != "ebs":
        raise StepError(f"{setting}={image_id} is {images[0].get('RootDeviceType')}-backed: Packer's amazon-ebs bakes "
                        "from an EBS-backed image only; choose one")
    return images[0]
