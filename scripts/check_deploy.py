"""deploy: check, before anything is baked or launched, that the environment has its app config
(deploy/env/$NODE_ENV.json), that setup has run for it
(its load balancer and security groups exist and are its own), that images given as PRIMAL_ID or IMAGE_ID exist, and
that what a bake needs is there. Starts the release: picks the stamp the other steps use."""

import shutil

from core.balancer import check_load_balancer
from core.images import require_image
from core.network import instance_security_groups
from core.release import begin_release, missing_app_config
from core.step import Step, StepError, run


def check_deploy(step: Step) -> None:
    settings = step.settings
    step.say(f"checking {settings.elb_name} and the images to use...")
    missing = missing_app_config(step)
    if missing:
        raise StepError(missing)
    check_load_balancer(step)
    instance_security_groups(step)  # setup made them; SECURITY_GROUPS exist
    for key, image in (("PRIMAL_ID", settings.primal_id), ("IMAGE_ID", settings.image_id)):
        if image:
            require_image(step, image, key)
    if not settings.image_id:
        if not settings.primal_id and not settings.base_ami:
            raise StepError("BASE_AMI is not set: name the image primal is baked from, or set PRIMAL_ID")
        if not shutil.which(settings.packer):
            raise StepError(f"packer not found ({settings.packer}): install it (apt-get install packer) or set PACKER")
    begin_release(step)


if __name__ == "__main__":
    run("deploy", check_deploy)
