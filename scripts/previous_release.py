"""rollback: start a release of the image of the release before the live one, to go through the
same safe path as a deploy, without baking: new group, wait until healthy at the load balancer,
then retire the current one. "Before" is by the release history in AWS (core/history.py): the
newest release older than the one the live group runs that went live and whose image is still
kept (KEEP_IMAGES). So a second rollback goes further back, never forward; when nothing older is
kept it says so. An environment with no history yet (deployed by an older version of this tool)
goes back to the newest kept image that is not live, by the images' Released tags."""

from core import history
from core.alarms import alarm_states
from core.balancer import check_load_balancer
from core.groups import environment_groups
from core.images import environment_images, images_in_use, released
from core.plan import Change, Planned
from core.release import begin_release
from core.step import Step, StepError, run


def choose(step: Step) -> tuple[str, str, str]:
    """(the image to go back to, the release it restores, why): reads alone."""
    check_load_balancer(step)
    alarm_states(step)  # SOAK_ALARMS exist
    groups = environment_groups(step)
    running, kept = images_in_use(step, groups), {image["ImageId"]: image for image in environment_images(step)}
    releases = history.releases(step)
    kept |= promoted_images(step, releases, kept)
    leaving = history.live(releases, history.live_stamps(step, groups))
    if leaving is None:
        return by_images(step, running, kept)
    earlier = [release for release in releases if release["outcome"] == history.SERVED
               and history.origin(release) < history.origin(leaving)
               and release.get("image") in kept and release.get("image") not in running]
    if not earlier:
        raise StepError(f"no release of {step.settings.node_env} older than {history.origin(leaving)} (the live one) "
                        "is kept to roll back to: KEEP_IMAGES says how many images are kept")
    target = max(earlier, key=history.origin)
    return (target["image"], history.origin(target), f"leaving release {leaving['stamp']} ({leaving['image']}); "
            f"going back to release {history.origin(target)} ({target['image']})")


def promoted_images(step: Step, releases: list[dict], kept: dict[str, dict]) -> dict[str, dict]:
    """The images of this environment's releases that another environment baked (IMAGE_FROM), still there."""
    others = sorted({r["image"] for r in releases if r.get("image") and r["image"] not in kept})
    if not others:
        return {}
    found = step.client("ec2").describe_images(Filters=[{"Name": "image-id", "Values": others},
                                                        {"Name": "state", "Values": ["available"]}])["Images"]
    return {image["ImageId"]: image for image in found}


def by_images(step: Step, running: set[str], kept: dict[str, dict]) -> tuple[str, str, str]:
    """No history of the live release: the newest kept image that is not live, by its Released tag."""
    earlier = sorted((released(image), image_id) for image_id, image in kept.items()
                     if released(image) and image_id not in running)
    if not earlier:
        raise StepError(f"no earlier release of {step.settings.node_env} is kept to roll back to "
                        f"(live: {' '.join(sorted(running)) or 'none'})")
    stamp, image_id = earlier[-1]
    return image_id, stamp, f"no release history of the live group; going back to {image_id}, released {stamp}"


def plan(step: Step, planned: Planned) -> list[Change]:
    """No change: the image the rollback launches again."""
    planned.image, _, _ = choose(step)
    planned.primal = ""
    return []


def previous_release(step: Step) -> None:
    image_id, restores, why = choose(step)
    step.say(why)
    go_back(step, image_id, restores)


def go_back(step: Step, image_id: str, restores: str) -> None:
    begin_release(step, "rollback", image=image_id, restores=restores)
    step.remember(image_id=image_id, image_baked=False)


if __name__ == "__main__":
    run("rollback", previous_release)
