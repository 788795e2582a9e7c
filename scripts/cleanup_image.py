"""deploy: remove this environment's old app images and all their snapshots, but never an image a
live group launches from (the original deleted the one just deployed, breaking every later
scale-out), nor one of the KEEP_IMAGES newest (the live and the previous release, for rollback).
CLEANUP=no keeps every image."""

from groups import environment_groups
from images import delete_image, environment_images, images_in_use
from step import Step, run


def cleanup_image(step: Step) -> None:
    settings = step.settings
    if not settings.cleanup:
        step.say("CLEANUP=no: keeping every image.")
        return
    in_use = images_in_use(step, environment_groups(step))
    images = environment_images(step)
    keep = {image["ImageId"] for image in images[:settings.keep_images]} | in_use | {settings.image_id}
    outdated = [image for image in images if image["ImageId"] not in keep]
    step.say(f"keeping image(s) {' '.join(sorted(keep - {None})) or 'none'}; {len(outdated)} to remove")
    for image in outdated:
        delete_image(step, image)


if __name__ == "__main__":
    run("deploy", cleanup_image)
