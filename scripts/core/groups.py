"""This environment's Auto Scaling groups: found by their tags (never by a name prefix), waited
on, and retired without ever taking the last serving instances out of the load balancer."""

import re
import time
from collections.abc import Callable

import jmespath
from botocore.exceptions import WaiterError

from .aws import search, tag_filters
from .balancer import DRAINING_MARGIN, load_balancer
from .poll import wait_until
from .step import Context, StepError

GROUPS = "AutoScalingGroups[]"
TEMPLATES = "LaunchTemplates[]"
CONFIGURATION_NAMES = "LaunchConfigurations[].LaunchConfigurationName"
INSTANCE_IDS = "[].Instances[].InstanceId"
SUSPENDED = "SuspendedProcesses[].ProcessName"
# Everything a retiring group could do but shrink (Terminate stays on, so scaling to 0 works).
RETIRING_SUSPENDS = ["Launch", "HealthCheck", "ReplaceUnhealthy", "AZRebalance", "AddToLoadBalancer",
                     "AlarmNotification", "ScheduledActions", "InstanceRefresh"]
TERMINATION_TIMEOUT = 600  # instances of a group scaled to 0 take a minute or two to terminate
LAUNCH_TEMPLATE_IDS = ("[].[LaunchTemplate.LaunchTemplateId,"
                       " MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId][][]")


def environment_groups(step: Context, node_env: str | None = None) -> list[dict]:
    """Every group tagged with this app and environment (or `node_env`, another of the app's), every
    page, filtered by AWS."""
    tags = {**step.settings.ownership_tags, **({"Environment": node_env} if node_env else {})}
    return search(step.client("autoscaling"), "describe_auto_scaling_groups", GROUPS, Filters=tag_filters(tags))


def app_groups(step: Context) -> list[dict]:
    """Every group of the app, of any of its environments (they may run one another's images)."""
    return search(step.client("autoscaling"), "describe_auto_scaling_groups", GROUPS,
                  Filters=tag_filters({"App": step.settings.app_name}))


def describe_groups(step: Context, names: list[str]) -> list[dict]:
    if not names:
        return []
    return search(step.client("autoscaling"), "describe_auto_scaling_groups", GROUPS,
                  AutoScalingGroupNames=names)


def retire(step: Context, names: list[str], successor: str | None = None) -> None:
    """Take the groups' instances out of the load balancer (waiting for connection draining), scale
    the groups to 0, wait until their instances are gone, then delete the groups and their launch
    templates or configurations. All groups move together: one wait, not one per group. The
    traffic guard (keep_serving) comes first, with the group that takes over when there is one."""
    settings, autoscaling = step.settings, step.client("autoscaling")
    found = describe_groups(step, list(dict.fromkeys([*names, successor] if successor else names)))
    groups = [group for group in found if group["AutoScalingGroupName"] in names]
    if not groups:
        delete_unused_launch_settings(step)
        return
    names = [group["AutoScalingGroupName"] for group in groups]
    instances = jmespath.search(INSTANCE_IDS, groups)
    registered = keep_serving(step, groups, [group for group in found if group["AutoScalingGroupName"] == successor])
    suspend(step, groups)  # while draining, the groups must not replace or re-register what leaves
    if instances:
        balancer = load_balancer(step)
        take_out(step, [i for i in instances if i in registered], names)  # a soak's are out already
        bound = settings.draining_seconds + DRAINING_MARGIN
        step.say(f"waiting for connection draining (DRAINING_SECONDS={settings.draining_seconds}, at most {bound}s)...")
        balancer.wait_drained(instances, timeout=bound)
    for name in names:
        step.say(f"downscaling {name} to 0...")
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=0, DesiredCapacity=0)

    def terminated():
        left = jmespath.search(INSTANCE_IDS, describe_groups(step, names))
        return not left, f"ensuring instance(s) of {' '.join(names)} are terminated ({len(left)} left)"

    wait_until(terminated, timeout=TERMINATION_TIMEOUT, interval=settings.poll_interval, say=step.say,
               bound="the time instances take to terminate")
    for name in names:
        step.say(f"deleting {name}...")
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name)
    delete_unused_launch_settings(step, configurations=any(g.get("LaunchConfigurationName") for g in groups))


def suspend(step: Context, groups: list[dict]) -> dict[str, list[str]]:
    """Suspend all the groups could do but shrink; {group name: the processes this suspended} (not
    those someone had suspended before, which bring_back must leave suspended)."""
    autoscaling, suspended = step.client("autoscaling"), {}
    for group in groups:
        name, before = group["AutoScalingGroupName"], set(jmespath.search(SUSPENDED, group))
        step.say(f"suspending launches, health replacement and registration of {name}...")
        autoscaling.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=RETIRING_SUSPENDS)
        suspended[name] = [process for process in RETIRING_SUSPENDS if process not in before]
    return suspended


def take_out(step: Context, registered: list[str], names: list[str]) -> None:
    """Deregister the groups' instances that are registered."""
    if registered:
        step.say(f"removing {len(registered)} instance(s) of {' '.join(names)} from {step.settings.elb_name}...")
        load_balancer(step).deregister(registered)


def hold_warm(step: Context, names: list[str], successor: str, keep: Callable[[dict], None]) -> dict | None:
    """The soak's first half of a retirement: once the traffic guard lets the groups go, take
    their instances out of the load balancer but keep them running, their groups suspended
    (nothing launched, replaced or scaled). What bring_back needs is kept (`keep`: in the
    hand-off) from the suspension on, so that any failure after it brings them back; None: they
    have no instance to keep."""
    found = describe_groups(step, [*names, successor])
    groups = [group for group in found if group["AutoScalingGroupName"] in names]
    registered = keep_serving(step, groups, [group for group in found if group["AutoScalingGroupName"] == successor])
    instances = jmespath.search(INSTANCE_IDS, groups)
    if not instances:
        return None
    warm = {"groups": suspend(step, groups), "instances": instances}
    keep(warm)
    take_out(step, [i for i in instances if i in registered], list(warm["groups"]))
    return warm


def bring_back(step: Context, warm: dict) -> None:
    """Register the warm instances (hold_warm) again, wait until they serve (within HEALTH_TIMEOUT),
    then resume what was suspended of their groups. Should they not pass their checks, nothing
    else changes: the new group keeps serving what it can."""
    settings, balancer, autoscaling = step.settings, load_balancer(step), step.client("autoscaling")
    names = list(warm["groups"])
    instances = [i for i in jmespath.search(INSTANCE_IDS, describe_groups(step, names)) if i in warm["instances"]]
    if not instances:
        raise StepError(f"the warm instances of {' '.join(names)} are gone: nothing to go back to; the new group "
                        f"stays: run `NODE_ENV={settings.node_env} make deploy` (or rollback)")
    step.say(f"putting {len(instances)} warm instance(s) of {' '.join(names)} back into {settings.elb_name}...")
    started = time.monotonic()
    balancer.register(instances)
    try:
        balancer.wait_serving(instances, timeout=settings.health_timeout)
    except WaiterError:
        raise StepError(f"the warm instances of {' '.join(names)} did not pass their health checks at "
                        f"{settings.elb_name} within HEALTH_TIMEOUT={settings.health_timeout:g}s: both groups stay "
                        "registered; see `make status`") from None
    step.say(f"{len(instances)} warm instance(s) of {' '.join(names)} serve again [{time.monotonic() - started:.1f}s]")
    for name, processes in warm["groups"].items():
        if processes:
            step.say(f"resuming {name}...")
            autoscaling.resume_processes(AutoScalingGroupName=name, ScalingProcesses=processes)


def delete_unused_launch_settings(step: Context, configurations: bool = False) -> None:
    """Delete this environment's launch templates and configurations that none of its groups
    launches from: those of retired groups, and any a killed run left behind. Runs hold the deploy
    lock, so no other run's template is between its creation and its group's."""
    groups = environment_groups(step)
    delete_unused_launch_templates(step, set(jmespath.search(LAUNCH_TEMPLATE_IDS, groups)))
    if configurations or step.settings.launch_kind == "configuration":
        delete_unused_launch_configurations(step, {g.get("LaunchConfigurationName") for g in groups})


def delete_unused_launch_templates(step: Context, in_use: set[str]) -> None:
    """Templates are this environment's by their tags."""
    ec2 = step.client("ec2")
    for template in search(ec2, "describe_launch_templates", TEMPLATES,
                           Filters=tag_filters(step.settings.ownership_tags)):
        if template["LaunchTemplateId"] not in in_use:
            step.say(f"deleting launch template {template['LaunchTemplateName']}...")
            ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])


def delete_unused_launch_configurations(step: Context, in_use: set[str]) -> None:
    """Configurations cannot be tagged: they are this environment's by their exact name
    lc-$APP_NAME-$NODE_ENV-<stamp> (the original scripts' names too), never by a prefix."""
    autoscaling = step.client("autoscaling")
    own = re.compile(rf"^lc-{re.escape(step.settings.name)}-\d{{14}}$")
    for name in search(autoscaling, "describe_launch_configurations", CONFIGURATION_NAMES):
        if own.match(name) and name not in in_use:
            step.say(f"deleting launch configuration {name}...")
            autoscaling.delete_launch_configuration(LaunchConfigurationName=name)


def keep_serving(step: Context, leaving: list[dict], successors: list[dict]) -> set[str]:
    """The traffic guard: refuse to take out the last instances InService at the load balancer;
    with the group that takes over (`successors`), refuse until it has as many InService there as
    the largest leaving group (which may have scaled out meanwhile; each is a whole copy of the
    site, two serve at once only after an interrupted retirement). Returns the instances
    registered at the load balancer, whatever their state."""
    settings, balancer = step.settings, load_balancer(step)
    health = balancer.health()
    serving = {instance for instance, (state, *_) in health.items() if state == balancer.SERVING}
    leaving_ids = set(jmespath.search(INSTANCE_IDS, leaving))
    if serving & leaving_ids and not serving - leaving_ids:
        raise StepError(f"refusing to retire the last InService instances of {settings.elb_name} "
                        f"({' '.join(sorted(serving))}): deploy a healthy group first")
    if successors:
        new = len(set(jmespath.search(INSTANCE_IDS, successors)) & serving)
        old = max(len(set(jmespath.search(INSTANCE_IDS, [group])) & serving) for group in leaving)
        if new < old:
            names = " ".join(group["AutoScalingGroupName"] for group in leaving)
            raise StepError(f"refusing to retire {names}: {old} of their instances are {balancer.SERVING} at "
                            f"{settings.elb_name}, only {new} of {successors[0]['AutoScalingGroupName']} (did they "
                            f"scale out meanwhile?); both serve: run `NODE_ENV={settings.node_env} make deploy` "
                            "again, it starts with as many")
    return set(health)


def create_launch_configuration(step: Context, **params) -> None:
    """CreateLaunchConfiguration, with AWS's refusal to accounts made after 2024-10-01 said plainly."""
    autoscaling = step.client("autoscaling")
    try:
        autoscaling.create_launch_configuration(**params)
    except autoscaling.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "UnsupportedOperation":
            raise StepError("this account cannot create launch configurations (AWS stopped them for new "
                            "accounts): set LAUNCH_KIND=template") from None
        raise
