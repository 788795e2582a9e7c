"""A production fleet: the capacity a serving group has scaled to is carried over to the next
group (deploy and rollback), the load balancer never serves fewer instances meanwhile, old groups
go only when the new one serves as many, and the health wait follows the group as it replaces
instances, and its scheduled actions."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from conftest import errors, ok
from test_deploy import groups_of, in_service

KINDS = ["classic", "application"]
STEPS = ["check-deploy", "primal-image", "build-app", "copy-over", "deployment-image", "lookup-asg", "launch-asg",
         "wait-health"]


def scale(project, group: dict, desired: int) -> None:
    """The group scales out, as a scaling policy would under load."""
    project.client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=group["AutoScalingGroupName"], MaxSize=max(desired, group["MaxSize"]),
        DesiredCapacity=desired)
    project.emulator.calls.clear()


def test_a_scaled_out_group_is_replaced_by_as_many_and_the_load_balancer_never_serves_fewer(project):
    ok(project.make("setup"))
    ok(project.make("deploy"))
    [old] = groups_of(project)
    scale(project, old, 3)
    assert len(in_service(project)) == 3
    before = len(project.emulator.lb_inservice_history("elb-app-dev01"))

    result = ok(project.make("deploy"))  # DESIRED_CAPACITY=1, MAX_CAPACITY=2
    assert "new group capacity: 3 instance(s) (carried from the serving group asg-app-dev01-" in result.stdout
    assert "which scaled out (DESIRED_CAPACITY=1)), min 1, max 3" in result.stdout
    assert "note: 3 is more than MAX_CAPACITY=2: the new group's max is 3" in result.stdout
    [new] = groups_of(project)
    assert (new["MinSize"], new["DesiredCapacity"], new["MaxSize"], len(new["Instances"])) == (1, 3, 3, 3)
    assert min(project.emulator.lb_inservice_history("elb-app-dev01")[before:]) >= 3
    assert "3 desired (min 1, max 3)" in ok(project.make("status")).stdout

    scale(project, new, 4)  # and make rollback carries it the same way
    before = len(project.emulator.lb_inservice_history("elb-app-dev01"))
    ok(project.make("rollback"))
    [back] = groups_of(project)
    assert back["AutoScalingGroupName"] != new["AutoScalingGroupName"] and back["DesiredCapacity"] == 4
    assert min(project.emulator.lb_inservice_history("elb-app-dev01")[before:]) >= 4


def test_old_groups_that_scaled_out_during_the_deploy_are_kept_until_a_group_serves_as_many(project):
    ok(project.make("setup"))
    ok(project.make("deploy"))
    [old] = groups_of(project)
    for step in STEPS:  # a deploy up to its cleanup...
        ok(project.make(step))
    scale(project, old, 3)  # ...while the serving group scales out under load
    result = project.make("cleanup-asgs")
    assert result.returncode != 0
    assert (f"refusing to retire {old['AutoScalingGroupName']}: 3 of their instances are InService at elb-app-dev01, "
            "only 1 of asg-app-dev01-") in result.stderr
    assert len(groups_of(project)) == 2 and len(in_service(project)) == 4  # both serve

    ok(project.make("deploy"))  # the next deploy starts with 3 and retires both
    [group] = groups_of(project)
    assert group["DesiredCapacity"] == 3 and len(in_service(project)) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_an_instance_replaced_during_the_wait_does_not_fail_a_deploy_that_becomes_healthy_in_time(project, kind):
    ok(project.make("setup", LOAD_BALANCER_KIND=kind))
    ok(project.make("deploy", LOAD_BALANCER_KIND=kind))
    project.emulator.health.set("asg-app-dev01-", lb_polls=2)
    project.emulator.health.replace("asg-app-dev01-", after_lb_polls=1)  # its first look fails the new instance
    result = ok(project.make("deploy", LOAD_BALANCER_KIND=kind, DESIRED_CAPACITY="2"))
    [replaced] = [line.split()[1] for line in result.stdout.splitlines() if " was replaced by asg-app-dev01-" in line]
    [new] = groups_of(project)
    assert replaced not in [i["InstanceId"] for i in new["Instances"]] and len(new["Instances"]) == 2
    assert "2/2 new instance(s)" in result.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_a_draining_longer_than_health_timeout_completes(project, kind):
    ok(project.make("setup", LOAD_BALANCER_KIND=kind, DRAINING_SECONDS="120"))
    if kind == "classic":
        attributes = project.client("elb").describe_load_balancer_attributes(LoadBalancerName="elb-app-dev01")
        assert attributes["LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": True, "Timeout": 120}
    else:
        elbv2 = project.client("elbv2")
        arn = elbv2.describe_target_groups(Names=["tg-app-dev01"])["TargetGroups"][0]["TargetGroupArn"]
        assert {"Key": "deregistration_delay.timeout_seconds", "Value": "120"} in \
            elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    ok(project.make("deploy", LOAD_BALANCER_KIND=kind))
    [old] = groups_of(project)
    project.emulator.health.drain(polls=15)  # 3 s at POLL_INTERVAL=0.2, three times HEALTH_TIMEOUT
    result = ok(project.make("deploy", LOAD_BALANCER_KIND=kind, DRAINING_SECONDS="120", HEALTH_TIMEOUT="1",
                             POLL_INTERVAL="0.2"))
    assert "waiting for connection draining (DRAINING_SECONDS=120, at most 180s)..." in result.stdout
    assert "waiting for connection draining (1/1 instance(s) still draining) [" in result.stdout  # every answer
    assert old["AutoScalingGroupName"] not in [g["AutoScalingGroupName"] for g in groups_of(project)]


@pytest.mark.parametrize("kind, metric, target", [("classic", "cpu", "50"), ("application", "requests", "1000")])
def test_every_new_group_gets_the_configured_target_tracking_policy(project, kind, metric, target):
    scaling = {"LOAD_BALANCER_KIND": kind, "SCALING_METRIC": metric, "SCALING_TARGET": target}
    ok(project.make("setup", **scaling))
    ok(project.make("deploy", **scaling))
    [group] = groups_of(project)
    [policy] = project.client("autoscaling").describe_policies(
        AutoScalingGroupName=group["AutoScalingGroupName"])["ScalingPolicies"]
    configuration = policy["TargetTrackingConfiguration"]
    assert (policy["PolicyType"], configuration["TargetValue"]) == ("TargetTrackingScaling", float(target))
    specification = configuration["PredefinedMetricSpecification"]
    if kind == "classic":
        assert specification == {"PredefinedMetricType": "ASGAverageCPUUtilization"}
        project.emulator.calls.clear()
        result = project.make("deploy", **{**scaling, "SCALING_METRIC": "requests"})
        assert result.returncode != 0
        assert "SCALING_METRIC=requests counts an application load balancer's requests" in result.stderr
        assert project.mutating_actions() == []
    else:
        elbv2 = project.client("elbv2")
        balancer = elbv2.describe_load_balancers(Names=["elb-app-dev01"])["LoadBalancers"][0]["LoadBalancerArn"]
        target_group = elbv2.describe_target_groups(Names=["tg-app-dev01"])["TargetGroups"][0]["TargetGroupArn"]
        assert specification == {"PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel":
                                 f"{balancer.split(':loadbalancer/')[1]}/{target_group.split(':')[5]}"}


def ready_for(project, target: str) -> dict:
    """The environment set up and serving, with an earlier release kept when `target` is rollback;
    the live group."""
    ok(project.make("setup"))
    ok(project.make("deploy"))
    if target == "rollback":
        ok(project.make("deploy"))
    [live] = groups_of(project)
    return live


def scheduled(project, group_name: str) -> dict[str, dict]:
    found = project.client("autoscaling").describe_scheduled_actions(AutoScalingGroupName=group_name)
    return {action["ScheduledActionName"]: action for action in found["ScheduledUpdateGroupActions"]}


@pytest.mark.parametrize("target", ["deploy", "rollback"])
def test_the_serving_groups_scheduled_actions_are_carried_over(project, target):
    live = ready_for(project, target)
    asg, name = project.client("autoscaling"), live["AutoScalingGroupName"]
    launch_day = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="morning",
                                          Recurrence="0 8 * * *", MinSize=1, MaxSize=4, DesiredCapacity=2)
    asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="launch-day",
                                          StartTime=launch_day, DesiredCapacity=2)
    asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="weekly",
                                          Recurrence="0 9 * * 1", StartTime=datetime.now(UTC) + timedelta(seconds=2),
                                          DesiredCapacity=1)
    time.sleep(2.5)  # "weekly" began: AWS takes no start time in the past, so it goes over without one
    result = ok(project.make(target))
    assert "carrying scheduled action weekly over to" in result.stdout
    [new] = groups_of(project)
    assert new["AutoScalingGroupName"] != name
    carried = scheduled(project, new["AutoScalingGroupName"])
    assert sorted(carried) == ["launch-day", "morning", "weekly"]
    morning = carried["morning"]
    assert (morning["Recurrence"], morning["MinSize"], morning["MaxSize"], morning["DesiredCapacity"]) == \
        ("0 8 * * *", 1, 4, 2)
    assert carried["launch-day"]["StartTime"] == launch_day and carried["launch-day"]["DesiredCapacity"] == 2
    assert carried["weekly"]["Recurrence"] == "0 9 * * 1"
    assert scheduled(project, name) == {}  # the retired group's went with it


PASS_ROLE = {"Sid": "HookRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/hooks",
             "Condition": {"StringEquals": {"iam:PassedToService": "autoscaling.amazonaws.com"}}}


def hooks_of(project, group_name: str) -> dict[str, dict]:
    found = project.client("autoscaling").describe_lifecycle_hooks(AutoScalingGroupName=group_name)
    return {hook["LifecycleHookName"]: hook for hook in found["LifecycleHooks"]}


@pytest.mark.parametrize("target", ["deploy", "rollback"])
def test_the_serving_groups_lifecycle_hooks_are_the_new_groups_from_its_creation(project, target):
    live = ready_for(project, target)
    warm = {"LifecycleHookName": "warm", "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
            "HeartbeatTimeout": 120, "DefaultResult": "CONTINUE", "NotificationMetadata": "cache"}
    project.client("autoscaling").put_lifecycle_hook(AutoScalingGroupName=live["AutoScalingGroupName"], **warm)
    result = ok(project.make(target))
    assert "carrying lifecycle hook warm (autoscaling:EC2_INSTANCE_LAUNCHING) over to" in result.stdout
    [new] = groups_of(project)
    [create] = [call for call in project.calls(target) if call["call"] == "autoscaling.CreateAutoScalingGroup"]
    assert create["params"]["LifecycleHookSpecificationList"] == [warm]  # at creation, for its first instances
    hook = hooks_of(project, new["AutoScalingGroupName"])["warm"]
    assert {key: hook.get(key) for key in warm} == warm


def test_a_hook_that_notifies_through_a_role_needs_pass_role_and_is_carried_with_it(project):
    ok(project.make("setup"))
    ok(project.make("deploy"))
    [live] = groups_of(project)
    drain = {"LifecycleHookName": "drain", "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
             "NotificationTargetARN": "arn:aws:sqs:us-east-1:123456789012:drain",
             "RoleARN": "arn:aws:iam::123456789012:role/hooks"}
    project.client("autoscaling").put_lifecycle_hook(AutoScalingGroupName=live["AutoScalingGroupName"], **drain)
    refused = project.make("deploy")
    assert refused.returncode != 0
    assert "through role arn:aws:iam::123456789012:role/hooks, which needs iam:PassRole" in refused.stdout
    [error] = errors(refused)
    assert "CreateAutoScalingGroup failed: AccessDenied" in error and "iam:PassRole" in error
    assert groups_of(project) == [live] and in_service(project)  # rolled back: the old group serves

    document = project.policy()
    project.change_policy({**document, "Statement": [*document["Statement"], PASS_ROLE]})
    ok(project.make("deploy"))
    [new] = groups_of(project)
    hook = hooks_of(project, new["AutoScalingGroupName"])["drain"]
    assert {key: hook.get(key) for key in drain} == drain
