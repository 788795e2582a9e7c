"""deploy: check, before anything is baked or launched, that setup has run for this environment
(its load balancer exists and is its own), that images given as PRIMAL_ID or IMAGE_ID exist, and
that what a bake needs is there. Starts the release: picks the stamp the other steps use."""

import shutil
import time

from balancer import load_balancer
from step import Step, StepError, run


def check_deploy(step: Step) -> None:
    settings = step.settings
    step.say(f"checking {settings.elb_name} and the images to use...")
    check_load_balancer(step)
    for key, image in (("PRIMAL_ID", settings.primal_id), ("IMAGE_ID", settings.image_id)):
        if image:
            require_image(step, image, key)
    if not settings.image_id:
        if not settings.primal_id and not settings.base_ami:
            raise StepError("BASE_AMI is not set: name the image primal is baked from, or set PRIMAL_ID")
        if not shutil.which(settings.packer):
            raise StepError(f"packer not found ({settings.packer}): install it (apt-get install packer) or set PACKER")
    begin_release(step)


def check_load_balancer(step: Step) -> None:
    balancer = load_balancer(step)
    balancer.require()
    balancer.check_ownership()


def begin_release(step: Step) -> None:
    """Pick this release's stamp (its group and image names carry it; never the last one again)."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    if stamp <= step.state().get("stamp", ""):
        time.sleep(1)
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    step.begin_release(stamp)
    step.say(f"release {stamp}: ok")


def require_image(step: Step, image_id: str, setting: str) -> dict:
    images = step.client("ec2").describe_images(
        Filters=[{"Name": "image-id", "Values": [image_id]}, {"Name": "state", "Values": ["available"]}])["Images"]
    if not images:
        raise StepError(f"{setting}={image_id} is not an available image in {step.aws.region}: fix {setting}")
    return images[0]


if __name__ == "__main__":
    run("deploy", check_deploy)
