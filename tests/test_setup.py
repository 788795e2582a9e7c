"""`make setup` end to end against the emulator: what it creates, that it is idempotent, and that
bad input changes nothing."""

import stat

import pytest

from conftest import ok

SETUP_CHANGES = ["CreateLoadBalancer", "ModifyLoadBalancerAttributes", "ConfigureHealthCheck",
                 "ChangeResourceRecordSets", "ImportKeyPair", "CreateTable"]


def record(project, name):
    zone = project.client("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]
    sets = project.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return [s for s in sets if s["Name"] == name and s["Type"] == "A"]


def test_setup_creates_exactly_the_environment(project):
    result = ok(project.make("setup"))
    assert "setup: creating elb-app-dev01 load balancer (us-east-1a us-east-1b)..." in result.stdout
    assert sorted(project.mutating_actions()) == sorted(SETUP_CHANGES)

    elb = project.client("elb")
    balancer = elb.describe_load_balancers(LoadBalancerNames=["elb-app-dev01"])["LoadBalancerDescriptions"][0]
    assert [listener["Listener"] for listener in balancer["ListenerDescriptions"]] == [
        {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 80}]
    assert sorted(balancer["AvailabilityZones"]) == ["us-east-1a", "us-east-1b"]
    assert balancer["HealthCheck"] == {"Target": "HTTP:80/api/status/health", "Interval": 30, "Timeout": 4,
                                       "UnhealthyThreshold": 2, "HealthyThreshold": 2}
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName="elb-app-dev01")
    assert attributes["LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": True, "Timeout": 300}
    tags = elb.describe_tags(LoadBalancerNames=["elb-app-dev01"])["TagDescriptions"][0]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"App": "app", "Environment": "dev01"}

    [alias] = record(project, "dev01.example.com.")
    assert alias["AliasTarget"] == {"HostedZoneId": "Z35SXDOTRQ7X7K", "EvaluateTargetHealth": True,
                                    "DNSName": balancer["DNSName"].lower() + "."}

    assert project.client("ec2").describe_key_pairs(KeyNames=["app-dev01"])["KeyPairs"]
    key = project.path / "deploy/keys/app-dev01"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = key.read_text().splitlines()[1]
    logs = list((project.path / "deploy/log/dev01").iterdir())
    assert logs and not any(secret in log.read_text() for log in logs)


def test_second_setup_changes_nothing(project):
    ok(project.make("setup"))
    project.emulator.calls.clear()
    result = ok(project.make("setup"))
    assert project.mutating_actions() == []
    assert "already exists" in result.stdout


def test_production_gets_the_apex_record(project):
    ok(project.make("setup", node_env="production"))
    assert record(project, "example.com.")
    assert not record(project, "production.example.com.")


def test_an_explicit_hosted_zone_is_used(project):
    zone = project.client("route53").create_hosted_zone(Name="example.com", CallerReference="second")
    zone_id = zone["HostedZone"]["Id"].removeprefix("/hostedzone/")
    ok(project.make("setup", HOSTED_ZONE=zone_id))
    sets = project.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert [s["Name"] for s in sets if s["Type"] == "A"] == ["dev01.example.com."]


def test_a_load_balancer_of_another_app_is_refused(project):
    project.client("elb").create_load_balancer(
        LoadBalancerName="elb-app-dev01", AvailabilityZones=["us-east-1a"],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        Tags=[{"Key": "App", "Value": "shop"}])
    project.emulator.calls.clear()
    result = project.make("setup")
    assert result.returncode != 0
    assert "belongs to" in result.stderr
    assert project.mutating_actions() == []


@pytest.mark.parametrize("node_env, settings, says", [
    ("../x", {}, "NODE_ENV='../x' is not a safe name"),
    ("dev 01", {}, "NODE_ENV='dev 01' is not a safe name"),
    ("Dev01", {}, "NODE_ENV='Dev01' is not a safe name"),
    ("production", {"APP_NAME": "twentycharactername"}, "too long"),
    ("dev01", {"TLD": ""}, "TLD is not set"),
    ("dev01", {"TLD": "example.org"}, "no public hosted zone named example.org"),
    ("dev01", {"HOSTED_ZONE": "ZNOSUCHZONE1"}, "HOSTED_ZONE=ZNOSUCHZONE1 does not exist"),
    ("dev01", {"AVAILABILITY_ZONES": "us-west-2a"}, "not in us-east-1"),
    ("dev01", {"MIN_CAPACITY": "one"}, "MIN_CAPACITY='one' is not a whole number"),
    ("dev01", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}, "cannot reach"),
])
def test_bad_input_fails_in_one_line_and_changes_nothing(project, node_env, settings, says):
    result = project.make("setup", node_env=node_env, **settings)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(errors) == 1 and says in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert project.mutating_actions() == []
    assert not (project.path / "deploy/keys").exists()


def test_setup_of_an_application_load_balancer_and_its_target_group(project):
    ok(project.make("setup", LOAD_BALANCER_KIND="application"))
    assert sorted(project.mutating_actions()) == sorted([
        "CreateLoadBalancer", "CreateTargetGroup", "CreateListener",  # deregistration delay: 300 by default
        "ChangeResourceRecordSets", "ImportKeyPair", "CreateTable"])
    elbv2 = project.client("elbv2")
    [balancer] = elbv2.describe_load_balancers(Names=["elb-app-dev01"])["LoadBalancers"]
    assert (balancer["Type"], balancer["Scheme"]) == ("application", "internet-facing")
    assert sorted(zone["ZoneName"] for zone in balancer["AvailabilityZones"]) == ["us-east-1a", "us-east-1b"]
    tags = elbv2.describe_tags(ResourceArns=[balancer["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"App": "app", "Environment": "dev01"}
    [group] = elbv2.describe_target_groups(Names=["tg-app-dev01"])["TargetGroups"]
    assert {k: group[k] for k in ("Protocol", "Port", "HealthCheckPath", "HealthCheckIntervalSeconds",
                                  "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount")} == {
        "Protocol": "HTTP", "Port": 80, "HealthCheckPath": "/api/status/health", "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 4, "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2}
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "300"} in attributes
    [listener] = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)
    assert listener["DefaultActions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    [alias] = record(project, "dev01.example.com.")
    assert alias["AliasTarget"] == {"HostedZoneId": "Z35SXDOTRQ7X7K", "EvaluateTargetHealth": True,
                                    "DNSName": balancer["DNSName"].lower() + "."}
    assert balancer["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"

    project.emulator.calls.clear()
    ok(project.make("setup", LOAD_BALANCER_KIND="application"))
    assert project.mutating_actions() == []


def test_an_application_load_balancer_needs_two_zones(project):
    result = project.make("setup", LOAD_BALANCER_KIND="application", AVAILABILITY_ZONES="us-east-1a")
    assert result.returncode != 0 and "needs subnets in two zones or more" in result.stderr
    assert project.mutating_actions() == []
