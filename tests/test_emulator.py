"""The emulator's corrections, each proved through boto3 against a started Emulator."""
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import boto3
import botocore.exceptions
import pytest
from botocore.exceptions import ClientError

from emulator import Call

AMI = "ami-1e749f67"  # shipped with moto
LB = "elb-app-dev01"
ALB, TG = "alb-app-dev01", "tg-app-dev01"


@pytest.fixture
def aws(emu):
    def client(service, region="us-east-1"):
        return boto3.client(service, endpoint_url=emu.url, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return client


def create_lb(elb, name=LB, reachable=True):
    """A classic load balancer in the default VPC, with AWS's default_elb_ group; `reachable`: the
    VPC's default group (which the test instances have) admits port 80 from it, as setup arranges."""
    lb = elb.create_load_balancer(LoadBalancerName=name, AvailabilityZones=["us-east-1a"],
                                  Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}])
    if reachable:
        ec2 = boto3.client("ec2", endpoint_url=elb.meta.endpoint_url, region_name=elb.meta.region_name,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        [lb_group] = elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"][0][
            "SecurityGroups"]
        ec2.authorize_security_group_ingress(GroupId=default_group(ec2), IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": lb_group}]}])
    return lb


def default_group(ec2) -> str:
    return ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]


def create_group(asg, name, size=2, lb=LB, tg=None):
    """A group attached to the classic load balancer lb, or with tg (an ARN) to that target group instead."""
    if not asg.describe_launch_configurations(LaunchConfigurationNames=[name])["LaunchConfigurations"]:
        asg.create_launch_configuration(LaunchConfigurationName=name, ImageId=AMI, InstanceType="t3.micro")
    attach = {"TargetGroupARNs": [tg]} if tg else {"LoadBalancerNames": [lb]}
    asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchConfigurationName=name, MinSize=size,
                                  MaxSize=size, DesiredCapacity=size, AvailabilityZones=["us-east-1a"],
                                  HealthCheckType="ELB", HealthCheckGracePeriod=300, **attach)
    return group_instances(asg, name)


def default_subnets(ec2, zones=("us-east-1a", "us-east-1b")):
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                            {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    by_zone = {s["AvailabilityZone"]: s["SubnetId"] for s in subnets}
    return vpc, [by_zone[zone] for zone in zones]


def create_alb(aws, name=ALB, tg_name=TG, listener=True, region="us-east-1"):
    """The tool's ALB: load balancer, target group and HTTP listener, as it will create them; the ARNs."""
    ec2, elbv2 = aws("ec2", region), aws("elbv2", region)
    vpc, subnets = default_subnets(ec2, (f"{region}a", f"{region}b"))
    tags = [{"Key": "Environment", "Value": "dev01"}]
    lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[
        ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]], Tags=tags)
    tg = elbv2.create_target_group(
        Name=tg_name, Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckPath="/api/status/health",
        HealthCheckIntervalSeconds=30, HealthCheckTimeoutSeconds=4, HealthyThresholdCount=2,
        UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"}, Tags=tags)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "300"}])
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    if listener:
        elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    return lb_arn, tg


def target_states(elbv2, tg, ids=None):
    """{instance id: (State, Reason)} from DescribeTargetHealth, for the given ids or the registered ones."""
    asked = {"Targets": [{"Id": i} for i in ids]} if ids else {}
    return {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
            for d in elbv2.describe_target_health(TargetGroupArn=tg, **asked)["TargetHealthDescriptions"]}


def group_instances(asg, name):
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return {i["InstanceId"]: i["LifecycleState"] for i in group["Instances"]}


def lb_instances(elb, name=LB):
    return {i["InstanceId"] for i in elb.describe_load_balancers(LoadBalancerNames=[name])
            ["LoadBalancerDescriptions"][0]["Instances"]}


def lb_states(elb, name=LB):
    return {s["InstanceId"]: s["State"] for s in elb.describe_instance_health(LoadBalancerName=name)["InstanceStates"]}


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.mark.parametrize("region, zone_id", [("us-east-1", "Z35SXDOTRQ7X7K"), ("us-west-2", "Z1H1FL5HABSF5"),
                                             ("eu-west-1", "Z32O12XQLNTSW2"), ("ap-south-1", None)])
def test_classic_lb_has_its_regions_canonical_hosted_zone(aws, region, zone_id):
    elb = aws("elb", region)
    elb.create_load_balancer(LoadBalancerName=LB, AvailabilityZones=[f"{region}a"],
                             Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}])
    lb = elb.describe_load_balancers()["LoadBalancerDescriptions"][0]
    assert lb.get("CanonicalHostedZoneNameID") == zone_id
    assert lb["CanonicalHostedZoneName"] == lb["DNSName"] and region in lb["DNSName"]


@pytest.mark.parametrize("name", ["x" * 33, "-elb", "elb-", "elb_app", "elb.app"])
def test_lb_names_aws_refuses_are_refused(aws, name):
    elb = aws("elb")
    with pytest.raises(ClientError) as excinfo:
        create_lb(elb, name)
    assert error_code(excinfo) == "ValidationError" and "LoadBalancerName" in str(excinfo.value)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert elb.describe_load_balancers()["LoadBalancerDescriptions"] == []
    create_lb(elb, "x" * 32)  # the longest name AWS takes


def test_each_group_registers_and_deregisters_only_its_own_instances(aws):
    elb, asg = aws("elb"), aws("autoscaling")
    create_lb(elb)
    old = create_group(asg, "asg-app-dev01-1")
    new = create_group(asg, "asg-app-dev01-2")
    assert lb_instances(elb) == set(old) | set(new)  # moto: the old group's instances were dropped
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1", MinSize=0, DesiredCapacity=0)
    assert lb_instances(elb) == set(new)  # moto: 0 instances left
    assert set(lb_states(elb).values()) == {"InService"}


def test_explicit_deregistration_takes_group_instances_out_and_they_stay_out(aws):
    elb, asg = aws("elb"), aws("autoscaling")
    create_lb(elb)
    first, *rest = create_group(asg, "asg-app-dev01-1", size=3)
    elb.deregister_instances_from_load_balancer(LoadBalancerName=LB, Instances=[{"InstanceId": first}])
    assert lb_instances(elb) == set(rest)
    create_group(asg, "asg-app-dev01-2")  # another group's sync must not bring it back
    assert first not in lb_instances(elb)
    elb.register_instances_with_load_balancer(LoadBalancerName=LB, Instances=[{"InstanceId": first}] * 2)
    assert sorted(lb_states(elb)).count(first) == 1


def test_target_groups_lose_the_instances_a_group_no_longer_has(aws):
    ec2, elbv2, asg = aws("ec2"), aws("elbv2"), aws("autoscaling")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    tg = elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=AMI, InstanceType="t3.micro")
    for name in ("asg-1", "asg-2"):
        asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchConfigurationName="lc", MinSize=1,
                                      MaxSize=1, AvailabilityZones=["us-east-1a"], TargetGroupARNs=[tg])
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-1", MinSize=0, DesiredCapacity=0)
    targets = {t["Target"]["Id"] for t in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
    assert targets == set(group_instances(asg, "asg-2"))


@pytest.mark.parametrize("region, zone_id", [("us-east-1", "Z35SXDOTRQ7X7K"), ("us-west-2", "Z1H1FL5HABSF5"),
                                             ("eu-west-1", "Z32O12XQLNTSW2"), ("ap-south-1", None)])
def test_alb_has_its_regions_canonical_hosted_zone(aws, region, zone_id):
    create_alb(aws, listener=False, region=region)
    lb = aws("elbv2", region).describe_load_balancers(Names=[ALB])["LoadBalancers"][0]
    assert lb.get("CanonicalHostedZoneId") == zone_id  # moto: Z2P70J7EXAMPLE everywhere
    assert lb["DNSName"].startswith(f"{ALB}-") and lb["DNSName"].endswith(f".{region}.elb.amazonaws.com")
    assert lb["Scheme"] == "internet-facing" and lb["Type"] == "application"


@pytest.mark.parametrize("name", ["x" * 33, "-alb", "alb-", "alb_app", "alb.app", "internal-alb"])
def test_alb_names_aws_refuses_are_refused(aws, name):
    elbv2, (_, subnets) = aws("elbv2"), default_subnets(aws("ec2"))
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name=name, Subnets=subnets)
    assert error_code(excinfo) == "ValidationError" and "load balancer name" in str(excinfo.value)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    elbv2.create_load_balancer(Name="x" * 32, Subnets=subnets)  # the longest name AWS takes


def test_target_group_names_aws_refuses_are_refused(aws):  # no patch: moto checks them as AWS does
    elbv2, (vpc, _) = aws("elbv2"), default_subnets(aws("ec2"))
    for name in ("x" * 33, "-tg", "tg-", "tg_app", "tg.app"):
        with pytest.raises(ClientError) as excinfo:
            elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc)
        assert error_code(excinfo) == "ValidationError"
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    elbv2.create_target_group(Name="x" * 32, Protocol="HTTP", Port=80, VpcId=vpc)


def test_alb_needs_two_zones_and_a_name_of_its_own(aws):
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc, (a, b) = default_subnets(ec2)
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name=ALB, Subnets=[a])
    assert error_code(excinfo) == "ValidationError" and "two different Availability Zones" in str(excinfo.value)
    a2 = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.96.0/20", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name=ALB, Subnets=[a, a2, b])
    assert error_code(excinfo) == "InvalidConfigurationRequest"
    first = elbv2.create_load_balancer(Name=ALB, Subnets=[a, b])["LoadBalancers"][0]["LoadBalancerArn"]
    again = elbv2.create_load_balancer(Name=ALB, Subnets=[b, a])["LoadBalancers"][0]["LoadBalancerArn"]
    assert again == first  # idempotent (moto: a second load balancer of the same name)
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name=ALB, Subnets=[a2, b])
    assert error_code(excinfo) == "DuplicateLoadBalancerName"
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1


def test_groups_register_their_instances_and_explicit_deregistration_holds(aws):
    elbv2, asg = aws("elbv2"), aws("autoscaling")
    _, tg = create_alb(aws)
    old = create_group(asg, "asg-app-dev01-1", tg=tg)
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": i} for i in old])
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": i} for i in old])  # moto: InvalidTarget
    new = create_group(asg, "asg-app-dev01-2", tg=tg)
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1", DesiredCapacity=2)  # a sync of the old group
    assert set(target_states(elbv2, tg)) == set(new)  # the groups did not put the old instances back
    first = next(iter(old))
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": first}])
    assert set(target_states(elbv2, tg)) == set(new) | {first}
    with pytest.raises(ClientError) as excinfo:
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "i-0123456789abcdef0"}])
    assert error_code(excinfo) == "InvalidTarget"


def test_groups_keep_target_groups_right_through_replacements_and_deletions(aws):
    ec2, elbv2, asg = aws("ec2"), aws("elbv2"), aws("autoscaling")
    lb, tg = create_alb(aws)
    gone, kept = create_group(asg, "asg-app-dev01-1", tg=tg)
    ec2.terminate_instances(InstanceIds=[gone])
    now = group_instances(asg, "asg-app-dev01-1")
    assert gone not in now and set(target_states(elbv2, tg)) == set(now)  # moto: the replacement unregistered
    assert target_states(elbv2, tg, [gone]) == {gone: ("unused", "Target.NotRegistered")}  # moto: draining
    elbv2.delete_listener(ListenerArn=elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"][0]["ListenerArn"])
    elbv2.delete_target_group(TargetGroupArn=tg)
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1", MinSize=0, DesiredCapacity=0)  # moto: fails
    with pytest.raises(ClientError) as excinfo:
        create_group(asg, "asg-app-dev01-2", tg=tg)
    assert error_code(excinfo) == "ValidationError" and "Target Groups may not be valid" in str(excinfo.value)
    assert [g["AutoScalingGroupName"] for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]] == [
        "asg-app-dev01-1"]


def test_scripted_target_health_initial_then_healthy_never_unhealthy(emu, aws):
    elbv2, asg = aws("elbv2"), aws("autoscaling")
    _, tg = create_alb(aws)
    emu.health.set("asg-app-dev01-", group_polls=2, lb_polls=1)
    emu.health.set("asg-app-dev01-bad", never=True)
    new = create_group(asg, "asg-app-dev01-1", tg=tg)  # group poll 1
    bad = create_group(asg, "asg-app-dev01-bad", size=1, tg=tg)
    other = create_group(asg, "asg-other", size=1, tg=tg)
    states = target_states(elbv2, tg)  # not InService in the group yet: does not count
    assert {states[i] for i in new} == {("initial", "Elb.InitialHealthChecking")}
    assert {states[i] for i in other} == {("healthy", None)}  # no rule: healthy at once
    health = elbv2.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": i} for i in bad])
    assert health["TargetHealthDescriptions"][0]["TargetHealth"] == {
        "State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}
    group_instances(asg, "asg-app-dev01-1")  # group poll 2: InService from now on
    states = target_states(elbv2, tg)  # the one counted response
    assert {states[i][0] for i in new} == {"initial"}
    states = target_states(elbv2, tg)
    assert {states[i][0] for i in new} == {"healthy"} and {states[i][0] for i in bad} == {"unhealthy"}


def test_targets_are_unused_while_no_listener_forwards_to_their_group(aws):
    elbv2, asg = aws("elbv2"), aws("autoscaling")
    lb, tg = create_alb(aws, listener=False)
    instances = create_group(asg, "asg-other", tg=tg)
    assert set(target_states(elbv2, tg).values()) == {("unused", "Target.NotInUse")}
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]["ListenerArn"]
    assert set(target_states(elbv2, tg, instances).values()) == {("healthy", None)}
    assert elbv2.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["LoadBalancerArns"] == [lb]
    elbv2.delete_listener(ListenerArn=listener)
    assert elbv2.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["LoadBalancerArns"] == []  # moto: [lb]
    assert set(target_states(elbv2, tg).values()) == {("unused", "Target.NotInUse")}


def test_deregistered_targets_are_unused_when_asked_for(aws):
    ec2, elbv2, asg = aws("ec2"), aws("elbv2"), aws("autoscaling")
    _, tg = create_alb(aws)
    loose = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": loose}])
    ec2.terminate_instances(InstanceIds=[loose])
    assert target_states(elbv2, tg, [loose]) == {loose: ("unused", "Target.NotRegistered")}  # moto: draining
    old = create_group(asg, "asg-app-dev01-1", tg=tg)
    new = create_group(asg, "asg-app-dev01-2", tg=tg)
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": i} for i in old])
    assert target_states(elbv2, tg, old) == dict.fromkeys(old, ("unused", "Target.NotRegistered"))
    elbv2.get_waiter("target_deregistered").wait(TargetGroupArn=tg, Targets=[{"Id": i} for i in old],
                                                  WaiterConfig={"Delay": 0, "MaxAttempts": 1})
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-2", MinSize=0, DesiredCapacity=0)
    assert target_states(elbv2, tg, new) == dict.fromkeys(new, ("unused", "Target.NotRegistered"))
    assert target_states(elbv2, tg) == {}  # without ids: only registered targets


def test_tg_healthy_history_follows_a_zero_downtime_swap(emu, aws):
    elbv2, asg = aws("elbv2"), aws("autoscaling")
    _, tg = create_alb(aws)
    old = create_group(asg, "asg-app-dev01-1", tg=tg)
    emu.health.set("asg-app-dev01-", lb_polls=1)
    new = create_group(asg, "asg-app-dev01-2", tg=tg)
    elbv2.get_waiter("target_in_service").wait(TargetGroupArn=tg, Targets=[{"Id": i} for i in new],
                                                WaiterConfig={"Delay": 0, "MaxAttempts": 3})  # initial, healthy
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": i} for i in old])
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1", MinSize=0, DesiredCapacity=0)
    asg.delete_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1")
    # CreateTargetGroup, ModifyTargetGroupAttributes, CreateListener, CreateLaunchConfiguration,
    # CreateAutoScalingGroup, CreateLaunchConfiguration, CreateAutoScalingGroup, deregister, update, delete
    assert emu.tg_healthy_history(TG) == [0, 0, 0, 0, 2, 2, 2, 2, 2, 2]
    assert emu.tg_healthy_history("tg-unknown") == []


def test_alb_deploy_calls_as_the_tool_makes_them(emu, aws):
    elbv2, asg = aws("elbv2"), aws("autoscaling")
    lb, tg = create_alb(aws)
    assert elbv2.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0]["State"]["Code"] == "active"
    group = elbv2.describe_target_groups(Names=[TG])["TargetGroups"][0]
    assert {k: group[k] for k in ("Protocol", "Port", "HealthCheckPath", "HealthCheckIntervalSeconds",
                                  "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount",
                                  "Matcher", "LoadBalancerArns")} == {
        "Protocol": "HTTP", "Port": 80, "HealthCheckPath": "/api/status/health", "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 4, "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2,
        "Matcher": {"HttpCode": "200"}, "LoadBalancerArns": [lb]}
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "300"} in attributes
    listener = elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"][0]
    assert (listener["Protocol"], listener["Port"], listener["DefaultActions"]) == (
        "HTTP", 80, [{"Type": "forward", "TargetGroupArn": tg}])
    tags = elbv2.describe_tags(ResourceArns=[lb, tg])["TagDescriptions"]
    assert [t["Tags"] for t in tags] == [[{"Key": "Environment", "Value": "dev01"}]] * 2
    emu.health.set("asg-app-dev01-", group_polls=1, lb_polls=2)
    new = create_group(asg, "asg-app-dev01-1", tg=tg)  # group poll 1: InService
    assert asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["TargetGroupARNs"] == [tg]
    waiter = elbv2.get_waiter("target_in_service")
    with pytest.raises(botocore.exceptions.WaiterError):
        waiter.wait(TargetGroupArn=tg, Targets=[{"Id": i} for i in new], WaiterConfig={"Delay": 0, "MaxAttempts": 2})
    waiter.wait(TargetGroupArn=tg, Targets=[{"Id": i} for i in new], WaiterConfig={"Delay": 0, "MaxAttempts": 1})
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_target_group(TargetGroupArn=tg)
    assert error_code(excinfo) == "ResourceInUse"
    asg.delete_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1", ForceDelete=True)
    elbv2.get_waiter("target_deregistered").wait(TargetGroupArn=tg, Targets=[{"Id": i} for i in new],
                                                  WaiterConfig={"Delay": 0, "MaxAttempts": 1})
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    elbv2.delete_load_balancer(LoadBalancerArn=lb)
    elbv2.delete_target_group(TargetGroupArn=tg)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == elbv2.describe_target_groups()["TargetGroups"] == []


def test_duplicate_group_and_launch_configuration_names_are_refused(aws):
    elb, asg = aws("elb"), aws("autoscaling")
    create_lb(elb)
    before = create_group(asg, "asg-app-dev01-1")
    with pytest.raises(ClientError) as excinfo:
        create_group(asg, "asg-app-dev01-1", size=1)
    assert error_code(excinfo) == "AlreadyExists"
    assert group_instances(asg, "asg-app-dev01-1") == before
    with pytest.raises(ClientError) as excinfo:
        asg.create_launch_configuration(LaunchConfigurationName="asg-app-dev01-1", ImageId=AMI, InstanceType="t3.nano")
    assert error_code(excinfo) == "AlreadyExists"


def test_deleting_a_group_with_instances_needs_force_delete(aws):
    elb, asg = aws("elb"), aws("autoscaling")
    create_lb(elb)
    create_group(asg, "asg-a")
    with pytest.raises(ClientError) as excinfo:
        asg.delete_auto_scaling_group(AutoScalingGroupName="asg-a")
    assert error_code(excinfo) == "ResourceInUse" and "still in the group" in str(excinfo.value)
    asg.delete_auto_scaling_group(AutoScalingGroupName="asg-a", ForceDelete=True)
    create_group(asg, "asg-b")
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-b", MinSize=0, DesiredCapacity=0)
    asg.delete_auto_scaling_group(AutoScalingGroupName="asg-b")  # empty: allowed
    assert asg.describe_auto_scaling_groups()["AutoScalingGroups"] == []


def test_scripted_health_pending_then_in_service_in_the_group_then_at_the_lb(emu, aws):
    elb, asg = aws("elb"), aws("autoscaling")
    create_lb(elb)
    emu.health.set("asg-app-dev01-", group_polls=2, lb_polls=1)
    create_group(asg, "asg-app-dev01-1")  # poll 1 (inside create_group)
    assert set(lb_states(elb).values()) == {"OutOfService"}  # not yet InService in its group
    states = asg.describe_auto_scaling_instances()["AutoScalingInstances"]
    assert {s["LifecycleState"] for s in states} == {"Pending"}
    assert set(group_instances(asg, "asg-app-dev01-1").values()) == {"Pending"}  # poll 2
    assert set(group_instances(asg, "asg-app-dev01-1").values()) == {"InService"}  # poll 3
    health = elb.describe_instance_health(LoadBalancerName=LB)["InstanceStates"]
    assert {(s["State"], s["ReasonCode"]) for s in health} == {("OutOfService", "Instance")}
    assert health[0]["Description"].startswith("Instance has failed at least the UnhealthyThreshold")
    assert set(lb_states(elb).values()) == {"InService"}
    group = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert {i["HealthStatus"] for i in group["Instances"]} == {"Healthy"}


def test_scripted_health_that_turns_bad_after_good_answers(emu, aws):
    """A release that fails under traffic: InService at the load balancer (healthy in a target
    group) for good_polls answers, then OutOfService (unhealthy) for good; others keep theirs."""
    elb, elbv2, asg = aws("elb"), aws("elbv2"), aws("autoscaling")
    create_lb(elb)
    _, tg = create_alb(aws)
    emu.health.set("asg-app-dev01-", lb_polls=1, good_polls=2)
    classic = create_group(asg, "asg-app-dev01-1", size=1)
    targets = create_group(asg, "asg-app-dev01-2", size=1, tg=tg)
    other = create_group(asg, "asg-other", size=1)
    seen = [lb_states(elb) for _ in range(5)]
    assert [states[i] for states in seen for i in classic] == ["OutOfService", "InService", "InService",
                                                                 "OutOfService", "OutOfService"]
    assert {states[i] for states in seen for i in other} == {"InService"}
    assert [target_states(elbv2, tg)[i][0] for _ in range(5) for i in targets] == \
        ["initial", "healthy", "healthy", "unhealthy", "unhealthy"]


def test_scripted_health_that_turns_bad_for_some_instances_only(emu, aws):
    elb, asg = aws("elb"), aws("autoscaling")
    create_lb(elb)
    emu.health.set("asg-app-dev01-", good_polls=1, failing=1)  # one of the two fails, the other keeps serving
    create_group(asg, "asg-app-dev01-1", size=2)
    seen = [sorted(lb_states(elb).values()) for _ in range(3)]
    assert seen == [["InService", "InService"], ["InService", "OutOfService"], ["InService", "OutOfService"]]


def test_scripted_health_never_and_unscripted_groups(emu, aws):
    elb, asg = aws("elb"), aws("autoscaling")
    create_lb(elb)
    emu.health.set("asg-app-dev01-", never=True)
    emu.health.set("asg-app-dev01-ok", group_polls=0)  # the latest matching rule wins
    bad = create_group(asg, "asg-app-dev01-bad")
    good = create_group(asg, "asg-app-dev01-ok")
    other = create_group(asg, "asg-other")
    for _ in range(5):
        assert set(group_instances(asg, "asg-app-dev01-bad").values()) == {"Pending"}
        states = lb_states(elb)
    assert {states[i] for i in bad} == {"OutOfService"}
    assert {states[i] for i in [*good, *other]} == {"InService"}
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["asg-app-dev01-bad"])["AutoScalingGroups"][0]
    assert {i["HealthStatus"] for i in group["Instances"]} == {"Healthy"}
    emu.health.clear()
    assert set(group_instances(asg, "asg-app-dev01-bad").values()) == {"InService"}


def test_stopped_instances_are_out_of_service_and_unregistered_ones_invalid(aws):
    elb, asg, ec2 = aws("elb"), aws("autoscaling"), aws("ec2")
    create_lb(elb)
    first, second = create_group(asg, "asg-a")
    loose = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[first])
    states = elb.describe_instance_health(LoadBalancerName=LB, Instances=[
        {"InstanceId": i} for i in (first, second)])["InstanceStates"]
    assert [s["State"] for s in states] == ["OutOfService", "InService"]
    with pytest.raises(elb.exceptions.ClientError, match="InvalidInstance"):
        elb.describe_instance_health(LoadBalancerName=LB, Instances=[{"InstanceId": loose}])


def test_images_made_from_instances_are_ebs_backed(aws):
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="primal")["ImageId"]
    assert ec2.describe_images(ImageIds=[image])["Images"][0]["RootDeviceType"] == "ebs"


def test_calls_are_recorded_with_service_and_action(emu, aws):
    elb, asg, ec2, route53 = aws("elb"), aws("autoscaling"), aws("ec2"), aws("route53")
    create_lb(elb, reachable=False)
    create_group(asg, "asg-a")
    ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="1")["HostedZone"]["Id"]
    route53.list_hosted_zones_by_name(DNSName="example.com")
    change = route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": "dev01.example.com.", "Type": "A", "TTL": 60,
                                                  "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    route53.get_change(Id=change["ChangeInfo"]["Id"])
    route53.list_resource_record_sets(HostedZoneId=zone)
    route53.list_hosted_zones()
    aws("dynamodb").list_tables()
    assert emu.calls == [
        ("elasticloadbalancing", "CreateLoadBalancer"),
        ("autoscaling", "DescribeLaunchConfigurations"), ("autoscaling", "CreateLaunchConfiguration"),
        ("autoscaling", "CreateAutoScalingGroup"), ("autoscaling", "DescribeAutoScalingGroups"),
        ("ec2", "RunInstances"),
        ("route53", "CreateHostedZone"), ("route53", "ListHostedZonesByName"),
        ("route53", "ChangeResourceRecordSets"), ("route53", "GetChange"),
        ("route53", "ListResourceRecordSets"), ("route53", "ListHostedZones"),
        ("dynamodb", "ListTables")]
    assert emu.mutating_calls() == [
        Call("elasticloadbalancing", "CreateLoadBalancer"), Call("autoscaling", "CreateLaunchConfiguration"),
        Call("autoscaling", "CreateAutoScalingGroup"), Call("ec2", "RunInstances"),
        Call("route53", "CreateHostedZone"), Call("route53", "ChangeResourceRecordSets")]
    emu.reset()
    assert emu.calls == [] and aws("elb").describe_load_balancers()["LoadBalancerDescriptions"] == []


def test_lb_inservice_history_follows_a_zero_downtime_swap(emu, aws):
    elb, asg, ec2 = aws("elb"), aws("autoscaling"), aws("ec2")
    ec2.authorize_security_group_ingress(GroupId=default_group(ec2), IpPermissions=[  # the default VPC's range
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "172.31.0.0/16"}]}])
    asg.create_launch_configuration(LaunchConfigurationName="early", ImageId=AMI, InstanceType="t3.micro")
    create_lb(elb, reachable=False)
    create_group(asg, "asg-app-dev01-1")
    emu.health.set("asg-app-dev01-", group_polls=1)  # for instances launched from now on
    new = create_group(asg, "asg-app-dev01-2")  # 1 poll seen: InService in the group, so at the LB too
    elb.deregister_instances_from_load_balancer(LoadBalancerName=LB, Instances=[
        {"InstanceId": i} for i in lb_instances(elb) - set(new)])
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1", MinSize=0, DesiredCapacity=0)
    asg.delete_auto_scaling_group(AutoScalingGroupName="asg-app-dev01-1")
    # CreateLoadBalancer, CreateLaunchConfiguration x2 and CreateAutoScalingGroup x2, deregister, update, delete
    assert emu.lb_inservice_history(LB) == [0, 0, 2, 2, 2, 2, 2, 2]
    assert emu.lb_inservice_history("elb-unknown") == []


def test_main_prints_the_url_and_stops_cleanly_on_sigterm():
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0"], cwd=Path(__file__).parents[1],
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("EMULATOR_URL=http://127.0.0.1:")
        elb = boto3.client("elb", endpoint_url=line.split("=", 1)[1], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        assert elb.describe_load_balancers()["LoadBalancerDescriptions"] == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()


def test_a_new_accounts_defaults_leave_a_classic_load_balancer_unable_to_reach_its_instances(aws):
    elb, asg, ec2 = aws("elb"), aws("autoscaling"), aws("ec2")
    create_lb(elb, reachable=False)
    [lb_group] = elb.describe_load_balancers(LoadBalancerNames=[LB])["LoadBalancerDescriptions"][0]["SecurityGroups"]
    [group] = ec2.describe_security_groups(GroupIds=[lb_group])["SecurityGroups"]
    assert group["GroupName"].startswith("default_elb_")
    assert [(p["IpProtocol"], p["FromPort"], p["IpRanges"]) for p in group["IpPermissions"]] == [
        ("tcp", 80, [{"CidrIp": "0.0.0.0/0"}])]  # the listener port, from anywhere
    [default] = ec2.describe_security_groups(GroupIds=[default_group(ec2)])["SecurityGroups"]
    assert [(p["IpProtocol"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in default["IpPermissions"]] == [
        ("-1", [default["GroupId"]])]  # only its own members
    instances = create_group(asg, "asg-app-dev01-1")  # no group given: the VPC's default group
    health = elb.describe_instance_health(LoadBalancerName=LB)["InstanceStates"]
    assert {s["InstanceId"]: (s["State"], s["ReasonCode"]) for s in health} == {
        i: ("OutOfService", "Instance") for i in instances}


@pytest.mark.parametrize("port, source, serving", [
    (80, "lb", True), (80, "0.0.0.0/0", True), (80, "172.31.0.0/16", True),  # the default VPC's range
    (8080, "lb", False), (80, "other", False), (80, "10.0.0.0/8", False), (22, "0.0.0.0/0", False)])
def test_an_instance_serves_only_when_its_groups_admit_the_health_check_from_the_load_balancer(
        emu, aws, port, source, serving):
    emu.health.register_polls = 0  # its checks pass at once: reachability alone decides here
    elb, ec2 = aws("elb"), aws("ec2")
    create_lb(elb, reachable=False)
    [lb_group] = elb.describe_load_balancers(LoadBalancerNames=[LB])["LoadBalancerDescriptions"][0]["SecurityGroups"]
    other = ec2.create_security_group(GroupName="other", Description="other")["GroupId"]
    instances_group = ec2.create_security_group(GroupName="instances", Description="instances")["GroupId"]
    where = ({"UserIdGroupPairs": [{"GroupId": {"lb": lb_group, "other": other}[source]}]} if "/" not in source
             else {"IpRanges": [{"CidrIp": source}]})
    ec2.authorize_security_group_ingress(GroupId=instances_group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **where}])
    instance = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[other, instances_group],
                                 Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0]["InstanceId"]
    elb.register_instances_with_load_balancer(LoadBalancerName=LB, Instances=[{"InstanceId": instance}])
    assert lb_states(elb) == {instance: "InService" if serving else "OutOfService"}


def test_an_alb_without_groups_gets_the_default_group_and_targets_it_cannot_reach_are_unhealthy(emu, aws):
    emu.health.register_polls = 0  # its checks pass at once: reachability alone decides here
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc, subnets = default_subnets(ec2)
    lb = elbv2.create_load_balancer(Name=ALB, Subnets=subnets)["LoadBalancers"][0]
    assert lb["SecurityGroups"] == [default_group(ec2)]
    tg = elbv2.create_target_group(Name=TG, Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    closed = ec2.create_security_group(GroupName="closed", Description="admits nothing")["GroupId"]
    members, outsider = (ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **groups)["Instances"][0]["InstanceId"]
                         for groups in ({}, {"SecurityGroupIds": [closed]}))
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": members}, {"Id": outsider}])
    assert target_states(elbv2, tg) == {members: ("healthy", None),  # the default group admits its members
                                        outsider: ("unhealthy", "Target.FailedHealthChecks")}


# ACM (emulator/certificates.py) and the listeners that use its certificates.

def validation_cname(aws, arn: str, zone: str, put: bool = True) -> dict:
    """The validation record DescribeCertificate names (ACM names it from the second answer on);
    put in `zone` unless `put` is False."""
    acm = aws("acm")
    first = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    assert ["ResourceRecord" in option for option in first] == [False]  # not yet named
    [option] = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    record = option["ResourceRecord"]
    if put:
        aws("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": "UPSERT", "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 300,
                                                      "ResourceRecords": [{"Value": record["Value"]}]}}]})
    return record


def statuses(aws, arn: str, answers: int = 3) -> list[tuple[str, str]]:
    """(certificate status, validation status) in each of `answers` DescribeCertificate answers."""
    found = [aws("acm").describe_certificate(CertificateArn=arn)["Certificate"] for _ in range(answers)]
    return [(c["Status"], c["DomainValidationOptions"][0]["ValidationStatus"]) for c in found]


def example_zone(aws) -> str:
    return aws("route53").create_hosted_zone(Name="example.com", CallerReference="zone")["HostedZone"]["Id"]


def test_a_dns_validated_certificate_is_issued_only_once_its_validation_record_resolves(emu, aws, monkeypatch):
    monkeypatch.setattr("moto.settings.ACM_VALIDATION_WAIT", -1)  # moto alone would issue at once
    zone, acm = example_zone(aws), aws("acm")
    arn = acm.request_certificate(DomainName="dev01.example.com", ValidationMethod="DNS")["CertificateArn"]
    validation_cname(aws, arn, zone, put=False)
    assert statuses(aws, arn) == [("PENDING_VALIDATION", "PENDING_VALIDATION")] * 3

    emu.dns.undelegate(zone)  # the record is in the zone, but public DNS asks other name servers
    validation_cname(aws, acm.request_certificate(DomainName="staging.example.com", ValidationMethod="DNS")[
        "CertificateArn"], zone)
    staging = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]
               if c["DomainName"] == "staging.example.com"][0]
    assert statuses(aws, staging) == [("PENDING_VALIDATION", "PENDING_VALIDATION")] * 3

    emu.dns.clear()
    # validations SUCCESS one answer before the certificate is ISSUED, as ACM does
    assert statuses(aws, staging) == [("PENDING_VALIDATION", "SUCCESS"), ("ISSUED", "SUCCESS"), ("ISSUED", "SUCCESS")]
    assert statuses(aws, arn, 1) == [("PENDING_VALIDATION", "PENDING_VALIDATION")]  # its record is still missing


def issued(aws, name="dev01.example.com") -> str:
    zone = aws("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"]
    zone = zone[0]["Id"] if zone else example_zone(aws)
    arn = aws("acm").request_certificate(DomainName=name, ValidationMethod="DNS")["CertificateArn"]
    validation_cname(aws, arn, zone)
    assert statuses(aws, arn, 2)[-1] == ("ISSUED", "SUCCESS")
    return arn


HTTPS = {"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstanceProtocol": "HTTP", "InstancePort": 80}


def test_listeners_take_only_an_issued_certificate_and_keep_the_instance_protocol_given(aws):
    acm, elb, elbv2 = aws("acm"), aws("elb"), aws("elbv2")
    pending = acm.request_certificate(DomainName="dev01.example.com", ValidationMethod="DNS")["CertificateArn"]
    with pytest.raises(ClientError, match=rf"CertificateNotFound.*Certificate '{pending}' not found"):
        elb.create_load_balancer(LoadBalancerName=LB, AvailabilityZones=["us-east-1a"],
                                 Listeners=[{**HTTPS, "SSLCertificateId": pending}])
    create_lb(elb)
    with pytest.raises(ClientError, match="CertificateNotFound"):
        elb.create_load_balancer_listeners(LoadBalancerName=LB, Listeners=[{**HTTPS, "SSLCertificateId": pending}])
    arn, tg = create_alb(aws)
    https = {"LoadBalancerArn": arn, "Protocol": "HTTPS", "Port": 443,
             "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg}]}
    with pytest.raises(ClientError, match="CertificateNotFound"):
        elbv2.create_listener(**https, Certificates=[{"CertificateArn": pending}])

    good = issued(aws)
    elb.create_load_balancer_listeners(LoadBalancerName=LB, Listeners=[{**HTTPS, "SSLCertificateId": good}])
    listener = elbv2.create_listener(**https, Certificates=[{"CertificateArn": good}])["Listeners"][0]
    with pytest.raises(ClientError, match="CertificateNotFound"):
        elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Certificates=[{"CertificateArn": pending}])
    descriptions = elb.describe_load_balancers(LoadBalancerNames=[LB])["LoadBalancerDescriptions"][0]
    [listener] = [one["Listener"] for one in descriptions["ListenerDescriptions"]
                  if one["Listener"]["LoadBalancerPort"] == 443]
    assert (listener["Protocol"], listener["InstanceProtocol"]) == ("HTTPS", "HTTP")  # moto: HTTPS to the instance


def test_a_certificate_is_in_use_while_a_listener_uses_it_and_cannot_be_deleted_then(aws):
    acm, elb, elbv2 = aws("acm"), aws("elb"), aws("elbv2")
    arn = issued(aws)
    elb.create_load_balancer(LoadBalancerName=LB, AvailabilityZones=["us-east-1a"],
                             Listeners=[{**HTTPS, "SSLCertificateId": arn}])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [
        f"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/{LB}"]
    with pytest.raises(ClientError, match="ResourceInUseException"):
        acm.delete_certificate(CertificateArn=arn)
    elb.delete_load_balancer(LoadBalancerName=LB)
    alb, tg = create_alb(aws)
    elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": arn}],
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [alb]  # not the classic one
    with pytest.raises(ClientError, match="ResourceInUseException"):
        acm.delete_certificate(CertificateArn=arn)
    elbv2.delete_load_balancer(LoadBalancerArn=alb)
    acm.delete_certificate(CertificateArn=arn)
    assert acm.list_certificates()["CertificateSummaryList"] == []


def test_every_region_offers_the_public_image_the_demo_and_the_tests_bake_from(aws):
    for region in ("us-east-1", "eu-west-1"):
        [image] = aws("ec2", region).describe_images(Owners=["099720109477"])["Images"]
        assert (image["ImageId"], image["RootDeviceType"]) == (AMI, "ebs")


def test_a_replacement_rule_has_the_group_replace_an_instance_its_load_balancer_has_shown(emu, aws):
    asg, elb = aws("autoscaling"), aws("elb")
    create_lb(elb)
    old = create_group(asg, "asg-app-dev01-1", size=1)
    emu.health.replace("asg-app-dev01-", after_lb_polls=2)
    new = create_group(asg, "asg-app-dev01-2", size=2)
    elb.describe_instance_health(LoadBalancerName=LB)
    assert group_instances(asg, "asg-app-dev01-2") == new  # shown once: not yet
    elb.describe_instance_health(LoadBalancerName=LB)
    now = group_instances(asg, "asg-app-dev01-2")
    assert len(now) == 2 and len(set(now) - set(new)) == 1  # one replaced, the desired capacity kept
    elb.describe_instance_health(LoadBalancerName=LB)
    assert group_instances(asg, "asg-app-dev01-2") == now  # once only
    assert group_instances(asg, "asg-app-dev01-1") == old  # a group running before the rule: never


def test_an_instance_the_tool_deregisters_drains_for_the_polls_the_script_says(emu, aws):
    asg, elb, elbv2 = aws("autoscaling"), aws("elb"), aws("elbv2")
    create_lb(elb)
    [instance] = create_group(asg, "asg-app-dev01-1", size=1)
    emu.health.drain(polls=2)
    elb.deregister_instances_from_load_balancer(LoadBalancerName=LB, Instances=[{"InstanceId": instance}])
    for _ in range(2):
        [state] = elb.describe_instance_health(LoadBalancerName=LB, Instances=[{"InstanceId": instance}])[
            "InstanceStates"]
        assert (state["State"], state["Description"]) == ("InService", "Instance deregistration currently in progress.")
    assert elb.describe_instance_health(LoadBalancerName=LB)["InstanceStates"] == []  # no longer registered
    with pytest.raises(ClientError, match="InvalidInstance"):
        elb.describe_instance_health(LoadBalancerName=LB, Instances=[{"InstanceId": instance}])

    _, tg = create_alb(aws)
    [target] = create_group(asg, "asg-app-dev01-2", size=1, tg=tg)
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": target}])
    assert target_states(elbv2, tg, [target]) == {target: ("draining", "Target.DeregistrationInProgress")}
    assert target_states(elbv2, tg, [target]) == {target: ("draining", "Target.DeregistrationInProgress")}
    assert target_states(elbv2, tg, [target]) == {target: ("unused", "Target.NotRegistered")}


def test_an_instance_the_tool_registers_again_is_checked_before_it_serves(emu, aws):
    asg, elb, elbv2 = aws("autoscaling"), aws("elb"), aws("elbv2")
    create_lb(elb)
    [instance] = create_group(asg, "asg-app-dev01-1", size=1)
    ids = [{"InstanceId": instance}]
    elb.deregister_instances_from_load_balancer(LoadBalancerName=LB, Instances=ids)
    elb.register_instances_with_load_balancer(LoadBalancerName=LB, Instances=ids)
    assert emu.lb_inservice_history(LB)[-1] == 0  # the history does not count as an answer
    for _ in range(2):  # AWS: until its healthy threshold of checks passed (moto: InService at once)
        [state] = elb.describe_instance_health(LoadBalancerName=LB, Instances=ids)["InstanceStates"]
        assert (state["State"], state["ReasonCode"], state["Description"]) == (
            "OutOfService", "ELB", "Instance registration is still in progress.")
    assert lb_states(elb) == {instance: "InService"}

    _, tg = create_alb(aws)
    [target] = create_group(asg, "asg-app-dev01-2", size=1, tg=tg)
    assert target_states(elbv2, tg) == {target: ("healthy", None)}  # a group's own registration: as before
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": target}])
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": target}])
    assert emu.tg_healthy_history(TG)[-1] == 0
    for _ in range(2):
        assert target_states(elbv2, tg, [target]) == {target: ("initial", "Elb.InitialHealthChecking")}
    assert target_states(elbv2, tg, [target]) == {target: ("healthy", None)}


def test_scheduled_actions_belong_to_their_group_and_start_in_the_future(aws):
    """Correction 18: two groups may each have an action of one name; a group's go with it; AWS
    refuses a start time in the past."""
    asg = aws("autoscaling")
    create_lb(aws("elb"))
    for name in ("asg-one", "asg-two"):
        create_group(asg, name, size=1)
        asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="morning",
                                              Recurrence="0 8 * * *", DesiredCapacity=2)
    for name in ("asg-one", "asg-two"):
        [action] = asg.describe_scheduled_actions(AutoScalingGroupName=name)["ScheduledUpdateGroupActions"]
        assert (action["ScheduledActionName"], action["Recurrence"]) == ("morning", "0 8 * * *")
    with pytest.raises(ClientError) as refused:
        asg.put_scheduled_update_group_action(AutoScalingGroupName="asg-one", ScheduledActionName="once",
                                              StartTime=datetime.now(UTC) - timedelta(minutes=1), DesiredCapacity=3)
    assert error_code(refused) == "ValidationError" and "in the past" in str(refused.value)
    asg.update_auto_scaling_group(AutoScalingGroupName="asg-one", MinSize=0, DesiredCapacity=0)
    asg.delete_auto_scaling_group(AutoScalingGroupName="asg-one", ForceDelete=True)
    assert asg.describe_scheduled_actions(AutoScalingGroupName="asg-one")["ScheduledUpdateGroupActions"] == []
    assert len(asg.describe_scheduled_actions(AutoScalingGroupName="asg-two")["ScheduledUpdateGroupActions"]) == 1


def test_lifecycle_hooks_are_as_given_also_at_creation(aws):
    """Correction 19: a hook keeps the target, role and metadata it was given (moto made some up),
    and CreateAutoScalingGroup's LifecycleHookSpecificationList is the group's from the start."""
    asg = aws("autoscaling")
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=AMI, InstanceType="t3.micro")
    warm = {"LifecycleHookName": "warm", "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
            "HeartbeatTimeout": 120, "DefaultResult": "CONTINUE", "NotificationMetadata": "cache"}
    asg.create_auto_scaling_group(AutoScalingGroupName="asg-one", LaunchConfigurationName="lc", MinSize=0, MaxSize=1,
                                  AvailabilityZones=["us-east-1a"], LifecycleHookSpecificationList=[warm])
    drain = {"LifecycleHookName": "drain", "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
             "NotificationTargetARN": "arn:aws:sqs:us-east-1:123456789012:drain",
             "RoleARN": "arn:aws:iam::123456789012:role/hooks"}
    asg.put_lifecycle_hook(AutoScalingGroupName="asg-one", **drain)
    found = {hook["LifecycleHookName"]: hook for hook in
             asg.describe_lifecycle_hooks(AutoScalingGroupName="asg-one")["LifecycleHooks"]}
    assert {key: found["warm"].get(key) for key in warm} == warm
    assert "RoleARN" not in found["warm"] and "NotificationTargetARN" not in found["warm"]
    assert {key: found["drain"].get(key) for key in drain} == drain


def test_a_snapshot_brings_back_everything_the_emulator_held_as_often_as_wanted(emu, aws):
    elb, asg, dynamodb = aws("elb"), aws("autoscaling"), aws("dynamodb")
    create_lb(elb)
    create_group(asg, "asg-a", size=1)
    emu.health.set("asg-b", never=True)
    emu.dns.undelegate("Z1")
    held = (list(emu.calls), emu.mark()[1:], emu.lb_inservice_history(LB))
    snapshot = emu.snapshot()
    for _ in range(2):
        asg.delete_auto_scaling_group(AutoScalingGroupName="asg-a", ForceDelete=True)
        create_group(asg, "asg-c", size=1)
        dynamodb.create_table(TableName="t", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")  # a backend loaded after the snapshot
        emu.health.set("asg-c", group_polls=3)
        emu.dns.clear()
        before = emu.mark()
        emu.restore(snapshot)
        assert emu.mark() != before  # a restore is a change (Project.make's replays rely on it)
        assert (list(emu.calls), emu.mark()[1:], emu.lb_inservice_history(LB)) == held
        [group] = asg.describe_auto_scaling_groups()["AutoScalingGroups"]
        assert group["AutoScalingGroupName"] == "asg-a" and len(group["Instances"]) == 1
        assert [i["InstanceId"] for i in elb.describe_instance_health(LoadBalancerName=LB)["InstanceStates"]] == \
            [i["InstanceId"] for i in group["Instances"]]
        assert dynamodb.list_tables()["TableNames"] == []


def create_group_meanwhile(ec2, name: str) -> threading.Thread:
    """CreateSecurityGroup `name`, on a thread of its own started 0.3 s ago."""
    creating = threading.Thread(target=ec2.create_security_group, kwargs={"GroupName": name, "Description": "d"})
    creating.start()
    time.sleep(0.3)
    return creating


def group_names(ec2) -> list[str]:
    return [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]


def test_a_lagging_call_is_carried_out_after_the_calls_that_came_meanwhile(emu, aws):
    ec2 = aws("ec2")
    emu.faults.add(service="ec2", action="CreateSecurityGroup", code=None, lag=1.0)
    creating = create_group_meanwhile(ec2, "late")
    assert "late" not in group_names(ec2)
    creating.join()
    assert "late" in group_names(ec2)
    assert emu.calls[-3:] == [("ec2", "DescribeSecurityGroups"), ("ec2", "CreateSecurityGroup"),
                              ("ec2", "DescribeSecurityGroups")]


def test_a_delayed_answer_holds_up_no_other_call(emu, aws):
    ec2 = aws("ec2")
    emu.faults.add(service="ec2", action="CreateSecurityGroup", code=None, delay=1.0)
    creating = create_group_meanwhile(ec2, "slow")
    started = time.monotonic()
    assert "slow" in group_names(ec2)  # carried out
    assert time.monotonic() - started < 0.5 and creating.is_alive()  # answered while the other still waits
    creating.join()
    assert emu.faults.fired == 1


def test_a_classic_load_balancer_made_in_subnets_is_in_their_zones(aws):
    """Correction 21: AWS lists the zones of a classic load balancer's subnets (moto: none)."""
    elb, ec2 = aws("elb"), aws("ec2")
    subnets = {s["AvailabilityZone"]: s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]}
    elb.create_load_balancer(LoadBalancerName=LB, Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                                                             "InstancePort": 80}],
                             Subnets=[subnets["us-east-1b"], subnets["us-east-1a"]])
    [described] = elb.describe_load_balancers(LoadBalancerNames=[LB])["LoadBalancerDescriptions"]
    assert described["AvailabilityZones"] == ["us-east-1a", "us-east-1b"]


def test_create_image_tags_its_image_and_snapshots_as_asked(aws):
    """Correction 22: CreateImage's snapshot TagSpecifications (today's Packer plugin sends them)."""
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId="ami-1e749f67", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="baked", TagSpecifications=[
        {"ResourceType": "image", "Tags": [{"Key": "App", "Value": "app"}]},
        {"ResourceType": "snapshot", "Tags": [{"Key": "App", "Value": "app"}, {"Key": "Role", "Value": "x"}]},
    ])["ImageId"]
    [described] = ec2.describe_images(ImageIds=[image])["Images"]
    assert described["Tags"] == [{"Key": "App", "Value": "app"}]
    snapshot = described["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    [held] = ec2.describe_snapshots(SnapshotIds=[snapshot])["Snapshots"]
    assert sorted((t["Key"], t["Value"]) for t in held["Tags"]) == [("App", "app"), ("Role", "x")]


def test_a_group_from_a_template_whose_image_is_gone_is_refused(aws):
    """Correction 23: AWS refuses the group (moto: launched it from the missing image)."""
    ec2, asg = aws("ec2"), aws("autoscaling")
    instance = ec2.run_instances(ImageId="ami-1e749f67", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="gone")["ImageId"]
    template = ec2.create_launch_template(LaunchTemplateName="lt-gone", LaunchTemplateData={"ImageId": image})[
        "LaunchTemplate"]["LaunchTemplateId"]
    ec2.deregister_image(ImageId=image)
    with pytest.raises(ClientError) as refused:
        asg.create_auto_scaling_group(AutoScalingGroupName="asg-gone", MinSize=1, MaxSize=1,
                                      AvailabilityZones=["us-east-1a"],
                                      LaunchTemplate={"LaunchTemplateId": template, "Version": "1"})
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert f"The image id '[{image}]' does not exist" in refused.value.response["Error"]["Message"]
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=["asg-gone"])["AutoScalingGroups"] == []


def test_a_fault_for_packer_hits_packer_s_sdk_and_not_the_tool_s(emu, aws):
    """faults.add(packer=True): Packer's Go SDK calls only (to slow down a bake); the tool's, by default."""
    emu.faults.add(action="DescribeRegions", code="Throttling", packer=True)
    aws("ec2").describe_regions()  # botocore: untouched
    request = Request(emu.url, data=b"Action=DescribeRegions&Version=2016-11-15", method="POST",
                      headers={"User-Agent": "aws-sdk-go/1.36.0 (go1.15; linux; amd64)",
                               "Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(HTTPError) as throttled:
        urlopen(request)
    assert b"<Code>Throttling</Code>" in throttled.value.read()
