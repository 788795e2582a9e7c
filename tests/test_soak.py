"""The soak (SOAK_SECONDS): the new group serves alone while the old instances are kept warm, out
of the load balancer; a release that turns unhealthy, an alarm in ALARM and an interrupt during it
each bring the same old instances back at once; a soak that passes ends with one group."""

import os
import re
import signal

import jmespath
import pytest

from conftest import errors, ok
from test_deploy import groups_of, images, in_service, serving_history, serving_word

GROUP_PREFIX = "asg-app-dev01-"
SOAK = {"SOAK_SECONDS": "600", "POLL_INTERVAL": "0.1"}  # ended by what goes wrong, never by the time


@pytest.fixture(params=["classic", "application"])
def serving(project, request):
    """An environment of either kind of load balancer with a release live."""
    project.settings["LOAD_BALANCER_KIND"] = request.param
    ok(project.make("setup"))
    ok(project.make("deploy"))
    return project


def instance_ids(group: dict) -> list[str]:
    return sorted(instance["InstanceId"] for instance in group["Instances"])


def assert_back_on(project, old: dict, old_images: dict, suspended: tuple = ()) -> None:
    """The old group alone, its very instances serving, its processes resumed (but those suspended
    before the deploy); the new image gone."""
    [group] = groups_of(project)
    assert group["AutoScalingGroupName"] == old["AutoScalingGroupName"]
    assert in_service(project) == instance_ids(old)  # the same instances: warm, not new ones
    assert [process["ProcessName"] for process in group["SuspendedProcesses"]] == list(suspended)
    assert set(images(project)) == set(old_images)
    assert project.lock_holder() is None


def zero_serving_window(project, before: int) -> list[str]:
    """The changes since the `before`th after which nothing served (the emulator counts after each)."""
    counts = serving_history(project)[before:]
    changes = [call.action for call in project.emulator.mutating_calls()][-len(counts):]
    return [change for change, count in zip(changes, counts, strict=True) if count == 0]


def test_a_release_that_turns_unhealthy_in_its_soak_goes_back_to_the_warm_instances_at_once(serving):
    [old] = groups_of(serving)
    old_images = images(serving)
    before = len(serving_history(serving))
    serving.emulator.health.set(GROUP_PREFIX, good_polls=6)  # serves, then fails its checks for good

    failed = serving.make("deploy", **SOAK)
    assert failed.returncode != 0
    [error] = errors(failed)
    assert "failed its soak after" in error and f"rolled back to the warm instances of {old['AutoScalingGroupName']}" \
        in error, error
    assert "kept warm" in failed.stdout and f"soaking {GROUP_PREFIX}" in failed.stdout
    assert "putting 1 warm instance(s)" in failed.stdout
    assert_back_on(serving, old, old_images)
    # Nothing served only from the answer that showed the new instance failing until the old one
    # passed its checks again: the one change in between is putting it back.
    word = "RegisterTargets" if serving_word(serving) == "healthy" else "RegisterInstancesWithLoadBalancer"
    assert zero_serving_window(serving, before) == [word]
    assert "rolled back (failed its soak: " in ok(serving.make("history")).stdout


def health_answers(project, calls: list[dict]) -> list[tuple[int, dict[str, str]]]:
    """(index, {instance: state}) of every load balancer health answer among a run's calls."""
    query = ("TargetHealthDescriptions[].[Target.Id, TargetHealth.State]" if serving_word(project) == "healthy"
             else "InstanceStates[].[InstanceId, State]")
    return [(i, dict(jmespath.search(query, call["response"]))) for i, call in enumerate(calls)
            if call["call"].endswith(("DescribeInstanceHealth", "DescribeTargetHealth")) and "response" in call]


def test_the_old_instances_go_back_at_the_first_answer_that_shows_a_new_one_failing(serving):
    [old] = groups_of(serving)
    serving.emulator.health.set(GROUP_PREFIX, good_polls=6)
    assert serving.make("deploy", **SOAK).returncode != 0
    calls = serving.calls("deploy")
    taken_out = next(i for i, call in enumerate(calls) if call["call"].endswith(("DeregisterInstancesFromLoadBalancer",
                                                                                 "DeregisterTargets")))
    failing = next(i for i, states in health_answers(serving, calls) if i > taken_out and any(
        state != serving_word(serving) for instance, state in states.items() if instance not in instance_ids(old)))
    changes = [(i, call["call"]) for i, call in enumerate(calls) if i > failing and ".Describe" not in call["call"]]
    assert changes[0][1].endswith(("RegisterInstancesWithLoadBalancer", "RegisterTargets")), changes[:3]
    assert not [i for i, _ in health_answers(serving, calls) if failing < i < changes[0][0]]  # no second look


@pytest.fixture
def live(project):
    """A classic environment with a release live."""
    ok(project.make("setup"))
    ok(project.make("deploy"))
    return project


def until_soaking(deploy) -> list[str]:
    """The deploy's lines up to its first look at the new group in the soak."""
    seen = []
    for line in deploy.stdout:
        seen.append(line)
        if line.startswith(f"deploy: soaking {GROUP_PREFIX}") and "left [" in line:
            return seen
    raise AssertionError("".join(seen) + deploy.stderr.read())


def test_an_alarm_that_goes_to_alarm_in_the_soak_sends_it_back_to_the_warm_instances(live):
    [old] = groups_of(live)
    old_images = images(live)
    cloudwatch = live.client("cloudwatch")
    for name in ("errors", "latency"):
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName=name, Namespace="App", Statistic="Sum", Period=60,
                                    EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName="latency", StateValue="OK", StateReason="quiet")
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="INSUFFICIENT_DATA", StateReason="no traffic yet")
    live.client("autoscaling").suspend_processes(  # by its operator: it stays so
        AutoScalingGroupName=old["AutoScalingGroupName"], ScalingProcesses=["AZRebalance"])
    deploy = live.start("deploy", SOAK_ALARMS="latency errors", **SOAK)
    seen = until_soaking(deploy)
    assert "alarms errors INSUFFICIENT_DATA latency OK" in seen[-1], seen[-1]
    cloudwatch.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="p99 over 2 s")
    rest, stderr = deploy.communicate(timeout=120)
    assert deploy.returncode != 0
    assert "failed its soak" in stderr and "alarm latency is in ALARM" in stderr, stderr
    assert_back_on(live, old, old_images, suspended=("AZRebalance",))


def test_a_missing_alarm_is_refused_before_anything_changes(live):
    live.emulator.calls.clear()
    refused = live.make("deploy", SOAK_ALARMS="errors", **SOAK)
    assert errors(refused) == ["deploy: error: no CloudWatch alarm errors in us-east-1: fix SOAK_ALARMS (alarm names, "
                               "space separated)"]
    assert live.mutating_actions() == []
    assert errors(live.make("deploy", SOAK_ALARMS="errors")) == [
        "deploy: error: SOAK_ALARMS are watched during the soak: set SOAK_SECONDS too (e.g. 600), or leave "
        "SOAK_ALARMS empty"]


def test_make_status_shows_a_deploy_in_its_soak_and_an_interrupt_sends_it_back_to_the_warm_instances(live):
    [old] = groups_of(live)
    old_images = images(live)
    deploy = live.start("deploy", **SOAK)
    until_soaking(deploy)
    status = ok(live.make("status")).stdout
    assert "  soak " in status and "serves alone until " in status and "kept warm, out of the load balancer" in status
    assert f"{old['Instances'][0]['InstanceId']}" in status and "not registered at the load balancer" in status
    [old_image] = old_images
    assert re.search(rf"^  image +{old_image} released \d{{14}}, live, kept warm out of the load balancer until the "
                     "soak passes$", status, re.M), status
    assert re.search(r"^  image +ami-\w+ released not yet, on trial: release \d{14} serves alone in its soak until ",
                     status, re.M), status
    rows = {line.split()[0] + line.split()[1]: line for line in status.splitlines() if line.startswith("  ")}
    assert rows["loadbalancer"].index("elb-app-") == rows["securitygroup"].index("sg-") == \
        len("  security group instances ")  # the values line up in one column, past the longest label
    os.killpg(deploy.pid, signal.SIGTERM)  # as Ctrl-C would, to make and the step alike
    rest, stderr = deploy.communicate(timeout=120)
    assert deploy.returncode != 0 and "interrupted" in stderr, stderr
    # make passes the signal on: the second may stop the soak's own rollback before it starts, the
    # pipeline's then does the same
    assert "putting 1 warm instance(s)" in rest, rest
    assert_back_on(live, old, old_images)
    assert ": interrupted (" in ok(live.make("history")).stdout.splitlines()[1]


def test_a_soak_that_passes_ends_with_the_new_group_alone(live):
    [old] = groups_of(live)
    passed = ok(live.make("deploy", SOAK_SECONDS="1", POLL_INTERVAL="0.2")).stdout
    assert "soak passed: asg-app-dev01-" in passed
    [new] = groups_of(live)
    assert new["AutoScalingGroupName"] != old["AutoScalingGroupName"] and in_service(live) == instance_ids(new)
    assert passed.index("soak passed") < passed.index(f"deleting {old['AutoScalingGroupName']}")
    newest = ok(live.make("history")).stdout.splitlines()[1]
    assert newest.startswith(f"  {new['AutoScalingGroupName'].removeprefix(GROUP_PREFIX)} deploy: live, image "), newest


def test_soak_0_retires_the_old_group_as_soon_as_the_new_one_serves(live):
    result = ok(live.make("deploy"))  # SOAK_SECONDS=0 in env/defaults.env
    assert "deploy: no soak (SOAK_SECONDS=0)." in result.stdout
    assert not {"RegisterInstancesWithLoadBalancer", "ResumeProcesses", "DescribeAlarms"} & set(
        call.action for call in live.emulator.calls)


def test_a_new_group_that_loses_an_instance_in_its_soak_goes_back_to_the_warm_instances(live):
    [old] = groups_of(live)
    old_images = images(live)
    deploy = live.start("deploy", **SOAK)
    until_soaking(deploy)
    [new] = [group for group in groups_of(live) if group["AutoScalingGroupName"] != old["AutoScalingGroupName"]]
    [lost] = instance_ids(new)
    live.client("autoscaling").terminate_instance_in_auto_scaling_group(  # a crash, a spot reclaim
        InstanceId=lost, ShouldDecrementDesiredCapacity=False)
    rest, stderr = deploy.communicate(timeout=120)
    assert deploy.returncode != 0
    assert "failed its soak after" in stderr and f"{lost} is " in stderr, stderr
    assert_back_on(live, old, old_images)


def test_one_instance_failing_of_two_is_enough_to_go_back_and_something_serves_throughout(project):
    project.settings["DESIRED_CAPACITY"] = "2"
    ok(project.make("setup"))
    ok(project.make("deploy"))
    [old] = groups_of(project)
    old_images = images(project)
    before = len(serving_history(project))
    project.emulator.health.set(GROUP_PREFIX, good_polls=6, failing=1)  # the other new one keeps serving

    failed = project.make("deploy", **SOAK)
    assert failed.returncode != 0
    [error] = errors(failed)
    assert "failed its soak after" in error and "is OutOfService" in error, error
    assert "putting 2 warm instance(s)" in failed.stdout
    assert_back_on(project, old, old_images)
    assert min(serving_history(project)[before:]) >= 1  # the old ones went back before the second failed


def test_a_failure_after_the_old_groups_are_suspended_resumes_them(live):
    [old] = groups_of(live)
    old_images = images(live)
    live.emulator.faults.add(action="DeregisterInstancesFromLoadBalancer", code="AccessDenied", status=403, times=1)
    failed = live.make("deploy", **SOAK)
    assert failed.returncode != 0
    [error] = errors(failed)
    assert error.startswith("deploy: error: DeregisterInstancesFromLoadBalancer failed: AccessDenied"), error
    assert f"resuming {old['AutoScalingGroupName']}..." in failed.stdout
    assert_back_on(live, old, old_images)  # never left suspended: it could not scale or heal


def test_a_rollback_soaks_too_and_goes_back_to_the_warm_instances_when_it_fails(live):
    ok(live.make("deploy"))  # a second release: make rollback goes back to the first
    [old] = groups_of(live)
    live.emulator.health.set(GROUP_PREFIX, good_polls=6)
    failed = live.make("rollback", **SOAK)
    assert failed.returncode != 0
    assert "rollback: error: " in failed.stderr and "failed its soak after" in failed.stderr, failed.stderr
    [group] = groups_of(live)
    assert group["AutoScalingGroupName"] == old["AutoScalingGroupName"] and in_service(live) == instance_ids(old)
    live.emulator.health.clear()
    passed = ok(live.make("rollback", SOAK_SECONDS="1", POLL_INTERVAL="0.2")).stdout
    assert "rollback: soak passed: " in passed and len(groups_of(live)) == 1
