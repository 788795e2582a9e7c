"""deploy: bake the `carnivore` app image from primal with the app staged in tmp/$NODE_ENV/appserver, unless
IMAGE_ID is given (then that image is used, and never deleted by this deploy), or an image of the
app (baked by any of its environments) from the same inputs exists: the staged app (APP_FILES and the build; not the
app config, which the instances get at boot), the carnivore template and its files, and the
primal image, fingerprinted in the tag AppFingerprint. The image id comes from Packer's
machine-readable artifact line; a failed or id-less bake stops the deploy here, before any group
changes."""

from dataclasses import replace
from pathlib import Path

from core import history
from core.images import bake_files, baked_from, fingerprint, require_image
from core.packer import bake_image
from core.plan import Change, Planned
from core.release import alone
from core.settings import Settings
from core.step import Step, StepError, run


def decide(settings: Settings, stamp: str, primal: str, reusable: str = "") -> Change:
    if settings.image_id:
        return Change("reuse", f"app image {settings.image_id}", why="IMAGE_ID")
    subject = f"app image of release {stamp}"
    if reusable:
        return Change("bake", subject, f"skipped, an image of the same inputs exists ({reusable})")
    return Change("bake", subject, f"carnivore from {primal}", pending="its image id")


def inputs_fingerprint(primal_id: str, stage: Path) -> str:
    """The primal image and every file the carnivore bake reads: the template, its files, the stage."""
    staged = [(f"stage/{path.relative_to(stage)}", path) for path in sorted(stage.rglob("*")) if path.is_file()]
    return fingerprint(primal_id, bake_files("carnivore") + staged)


def plan(step: Step, planned: Planned) -> list[Change]:
    if step.settings.image_from:
        return [Change("reuse", f"app image {planned.image}", why=f"live in {planned.origin}")]
    change = decide(step.settings, planned.stamp, planned.primal)
    if step.settings.image_id:
        require_image(step, step.settings.image_id, "IMAGE_ID")
    if change.pending:  # whether an image of the same inputs exists is known once the app is built
        change = replace(change, pending="its image id; no bake when an image of the same inputs exists (known "
                                         "once the app is built)")
    planned.image, planned.image_pending = step.settings.image_id or "the app image baked above", change.pending
    return [change]


def deployment_image(step: Step) -> None:
    settings = step.settings
    stamp = step.recall("stamp", made_by="check-deploy")
    if settings.image_from:  # check-deploy found it: the image of that environment's live release
        image_id = step.recall("image_id", made_by="check-deploy")
        origin = (history.release_of(history.releases(step), stamp) or {}).get("image_from", settings.image_from)
        step.say(f"-> {Change('reuse', f'app image {image_id}', why=f'live in {origin}').line()}")
        return
    if settings.image_id:
        require_image(step, settings.image_id, "IMAGE_ID")
        step.say(f"-> {decide(settings, stamp, '').line()}")
        step.remember(image_id=settings.image_id, image_baked=False)
        history.update(step, image=settings.image_id, image_from="IMAGE_ID")
        return
    primal_id = step.recall("primal_id", made_by="primal-image")
    if not settings.stage_dir.is_dir():
        raise StepError(f"nothing staged for {settings.node_env}: run "
                        f"`NODE_ENV={settings.node_env} make build-app copy-over` first")
    inputs = inputs_fingerprint(primal_id, settings.stage_dir)
    found = baked_from(step, "carnivore", "AppFingerprint", inputs)  # by any environment: it holds no settings
    reusable = found[0]["ImageId"] if found else ""
    step.say(f"-> {decide(settings, stamp, primal_id, reusable).line()}")
    if reusable:
        image_id = reusable
        step.remember(image_id=image_id, image_baked=False)  # never deleted by a rollback of this release
    else:
        image_id = bake_image(step, "carnivore", {"NODE_ENV": settings.node_env, "SOURCE_ID": primal_id,
                                                  "stage": str(settings.stage_dir), "fingerprint": inputs},
                              remember=lambda image_id: step.remember(image_id=image_id, image_baked=True))
    history.update(step, image=image_id, image_from="same inputs as an earlier bake" if reusable else "baked")


if __name__ == "__main__":
    run("deploy", alone(deployment_image))
