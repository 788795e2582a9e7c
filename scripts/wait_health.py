"""deploy: wait until the new group serves: as many instances as its capacity (lookup-asg) InService
and Healthy in the group, then InService at the load balancer (healthy in an ALB's target group),
within HEALTH_TIMEOUT, polling every POLL_INTERVAL. More healthy instances than desired is healthy
too. Every poll reads the group as it is now: an instance the group replaces (its load balancer
health check failed after the grace period) drops out, the progress line says so, and its
replacement is waited for. (botocore's InstanceInService and TargetInService waiters wait on the
instance ids they are given, so a replaced one would run them to their time-out: this is the
tool's one poll, core/poll.py.) When the time runs out, the new group is shown, then removed (with
its launch template and a freshly baked image); the old groups keep serving."""

import time

import botocore.exceptions
import jmespath

from core import history
from core.aws import throttled
from core.balancer import load_balancer
from core.groups import describe_groups
from core.plan import Change, Planned
from core.poll import TimedOut, wait_until
from core.release import alone, roll_back
from core.settings import Settings
from core.step import Step, StepError, run, uninterrupted

MEMBERS = "[0].Instances[].InstanceId"
HEALTHY_IN_GROUP = "[0].Instances[?LifecycleState == 'InService' && HealthStatus == 'Healthy'].InstanceId"
LEAVING = "[0].Instances[?starts_with(LifecycleState, 'Terminat')].InstanceId"


def wait_health(step: Step, clock=time.monotonic, sleep=time.sleep) -> None:
    settings, balancer = step.settings, load_balancer(step)
    group_name = step.recall("group_name", made_by="launch-asg")
    desired = step.recall("capacity", made_by="lookup-asg")["desired"]
    step.say(f"-> {wait_change(settings, group_name, desired).line()}")
    started = clock()
    try:
        serving = wait_until_serving(step, group_name, desired, clock, sleep)
    except TimedOut as timeout:
        report(step, group_name)
        with uninterrupted():
            roll_back(step, f"{group_name} did not become healthy: {timeout}")
        raise StepError(f"{group_name} did not become healthy: {timeout}; rolled back, the previous "
                        "release still serves (details above, every health answer in the record)") from None
    except botocore.exceptions.ClientError as error:
        code = throttled(error.response)
        if code:
            raise StepError(f"AWS kept throttling {error.operation_name} ({code}) past every retry: the health "
                            "of the new group is unknown; try again later, or raise AWS_MAX_ATTEMPTS") from None
        raise
    step.remember(serving=group_name)
    history.settle(step, history.SERVED)
    step.say(f"{len(serving)}/{desired} new instance(s) {balancer.SERVING} at {settings.elb_name} "
             f"[{clock() - started:.0f}s]")


def plan(step: Step, planned: Planned) -> list[Change]:
    return [wait_change(step.settings, planned.group, planned.capacity["desired"])]


def wait_change(settings: Settings, group_name: str, desired: int) -> Change:
    return Change("wait", f"group {group_name}", f"{desired} instance(s) healthy in the group, then at "
                  f"{settings.elb_name}", pending=f"health, within HEALTH_TIMEOUT={settings.health_timeout:g}s; "
                  "a rollback otherwise")


def wait_until_serving(step: Step, group_name: str, desired: int, clock, sleep) -> list[str]:
    """The group's current instances, each poll: first until `desired` are healthy in the group,
    then until `desired` of them serve at the load balancer. Returns those serving."""
    settings, balancer = step.settings, load_balancer(step)
    seen, replaced, serving = set(), set(), []

    def check():
        groups = describe_groups(step, [group_name])
        if not groups:
            raise StepError(f"group {group_name} is gone: run `NODE_ENV={settings.node_env} make launch-asg` again")
        members = set(jmespath.search(MEMBERS, groups))
        leaving = (seen - members) | set(jmespath.search(LEAVING, groups))
        for instance in sorted(leaving - replaced):
            step.say(f"{instance} was replaced by {group_name} (it failed its health check); waiting for "
                     "its replacement")
            replaced.add(instance)
        seen.update(members)
        healthy = jmespath.search(HEALTHY_IN_GROUP, groups)  # never a Terminating one
        if len(healthy) < desired:
            return False, f"ensuring new instance(s) are healthy at ec2 ({len(healthy)}/{desired} are healthy)"
        at_lb = balancer.serving()
        serving[:] = [i for i in healthy if i in at_lb]
        return (len(serving) >= desired,
                f"ensuring new instance(s) are healthy at elb ({len(serving)}/{desired} are {balancer.SERVING})")

    wait_until(check, timeout=settings.health_timeout, interval=settings.poll_interval,
               say=step.say, clock=clock, sleep=sleep)
    return serving


def report(step: Step, group_name: str) -> None:
    """What a person needs to see why the group is not healthy: instance states at the group and
    the load balancer (with reason codes), and the group's latest scaling activities."""
    settings = step.settings
    groups = describe_groups(step, [group_name])
    instances = jmespath.search("[0].Instances", groups) or []
    health = load_balancer(step).health()
    step.say(f"{group_name} is not healthy:")
    for instance in instances:
        state, reason, description = health.get(instance["InstanceId"], ("not registered", "-", "-"))
        step.say(f"  {instance['InstanceId']}: group {instance['LifecycleState']}/{instance['HealthStatus']}, "
                 f"{settings.elb_name} {state} ({reason}: {description})")
    activities = step.client("autoscaling").describe_scaling_activities(AutoScalingGroupName=group_name, MaxRecords=5)
    for activity in activities["Activities"]:
        step.say(f"  activity: {activity['StatusCode']}: {activity.get('Description', '')} "
                 f"{activity.get('StatusMessage', '')}".rstrip())


if __name__ == "__main__":
    run("deploy", alone(wait_health))
