"""deploy: bake the `primal` base image with Packer, only when needed: PRIMAL_ID given, or an image
baked from the same inputs (template and the files it provisions, fingerprinted in the tag
PrimalFingerprint), means no bake."""

import hashlib
import os

from aws import search, tag_filters
from check_deploy import require_image
from packer import bake
from settings import ROOT
from step import Step, run

TEMPLATE = ROOT / "deploy/templates/primal.json"


def primal_image(step: Step) -> None:
    settings = step.settings
    if settings.primal_id:
        require_image(step, settings.primal_id, "PRIMAL_ID")
        step.say(f"skipping primal image build, using {settings.primal_id}")
        step.remember(primal_id=settings.primal_id)
        return
    fingerprint = inputs_fingerprint(settings.base_ami)
    reusable = primal_images(step, fingerprint)
    if reusable:
        step.say(f"reusing primal image {reusable[0]['ImageId']} (its inputs are unchanged)")
        step.remember(primal_id=reusable[0]["ImageId"])
        return
    step.say("building primal image with packer...")
    image_id = bake(settings.packer, TEMPLATE, {
        **packer_variables(step), "base_ami": settings.base_ami, "fingerprint": fingerprint,
    }, only=packer_builder(), log_file=settings.log_dir / "packer-primal.log")
    step.client("ec2").get_waiter("image_available").wait(
        ImageIds=[image_id], WaiterConfig={"Delay": 15, "MaxAttempts": 120})
    step.say(f"built image {image_id}")
    step.remember(primal_id=image_id)


def inputs_fingerprint(base_ami: str) -> str:
    """A digest of the base image and every file the primal bake reads, by path and content."""
    digest = hashlib.sha256(base_ami.encode() + b"\0")
    files = [TEMPLATE] + sorted(p for p in (ROOT / "deploy/primal").rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def primal_images(step: Step, fingerprint: str) -> list[dict]:
    tags = {"App": step.settings.app_name, "Role": "primal", "PrimalFingerprint": fingerprint}
    filters = [*tag_filters(tags), {"Name": "state", "Values": ["available"]}]
    images = search(step.client("ec2"), "describe_images", "Images[]", Owners=["self"], Filters=filters)
    return sorted(images, key=lambda image: image["CreationDate"], reverse=True)


def packer_variables(step: Step) -> dict[str, str]:
    """What both templates need: where to bake, with which instance type, named by the release."""
    settings = step.settings
    return {
        "region": step.aws.region,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL_EC2") or os.environ.get("AWS_ENDPOINT_URL", ""),
        "instance_type": settings.instance_type,
        "app_name": settings.app_name,
        "stamp": step.recall("stamp", made_by="check-deploy"),
    }


def packer_builder() -> str:
    """An emulator (AWS_ENDPOINT_URL set) runs no machines: bake there without ssh or provisioners."""
    return "emulator" if os.environ.get("AWS_ENDPOINT_URL") else "aws"


if __name__ == "__main__":
    run("deploy", primal_image)
