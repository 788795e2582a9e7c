"""What happened and what is live: a record of every run, the release history in AWS (seen the
same from every checkout), an honest `make status`, and rollbacks that only ever go back."""

import re
import shutil
import subprocess
import time

import pytest

from conftest import Project, errors, ok
from core.record import Record, records
from test_deploy import GROUP_PREFIX, groups_of, images

STAMP = r"\d{14}"


@pytest.fixture
def serving(project):
    """dev01 set up and serving one release."""
    ok(project.make("setup"))
    ok(project.make("deploy"))
    project.emulator.calls.clear()
    return project


def history_lines(project: Project, **settings) -> list[str]:
    return ok(project.make("history", **settings)).stdout.splitlines()[1:]


def second_checkout(project: Project, tmp_path) -> Project:
    """Another clone of the project, as on a CI runner: no deploy/log, no state, the same AWS."""
    path = tmp_path / "clone"
    shutil.copytree(project.path, path, symlinks=True, ignore=shutil.ignore_patterns("log", "keys", "tmp", "dist"))
    other = Project(path, project.emulator)
    other.deployers, other.zone, other.settings = project.deployers, project.zone, dict(project.settings)
    return other


def test_a_failed_deploy_keeps_a_record_of_its_own_with_the_failing_health_answers(serving):
    project = serving
    [first] = [path for path in project.records() if path.name.endswith("-deploy")]
    first_calls = (first / "aws.jsonl").read_text()
    project.emulator.health.set(GROUP_PREFIX, lb_polls=100_000)  # InService in the group, never at the elb
    result = project.make("deploy", HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2")
    assert result.returncode != 0
    record = project.record("deploy")
    assert record != first and (first / "aws.jsonl").read_text() == first_calls  # nothing overwritten
    [error] = errors(result)
    assert [line for line in result.stderr.splitlines() if not line.startswith("make")][-1] == \
        f"deploy: the record of this run: deploy/log/dev01/{record.name}/"

    calls = project.calls("deploy")
    health = [i for i, call in enumerate(calls) if call["call"] == "elb.DescribeInstanceHealth"
              and call["params"] == {"LoadBalancerName": "elb-app-dev01"}]
    failing = [i for i in health if any(state["State"] == "OutOfService"
                                        for state in calls[i]["response"]["InstanceStates"])]
    removal = next(i for i, call in enumerate(calls) if call["call"] == "autoscaling.DeleteAutoScalingGroup")
    assert len(failing) >= 3 and failing[0] < removal  # the failure's own answers, then the rollback's calls
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", call["at"]) for call in calls)
    progress = (record / "progress.log").read_text()
    assert "ensuring new instance(s) are healthy at elb (0/1 are InService)" in progress
    assert error in progress
    failure = (record / "failure.txt").read_text().splitlines()
    assert failure[0] == error and failure[1].startswith("details: progress.log (what the run said), aws.jsonl")
    assert (record / "outcome.txt").read_text() == f"failed: {error}\n"
    assert (first / "outcome.txt").read_text().startswith("succeeded at ")
    assert (record / "packer-carnivore.log").read_text()


def test_every_run_keeps_its_own_record_and_refusals_never_push_out_one_that_changed_aws(serving):
    """KEEP_RECORDS counts the runs that changed something in AWS; refusals and runs that found
    nothing to do do not push them out, and the newest failure is never removed."""
    project = serving
    [setup, deployed] = project.records()
    project.emulator.health.set(GROUP_PREFIX, never=True)
    assert project.make("deploy", HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2").returncode != 0
    project.emulator.health.clear()
    failed = project.records()[-1]
    for _ in range(4):
        ok(project.make("preflight", KEEP_RECORDS="2"))  # reads only
    *_, idle_before_last, idle_last = project.records()
    assert project.records() == [deployed, failed, idle_before_last, idle_last]  # setup: past the 2 that acted
    for _ in range(3):
        assert project.make("launch-asg", KEEP_RECORDS="1").returncode != 0  # refused: the release ended
    assert failed in project.records() and deployed not in project.records()  # the newest failure stays
    assert (project.path / "deploy/log/dev01/state.json").exists()
    kept = project.records()
    ok(project.make("status"))
    ok(project.make("history"))
    assert project.records() == kept  # read-only targets keep no record


def test_history_status_and_the_lock_are_the_same_from_a_second_checkout(serving, tmp_path):
    first = serving
    other = second_checkout(first, tmp_path)
    [live] = groups_of(first)
    stamp = live["AutoScalingGroupName"].removeprefix(GROUP_PREFIX)
    assert history_lines(other) == history_lines(first)
    [line] = history_lines(other)
    assert re.fullmatch(rf"  {stamp} deploy: live, image ami-\w+ \(baked\), by \S+@\S+ at [\d-]+ [\d:]+ UTC", line)
    status = ok(other.make("status")).stdout
    assert re.search(rf"live release +{stamp} deploy: live", status)
    assert re.search(r"deploy lock +free", status) and re.search(r"last record here +none in this checkout", status)

    first.emulator.health.set(GROUP_PREFIX, never=True)  # a deploy from the first checkout that fails
    running = subprocess.Popen(["make", "--no-print-directory", "deploy"], cwd=first.path, text=True,
                               env=first.env(HEALTH_TIMEOUT="300", POLL_INTERVAL="0.2"), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        for output in running.stdout:
            if "healthy at ec2" in output:
                break
        status = ok(other.make("status")).stdout
        assert re.search(r"deploy lock +held by \S+@\S+ pid \d+ since ", status), status
        assert re.search(rf"live release +{stamp} deploy: live", status)
        assert re.search(rf"last run +{STAMP} deploy: in flight, image ami-\w+", status), status
        assert history_lines(other)[0] == re.sub(r"^last run +", "  ", re.search(r"last run +.*", status).group(0))
    finally:
        running.terminate()  # Ctrl-C's twin: the deploy rolls back
        running.communicate(timeout=120)
    assert running.returncode != 0
    newest, older = history_lines(other)
    assert re.fullmatch(rf"  {STAMP} deploy: interrupted \(stopped by Ctrl-C, SIGTERM or SIGHUP\), "
                        rf"image ami-\w+ \(baked\), "
                        r"by .+", newest), newest
    assert older == line
    status = ok(other.make("status")).stdout
    assert re.search(r"deploy lock +free", status)
    assert re.search(rf"last run +{STAMP} deploy: interrupted", status)


def test_a_failed_release_says_why_in_the_history(serving):
    serving.emulator.health.set(GROUP_PREFIX, never=True)
    assert serving.make("deploy", HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2").returncode != 0
    newest = history_lines(serving)[0]
    assert re.fullmatch(rf"  {STAMP} deploy: rolled back \(asg-app-dev01-{STAMP} did not become healthy: "
                        rf".+HEALTH_TIMEOUT=1s\)\), image ami-\w+ \(baked\), by .+", newest), newest


def test_rollback_twice_goes_back_twice_then_says_nothing_older_is_kept(serving):
    project = serving
    project.settings["KEEP_IMAGES"] = "3"
    ok(project.make("deploy"))
    ok(project.make("deploy"))
    stamps = [line.split()[0] for line in history_lines(project)]  # the newest first: c, b, a
    live_image = {stamp: re.search(r"image (ami-\w+)", line).group(1)
                  for stamp, line in zip(stamps, history_lines(project), strict=True)}
    c, b, a = stamps

    first = ok(project.make("rollback")).stdout
    assert f"leaving release {c} ({live_image[c]}); going back to release {b} ({live_image[b]})" in first
    second = ok(project.make("rollback")).stdout
    assert f"going back to release {a} ({live_image[a]})" in second
    [group] = groups_of(project)
    assert {t["Key"]: t["Value"] for t in group["Tags"]}["Image"] == live_image[a]
    newest = history_lines(project)[0]
    assert re.fullmatch(rf"  {STAMP} rollback of {a}: live, image {live_image[a]}, by .+", newest), newest

    project.emulator.calls.clear()
    third = project.make("rollback")
    assert third.returncode != 0
    assert errors(third)[0] == (f"rollback: error: no release of dev01 older than {a} (the live one) is kept to roll "
                                "back to: KEEP_IMAGES says how many images are kept")
    assert project.mutating_actions() == []
    assert groups_of(project) == [group]


def image_of(group: dict) -> str:
    return {t["Key"]: t["Value"] for t in group["Tags"]}["Image"]


def test_rollback_without_a_history_goes_back_by_the_images(serving):
    """An environment deployed by an older version of the tool has no history: the newest kept
    image that is not live, as before."""
    project = serving
    ok(project.make("deploy"))
    [live] = groups_of(project)
    [earlier] = set(images(project)) - {image_of(live)}
    project.client("dynamodb").delete_item(TableName="deploy-lock-app-dev01",
                                           Key={"Environment": {"S": "dev01/releases"}})
    result = ok(project.make("rollback"))
    assert f"no release history of the live group; going back to {earlier}, released" in result.stdout
    [group] = groups_of(project)
    assert image_of(group) == earlier
    [line] = history_lines(project)  # the rollback's own
    assert re.fullmatch(rf"  {STAMP} rollback of {STAMP}: live, image {earlier}, by .+", line), line


def test_a_killed_run_shows_as_interrupted_once_the_next_one_starts(serving):
    project = serving
    dynamodb = project.client("dynamodb")
    key = {"Environment": {"S": "dev01/releases"}}
    item = dynamodb.get_item(TableName="deploy-lock-app-dev01", Key=key)["Item"]
    dead = {"M": {"stamp": {"S": "20000101000000"}, "kind": {"S": "deploy"}, "outcome": {"S": "in flight"},
                  "by": {"S": "ana@laptop"}, "started": {"S": "2000-01-01 00:00:00 UTC"}}}
    item["Releases"]["L"].append(dead)
    dynamodb.put_item(TableName="deploy-lock-app-dev01", Item=item)
    assert any(" 20000101000000 deploy: interrupted," in line for line in history_lines(project))  # no lock held
    ok(project.make("deploy"))
    stored = dynamodb.get_item(TableName="deploy-lock-app-dev01", Key=key)["Item"]["Releases"]["L"]
    [entry] = [release["M"] for release in stored if release["M"]["stamp"]["S"] == "20000101000000"]
    assert entry["outcome"]["S"] == "interrupted" and "without a word" in entry["reason"]["S"]


def test_a_history_write_that_lost_a_race_is_read_again_and_retried(serving):
    """The history's writes are conditional on the revision read: refused (as when another writer
    got in between), the release is read again and written, not lost nor failing the deploy."""
    project = serving
    # The deploy's PutItems: the lock's, then the history's first write (the release begins).
    project.emulator.faults.add(action="PutItem", code="ConditionalCheckFailedException", every=2, times=1)
    ok(project.make("deploy"))
    assert project.emulator.faults.fired == 1
    newest, older = history_lines(project)
    assert " deploy: live," in newest and " deploy: retired," in older


def test_every_wait_says_what_it_waits_for_and_for_how_long(project):
    setup = ok(project.make("setup")).stdout
    assert re.search(r"^setup: waiting for Route 53 to apply the change of dev01\.example\.com\. \(INSYNC\) \[\d+s\]$",
                     setup, re.M), setup
    assert re.search(r"^setup: certificate for dev01\.example\.com: PENDING_VALIDATION \[\d+s\]$", setup, re.M)
    assert re.search(r"^setup: waiting for lock table deploy-lock-app-dev01 \((CREATING|ACTIVE)\) \[\d+s\]$",
                     setup, re.M)
    ok(project.make("deploy"))
    deploy = ok(project.make("deploy")).stdout
    assert re.search(r"^deploy: waiting for image ami-\w+ to be available \(available\) \[\d+s\]$", deploy, re.M)
    assert re.search(r"^deploy: ensuring new instance\(s\) are healthy at elb \(1/1 are InService\) \[\d+s\]$",
                     deploy, re.M)
    assert re.search(r"^deploy: waiting for connection draining \(0/1 instance\(s\) still draining\) \[\d+s\]$",
                     deploy, re.M)
    assert re.search(r"^deploy: ensuring instance\(s\) of asg-app-dev01-\d{14} are terminated \(0 left\) \[\d+s\]$",
                     deploy, re.M)


def test_runs_of_any_targets_in_one_second_each_keep_a_record_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr("time.gmtime", lambda *_: time.struct_time((2026, 12, 1, 12, 0, 0, 1, 335, 0)))
    made = [Record(tmp_path, target, keep=30).folder.name for target in ("wait-health", "soak", "soak")]
    assert made == ["20261201T120000Z-wait-health", "20261201T120000Z.1-soak", "20261201T120000Z.2-soak"]
    assert [path.name for path in records(tmp_path)] == made


def test_a_deploy_s_record_and_its_release_share_one_stamp(serving):
    [group] = groups_of(serving)
    stamp = group["AutoScalingGroupName"].removeprefix(GROUP_PREFIX)
    assert serving.record("deploy").name == f"{stamp[:8]}T{stamp[8:]}Z-deploy"
