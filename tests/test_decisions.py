"""Decisions as data: given what AWS holds (as its API describes it) and the settings, this is the
plan. No AWS, make or Packer: each decision a scenario of test_deploy, test_fleet, test_setup or
test_https proves end to end, checked here in milliseconds (`make test-fast` runs these)."""

from types import SimpleNamespace

import pytest

import cleanup_asgs
import cleanup_image
import create_security_groups
import deployment_image
import launch_asg
import lookup_asg
import soak
from core.balancer import KINDS
from core.plan import Change, Planned, Stopped, carry_out, lasting, numbered, overlap, plan_of
from core.settings import load
from core.step import StepError

LB = "sg-0000000000000001a"


def settings(**given):
    return load({"NODE_ENV": "dev01", **given})


def group(name, desired=1, instances=None, created="2026-12-01T10:00:00Z"):
    count = desired if instances is None else instances
    return {"AutoScalingGroupName": name, "DesiredCapacity": desired, "CreatedTime": created,
            "Instances": [{"InstanceId": f"i-{name[-4:]}{n}"} for n in range(count)]}


def image(image_id, released="", created="2026-12-01T10:00:00.000Z"):
    tags = [{"Key": "Released", "Value": released}] if released else []
    return {"ImageId": image_id, "CreationDate": created, "Tags": tags}


def permission(port, cidr=None, group_id=None):
    sources = {"IpRanges": [{"CidrIp": cidr}]} if cidr else {"UserIdGroupPairs": [{"GroupId": group_id}]}
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **sources}


def security_group(role, *permissions):
    return {"GroupId": LB if role == "lb" else f"sg-{role}", "GroupName": f"app-dev01-{role}",
            "IpPermissions": list(permissions)}


def as_set(found):
    return {(role, action, tuple(sorted(map(str, rules)))) for role, action, rules in found}


# setup: the network path

def test_a_new_environment_admits_every_rule_the_load_balancers_group_is_named_until_made():
    found = as_set(create_security_groups.rule_changes(settings(), {}))
    assert ("instances", "admit", ("Rule(port=80, source=\"the load balancer's group\")",)) in found
    lb = next(rules for role, action, rules in found if role == "lb")
    assert len(lb) == 4  # 80 and 443, IPv4 and IPv6
    assert not [change for change in found if change[1] == "revoke"]


def test_a_rule_added_by_hand_is_revoked_and_one_missing_admitted():
    groups = {"lb": security_group("lb", permission(80, "0.0.0.0/0"), permission(443, "0.0.0.0/0")),
              "instances": security_group("instances", permission(80, group_id=LB), permission(8080, "0.0.0.0/0")),
              "bake": security_group("bake")}
    changes = create_security_groups.rule_changes(settings(CERTIFICATE="auto"), groups)
    assert as_set(changes) == {
        ("lb", "admit", ("Rule(port=443, source='::/0')", "Rule(port=80, source='::/0')")),
        ("instances", "revoke", ("Rule(port=8080, source='0.0.0.0/0')",))}


def test_an_environment_as_setup_leaves_it_has_no_rule_to_change():
    world = [permission(port, cidr) for port in (80, 443) for cidr in ("0.0.0.0/0",)]
    world += [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
              for port in (80, 443)]
    groups = {"lb": security_group("lb", *world), "instances": security_group("instances", permission(80, group_id=LB)),
              "bake": security_group("bake")}
    assert create_security_groups.rule_changes(settings(), groups) == []
    ssh = create_security_groups.rule_changes(settings(SSH_CIDR="10.1.0.0/16"), groups)
    assert as_set(ssh) == {("instances", "admit", ("Rule(port=22, source='10.1.0.0/16')",))}


# setup: the listeners

def classic(**given):
    step = SimpleNamespace(settings=settings(**given), client=lambda service: None)
    return KINDS["classic"](step)


def listener(certificate, policies=("tls-1-2-2017-01",)):
    return {"ListenerDescriptions": [{"Listener": {"LoadBalancerPort": 80}, "PolicyNames": []}, {
        "Listener": {"LoadBalancerPort": 443, "SSLCertificateId": certificate}, "PolicyNames": list(policies)}]}


def test_classic_listeners_a_new_https_listener_with_its_policy_a_changed_certificate_or_nothing():
    balancer = classic()
    new = balancer.listener_changes(None, "arn:cert/new")
    assert [(c.action, c.subject) for c in new] == [("create", "HTTPS listener of elb-app-dev01"),
                                                    ("modify", "HTTPS listener of elb-app-dev01")]
    switched = balancer.listener_changes(listener("arn:cert/old"), "arn:cert/new")
    assert [c.line() for c in switched] == [
        "modify HTTPS listener of elb-app-dev01: certificate arn:cert/new (was arn:cert/old)"]
    assert balancer.listener_changes(listener("arn:cert/new"), "arn:cert/new") == []
    assert balancer.listener_changes(listener("arn:cert/new"), None) == []  # CERTIFICATE=none: nothing added
    policy = balancer.listener_changes(listener("arn:cert/new", policies=()), "arn:cert/new")
    assert [c.detail for c in policy] == ["security policy ELBSecurityPolicy-TLS-1-2-2017-01 (was none)"]


# deploy: the new group's capacity

def test_the_new_group_starts_with_desired_capacity_when_nothing_serves():
    capacity = lookup_asg.new_capacity(settings(DESIRED_CAPACITY="2", MAX_CAPACITY="4"), [])
    why = capacity["why"]
    assert (capacity["min"], capacity["desired"], capacity["max"], why) == (1, 2, 4, "DESIRED_CAPACITY=2")


def test_a_fleet_that_scaled_out_is_carried_over_and_max_widened_to_hold_it():
    serving = [group("asg-app-dev01-20261201100000", desired=1), group("asg-app-dev01-20261201110000", desired=5)]
    capacity = lookup_asg.new_capacity(settings(DESIRED_CAPACITY="2", MAX_CAPACITY="4"), serving)
    why = capacity["why"]
    assert (capacity["min"], capacity["desired"], capacity["max"]) == (1, 5, 5)
    assert why == "carried from the serving group asg-app-dev01-20261201110000, which scaled out (DESIRED_CAPACITY=2)"
    change = launch_asg.launch_change(settings(), "20261202000000", capacity, "ami-1")
    assert change.line() == ("launch group asg-app-dev01-20261202000000: 5 instance(s), min 1, max 5, "
                             f"from ami-1 ({why})")


# deploy: what is baked, retired and deleted

def test_an_image_given_as_image_id_is_reused_else_the_app_image_is_a_bake_whose_id_is_pending():
    given = deployment_image.decide(settings(IMAGE_ID="ami-0123456789abcdef0"), "20261202000000", "ami-p")
    assert (given.action, given.subject, given.pending) == ("reuse", "app image ami-0123456789abcdef0", "")
    baked = deployment_image.decide(settings(), "20261202000000", "ami-p")
    assert (baked.action, baked.subject, baked.pending) == ("bake", "app image of release 20261202000000",
                                                            "its image id")


def test_every_outdated_group_is_retired_once_the_new_one_serves_as_many():
    changes = cleanup_asgs.retire_changes(settings(), [group("asg-a-1", 3), group("asg-a-2", 0)], "asg-new", 3)
    assert [c.subject for c in changes] == ["group asg-a-1", "group asg-a-2"]
    assert changes[0].why == "once asg-new serves 3" and "its 3 instance(s) out of elb-app-dev01" in changes[0].detail


def test_images_beyond_keep_images_are_deleted_never_one_in_use_nor_image_id():
    images = [image("ami-4", "20261204"), image("ami-3", "20261203"), image("ami-2", "20261202"),
              image("ami-1", "20261201")]
    keep, deletions = cleanup_image.image_deletions(settings(KEEP_IMAGES="2"), images, in_use={"ami-1"})
    assert keep == {"ami-4", "ami-3", "ami-1"}
    assert [(c.action, c.subject, c.why) for c in deletions] == [
        ("delete", "image ami-2", "beyond KEEP_IMAGES=2, in use nowhere")]
    keep, deletions = cleanup_image.image_deletions(settings(KEEP_IMAGES="1", IMAGE_ID="ami-0123456789abcdef0"),
                                                    [images[0], image("ami-0123456789abcdef0", "20261201")], set())
    assert deletions == [] and keep == {"ami-4", "ami-0123456789abcdef0"}


def test_primal_images_beyond_keep_primal_images_go_but_the_one_in_use():
    primal = [image("ami-p3", created="2026-12-03"), image("ami-p2", created="2026-12-02"),
              image("ami-p1", created="2026-12-01")]
    keep, deletions = cleanup_image.primal_deletions(settings(KEEP_PRIMAL_IMAGES="1"), primal, {"ami-p1"})
    assert keep == {"ami-p3", "ami-p1"} and [c.subject for c in deletions] == ["primal image ami-p2"]


def test_a_soak_needs_soak_seconds_and_an_old_group_with_instances_to_go_back_to():
    step = SimpleNamespace(settings=settings(SOAK_SECONDS="600"))
    planned = Planned(stamp="1", group="asg-new", outdated=[group("asg-old", 2)])
    [change] = soak.plan(step, planned)
    assert (change.action, change.subject) == ("soak", "group asg-new") and "asg-old kept warm" in change.detail
    assert soak.plan(step, Planned(stamp="1", group="asg-new", outdated=[group("asg-old", 0)])) == []
    assert soak.plan(SimpleNamespace(settings=settings(SOAK_SECONDS="0")), planned) == []


def test_the_instance_hours_a_release_adds_while_old_and_new_run_together():
    planned = Planned(stamp="1", capacity={"desired": 3}, outdated=[group("asg-old", 3)])
    line = overlap(planned, settings(SOAK_SECONDS="600", DRAINING_SECONDS="300", HEALTH_TIMEOUT="900"))
    assert line.startswith("old and new run together 900-1800s (3 new, 3 old instance(s)): about 0.75-1.50 ")
    assert overlap(Planned(stamp="1", capacity={"desired": 3}), settings()).startswith("nothing runs twice")


# the plan itself

def test_a_plan_is_each_steps_changes_in_order_each_planned_with_what_the_ones_before_planned():
    def first(step, planned):
        planned.image = "ami-1"
        return [Change("bake", "image")]

    def second(step, planned):
        return [Change("launch", "group", f"from {planned.image}")]

    steps = {"one": SimpleNamespace(plan=first), "quiet": SimpleNamespace(), "two": SimpleNamespace(plan=second)}
    changes = plan_of(None, steps, Planned(stamp="1"))
    assert numbered(changes) == ["1. bake image", "2. launch group: from ami-1"]


def test_a_step_that_refuses_stops_the_plan_there_with_what_was_planned_before():
    def refuses(step, planned):
        raise StepError("LOAD_BALANCER_KIND=application, but it is classic")

    steps = {"one": SimpleNamespace(plan=lambda step, planned: [Change("create", "x")]),
             "create-load-balancer": SimpleNamespace(plan=refuses)}
    with pytest.raises(Stopped) as stopped:
        plan_of(None, steps, Planned(stamp="1"))
    assert stopped.value.target == "create-load-balancer" and stopped.value.changes == [Change("create", "x")]
    assert str(stopped.value) == ("create-load-balancer would stop here: "
                                  "LOAD_BALANCER_KIND=application, but it is classic")


def test_carrying_out_says_each_change_then_does_it_in_order():
    done, said = [], []
    changes = [Change("create", "a", do=lambda: done.append("a")), Change("wait", "b", pending="health")]
    carry_out(changes, said.append)
    assert said == ["-> create a", "-> wait b [pending: health]"] and done == ["a"]
    assert lasting([Change("reuse", "x"), Change("probe", "y"), Change("create", "z")]) == [Change("create", "z")]
