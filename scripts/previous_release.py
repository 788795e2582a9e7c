"""rollback: start a release of the previous release's image (kept by the image retention rule),
to go through the same safe path as a deploy, without baking: new group, wait until healthy at
the load balancer, then retire the current one."""

from core.balancer import check_load_balancer
from core.groups import environment_groups
from core.images import environment_images, images_in_use, released
from core.release import begin_release
from core.step import Step, StepError, run


def previous_release(step: Step) -> None:
    check_load_balancer(step)
    live = images_in_use(step, environment_groups(step))
    earlier = sorted((released(image), image["ImageId"]) for image in environment_images(step)
                     if released(image) and image["ImageId"] not in live)
    if not earlier:
        raise StepError(f"no earlier release of {step.settings.node_env} is kept to roll back to "
                        f"(live: {' '.join(sorted(live)) or 'none'})")
    stamp, image_id = earlier[-1]
    step.say(f"rolling back to {image_id}, released {stamp}")
    begin_release(step)
    step.remember(image_id=image_id, image_baked=False)


if __name__ == "__main__":
    run("rollback", previous_release)
