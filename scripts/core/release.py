"""The release in flight: the new group (and image) a deploy has launched but that does not
serve yet. Undoing it is the rollback every failure and interruption before cutover gets. Its
start and its outcome go to the release history in AWS (core/history.py)."""

import json
import time
from collections.abc import Callable

from . import history
from .aws import tag_value
from .groups import app_groups, bring_back, environment_groups, retire
from .images import delete_image, environment_images, images_in_use, require_image
from .lock import deploy_lock
from .settings import ROOT, Settings, values
from .step import Step, StepError

ENDED = ("rolled back", "interrupted", "rollback failed")


def in_flight(step: Step) -> bool:
    """Something of this release exists that does not serve: a new group not yet healthy at the
    load balancer, or a freshly baked image; or it is in its soak, the old instances kept warm."""
    state = step.state()
    unserved_group = state.group_name and state.serving != state.group_name
    return bool(unserved_group or (state.image_baked and not state.serving) or state.warm)


def roll_back(step: Step, reason: str, outcome: str = "rolled back") -> None:
    """Remove what this release added: its group and launch template, and its image when this
    deploy baked it; the history says why (`reason`). The outdated groups are not touched: they
    still serve, or, in a soak, their warm instances go back into the load balancer first."""
    state = step.state()
    if state.warm:
        bring_back(step, state.warm)
        step.remember(warm=None, serving=None)
    if state.group_name:  # written before the group is created: it may not exist
        step.say(f"rolling back: removing {state.group_name}...")
        retire(step, [state.group_name])  # and its launch template, even without the group
    if state.image_baked and state.image_id:
        for image in environment_images(step):
            if image["ImageId"] == state.image_id:
                delete_image(step, image)
    history.settle(step, outcome, reason)
    step.remember(group_name=None, image_baked=False)


USER_DATA_LIMIT = 16 * 1024  # what EC2 takes as an instance's user data, at most


def app_user_data(settings: Settings) -> str:
    """What the new group's instances read at boot as their user data: {"NODE_ENV": ..., "config":
    deploy/env/$NODE_ENV.json}. Anyone who may describe the launch template reads it: no secrets."""
    path = settings.app_config
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise StepError(f"{path.relative_to(ROOT)} is not valid JSON ({error}): fix it") from None
    if not isinstance(config, dict):
        raise StepError(f"{path.relative_to(ROOT)} is not a JSON object: fix it")
    data = json.dumps({"NODE_ENV": settings.node_env, "config": config}, sort_keys=True)
    if len(data.encode()) > USER_DATA_LIMIT:
        raise StepError(f"{path.relative_to(ROOT)} makes {len(data.encode())} bytes of user data, more than EC2's "
                        f"{USER_DATA_LIMIT}: keep large or secret settings in a parameter store (README)")
    return data


def needed_elsewhere(step: Step, groups: list[dict] | None = None) -> set[str]:
    """The images the app's other environments run or can roll back to (their groups' images, and
    those of their last KEEP_IMAGES releases that went live): an environment's cleanup or destroy
    keeps them, whoever baked them. `groups`: the app's (app_groups), when looked up already."""
    own = step.settings.node_env
    groups = app_groups(step) if groups is None else groups
    others = [group for group in groups if tag_value(group, "Environment") != own]
    needed = images_in_use(step, others)
    for node_env in sorted({tag_value(group, "Environment") for group in others} - {None}):
        keep = int(values({"NODE_ENV": node_env})["KEEP_IMAGES"].text or 1)
        try:
            served = [r["image"] for r in history.releases(step, node_env) if r["outcome"] == history.SERVED
                      and r.get("image")]
        except StepError:  # no history (an environment of an older version of the tool): its groups' images
            continue
        needed |= set(served[-keep:])
    return needed


def promoted(step: Step) -> dict:
    """IMAGE_FROM's live release, whose image this one deploys, checked to qualify: live there now,
    and past its soak when that environment soaks; else one line naming it and why it does not."""
    source = step.settings.image_from
    found = history.releases(step, source)
    running = history.live_stamps(step, environment_groups(step, source), source)
    newest = found[-1] if found else None
    if newest and newest["outcome"] in history.UNSETTLED and newest["stamp"] in running:
        raise StepError(f"IMAGE_FROM={source}: {source}'s release {newest['stamp']} is still {newest['outcome']}: "
                        "promote it once it is live")
    live = history.live(found, running)
    if live is None:
        last = (f"its newest, {newest['stamp']}, is {newest['outcome']}" + (f" ({newest['reason']})" if
                newest.get("reason") else "") if newest else "it has no release yet")
        raise StepError(f"IMAGE_FROM={source}: {source} has no live release to promote ({last})")
    soaks = int(values({"NODE_ENV": source})["SOAK_SECONDS"].text or 0)
    if soaks and not live.get("soak_ends"):
        since = f" (its newest release, {newest['stamp']}, is {newest['outcome']})" if newest is not live else ""
        raise StepError(f"IMAGE_FROM={source}: {source}'s live release {live['stamp']} ({live['image']}) has not "
                        f"passed a soak, and {source} soaks (SOAK_SECONDS={soaks}){since}: deploy it there again, "
                        "with the release before it serving, to soak it")
    try:
        require_image(step, live["image"], "IMAGE_FROM")
    except StepError:
        raise StepError(f"IMAGE_FROM={source}: the image of its live release {live['stamp']}, {live['image']}, is "
                        f"not available in {step.aws.region}") from None
    return live


def missing_app_config(step: Step) -> str | None:
    """What to do when deploy/env/$NODE_ENV.json (the app's config, which the instances get at boot)
    is missing: which file to create, and from which existing one to start."""
    node_env = step.settings.node_env
    configs = step.settings.app_config.parent
    if (configs / f"{node_env}.json").is_file():
        return None
    others = sorted(path.name for path in configs.glob("*.json"))
    start = f": start from deploy/env/{others[0]}" if others else ""
    return f"{node_env} has no app config: create deploy/env/{node_env}.json{start}"


def begin_release(step: Step, kind: str, **fields: str) -> None:
    """Pick this release's stamp (its group and image names carry it; never the last one again)
    and add it to the history, in flight."""
    try:
        last = step.state().stamp or ""
    except StepError:  # a hand-off of another version of the tool: this release replaces it
        last = ""
    stamp = next_stamp()
    if stamp <= last:
        time.sleep(1)
        stamp = next_stamp()
    step.begin_release(stamp)
    history.begin(step, stamp, kind, **fields)
    step.say(f"release {stamp}: ok")


def next_stamp() -> str:
    """A release's stamp: the time it begins, UTC, to the second."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


def ended(step: Step) -> str | None:
    """Why the release handed over in state.json cannot go on: it rolled back, was interrupted, or
    a later release began since (it was superseded). None: it may."""
    stamp = step.state().stamp
    if not stamp:
        return None  # the step's own recall says which step to run first
    found = history.releases(step)
    mine = history.release_of(found, stamp)
    later = [release["stamp"] for release in found if release["stamp"] > stamp]
    if mine and mine["outcome"] in ENDED:
        return f"release {stamp} ended ({mine['outcome']})"
    if later:
        return f"release {stamp} was superseded by {later[-1]}"
    return None


def alone(body: Callable[[Step], None]) -> Callable[[Step], None]:
    """A step of a release run alone (`make launch-asg`), as the pipeline runs it: under the deploy
    lock, and only for a release that has not ended; else one line, and nothing changes."""
    def run_alone(step: Step) -> None:
        with deploy_lock(step):
            why = ended(step)
            if why:
                node_env = step.settings.node_env
                raise StepError(f"{why}: its hand-off in deploy/log/{node_env}/state.json is not to be resumed; run "
                                f"`NODE_ENV={node_env} make deploy` for a new release (or `make rollback`)")
            body(step)
    run_alone.__name__ = body.__name__  # the run's target, in its record
    return run_alone
