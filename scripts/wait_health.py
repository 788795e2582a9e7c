"""deploy: wait until every new instance is InService and Healthy in the new group, then
InService at the load balancer, within HEALTH_TIMEOUT (polling every POLL_INTERVAL). More healthy
instances than desired is healthy too. When the time runs out, the new group is shown, then
removed (with its launch template and a freshly baked image); the old groups keep serving."""

import time

import botocore.exceptions
import jmespath

from core.aws import throttled
from core.balancer import load_balancer
from core.groups import describe_groups
from core.poll import TimedOut, wait_until
from core.release import roll_back
from core.step import Step, StepError, run, uninterrupted

HEALTHY_IN_GROUP = "[0].Instances[?LifecycleState == 'InService' && HealthStatus == 'Healthy'].InstanceId"


def wait_health(step: Step, clock=time.monotonic, sleep=time.sleep) -> None:
    settings = step.settings
    group_name = step.recall("group_name", made_by="launch-asg")
    desired, started = settings.desired_capacity, clock()
    try:
        healthy = wait_until_healthy_in_group(step, group_name, clock, sleep)
        remaining = settings.health_timeout - (clock() - started)
        wait_until_in_service_at_load_balancer(step, healthy, remaining, started, clock)
    except TimedOut as timeout:
        report(step, group_name)
        with uninterrupted():
            roll_back(step)
        raise StepError(f"{group_name} did not become healthy: {timeout}; rolled back, the previous "
                        f"release still serves (details above, and in {settings.log_dir})") from None
    step.remember(serving=group_name)
    step.say(f"{len(healthy)}/{desired} new instance(s) InService at {settings.elb_name} "
             f"[{clock() - started:.0f}s]")


def wait_until_healthy_in_group(step: Step, group_name: str, clock, sleep) -> list[str]:
    settings, healthy = step.settings, []

    def check():
        groups = describe_groups(step, [group_name])
        if not groups:
            raise StepError(f"group {group_name} is gone: run `NODE_ENV={settings.node_env} make launch-asg` again")
        healthy[:] = jmespath.search(HEALTHY_IN_GROUP, groups)
        done = len(healthy) >= settings.desired_capacity
        counts = f"{len(healthy)}/{settings.desired_capacity}"
        return done, f"ensuring new instance(s) are healthy at ec2 ({counts} are healthy)"

    wait_until(check, timeout=settings.health_timeout, interval=settings.poll_interval,
               say=step.say, clock=clock, sleep=sleep)
    return healthy


def wait_until_in_service_at_load_balancer(step: Step, instances: list[str], timeout: float, started, clock):
    """botocore's waiter polls (InstanceInService, or TargetInService for an ALB); each answer is
    shown as a progress line."""
    settings, balancer = step.settings, load_balancer(step)

    def progress(parsed):
        count = sum(row[1] == balancer.SERVING for row in jmespath.search(balancer.STATES, parsed) or [])
        step.say(f"ensuring new instance(s) are healthy at elb ({count}/{len(instances)} are {balancer.SERVING}) "
                 f"[{clock() - started:.0f}s]")

    try:
        balancer.wait(balancer.IN_SERVICE, instances, timeout=timeout, progress=progress)
    except botocore.exceptions.WaiterError as error:
        code = throttled(error.last_response or {})
        if code:
            raise StepError(f"AWS kept throttling {balancer.HEALTH_CALL} ({code}) past every retry: the health "
                            "of the new group is unknown; try again later, or raise AWS_MAX_ATTEMPTS") from None
        raise TimedOut(f"not {balancer.SERVING} at {settings.elb_name} after {clock() - started:.0f}s "
                       f"(HEALTH_TIMEOUT={settings.health_timeout:g}s)") from None


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
    run("deploy", wait_health)
