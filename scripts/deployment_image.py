"""deploy: bake the `carnivore` app image from primal with the app staged in tmp/$NODE_ENV/appserver, unless
IMAGE_ID is given (then that image is used, and never deleted by this deploy). The image id comes
from Packer's machine-readable artifact line; a failed or id-less bake stops the deploy here,
before any group changes."""

from core import history
from core.images import require_image
from core.packer import bake_image
from core.plan import Change, Planned
from core.release import alone
from core.settings import Settings
from core.step import Step, StepError, run


def decide(settings: Settings, stamp: str, primal: str) -> Change:
    if settings.image_id:
        return Change("reuse", f"app image {settings.image_id}", why="IMAGE_ID")
    return Change("bake", f"app image of release {stamp}", f"carnivore from {primal}", pending="its image id")


def plan(step: Step, planned: Planned) -> list[Change]:
    change = decide(step.settings, planned.stamp, planned.primal)
    if step.settings.image_id:
        require_image(step, step.settings.image_id, "IMAGE_ID")
    planned.image = step.settings.image_id or "the app image baked above"
    planned.image_pending = change.pending
    return [change]


def deployment_image(step: Step) -> None:
    settings = step.settings
    stamp = step.recall("stamp", made_by="check-deploy")
    if settings.image_id:
        require_image(step, settings.image_id, "IMAGE_ID")
        step.say(f"-> {decide(settings, stamp, '').line()}")
        step.remember(image_id=settings.image_id, image_baked=False)
        history.update(step, image=settings.image_id)
        return
    primal_id = step.recall("primal_id", made_by="primal-image")
    if not settings.stage_dir.is_dir():
        raise StepError(f"nothing staged for {settings.node_env}: run "
                        f"`NODE_ENV={settings.node_env} make build-app copy-over` first")
    step.say(f"-> {decide(settings, stamp, primal_id).line()}")
    image_id = bake_image(step, "carnivore", {"NODE_ENV": settings.node_env, "SOURCE_ID": primal_id,
                                              "stage": str(settings.stage_dir)},
                          remember=lambda image_id: step.remember(image_id=image_id, image_baked=True))
    history.update(step, image=image_id)


if __name__ == "__main__":
    run("deploy", alone(deployment_image))
