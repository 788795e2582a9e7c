"""`make setup` end to end against the emulator: what it creates, that it is idempotent, and that
bad input changes nothing."""

import stat

import pytest

from conftest import errors, ok

NETWORK_CHANGES = ["CreateSecurityGroup", "AuthorizeSecurityGroupIngress"] * 2 + ["CreateSecurityGroup"]  # bake: none
CERTIFICATE_CHANGES = ["RequestCertificate", "ChangeResourceRecordSets"]  # the request, its validation record
SETUP_CHANGES = CERTIFICATE_CHANGES + NETWORK_CHANGES + [
    "CreateLoadBalancer",  # in its subnets and security group from the start
    "CreateLoadBalancerListeners", "CreateLoadBalancerPolicy", "SetLoadBalancerPoliciesOfListener",  # HTTPS
    "ModifyLoadBalancerAttributes", "ConfigureHealthCheck", "ChangeResourceRecordSets", "ImportKeyPair", "CreateTable"]
WORLD = {("tcp", port, world) for port in (80, 443) for world in ("0.0.0.0/0", "::/0")}


def record(project, name):
    zone = project.client("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]
    sets = project.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return [s for s in sets if s["Name"] == name and s["Type"] == "A"]


def security_group(project, role, node_env="dev01"):
    found = project.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"app-{node_env}-{role}"]}])["SecurityGroups"]
    return found[0] if found else None


def inbound(group):
    """A group's inbound rules as (protocol, port, source) triples."""
    return {(p["IpProtocol"], p.get("FromPort"), source) for p in group["IpPermissions"]
            for source in [r["CidrIp"] for r in p["IpRanges"]] + [r["CidrIpv6"] for r in p["Ipv6Ranges"]] +
            [g["GroupId"] for g in p["UserIdGroupPairs"]]}


def test_setup_creates_exactly_the_environment(project):
    result = ok(project.make("setup"))
    assert ("setup: -> create load balancer elb-app-dev01: classic, HTTP 80 -> 80, in us-east-1a us-east-1b, in "
            "security group app-dev01-lb") in result.stdout
    assert sorted(project.mutating_actions()) == sorted(SETUP_CHANGES)

    elb = project.client("elb")
    balancer = elb.describe_load_balancers(LoadBalancerNames=["elb-app-dev01"])["LoadBalancerDescriptions"][0]
    [certificate] = certificates(project)
    assert (certificate["Status"], certificate["DomainName"]) == ("ISSUED", "dev01.example.com")
    assert sorted(balancer["ListenerDescriptions"], key=lambda d: d["Listener"]["LoadBalancerPort"]) == [
        {"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 80},
         "PolicyNames": []},
        {"Listener": {"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstanceProtocol": "HTTP", "InstancePort": 80,
                      "SSLCertificateId": certificate["CertificateArn"]}, "PolicyNames": ["tls-1-2-2017-01"]}]
    [policy] = elb.describe_load_balancer_policies(LoadBalancerName="elb-app-dev01",
                                                   PolicyNames=["tls-1-2-2017-01"])["PolicyDescriptions"]
    assert policy["PolicyTypeName"] == "SSLNegotiationPolicyType"
    assert policy["PolicyAttributeDescriptions"] == [
        {"AttributeName": "Reference-Security-Policy", "AttributeValue": "ELBSecurityPolicy-TLS-1-2-2017-01"}]
    assert sorted(balancer["AvailabilityZones"]) == ["us-east-1a", "us-east-1b"]
    assert balancer["HealthCheck"] == {"Target": "HTTP:80/api/status/health", "Interval": 30, "Timeout": 4,
                                       "UnhealthyThreshold": 2, "HealthyThreshold": 2}
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName="elb-app-dev01")
    assert attributes["LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": True, "Timeout": 300}
    assert attributes["LoadBalancerAttributes"]["CrossZoneLoadBalancing"] == {"Enabled": True}

    # The network path: the load balancer open to the world on its listener ports, the instances
    # reachable through it alone, no SSH at all.
    lb_group, instance_group = security_group(project, "lb"), security_group(project, "instances")
    assert balancer["SecurityGroups"] == [lb_group["GroupId"]]
    default_vpc = project.client("ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    assert lb_group["VpcId"] == instance_group["VpcId"] == default_vpc["Vpcs"][0]["VpcId"]
    assert inbound(lb_group) == WORLD
    assert inbound(instance_group) == {("tcp", 80, lb_group["GroupId"])}
    bake_group = security_group(project, "bake")
    assert inbound(bake_group) == set()  # BAKE_SSH_CIDR empty: no SSH to a build instance either
    for group, role in ((lb_group, "lb"), (instance_group, "instances"), (bake_group, "bake")):
        assert {t["Key"]: t["Value"] for t in group["Tags"]} == {
            "App": "app", "Environment": "dev01", "Role": role, "Name": f"app-dev01-{role}"}
    tags = elb.describe_tags(LoadBalancerNames=["elb-app-dev01"])["TagDescriptions"][0]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"App": "app", "Environment": "dev01"}

    [alias] = record(project, "dev01.example.com.")
    assert alias["AliasTarget"] == {"HostedZoneId": "Z35SXDOTRQ7X7K", "EvaluateTargetHealth": True,
                                    "DNSName": balancer["DNSName"].lower() + "."}

    assert project.client("ec2").describe_key_pairs(KeyNames=["app-dev01"])["KeyPairs"]
    key = project.path / "deploy/keys/app-dev01"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = key.read_text().splitlines()[1]
    logs = [path for path in (project.path / "deploy/log/dev01").rglob("*") if path.is_file()]
    assert logs and not any(secret in log.read_text() for log in logs)
    assert '"call": "ec2.ImportKeyPair"' in (project.record("setup") / "aws.jsonl").read_text()


def certificates(project) -> list[dict]:
    """Every certificate in ACM, described."""
    acm = project.client("acm")
    return [acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
            for summary in acm.list_certificates()["CertificateSummaryList"]]


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


def test_ssh_is_admitted_from_ssh_cidr_alone_and_taken_away_with_it(project):
    ok(project.make("setup", SSH_CIDR="203.0.113.7/24"))
    lb_group = security_group(project, "lb")["GroupId"]
    assert inbound(security_group(project, "instances")) == {("tcp", 80, lb_group), ("tcp", 22, "203.0.113.0/24")}
    project.client("ec2").authorize_security_group_ingress(  # a rule someone added by hand
        GroupId=security_group(project, "instances")["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    result = ok(project.make("setup"))
    assert ("-> revoke security group app-dev01-instances: tcp 22 from 203.0.113.0/24, tcp 8080 from 0.0.0.0/0 "
            "(not in the settings") in result.stdout
    assert inbound(security_group(project, "instances")) == {("tcp", 80, lb_group)}


def test_a_security_group_of_that_name_of_another_app_is_refused(project):
    ec2 = project.client("ec2")
    ec2.create_security_group(GroupName="app-dev01-lb", Description="not ours", TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "App", "Value": "shop"}]}])
    project.emulator.calls.clear()
    result = project.make("setup")
    assert result.returncode != 0
    assert "security group app-dev01-lb" in result.stderr and "choose another APP_NAME or NODE_ENV" in result.stderr
    assert project.mutating_actions() == []


def test_a_region_without_a_default_vpc_is_told_to_set_subnets(project):
    ec2 = project.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    project.emulator.calls.clear()
    result = project.make("setup")
    assert result.returncode != 0
    assert "us-east-1 has no default VPC: set SUBNETS to subnets of your VPC" in result.stderr
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
    ("dev01", {"SSH_CIDR": "0.0.0.0/0"}, "SSH_CIDR=0.0.0.0/0 opens SSH to the whole internet"),
    ("dev01", {"SSH_CIDR": "my office"}, "SSH_CIDR='my office' is not a CIDR"),
    ("dev01", {"DRAINING_SECONDS": "0"}, "DRAINING_SECONDS=0: AWS allows 1 to 3600 seconds"),
    ("dev01", {"SCALING_METRIC": "cpu"}, "SCALING_METRIC and SCALING_TARGET go together"),
    ("dev01", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}, "cannot reach"),
])
def test_bad_input_fails_in_one_line_and_changes_nothing(project, node_env, settings, says):
    result = project.make("setup", node_env=node_env, **settings)
    assert result.returncode != 0
    lines = errors(result)
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert project.mutating_actions() == []
    assert not (project.path / "deploy/keys").exists()


def test_setup_of_an_application_load_balancer_and_its_target_group(project):
    ok(project.make("setup", LOAD_BALANCER_KIND="application"))
    assert sorted(project.mutating_actions()) == sorted(CERTIFICATE_CHANGES + NETWORK_CHANGES + [
        "CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "CreateListener",  # deregistration delay: 300
        "ChangeResourceRecordSets", "ImportKeyPair", "CreateTable"])                    # by default
    elbv2 = project.client("elbv2")
    [balancer] = elbv2.describe_load_balancers(Names=["elb-app-dev01"])["LoadBalancers"]
    assert (balancer["Type"], balancer["Scheme"]) == ("application", "internet-facing")
    assert balancer["SecurityGroups"] == [security_group(project, "lb")["GroupId"]]
    assert inbound(security_group(project, "lb")) == WORLD
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
    [certificate] = certificates(project)
    assert certificate["Status"] == "ISSUED"
    http, https = sorted(elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"],
                         key=lambda listener: listener["Port"])
    assert (https["Protocol"], https["Port"]) == ("HTTPS", 443)
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["Certificates"] == [{"CertificateArn": certificate["CertificateArn"]}]
    assert [(a["Type"], a["TargetGroupArn"]) for a in https["DefaultActions"]] == [("forward", group["TargetGroupArn"])]
    assert (http["Protocol"], http["Port"]) == ("HTTP", 80)
    [redirect] = http["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert {k: redirect["RedirectConfig"][k] for k in ("Protocol", "Port", "StatusCode")} == {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
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


def put_record(project, name, kind, value):
    zone = project.client("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]
    project.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {"Name": name, "Type": kind, "TTL": 300,
                                                  "ResourceRecords": [{"Value": value}]}}]})
    project.emulator.calls.clear()


@pytest.mark.parametrize("node_env, name, kind, value", [
    ("production", "example.com.", "A", "192.0.2.10"),  # the live site at the apex
    ("dev01", "dev01.example.com.", "CNAME", "shop.example.net"),
])
def test_a_record_that_is_not_ours_is_left_alone_and_nothing_changes(project, node_env, name, kind, value):
    put_record(project, name, kind, value)
    result = project.make("setup", node_env=node_env)
    assert result.returncode != 0
    [error] = errors(result)
    assert f"{name} already" in error and value in error
    assert ("REPLACE_DNS_RECORD=yes" if kind == "A" else "remove it in Route 53 yourself") in error
    assert project.mutating_actions() == []
    [record] = [r for r in record_sets(project) if r["Name"] == name and r["Type"] == kind]
    assert record["ResourceRecords"] == [{"Value": value}]


def test_replace_dns_record_yes_points_a_foreign_a_record_at_the_environment(project):
    put_record(project, "dev01.example.com.", "A", "192.0.2.10")
    ok(project.make("setup", REPLACE_DNS_RECORD="yes"))
    [alias] = record(project, "dev01.example.com.")
    assert alias["AliasTarget"]["DNSName"].startswith("elb-app-dev01")
    ok(project.make("setup"))  # now it is ours: no setting needed


def record_sets(project):
    zone = project.client("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]
    return project.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]


def test_setup_reports_zones_it_cannot_change_in_place_and_changes_nothing(project):
    ok(project.make("setup"))
    project.emulator.calls.clear()
    result = project.make("setup", AVAILABILITY_ZONES="us-east-1a")
    assert result.returncode != 0
    assert ("elb-app-dev01 is in us-east-1a us-east-1b, AVAILABILITY_ZONES says us-east-1a: fix AVAILABILITY_ZONES"
            in result.stderr)
    assert project.mutating_actions() == []


def test_a_zone_without_a_default_subnet_is_refused_before_the_load_balancer(project):
    ec2 = project.client("ec2")
    [subnet] = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]},
                                             {"Name": "availability-zone", "Values": ["us-east-1b"]}])["Subnets"]
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    project.emulator.calls.clear()
    result = project.make("setup")
    assert result.returncode != 0
    [error] = errors(result)
    assert "us-east-1b" in error and "default subnet" in error and "SUBNETS" in error, error
    assert project.mutating_actions() == []  # preflight: before anything is created
