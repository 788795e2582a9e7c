"""deploy: remove this environment's old app images and all their snapshots, but never an image a
live group launches from (the original deleted the one just deployed, breaking every later
scale-out), nor one of the KEEP_IMAGES most recently released (the live and the previous release,
for rollback), nor one another environment of the app runs or can roll back to (it may have
promoted it: IMAGE_FROM). The release order is kept on the images as the tag Released=<stamp>. Then the app's
primal images past the KEEP_PRIMAL_IMAGES newest (and the one this release used). CLEANUP=no keeps
every image."""

from collections.abc import Callable

from core.aws import tag_value
from core.groups import app_groups
from core.images import app_images, delete_image, environment_images, images_in_use, released
from core.plan import Change, Planned, carry_out
from core.release import alone, needed_elsewhere
from core.settings import Settings
from core.step import Step, run

Remove = Callable[[dict], None] | None  # what deletes an image (None: a plan, deleting nothing)


def deletions(images: list[dict], newest: int, kept: set[str | None], what: str, detail: Callable[[dict], str],
              why: str, remove: Remove) -> tuple[set[str], list[Change]]:
    """Of `images`, the newest first: (those kept, the deletion of the others): the `newest` first
    ones and `kept` stay."""
    keep = ({image["ImageId"] for image in images[:newest]} | kept) - {None}
    return keep, [Change("delete", f"{what} {image['ImageId']}", detail(image), why,
                         do=remove and (lambda image=image: remove(image)))
                  for image in images if image["ImageId"] not in keep]


def image_deletions(settings: Settings, by_release: list[dict], in_use: set[str],
                    remove: Remove = None) -> tuple[set[str], list[Change]]:
    """Given the environment's app images, the latest released first: (those kept, the deletions)."""
    return deletions(by_release, settings.keep_images, in_use | {settings.image_id}, "image",
                     lambda image: f"released {released(image) or 'never'}, with its snapshots",
                     f"beyond KEEP_IMAGES={settings.keep_images}, in use nowhere", remove)


def primal_deletions(settings: Settings, primal: list[dict], used: set[str],
                     remove: Remove = None) -> tuple[set[str], list[Change]]:
    """The app's primal images are shared by its environments: keep the KEEP_PRIMAL_IMAGES newest,
    the one this release was baked from and PRIMAL_ID (`used`); the older ones bill for nothing."""
    return deletions(primal, settings.keep_primal_images, used | {settings.primal_id}, "primal image",
                     lambda image: f"made {image['CreationDate'][:10]}, with its snapshots",
                     f"beyond KEEP_PRIMAL_IMAGES={settings.keep_primal_images}", remove)


def by_release(images: list[dict], stamps: dict[str, str]) -> list[dict]:
    return sorted(images, key=lambda image: (stamps[image["ImageId"]], image["CreationDate"]), reverse=True)


def plan(step: Step, planned: Planned) -> list[Change]:
    """The images cleanup-image will delete once the release serves: its image (maybe new) is
    the latest released, the only one a group launches from."""
    settings = step.settings
    if not settings.cleanup:
        return []
    images = environment_images(step)
    stamps = {image["ImageId"]: released(image) for image in images}
    new = {"ImageId": planned.image, "CreationDate": "~"}  # after every date: the newest
    if planned.image in stamps:  # reused: released again now
        new = next(image for image in images if image["ImageId"] == planned.image)
    stamps[planned.image] = planned.stamp
    ordered = by_release([new, *(image for image in images if image["ImageId"] != planned.image)], stamps)
    _, deletions = image_deletions(settings, ordered, {planned.image} | needed_elsewhere(step))
    primal = app_images(step, "primal")
    if planned.primal and not any(image["ImageId"] == planned.primal for image in primal):
        primal = [{"ImageId": planned.primal, "CreationDate": "~"}, *primal]  # baked by this release
    return deletions + primal_deletions(settings, primal, {planned.primal} - {""})[1]


def cleanup_image(step: Step) -> None:
    settings = step.settings
    images = environment_images(step)
    stamps = mark_released(step, images)
    if not settings.cleanup:
        step.say("CLEANUP=no: keeping every image.")
        return
    groups = app_groups(step)  # this environment's, and the others' (they may run its images)
    own = [group for group in groups if tag_value(group, "Environment") == settings.node_env]
    in_use = images_in_use(step, own) | needed_elsewhere(step, groups)
    remove = lambda image: delete_image(step, image)  # noqa: E731
    keep, deletions = image_deletions(settings, by_release(images, stamps), in_use, remove)
    step.say(f"keeping image(s) {' '.join(sorted(keep)) or 'none'}; {len(deletions)} to remove")
    carry_out(deletions, step.say)
    keep, deletions = primal_deletions(settings, app_images(step, "primal"), {step.state().primal_id}, remove)
    if deletions:
        step.say(f"keeping primal image(s) {' '.join(sorted(keep))}; {len(deletions)} older to remove")
    carry_out(deletions, step.say)


def mark_released(step: Step, images: list[dict]) -> dict[str, str]:
    """Tag this release's image Released=<stamp>; return every image's release stamp."""
    state = step.state()
    stamps = {image["ImageId"]: released(image) for image in images}
    image_id, stamp = state.image_id, state.stamp
    if image_id in stamps and stamp and stamps[image_id] != stamp:
        step.client("ec2").create_tags(Resources=[image_id], Tags=[{"Key": "Released", "Value": stamp}])
        stamps[image_id] = stamp
    return stamps


if __name__ == "__main__":
    run("deploy", alone(cleanup_image))
