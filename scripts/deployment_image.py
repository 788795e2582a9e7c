"""deploy: bake the `carnivore` app image from primal with the app staged in tmp/$NODE_ENV/appserver, unless
IMAGE_ID is given (then that image is used, and never deleted by this deploy). The image id comes
from Packer's machine-readable artifact line; a failed or id-less bake stops the deploy here,
before any group changes."""

from core import history
from core.images import require_image
from core.packer import bake_image
from core.release import alone
from core.step import Step, StepError, run


def deployment_image(step: Step) -> None:
    settings = step.settings
    if settings.image_id:
        require_image(step, settings.image_id, "IMAGE_ID")
        step.say(f"skipping deployment image build, using {settings.image_id}")
        step.remember(image_id=settings.image_id, image_baked=False)
        history.update(step, image=settings.image_id)
        return
    primal_id = step.recall("primal_id", made_by="primal-image")
    if not settings.stage_dir.is_dir():
        raise StepError(f"nothing staged for {settings.node_env}: run "
                        f"`NODE_ENV={settings.node_env} make build-app copy-over` first")
    image_id = bake_image(step, "carnivore", {"NODE_ENV": settings.node_env, "SOURCE_ID": primal_id,
                                              "stage": str(settings.stage_dir)},
                          remember=lambda image_id: step.remember(image_id=image_id, image_baked=True))
    history.update(step, image=image_id)


if __name__ == "__main__":
    run("deploy", alone(deployment_image))
