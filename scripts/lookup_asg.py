"""deploy: record this environment's existing groups, to be retired once the new one serves, and the
new group's capacity. Ownership is exact: groups tagged with this App and Environment (a tag
filter, so AWS does the filtering and only this environment's groups are listed), never a name
prefix. Capacity is carried over: the new group starts with as many instances as the largest
serving group runs now (it may have scaled out under load), or DESIRED_CAPACITY if that is more;
its min and max are widened to hold them. The scheduled actions and lifecycle hooks of the newest
serving group are recorded too, for launch-asg to carry over."""

from datetime import datetime

import jmespath

from core.aws import search
from core.groups import environment_groups
from core.plan import Change, Planned
from core.release import alone
from core.settings import Settings
from core.step import Step, run

# A scheduled action as PutScheduledUpdateGroupAction takes it again.
SCHEDULED = ("ScheduledUpdateGroupActions[].{ScheduledActionName: ScheduledActionName, Recurrence: Recurrence, "
             "StartTime: StartTime, EndTime: EndTime, MinSize: MinSize, MaxSize: MaxSize, "
             "DesiredCapacity: DesiredCapacity, TimeZone: TimeZone}")
# A lifecycle hook as CreateAutoScalingGroup's LifecycleHookSpecificationList takes it.
HOOKS = ("LifecycleHooks[].{LifecycleHookName: LifecycleHookName, LifecycleTransition: LifecycleTransition, "
         "NotificationMetadata: NotificationMetadata, HeartbeatTimeout: HeartbeatTimeout, "
         "DefaultResult: DefaultResult, NotificationTargetARN: NotificationTargetARN, RoleARN: RoleARN}")


def new_capacity(settings: Settings, groups: list[dict]) -> dict:
    """The new group's min, desired and max, and why: as many as the largest serving group runs now,
    or DESIRED_CAPACITY if that is more."""
    serving = max(groups, key=lambda group: group["DesiredCapacity"], default=None)
    desired = max(settings.desired_capacity, serving["DesiredCapacity"] if serving else 0)
    capacity = {"min": min(settings.min_capacity, desired), "desired": desired,
                "max": max(settings.max_capacity, desired)}
    if desired > settings.desired_capacity:
        why = (f"carried from the serving group {serving['AutoScalingGroupName']}, which scaled out "
               f"(DESIRED_CAPACITY={settings.desired_capacity})")
    else:
        why = f"DESIRED_CAPACITY={settings.desired_capacity}"
    return {**capacity, "why": why}


def plan(step: Step, planned: Planned) -> list[Change]:
    """No change: what the changes after it act on (the groups to retire, the new group's capacity)."""
    new_group = step.settings.group_prefix + planned.stamp
    planned.outdated = [g for g in environment_groups(step) if g["AutoScalingGroupName"] != new_group]
    planned.capacity = new_capacity(step.settings, planned.outdated)
    return []


def lookup_asg(step: Step) -> None:
    settings = step.settings
    step.say("pulling down list of existing autoscaling groups...")
    new_group = settings.group_prefix + step.recall("stamp", made_by="check-deploy")
    groups = [g for g in environment_groups(step) if g["AutoScalingGroupName"] != new_group]
    outdated = [g["AutoScalingGroupName"] for g in groups]
    capacity = new_capacity(settings, groups)
    newest = max(groups, key=lambda group: group["CreatedTime"], default=None)
    scheduled, hooks = carried_over(step, newest["AutoScalingGroupName"]) if newest else ([], [])
    step.remember(outdated_groups=outdated, capacity=capacity, scheduled_actions=scheduled, lifecycle_hooks=hooks)
    step.say(f"outdated groups: {' '.join(outdated) or 'none'}")
    desired = capacity["desired"]
    step.say(f"new group capacity: {desired} instance(s) ({capacity['why']}), min {capacity['min']}, "
             f"max {capacity['max']}")
    if desired > settings.max_capacity:
        step.say(f"note: {desired} is more than MAX_CAPACITY={settings.max_capacity}: the new group's max is "
                 f"{desired}, so it can hold what serves now")


def carried_over(step: Step, group_name: str) -> tuple[list[dict], list[dict]]:
    """The group's scheduled actions and lifecycle hooks, as the new group takes them (JSON-safe)."""
    autoscaling = step.client("autoscaling")
    actions = search(autoscaling, "describe_scheduled_actions", SCHEDULED, AutoScalingGroupName=group_name)
    hooks = jmespath.search(HOOKS, autoscaling.describe_lifecycle_hooks(AutoScalingGroupName=group_name))
    return [present(action) for action in actions], [present(hook) for hook in hooks]


def present(fields: dict) -> dict:
    """The fields that are set, times as ISO text (the state is JSON)."""
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in fields.items() if value is not None}


if __name__ == "__main__":
    run("deploy", alone(lookup_asg))
