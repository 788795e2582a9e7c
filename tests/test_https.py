"""HTTPS end to end (CERTIFICATE): the certificate setup requests and validates in the hosted zone,
one given by ARN, none; what the listeners become on an environment that had HTTP only; what
destroy removes and what it leaves. (What a default setup makes: test_setup.py.)"""

import re

import pytest

from conftest import errors, ok
from test_setup import certificates, inbound, record_sets, security_group

KINDS = ["classic", "application"]


def zone_id(project) -> str:
    return project.client("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]


def validation_records(project) -> list[str]:
    return sorted(s["Name"] for s in record_sets(project) if s["Type"] == "CNAME")


def listeners(project, kind: str) -> dict[int, dict]:
    """Each listener by port: its protocol, certificate and (ALB) first action."""
    if kind == "classic":
        [balancer] = project.client("elb").describe_load_balancers(
            LoadBalancerNames=["elb-app-dev01"])["LoadBalancerDescriptions"]
        return {d["Listener"]["LoadBalancerPort"]: {"protocol": d["Listener"]["Protocol"],
                                                    "certificate": d["Listener"].get("SSLCertificateId")}
                for d in balancer["ListenerDescriptions"]}
    elbv2 = project.client("elbv2")
    [balancer] = elbv2.describe_load_balancers(Names=["elb-app-dev01"])["LoadBalancers"]
    return {listener["Port"]: {"protocol": listener["Protocol"],
                               "certificate": (listener.get("Certificates") or [{}])[0].get("CertificateArn"),
                               "action": listener["DefaultActions"][0]["Type"]}
            for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]}


def test_a_validation_record_public_dns_cannot_see_leaves_the_certificate_pending_and_says_what_to_check(project):
    """The record is put in the zone, but the domain is delegated elsewhere: no ISSUED certificate,
    a time-out that names the zone's name servers, nothing else made; once DNS is fixed, the next
    setup waits for the same certificate instead of requesting a second."""
    zone = zone_id(project)
    project.emulator.dns.undelegate(zone)
    result = project.make("setup", CERTIFICATE_TIMEOUT="1")
    assert result.returncode != 0
    [error] = errors(result)
    name_servers = " ".join(project.client("route53").get_hosted_zone(Id=zone)["DelegationSet"]["NameServers"])
    assert error == (f"setup: error: the certificate for dev01.example.com is still PENDING_VALIDATION after 1s "
                     f"(CERTIFICATE_TIMEOUT): check that example.com is delegated to hosted zone "
                     f"{zone.removeprefix('/hostedzone/')} (its NS records, at the registrar or in the parent zone, "
                     f"must be {name_servers}), then run setup again")
    [pending] = certificates(project)
    assert pending["Status"] == "PENDING_VALIDATION"
    assert project.client("elb").describe_load_balancers()["LoadBalancerDescriptions"] == []
    assert sorted(project.mutating_actions()) == ["ChangeResourceRecordSets", "RequestCertificate"]

    project.emulator.dns.clear()  # the registrar now names the zone's servers
    project.emulator.calls.clear()
    ok(project.make("setup"))
    [issued] = certificates(project)
    assert (issued["CertificateArn"], issued["Status"]) == (pending["CertificateArn"], "ISSUED")
    assert "RequestCertificate" not in project.mutating_actions()
    assert "ChangeResourceRecordSets" in project.mutating_actions()  # the alias record only
    assert listeners(project, "classic")[443]["certificate"] == issued["CertificateArn"]


def test_a_given_certificate_is_used_as_it_is_and_survives_destroy(project):
    given = project.certificate("*.example.com")  # a wildcard for the environment's name
    ok(project.make("setup", CERTIFICATE=given))
    assert "RequestCertificate" not in project.mutating_actions()
    assert listeners(project, "classic")[443]["certificate"] == given
    assert re.search(rf"^  certificate +{re.escape(given)}: ISSUED, \*\.example\.com, expires ",
                     ok(project.make("status", CERTIFICATE=given)).stdout, re.M)
    records = validation_records(project)

    ok(project.make("destroy", CONFIRM="yes", CERTIFICATE=given))
    assert [c["CertificateArn"] for c in certificates(project)] == [given]
    assert validation_records(project) == records


def test_destroy_leaves_a_validation_record_another_certificate_of_that_name_needs(project):
    ok(project.make("setup"))
    [ours] = certificates(project)
    theirs = project.certificate("dev01.example.com")  # ACM validates both by the same record
    result = ok(project.make("destroy", CONFIRM="yes"))
    assert f"leaving validation record _d930b28be6c5927595552b219965053e.dev01.example.com alone: certificate(s) " \
           f"{theirs} of that name use it too" in result.stdout
    assert f"deleted certificate {ours['CertificateArn']}" in result.stdout
    assert [c["CertificateArn"] for c in certificates(project)] == [theirs]
    assert validation_records(project) == ["_d930b28be6c5927595552b219965053e.dev01.example.com."]


@pytest.mark.parametrize("kind", KINDS)
def test_an_environment_with_http_only_gets_https_and_does_not_lose_it_in_place(project, kind):
    ok(project.make("setup", LOAD_BALANCER_KIND=kind, CERTIFICATE="none"))
    assert {port: one["protocol"] for port, one in listeners(project, kind).items()} == {80: "HTTP"}
    assert inbound(security_group(project, "lb")) == {("tcp", 80, "0.0.0.0/0"), ("tcp", 80, "::/0")}
    assert certificates(project) == []

    ok(project.make("setup", LOAD_BALANCER_KIND=kind))  # CERTIFICATE=auto, the default
    [certificate] = certificates(project)
    found = listeners(project, kind)
    assert found[443] == {"protocol": "HTTPS", "certificate": certificate["CertificateArn"],
                          **({"action": "forward"} if kind == "application" else {})}
    assert found[80]["protocol"] == "HTTP"
    if kind == "application":
        assert found[80]["action"] == "redirect"  # HTTP now answers 301 to HTTPS
    assert ("tcp", 443, "0.0.0.0/0") in inbound(security_group(project, "lb"))

    project.emulator.calls.clear()
    result = project.make("setup", LOAD_BALANCER_KIND=kind, CERTIFICATE="none")
    assert result.returncode != 0
    [error] = errors(result)
    assert f"elb-app-dev01 serves HTTPS (certificate {certificate['CertificateArn']}), but CERTIFICATE=none" in error
    assert project.mutating_actions() == []


@pytest.mark.parametrize("certificate, says", [
    ("pending", "is PENDING_VALIDATION, not ISSUED: validate it first"),
    ("shop.example.com", "is for shop.example.com, not for dev01.example.com"),
    ("arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-0000-0000-000000000000",
     "CERTIFICATE is a certificate in us-west-2, but the load balancer is in us-east-1"),
    ("arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
     "is no certificate of this account"),
    ("yes", "CERTIFICATE='yes': use auto (request one), none (HTTP only), or an ACM certificate ARN"),
])
def test_a_certificate_that_cannot_serve_the_name_fails_in_one_line_and_changes_nothing(project, certificate, says):
    if certificate == "pending":
        certificate = project.certificate("dev01.example.com", validate=False)
    elif certificate == "shop.example.com":
        certificate = project.certificate(certificate)
    result = project.make("setup", CERTIFICATE=certificate)
    assert result.returncode != 0
    [error] = errors(result)
    assert says in error, error
    assert project.mutating_actions() == []
