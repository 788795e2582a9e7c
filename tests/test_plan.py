"""`make plan`: what setup, then deploy (or TARGET's run), would change, from reads alone (no
mutating call reaches the emulator), drift included; and the runs themselves do what they planned:
every change a run says it makes ("-> ...") is the next of the plan it printed, in order."""

import re

from conftest import ok
from test_deploy import groups_of
from test_fleet import scale

CHANGES, STOPS = 2, 1  # scripts/plan.py's exit status: changes, or a run would stop (make exits 2 for both)
# A plan's line ("deploy:   3. bake app image of ...") and a change said as it is made
# ("deploy: -> bake app image of ..."): the action and what it acts on.
PLANNED = r"^{phase}:\s+\d+\. (\S+) (.+?)(?:: | \(| \[|$)"
DONE = r"^{phase}: -> (\S+) (.+?)(?:: | \(| \[|$)"


def planned(stdout: str, phase: str) -> list[tuple[str, str]]:
    return re.findall(PLANNED.format(phase=phase), stdout, re.M)


def done(stdout: str, phase: str) -> list[tuple[str, str]]:
    return re.findall(DONE.format(phase=phase), stdout, re.M)


def stampless(changes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Changes as planned before the release picked its stamp (`make plan` picks one of its own)."""
    return [(action, re.sub(r"\d{14}", "<stamp>", subject)) for action, subject in changes]


def plan(project, expected: int, **settings) -> str:
    """`make plan`, its exit status checked, and nothing changed in AWS; its output."""
    project.emulator.calls.clear()
    result = project.make("plan", **settings)
    assert result.returncode == (2 if expected else 0), result.stdout + result.stderr
    assert not expected or "[Makefile:" in result.stderr and f"plan] Error {expected}" in result.stderr
    assert project.mutating_actions() == []
    assert project.emulator.calls  # it did read
    return result.stdout + result.stderr


def test_a_new_environment_plans_all_of_setup_then_a_first_release_and_setup_does_its_plan(project):
    new = plan(project, CHANGES)
    assert "plan: setup: 14 change(s):" in new
    for line in ("1. request certificate for dev01.example.com: DNS-validated in hosted zone",
                 "create load balancer elb-app-dev01: classic, HTTP 80 -> 80, in us-east-1a us-east-1b",
                 "create HTTPS listener of elb-app-dev01: 443 -> 80, certificate the certificate for "
                 "dev01.example.com, once ISSUED",
                 "upsert record dev01.example.com.: A alias to elb-app-dev01 (the new load balancer), was none",
                 "create lock table deploy-lock-app-dev01",
                 "plan: deploy (once setup has made its changes): 5 change(s):",
                 "bake primal image: from ami-", "[pending: its image id]",
                 "plan: deploy: nothing runs twice: no old group has instances"):
        assert line in new, line
    assert plan(project, CHANGES, TARGET="setup").count("change(s)") == 1

    setup = ok(project.make("setup")).stdout
    assert planned(setup, "setup") == done(setup, "setup") == planned(new, "plan")[:14]
    assert "plan: setup: 0 change(s)" in plan(project, 0)  # a release is always planned, but does not count
    assert plan(project, 0, TARGET="setup").splitlines()[-1] == "plan: setup: 0 change(s)"


def test_drift_shows_as_the_changes_setup_would_make_and_a_contradicting_setting_as_where_it_stops(set_up):
    project = set_up
    ec2, elb = project.client("ec2"), project.client("elb")
    [instances] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["app-dev01-instances"]}])[
        "SecurityGroups"]
    ec2.authorize_security_group_ingress(GroupId=instances["GroupId"], IpPermissions=[  # by hand
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    elb.modify_load_balancer_attributes(LoadBalancerName="elb-app-dev01", LoadBalancerAttributes={
        "ConnectionDraining": {"Enabled": False, "Timeout": 300}})
    drifted = plan(project, CHANGES, TARGET="setup")
    assert planned(drifted, "plan") == [("revoke", "security group app-dev01-instances"),
                                        ("modify", "load balancer elb-app-dev01")]
    assert "revoke security group app-dev01-instances: tcp 8080 from 0.0.0.0/0 (not in the settings" in drifted
    assert "modify load balancer elb-app-dev01: connection draining on, 300 s (not as DRAINING_SECONDS says)" in drifted

    route53 = project.client("route53")
    route53.change_resource_record_sets(HostedZoneId=project.zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": "dev01.example.com.", "Type": "A", "TTL": 60,
                                                  "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})  # by hand
    stopped = plan(project, STOPS, TARGET="setup")
    assert ("plan: error: preflight would stop here: dev01.example.com. already is a A record (192.0.2.1), "
            "not an alias to elb-app-dev01: set REPLACE_DNS_RECORD=yes") in stopped
    assert "plan: setup (up to preflight): 0 change(s)" in stopped
    replaced = plan(project, CHANGES, TARGET="setup", REPLACE_DNS_RECORD="yes")
    assert "upsert record dev01.example.com.: A alias to elb-app-dev01 (elb-app-dev01." in replaced
    assert "was A record (192.0.2.1)" in replaced

    contradicting = plan(project, STOPS, LOAD_BALANCER_KIND="application")
    assert ("plan: error: preflight would stop here: elb-app-dev01 is a classic load balancer, but "
            "LOAD_BALANCER_KIND=application") in contradicting


def test_a_release_plans_its_capacity_what_it_retires_and_deletes_and_deploy_and_rollback_do_just_that(set_up):
    project = set_up
    first = ok(project.make("deploy")).stdout
    assert planned(first, "deploy") == done(first, "deploy")
    [serving] = groups_of(project)
    scale(project, serving, 2)  # under load, as a scaling policy would

    ahead = plan(project, CHANGES, TARGET="deploy")
    name = serving["AutoScalingGroupName"]
    assert "reuse primal image ami-" in ahead and "(an image of the same inputs exists)" in ahead
    assert f"2 instance(s), min 1, max 2, from the app image baked above (carried from the serving group {name}, " \
           "which scaled out (DESIRED_CAPACITY=1))" in ahead
    assert f"retire group {name}: its 2 instance(s) out of elb-app-dev01" in ahead
    assert "old and new run together 300-1200s (2 new, 2 old instance(s)): about 0.17-0.67 instance-hours more" in ahead

    second = ok(project.make("deploy")).stdout
    assert planned(second, "deploy") == done(second, "deploy")
    assert stampless(done(second, "deploy")) == stampless(planned(ahead, "plan"))

    back = plan(project, CHANGES, TARGET="rollback")
    assert [action for action, _ in planned(back, "plan")] == ["launch", "wait", "retire"]
    rollback = ok(project.make("rollback")).stdout
    assert planned(rollback, "rollback") == done(rollback, "rollback") and len(done(rollback, "rollback")) == 3
    removals = [action for action, _ in planned(plan(project, CHANGES, TARGET="destroy"), "plan")]
    assert removals and set(removals) == {"delete"}
