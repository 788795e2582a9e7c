"""The harness's replays (conftest.Project.make): a make run that a fresh project runs the same way
is run once per session; a later test that reaches it gets that run's result and state back, and a
run after anything else changed the emulator or the files is run for real."""

import pytest

import conftest
from conftest import GENERATED, ok


@pytest.fixture(autouse=True)
def replays(monkeypatch):
    monkeypatch.setattr(conftest, "REPLAY", True)  # also under TESTS_REPLAY=0


def state(project) -> dict:
    """What a setup leaves, by name and id: AWS's side and the project's generated files."""
    ec2, route53 = project.client("ec2"), project.client("route53")
    [zone] = route53.list_hosted_zones()["HostedZones"]
    return {
        "load balancers": [(lb["LoadBalancerName"], lb["DNSName"], [listener["Listener"]["Protocol"]
                                                                    for listener in lb["ListenerDescriptions"]])
                           for lb in project.client("elb").describe_load_balancers()["LoadBalancerDescriptions"]],
        "groups": sorted((g["GroupName"], g["GroupId"], len(g["IpPermissions"]))
                         for g in ec2.describe_security_groups()["SecurityGroups"]),
        "key pairs": [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]],
        "tables": project.client("dynamodb").list_tables()["TableNames"],
        "certificates": [(c["DomainName"], c["Status"])
                         for c in project.client("acm").list_certificates()["CertificateSummaryList"]],
        "records": [(r["Name"], r["Type"]) for r in
                    route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]],
        "users": [(u["UserName"], [k["AccessKeyId"] for k in project.client("iam").list_access_keys(
            UserName=u["UserName"])["AccessKeyMetadata"]]) for u in project.client("iam").list_users()["Users"]],
        "files": sorted((str(path.relative_to(project.path)), oct(path.stat().st_mode))
                        for generated in GENERATED for path in (project.path / generated).rglob("*")),
    }


def test_a_replayed_run_gives_back_the_result_and_the_state_of_the_real_one(project):
    real = ok(project.make("setup", DRAINING_SECONDS="1234"))  # settings of this test's alone: a real run
    assert project.ran == "kept"
    calls, first = list(project.emulator.calls), state(project)
    assert first["load balancers"] and first["tables"] and ("deploy/keys/app-dev01", "0o100600") in first["files"]

    project.begin()  # a fresh project, as the next test's
    replayed = ok(project.make("setup", DRAINING_SECONDS="1234"))
    assert project.ran == "replayed"
    assert (replayed.stdout, replayed.stderr) == (real.stdout, real.stderr)
    assert (list(project.emulator.calls), state(project)) == (calls, first)
    ok(project.make("deploy", DRAINING_SECONDS="1234"))  # what it gave back is what the tool goes on from


@pytest.mark.parametrize("change", ["a request", "the health script", "a generated file"])
def test_a_run_after_anything_else_changed_is_run_for_real_and_not_kept(project, change):
    ok(project.make("setup"))
    if change == "a request":
        project.client("ec2").create_security_group(GroupName="mine", Description="a group of the test's own")
    elif change == "the health script":
        project.emulator.health.set("asg-app-dev01-", never=True)
    else:
        (project.path / "tmp").mkdir(exist_ok=True)
        (project.path / "tmp/mine").write_text("a file of the test's own")
    ok(project.make("status"))
    assert project.ran == "run"
    # what changed is still there: a replay would have put back the state of a run made without it
    assert {"a request": "mine" in [g["GroupName"] for g in project.client("ec2").describe_security_groups()[
                "SecurityGroups"]],
            "the health script": "asg-app-dev01-" in project.emulator.mark()[1],
            "a generated file": (project.path / "tmp/mine").exists()}[change]


def test_reads_change_nothing_a_run_depends_on_and_stay_in_the_call_log(project):
    for ran, reads in (("kept", 1), ("replayed", 2)):  # (kept by an earlier test, the first is replayed too)
        project.begin()
        ok(project.make("setup"))
        project.client("ec2").describe_vpcs()
        project.emulator.calls.clear()
        for _ in range(reads):
            project.client("elb").describe_load_balancers()
        ok(project.make("preflight"))
        assert project.ran in (ran, "replayed")
        # the log as if the run were made now: the reads before it, then the run's own calls (its record's)
        calls, recorded = project.emulator.calls, [call["call"].split(".")[1] for call in project.calls("preflight")]
        assert calls[:reads] == [("elasticloadbalancing", "DescribeLoadBalancers")] * reads
        assert [action for _, action in calls[reads:]] == recorded


def test_a_file_a_test_left_in_the_project_is_gone_for_the_next_and_its_runs_replay_again(project):
    ok(project.make("setup"))  # kept (or replayed), from a fresh project
    (project.path / "deploy/env/qa9.json").write_text('{"port": 80}\n')  # an app config of the test's own
    server = project.path / "app/server.py"
    server.write_text(server.read_text() + "\n# a change of the test's own\n")

    project.begin()  # as the next test begins
    assert not (project.path / "deploy/env/qa9.json").exists()
    assert "a change of the test's own" not in server.read_text()
    ok(project.make("setup"))
    assert project.ran == "replayed"  # the same fresh project as the first run's


def test_every_test_begins_with_the_zone_and_the_deployer_alone_whatever_the_one_before_left(project):
    zone, deployer = project.zone_id(), project.deployer("dev01")
    ok(project.make("setup"))
    project.client("ec2").create_security_group(GroupName="mine", Description="a group of the test's own")
    project.deployer("staging")
    project.emulator.health.set("asg-app-dev01-", never=True)

    project.begin()  # as the next test begins: the state the worker's first test began with, put back
    assert "asg-app-dev01-" not in project.emulator.mark()[1] and project.emulator.calls == []
    fresh = state(project)
    assert fresh == {"load balancers": [], "groups": [("default", fresh["groups"][0][1], 1)], "key pairs": [],
                     "tables": [], "certificates": [], "records": [("example.com.", "NS"), ("example.com.", "SOA")],
                     "users": [("deployer-dev01", [deployer["AccessKeyId"]])], "files": []}
    assert (project.zone_id(), project.deployer("dev01")) == (zone, deployer)
    ok(project.make("setup"))  # the deployer's key and policies work as before
