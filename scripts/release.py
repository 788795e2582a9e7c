"""The release in flight: the new group (and image) a deploy has launched but that does not
serve yet. Undoing it is the rollback every failure and interruption before cutover gets."""

from groups import delete_launch_templates, retire
from images import delete_image, environment_images
from step import Step


def in_flight(step: Step) -> bool:
    """Something of this release exists that does not serve: a new group not yet healthy at the
    load balancer, or a freshly baked image."""
    state = step.state()
    unserved_group = state.get("group_name") and state.get("serving") != state.get("group_name")
    return bool(unserved_group or (state.get("image_baked") and not state.get("serving")))


def roll_back(step: Step) -> None:
    """Remove what this release added: its group and launch template, and its image when this
    deploy baked it. The outdated groups are not touched: they still serve."""
    state = step.state()
    if state.get("group_name"):
        step.say(f"rolling back: removing {state['group_name']}...")
        retire(step, [state["group_name"]])
    if state.get("launch_template_id"):  # the group may never have been created
        try:
            delete_launch_templates(step, {state["launch_template_id"]})
        except step.client("ec2").exceptions.ClientError as error:
            if "NotFound" not in error.response["Error"]["Code"]:
                raise
    if state.get("image_baked") and state.get("image_id"):
        for image in environment_images(step):
            if image["ImageId"] == state["image_id"]:
                delete_image(step, image)
    step.remember(group_name=None, launch_template_id=None, image_baked=False)
