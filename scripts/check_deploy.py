"""deploy: check, before anything is baked or launched, that the environment has its app config
(deploy/env/$NODE_ENV.json), that setup has run for it (its load balancer and security groups
exist and are its own), that the SOAK_ALARMS exist, that images given as PRIMAL_ID or IMAGE_ID
exist, that what a bake needs is there, and that the templates to bake pass `packer validate`
with the release's variables (offline). Starts the release: picks the stamp the other steps use."""

import shutil

from core.alarms import alarm_states
from core.balancer import check_load_balancer, load_balancer
from core.images import require_image, reusable_primal
from core.network import instance_security_groups
from core.packer import validate_templates
from core.plan import Change, Planned
from core.release import app_user_data, begin_release, missing_app_config, promoted
from core.step import Step, StepError, run


def check_app_config(step: Step) -> None:
    """A new environment's missing app config, said before the lock or a bake."""
    missing = missing_app_config(step)
    if missing:
        raise StepError(missing)
    app_user_data(step.settings)  # valid, and not too large


def plan(step: Step, planned: Planned) -> list[Change]:
    """Planned ahead: the checks that read AWS, once setup has made the load balancer, and the
    release IMAGE_FROM promotes (its image); no change."""
    check_app_config(step)
    if load_balancer(step).made():
        checks(step)
    if step.settings.image_from:
        source = promoted(step)
        planned.image = source["image"]
        planned.origin = f"{step.settings.image_from} release {source['stamp']}"
    return []


def check_deploy(step: Step) -> None:
    settings = step.settings
    check_app_config(step)
    checks(step)
    source = promoted(step) if settings.image_from else None
    if source:
        origin = f"{settings.image_from} release {source['stamp']}"
        step.say(f"promoting the image of {origin}, {source['image']}: live there"
                 + (f", its soak passed at {source['soak_ends']}" if source.get("soak_ends") else ""))
        begin_release(step, "deploy", image=source["image"], image_from=origin)
        step.remember(image_id=source["image"], image_baked=False)
    else:
        begin_release(step, "deploy")
    check_templates(step)


def checks(step: Step) -> None:
    settings = step.settings
    step.say(f"checking {settings.elb_name} and the images to use...")
    check_load_balancer(step)
    if settings.scaling_metric == "requests" and not load_balancer(step).COUNTS_REQUESTS:
        raise StepError("SCALING_METRIC=requests counts an application load balancer's requests; this environment's "
                        f"is {load_balancer(step).kind}: use SCALING_METRIC=cpu")
    instance_security_groups(step)  # setup made them; SECURITY_GROUPS exist
    alarm_states(step)  # SOAK_ALARMS exist
    for key, image in (("PRIMAL_ID", settings.primal_id), ("IMAGE_ID", settings.image_id)):
        if image:
            require_image(step, image, key, baked_from=key == "PRIMAL_ID" and not settings.image_id)
    if settings.bakes:
        if not settings.primal_id and not settings.base_ami:
            raise StepError("BASE_AMI is not set: name the image primal is baked from, or set PRIMAL_ID")
        if not settings.primal_id:  # before anything is baked: a bake finds out minutes later
            require_image(step, settings.base_ami, "BASE_AMI", baked_from=True)
        if not shutil.which(settings.packer):
            raise StepError(f"packer not found ({settings.packer}): install it (apt-get install packer) or set PACKER")


check_deploy.before_lock = check_app_config  # see scripts/pipeline.py


def check_templates(step: Step) -> None:
    """packer validate the templates this release will bake, with its variables (an image it
    does not have yet stands in as the source): primal's only when no image of its inputs exists."""
    settings = step.settings
    if not settings.bakes:
        return
    primal = None
    if not settings.primal_id and not reusable_primal(step, settings.base_ami)[1]:  # primal will be baked
        primal = {"base_ami": settings.base_ami, "fingerprint": "validate", "NODE_ENV": settings.node_env}
    carnivore = {"NODE_ENV": settings.node_env, "SOURCE_ID": settings.primal_id or settings.base_ami,
                 "fingerprint": "validate",
                 "stage": str(settings.stage_dir)}
    validate_templates(step, primal, carnivore)
    step.say(f"packer templates: valid ({'primal and carnivore' if primal else 'carnivore; primal is not baked'})")


if __name__ == "__main__":
    run("deploy", check_deploy)
