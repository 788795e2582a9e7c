"""deploy: remove this environment's old app images and all their snapshots, but never an image a
live group launches from (the original deleted the one just deployed, breaking every later
scale-out), nor one of the KEEP_IMAGES most recently released (the live and the previous release,
for rollback). The release order is kept on the images as the tag Released=<stamp>. Then the app's
primal images past the KEEP_PRIMAL_IMAGES newest (and the one this release used). CLEANUP=no keeps
every image."""

from core.groups import environment_groups
from core.images import app_images, delete_image, environment_images, images_in_use, released
from core.release import alone
from core.step import Step, run


def cleanup_image(step: Step) -> None:
    settings = step.settings
    images = environment_images(step)
    stamps = mark_released(step, images)
    if not settings.cleanup:
        step.say("CLEANUP=no: keeping every image.")
        return
    by_release = sorted(images, key=lambda image: (stamps[image["ImageId"]], image["CreationDate"]), reverse=True)
    in_use = images_in_use(step, environment_groups(step))
    keep = {image["ImageId"] for image in by_release[:settings.keep_images]} | in_use | {settings.image_id}
    outdated = [image for image in by_release if image["ImageId"] not in keep]
    step.say(f"keeping image(s) {' '.join(sorted(keep - {None})) or 'none'}; {len(outdated)} to remove")
    for image in outdated:
        delete_image(step, image)
    cleanup_primal_images(step)


def cleanup_primal_images(step: Step) -> None:
    """The app's primal images are shared by its environments: keep the KEEP_PRIMAL_IMAGES newest,
    the one this release was baked from and PRIMAL_ID; the older ones bill for nothing."""
    settings = step.settings
    primal = app_images(step, "primal")
    keep = {image["ImageId"] for image in primal[:settings.keep_primal_images]}
    keep |= {step.state().get("primal_id"), settings.primal_id} - {None}
    outdated = [image for image in primal if image["ImageId"] not in keep]
    if outdated:
        step.say(f"keeping primal image(s) {' '.join(sorted(keep))}; {len(outdated)} older to remove")
    for image in outdated:
        delete_image(step, image)


def mark_released(step: Step, images: list[dict]) -> dict[str, str]:
    """Tag this release's image Released=<stamp>; return every image's release stamp."""
    state = step.state()
    stamps = {image["ImageId"]: released(image) for image in images}
    image_id, stamp = state.get("image_id"), state.get("stamp")
    if image_id in stamps and stamp and stamps[image_id] != stamp:
        step.client("ec2").create_tags(Resources=[image_id], Tags=[{"Key": "Released", "Value": stamp}])
        stamps[image_id] = stamp
    return stamps


if __name__ == "__main__":
    run("deploy", alone(cleanup_image))
