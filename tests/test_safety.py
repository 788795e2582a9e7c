"""Safe by default, proven with faults injected in the emulator: throttling, 5xx and delays on the
tool's calls, failing and interrupted deploys, two deploys at once, the traffic guard and
`make rollback`. After every scenario, nothing of a failed release is left behind and the load
balancer never had zero InService instances."""

import getpass
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import errors, ok
from core.poll import wait_until
from test_deploy import GROUP_PREFIX, groups_of, images, in_service, launch_of, launch_settings

LB = "elb-app-dev01"


@pytest.fixture
def launch_kind():
    return "template"  # tests parametrize it where launch configurations matter too


@pytest.fixture
def serving(project, launch_kind):
    """dev01 set up and serving one release; the load balancer history starts here."""
    project.settings["LAUNCH_KIND"] = launch_kind
    ok(project.make("setup"))
    ok(project.make("deploy"))
    project.emulator.calls.clear()
    project.history_start = len(project.emulator.lb_inservice_history(LB))
    return project


def assert_nothing_left_behind(project, groups=1):
    """Exactly `groups` groups of dev01, only their launch templates, only kept images with their
    snapshots, the lock free, and never zero InService instances since the scenario began."""
    live = groups_of(project)
    assert len(live) == groups, [g["AutoScalingGroupName"] for g in live]
    assert launch_settings(project) == sorted(launch_of(g) for g in live)
    kept = images(project)
    assert 1 <= len(kept) <= 2
    snapshots = project.client("ec2").describe_snapshots(
        Filters=[{"Name": "tag:Role", "Values": ["carnivore"]}])["Snapshots"]
    assert sorted(s["SnapshotId"] for s in snapshots) == sorted(
        i["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] for i in kept.values())
    assert project.lock_holder() is None
    history = project.emulator.lb_inservice_history(LB)[getattr(project, "history_start", 0):]
    assert min(history, default=1) >= 1, history
    assert in_service(project)


def test_throttling_5xx_and_delays_on_every_service_are_survived(project):
    faults = project.emulator.faults
    for service, code in [("ec2", "RequestLimitExceeded"), ("autoscaling", "Throttling"),
                          ("elasticloadbalancing", "Throttling"), ("route53", "PriorRequestNotComplete"),
                          ("route53", "Throttling"), ("dynamodb", "ThrottlingException")]:
        faults.add(service=service, code=code, every=3)
    faults.add(code="ServiceUnavailable", status=503, every=7)
    faults.add(action="DescribeInstanceHealth", code=None, delay=0.3)
    ok(project.make("setup"))
    ok(project.make("deploy"))
    project.history_start = len(project.emulator.lb_inservice_history(LB))
    ok(project.make("deploy"))
    assert faults.fired > 20
    assert_nothing_left_behind(project)


def test_the_users_max_attempts_wins_over_the_tools_default(serving):
    serving.emulator.faults.add(action="DescribeLoadBalancers", code="Throttling", times=2)
    result = serving.make("status", AWS_MAX_ATTEMPTS="2")  # one retry: still throttled
    assert result.returncode != 0 and "Throttling" in result.stderr
    serving.emulator.faults.clear()
    serving.emulator.faults.add(action="DescribeLoadBalancers", code="Throttling", times=2)
    ok(serving.make("status"))  # the tool's default (10 attempts) rides it out


def test_a_throttle_that_outlasts_the_health_waiters_retries_is_reported_as_throttling(serving):
    serving.emulator.faults.add(action="DescribeInstanceHealth", code="Throttling", times=2)  # both attempts
    result = serving.make("deploy", AWS_MAX_ATTEMPTS="2")
    assert result.returncode != 0
    assert "AWS kept throttling DescribeInstanceHealth (Throttling) past every retry" in result.stderr
    assert "did not become healthy" not in result.stderr
    serving.emulator.faults.clear()
    assert_nothing_left_behind(serving)  # rolled back all the same


def test_a_rollback_that_fails_too_says_both_and_the_next_deploy_converges(serving):
    serving.emulator.faults.add(action="DescribeInstanceHealth", code="Throttling")  # for good
    result = serving.make("deploy", AWS_MAX_ATTEMPTS="2")
    assert result.returncode != 0
    [error] = errors(result)
    assert "AWS kept throttling DescribeInstanceHealth" in error and "then the rollback failed too" in error
    serving.emulator.faults.clear()
    ok(serving.make("deploy"))
    assert_nothing_left_behind(serving)


def test_polling_is_one_describe_per_poll(serving):
    serving.emulator.health.set(GROUP_PREFIX, group_polls=6, lb_polls=4)
    ok(serving.make("deploy", DESIRED_CAPACITY="2"))
    actions = [c.action for c in serving.emulator.calls]
    # Each poll reads the group; once it is healthy there, the load balancer too: 7 polls until two
    # instances are InService in the group, 5 more until they are at the load balancer.
    # DescribeAutoScalingGroups: polls 12 at most, the plan 2 (the environment's groups, and the app's
    # for image retention), lookup 1, retirement 3 (its change lines, the traffic guard, the wait),
    # template sweep 1, image retention 1; DescribeInstanceHealth: polls 5, traffic guards 2, draining 1.
    assert actions.count("DescribeAutoScalingGroups") <= 12 + 2 + 1 + 3 + 1 + 1, actions
    assert actions.count("DescribeInstanceHealth") <= 5 + 2 + 1, actions


@pytest.mark.parametrize("launch_kind", ["template", "configuration"])
def test_a_failing_launch_leaves_nothing_behind(serving):
    serving.emulator.faults.add(action="CreateAutoScalingGroup", code="ValidationError", times=1)
    result = serving.make("deploy")
    assert result.returncode != 0 and "CreateAutoScalingGroup failed: ValidationError" in result.stderr
    assert_nothing_left_behind(serving)


def test_a_failing_cleanup_converges_on_the_next_deploy(serving):
    serving.emulator.faults.add(action="DeleteAutoScalingGroup", code="ValidationError", times=1)
    result = serving.make("deploy")
    assert result.returncode != 0 and "DeleteAutoScalingGroup failed" in result.stderr
    assert len(groups_of(serving)) == 2 and in_service(serving)  # the new release serves
    ok(serving.make("deploy"))
    assert_nothing_left_behind(serving)


# The first line each step prints in a second deploy: a SIGTERM sent when it appears lands on
# (or just after) that step boundary.
STEP_STARTS = [
    "deploy: checking elb-app-dev01", "deploy: -> build the app", "deploy: -> reuse primal image",
    "deploy: copying files over", "deploy: building carnivore image", "deploy: pulling down list",
    "deploy: creating launch template", "deploy: -> launch group asg-",
    "deploy: ensuring new instance(s) are healthy at ec2",
    "deploy: ensuring new instance(s) are healthy at elb", "deploy: removing 1 instance(s)", "deploy: keeping image(s)",
]


@pytest.mark.parametrize("start", STEP_STARTS)
def test_an_interrupted_deploy_keeps_serving_and_the_next_deploy_converges(serving, start):
    serving.emulator.health.set(GROUP_PREFIX, group_polls=3, lb_polls=3)
    deploy = serving.start("deploy")
    seen = []
    for line in deploy.stdout:
        seen.append(line)
        if line.startswith(start):
            os.killpg(deploy.pid, signal.SIGTERM)  # as Ctrl-C would, to make and the step alike
            break
    rest, errors = deploy.communicate(timeout=120)
    output = "".join(seen) + rest
    interrupted = deploy.returncode != 0
    if interrupted:
        # make dies of the signal too: a run killed after cutover may have finished its last step
        assert "interrupted" in errors or "new instance(s) InService at" in output
        assert in_service(serving)
        assert serving.lock_holder() is None
        if "new instance(s) InService at" not in output:  # before cutover: rolled back at once
            assert_nothing_left_behind(serving)
    serving.emulator.health.clear()
    ok(serving.make("deploy"))
    assert_nothing_left_behind(serving)


def test_a_deploy_interrupted_while_aws_still_creates_its_launch_template_leaves_nothing_behind(serving):
    # AWS still carries the call out after the tool stopped waiting (the group's create, made the same
    # way, cannot be shown so: carried out after the rollback, it fails for want of the template)
    serving.emulator.faults.add(service="ec2", action="CreateLaunchTemplate", code=None, lag=3.0)
    deploy = serving.start("deploy")
    for line in deploy.stdout:
        if line.startswith("deploy: creating launch template"):
            time.sleep(0.3)  # the call is on its way: the signal comes while AWS carries it out
            os.killpg(deploy.pid, signal.SIGTERM)
            break
    _, stderr = deploy.communicate(timeout=120)
    assert deploy.returncode != 0 and "interrupted" in stderr, stderr
    wait_until(lambda: (("ec2", "CreateLaunchTemplate") in serving.emulator.calls, "AWS makes the template"),
               timeout=10, interval=0.1, say=lambda _: None)  # made, whenever the tool stopped waiting
    assert_nothing_left_behind(serving)


@pytest.mark.parametrize("command, signum", [
    ("make --no-print-directory deploy 2>&1 | tee deploy.log", signal.SIGINT),  # Ctrl-C: tee dies first
    ("make --no-print-directory deploy > deploy.log 2>&1", signal.SIGHUP),  # the terminal closed
], ids=["ctrl-c-of-make-deploy-piped-to-tee", "sighup"])
def test_a_rollback_survives_the_terminal_going_away(serving, command, signum):
    serving.emulator.health.set(GROUP_PREFIX, never=True)
    shell = subprocess.Popen(["bash", "-c", command], cwd=serving.path, env=serving.env(HEALTH_TIMEOUT="120"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log = serving.path / "deploy.log"
    deadline = time.monotonic() + 120
    while "are healthy at" not in (log.read_text() if log.exists() else ""):  # the health wait
        assert time.monotonic() < deadline and shell.poll() is None, log.read_text()
        time.sleep(0.1)
    os.killpg(shell.pid, signum)  # the whole job, as the terminal does
    shell.wait(timeout=60)
    while len(groups_of(serving)) > 1 or serving.lock_holder():  # the step may outlive make and tee
        assert time.monotonic() < deadline, "the rollback did not finish"
        time.sleep(0.2)
    assert_nothing_left_behind(serving)
    log.unlink()


def test_a_second_deploy_or_rollback_while_one_runs_is_refused_naming_the_holder(serving):
    serving.emulator.health.set(GROUP_PREFIX, group_polls=25)
    first = subprocess.Popen(["make", "--no-print-directory", "deploy"], cwd=serving.path,
                             env=serving.env(POLL_INTERVAL="0.2"), stdout=subprocess.PIPE, text=True)
    for line in first.stdout:
        if "healthy at ec2" in line:
            break
    changes = len(serving.mutating_actions())
    for target in ("deploy", "rollback"):
        second = serving.make(target)
        assert second.returncode != 0
        assert "dev01 is locked: held by" in second.stderr and " pid " in second.stderr and "since" in second.stderr
    assert len(serving.mutating_actions()) == changes
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert_nothing_left_behind(serving)


def test_unlock_breaks_only_a_lock_older_than_the_timeout(serving):
    dynamodb = serving.client("dynamodb")
    stale = {"Environment": {"S": "dev01"}, "Owner": {"S": "ana@laptop pid 42"},
             "Since": {"N": str(int(time.time()) - 7200)}}
    dynamodb.put_item(TableName="deploy-lock-app-dev01", Item=stale)
    refused = serving.make("deploy")
    assert refused.returncode != 0 and "held by ana@laptop pid 42" in refused.stderr
    young = serving.make("unlock", LOCK_TIMEOUT="10000")
    assert young.returncode != 0 and "younger than LOCK_TIMEOUT" in young.stderr
    ok(serving.make("unlock"))
    assert serving.lock_holder() is None
    ok(serving.make("deploy"))


@pytest.mark.parametrize("launch_kind", ["template", "configuration"])
def test_make_rollback_puts_the_previous_release_back(serving):
    [first_image] = images(serving)
    ok(serving.make("deploy"))
    [second_image] = set(images(serving)) - {first_image}
    serving.emulator.calls.clear()
    result = ok(serving.make("rollback"))
    assert re.search(rf"leaving release \d{{14}} \({second_image}\); going back to release \d{{14}} \({first_image}\)",
                     result.stdout), result.stdout
    [group] = groups_of(serving)
    assert {t["Key"]: t["Value"] for t in group["Tags"]}["Image"] == first_image
    assert set(images(serving)) == {first_image, second_image}  # the rolled-back release stays for roll-forward
    assert "CreateImage" not in serving.mutating_actions()
    assert_nothing_left_behind(serving)


def test_the_traffic_guard_never_retires_the_last_serving_group(serving):
    [live] = groups_of(serving)
    state_file = serving.path / "deploy/log/dev01/state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "outdated_groups": [live["AutoScalingGroupName"]]}))
    result = serving.make("cleanup-asgs")
    assert result.returncode != 0 and "refusing to retire the last InService instances" in result.stderr
    assert groups_of(serving) == [live]
    assert serving.mutating_actions() == []


def test_a_load_balancer_of_another_app_is_refused_by_deploy(project):
    project.client("elb").create_load_balancer(
        LoadBalancerName=LB, AvailabilityZones=["us-east-1a"],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        Tags=[{"Key": "App", "Value": "shop"}, {"Key": "Environment", "Value": "dev01"}])
    project.client("dynamodb").create_table(
        TableName="deploy-lock-app-dev01", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "Environment", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "Environment", "KeyType": "HASH"}])
    project.emulator.calls.clear()
    result = project.make("deploy")
    assert result.returncode != 0 and "belongs to {'App': 'shop'}" in result.stderr
    assert project.mutating_actions() == []


def test_an_account_that_refuses_launch_configurations_is_told_at_setup_and_deploy(project):
    project.emulator.faults.add(action="CreateLaunchConfiguration", code="UnsupportedOperation")
    refused = project.make("setup", LAUNCH_KIND="configuration")
    assert refused.returncode != 0 and "cannot create launch configurations" in refused.stderr
    assert "set LAUNCH_KIND=template" in refused.stderr
    assert project.mutating_actions() == ["CreateLaunchConfiguration"]  # the refused probe, nothing else
    ok(project.make("setup"))
    ok(project.make("deploy"))
    project.history_start = len(project.emulator.lb_inservice_history(LB))
    result = project.make("deploy", LAUNCH_KIND="configuration")
    assert result.returncode != 0 and "set LAUNCH_KIND=template" in result.stderr
    assert_nothing_left_behind(project)


def test_a_step_run_alone_never_revives_a_rolled_back_release(project):
    """After a deploy that rolled back (its freshly baked image deregistered), `make launch-asg`
    alone is refused, under the lock, with one line naming what to run; nothing changes (before,
    it launched a group from the deregistered image beside the live release, with no lock)."""
    ok(project.make("setup"))
    ok(project.make("deploy"))
    project.emulator.health.set("asg-app-dev01-", never=True)
    failed = project.make("deploy", HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2")
    assert failed.returncode != 0 and "rolled back" in failed.stderr
    project.emulator.health.clear()
    [live] = groups_of(project)
    project.emulator.calls.clear()

    for step in ("launch-asg", "wait-health", "cleanup-asgs"):
        refused = project.make(step)
        assert refused.returncode != 0
        [error] = errors(refused)
        assert re.fullmatch(r"deploy: error: release \d{14} ended \(rolled back\): its hand-off in "
                            r"deploy/log/dev01/state.json is not to be resumed; run `NODE_ENV=dev01 make deploy` "
                            r"for a new release \(or `make rollback`\)", error), error
    assert project.mutating_actions() == []
    assert [g["AutoScalingGroupName"] for g in groups_of(project)] == [live["AutoScalingGroupName"]]
    assert project.lock_holder() is None


def test_a_step_run_alone_holds_the_deploy_lock(project):
    ok(project.make("setup"))
    ok(project.make("deploy"))
    project.client("dynamodb").put_item(TableName="deploy-lock-app-dev01", Item={  # a deploy elsewhere
        "Environment": {"S": "dev01"}, "Owner": {"S": "ci@runner-7 pid 4242"}, "Since": {"N": str(int(time.time()))}})
    project.emulator.calls.clear()
    refused = project.make("cleanup-image")
    assert refused.returncode != 0
    [error] = errors(refused)
    assert error.startswith("deploy: error: dev01 is locked: held by ci@runner-7 pid 4242"), error
    assert project.mutating_actions() == []


def dead_pid() -> int:
    """The pid of a process of this host that has ended."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_the_lock_of_a_run_whose_process_is_gone_from_this_host_is_taken_over(project):
    """kill -9 of a deploy leaves its lock; on the same host, with its process gone, the next
    deploy takes it over and says so (not an hour's wait for LOCK_TIMEOUT), and status says the
    holder is dead. A holder of another host keeps today's rule."""
    ok(project.make("setup"))
    owner = f"{getpass.getuser()}@{socket.gethostname()} pid {dead_pid()}"
    lock = {"Environment": {"S": "dev01"}, "Owner": {"S": owner}, "Since": {"N": str(int(time.time()))}}
    project.client("dynamodb").put_item(TableName="deploy-lock-app-dev01", Item=lock)
    assert f"held by {owner} since " in ok(project.make("status")).stdout
    assert "whose process is gone from this host" in ok(project.make("status")).stdout

    deployed = ok(project.make("deploy"))
    assert f"deploy: took over the deploy lock held by {owner} since " in deployed.stdout
    assert project.lock_holder() is None and len(groups_of(project)) == 1

    elsewhere = {**lock, "Owner": {"S": f"ci@not-{socket.gethostname()} pid {dead_pid()}"}}
    project.client("dynamodb").put_item(TableName="deploy-lock-app-dev01", Item=elsewhere)
    refused = project.make("deploy")
    assert refused.returncode != 0 and "dev01 is locked: held by ci@not-" in refused.stderr


def test_an_interrupted_bake_lets_packer_clean_up_and_leaves_nothing_running(project):
    """SIGTERM while Packer bakes: the tool passes it on to Packer (in a session of its own, it
    gets it no other way), waits for its cleanup within a bound, and says so; no build instance
    runs on and no key pair is left (before, Packer ran on with a closed pipe)."""
    ok(project.make("setup"))
    project.emulator.faults.add(service="ec2", action="StopInstances", code=None, delay=3.0, packer=True)
    run = project.start("deploy")
    seen = ""
    while "Stopping the source instance" not in seen:
        line = run.stdout.readline()
        assert line, seen
        seen += line
    os.killpg(run.pid, signal.SIGTERM)
    out, err = run.communicate(timeout=120)
    assert run.returncode != 0 and "interrupted" in err, err
    said = seen + out
    assert "packer: interrupted; letting packer build of primal.json (-only=emulator) clean up" in said, said
    assert "packer: packer build of primal.json (-only=emulator) cleaned up" in said, said
    ec2 = project.client("ec2")
    built = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["packer-*"]}])["Reservations"]
    assert [i["State"]["Name"] for r in built for i in r["Instances"]] == ["terminated"]
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"] if k["KeyName"].startswith("packer_")] == []
