"""The emulator's IAM checks (emulator/iam.py): how a policy is evaluated, the checks AWS makes on
top of a call's own action, service-linked roles, and AWS's denials in each protocol, proved
through boto3 against a started Emulator."""

from urllib.request import Request, urlopen

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.iam import decide

AMI = "ami-1e749f67"  # shipped with moto
KEY, ADMIN = "AKIATESTERKEY0000001", "testing"
USER_ARN = "arn:aws:iam::123456789012:user/tester"
LISTENER = {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}
TAGS = [{"Key": "App", "Value": "app"}]
ELB_ROLE = "AWSServiceRoleForElasticLoadBalancing"
PUBLIC_KEY = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAjIbQ6G8Z9tUpYvHqOlEszN7kKK8qj9NrSkMgpoSxe1"


def policy(*actions, deny=(), **statement):
    """A policy allowing `actions` (with `statement`'s extra elements) and denying `deny`."""
    statements = [{"Effect": "Allow", "Action": list(actions), "Resource": "*", **statement}]
    if deny:
        statements.append({"Effect": "Deny", "Action": list(deny), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


@pytest.fixture
def as_user(emu):
    """as_user(policy) registers the tester with `policy`; then as_user.client(service) signs as them."""
    def register(document):
        emu.iam.register(KEY, document, user="tester")
    register.client = lambda service, key=KEY: boto3.client(
        service, endpoint_url=emu.url, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key="x")
    return register


def admin(emu, service):
    return boto3.client(service, endpoint_url=emu.url, region_name="us-east-1",
                        aws_access_key_id=ADMIN, aws_secret_access_key=ADMIN)


def denied(excinfo):
    error = excinfo.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


@pytest.mark.parametrize("pattern, action, verdict", [
    ("ec2:DescribeImages", "ec2:DescribeImages", "allowed"),
    ("ec2:describeimages", "ec2:DescribeImages", "allowed"),  # action names are case-insensitive
    ("ec2:Describe*", "ec2:DescribeImages", "allowed"),
    ("ec2:Describe*", "ec2:CreateImage", "implicit deny"),
    ("ec2:*Image", "ec2:CreateImage", "allowed"),
    ("ec2:?reateImage", "ec2:CreateImage", "allowed"),
    ("*", "autoscaling:SuspendProcesses", "allowed"),
    ("autoscaling:*", "ec2:RunInstances", "implicit deny"),
    ("ec2:DescribeImage", "ec2:DescribeImages", "implicit deny"),  # no prefix matching
])
def test_actions_match_with_wildcards_and_without_case(pattern, action, verdict):
    assert decide(tuple(policy(pattern)["Statement"]), action) == verdict


def test_a_deny_wins_over_any_allow():
    statements = tuple(policy("ec2:*", deny=["ec2:Terminate*"])["Statement"])
    assert decide(statements, "ec2:RunInstances") == "allowed"
    assert decide(statements, "ec2:TerminateInstances") == "explicit deny"


def test_resource_and_conditions_are_not_evaluated_but_the_service_name_of_a_service_linked_role():
    scoped = policy("ec2:TerminateInstances", "iam:CreateServiceLinkedRole",
                    Resource="arn:aws:ec2:*:*:instance/*",
                    Condition={"Null": {"aws:ResourceTag/App": "false"},
                               "StringLike": {"iam:AWSServiceName": "autoscaling.*"}})["Statement"]
    assert decide(tuple(scoped), "ec2:TerminateInstances") == "allowed"
    role = "iam:CreateServiceLinkedRole"
    assert decide(tuple(scoped), role, {"iam:awsservicename": "autoscaling.amazonaws.com"}) == "allowed"
    assert decide(tuple(scoped), role, {"iam:awsservicename": "elasticloadbalancing.amazonaws.com"}) == \
        "implicit deny"


@pytest.mark.parametrize("service, call, action, code, status", [
    ("ec2", lambda c: c.describe_images(ImageIds=[AMI]), "ec2:DescribeImages", "UnauthorizedOperation", 403),
    ("autoscaling", lambda c: c.describe_auto_scaling_groups(), "autoscaling:DescribeAutoScalingGroups",
     "AccessDenied", 403),
    ("elb", lambda c: c.describe_load_balancers(), "elasticloadbalancing:DescribeLoadBalancers",
     "AccessDenied", 403),
    ("elbv2", lambda c: c.describe_load_balancers(), "elasticloadbalancing:DescribeLoadBalancers",
     "AccessDenied", 403),
    ("route53", lambda c: c.list_hosted_zones_by_name(DNSName="example.com"), "route53:ListHostedZonesByName",
     "AccessDenied", 403),
    ("dynamodb", lambda c: c.describe_table(TableName="t"), "dynamodb:DescribeTable", "AccessDeniedException", 400),
])
def test_a_denial_is_aws_s_error_in_the_protocol_of_each_service(emu, as_user, service, call, action, code, status):
    as_user(policy("iam:GetUser"))
    with pytest.raises(ClientError) as excinfo:
        call(as_user.client(service))
    got_code, got_status, message = denied(excinfo)
    assert (got_code, got_status) == (code, status)
    assert f"User: {USER_ARN} is not authorized to perform: {action} because no identity-based policy allows" \
        in message
    assert emu.iam.checked == [(action, False)]


def test_an_explicit_deny_says_so(as_user):
    as_user(policy("ec2:*", deny=["ec2:DescribeImages"]))
    with pytest.raises(ClientError) as excinfo:
        as_user.client("ec2").describe_images(ImageIds=[AMI])
    assert "ec2:DescribeImages with an explicit deny in an identity-based policy" in denied(excinfo)[2]


def test_other_keys_are_not_checked_and_registrations_end_with_a_reset(emu, as_user):
    as_user(policy("iam:GetUser"))
    admin(emu, "ec2").describe_images(ImageIds=[AMI])
    assert emu.iam.checked == []
    emu.reset()
    as_user.client("ec2").describe_images(ImageIds=[AMI])  # no longer registered: not checked
    as_user(policy("iam:GetUser"))
    urlopen(Request(f"{emu.url}/moto-api/reset", method="POST")).read()  # how a separate process resets
    as_user.client("ec2").describe_images(ImageIds=[AMI])
    assert emu.iam.checked == []


ROUTE53_CALLS = ["route53:ListHostedZonesByName", "route53:GetHostedZone", "route53:ChangeResourceRecordSets",
                 "route53:GetChange", "route53:ListResourceRecordSets"]


def test_every_route53_call_of_the_tool_is_checked_as_its_own_action(emu, as_user):
    zone = admin(emu, "route53").create_hosted_zone(Name="example.com", CallerReference="t")["HostedZone"]["Id"]
    as_user(policy(*ROUTE53_CALLS))
    route53 = as_user.client("route53")
    route53.list_hosted_zones_by_name(DNSName="example.com", MaxItems="100")
    route53.get_hosted_zone(Id=zone)
    change = route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": "dev01.example.com.", "Type": "A", "TTL": 60,
                                                  "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    route53.get_change(Id=change["ChangeInfo"]["Id"])
    route53.list_resource_record_sets(HostedZoneId=zone, StartRecordName="dev01.example.com.",
                                      StartRecordType="A", MaxItems="1")
    assert emu.iam.checked == [(action, True) for action in ROUTE53_CALLS]


TAGGED_CREATES = [
    ("dynamodb", "dynamodb:CreateTable", "dynamodb:TagResource", lambda c, tags: c.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], **tags)),
    ("ec2", "ec2:ImportKeyPair", "ec2:CreateTags", lambda c, tags: c.import_key_pair(
        KeyName="k", PublicKeyMaterial=PUBLIC_KEY,
        **({"TagSpecifications": [{"ResourceType": "key-pair", "Tags": tags["Tags"]}]} if tags else {}))),
    ("ec2", "ec2:CreateLaunchTemplate", "ec2:CreateTags", lambda c, tags: c.create_launch_template(
        LaunchTemplateName="lt-app", LaunchTemplateData={"ImageId": AMI},
        **({"TagSpecifications": [{"ResourceType": "launch-template", "Tags": tags["Tags"]}]} if tags else {}))),
    ("autoscaling", "autoscaling:CreateAutoScalingGroup", "autoscaling:CreateOrUpdateTags",
     lambda c, tags: c.create_auto_scaling_group(AutoScalingGroupName="asg-app", MinSize=0, MaxSize=0,
                                                 LaunchConfigurationName="lc-app",
                                                 AvailabilityZones=["us-east-1a"], **tags)),
]


@pytest.mark.parametrize("service, action, tagging, create", TAGGED_CREATES, ids=[t[1] for t in TAGGED_CREATES])
def test_tags_on_a_create_call_need_the_tagging_action_too(emu, as_user, service, action, tagging, create):
    admin(emu, "autoscaling").create_launch_configuration(LaunchConfigurationName="lc-app", ImageId=AMI,
                                                          InstanceType="t3.micro")
    admin(emu, "iam").create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    as_user(policy(action))
    with pytest.raises(ClientError) as excinfo:
        create(as_user.client(service), {"Tags": TAGS})
    assert f"is not authorized to perform: {tagging} because" in denied(excinfo)[2]
    assert emu.iam.checked == [(action, True), (tagging, False)]
    create(as_user.client(service), {})  # untagged, the call's own action is enough


def test_a_tagged_load_balancer_needs_add_tags_and_keeps_its_tags(emu, as_user):
    admin(emu, "elb").create_load_balancer(LoadBalancerName="elb-first", AvailabilityZones=["us-east-1a"],
                                           Listeners=[LISTENER])  # the account's role exists now
    as_user(policy("elasticloadbalancing:CreateLoadBalancer"))
    elb = as_user.client("elb")
    with pytest.raises(ClientError) as excinfo:
        elb.create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"],
                                 Listeners=[LISTENER], Tags=TAGS)
    assert "elasticloadbalancing:AddTags" in denied(excinfo)[2]
    as_user(policy("elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:AddTags"))
    elb.create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"],
                             Listeners=[LISTENER], Tags=TAGS)
    tags = admin(emu, "elb").describe_tags(LoadBalancerNames=["elb-app"])["TagDescriptions"][0]["Tags"]
    assert tags == TAGS  # the form body reached moto whole


@pytest.mark.parametrize("launch, implied", [
    ("template with instance tags", ["ec2:RunInstances", "ec2:CreateTags"]),
    ("template", ["ec2:RunInstances"]),
    ("configuration", []),
])
def test_a_group_launching_from_a_template_needs_to_launch_and_tag_instances(emu, as_user, launch, implied):
    ec2, autoscaling = admin(emu, "ec2"), admin(emu, "autoscaling")
    admin(emu, "iam").create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    data = {"ImageId": AMI}
    if launch == "template with instance tags":
        data["TagSpecifications"] = [{"ResourceType": "instance", "Tags": TAGS}]
    template = ec2.create_launch_template(LaunchTemplateName="lt-app", LaunchTemplateData=data,
                                          TagSpecifications=[{"ResourceType": "launch-template", "Tags": TAGS}])
    autoscaling.create_launch_configuration(LaunchConfigurationName="lc-app", ImageId=AMI, InstanceType="t3.micro")
    source = ({"LaunchConfigurationName": "lc-app"} if launch == "configuration" else
              {"LaunchTemplate": {"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"], "Version": "1"}})
    as_user(policy("autoscaling:CreateAutoScalingGroup", *implied))
    as_user.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="asg-app", MinSize=1, MaxSize=1, AvailabilityZones=["us-east-1a"], **source)
    assert emu.iam.checked == [("autoscaling:CreateAutoScalingGroup", True)] + [(a, True) for a in implied]
    if implied:
        emu.iam.checked.clear()
        as_user(policy("autoscaling:CreateAutoScalingGroup", *implied[1:]))
        with pytest.raises(ClientError) as excinfo:
            as_user.client("autoscaling").create_auto_scaling_group(
                AutoScalingGroupName="asg-app-2", MinSize=1, MaxSize=1, AvailabilityZones=["us-east-1a"], **source)
        assert "autoscaling:CreateAutoScalingGroup" not in denied(excinfo)[2]
        assert ("ec2:RunInstances", False) in emu.iam.checked


SERVICE_LINKED_ROLE = {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
                       "Condition": {"StringEquals": {"iam:AWSServiceName": "autoscaling.amazonaws.com"}}}


def test_the_first_load_balancer_of_an_account_needs_its_service_linked_role(emu, as_user):
    document = policy("elasticloadbalancing:CreateLoadBalancer")
    as_user({**document, "Statement": [*document["Statement"], SERVICE_LINKED_ROLE]})  # not for elb
    elb, iam = as_user.client("elb"), admin(emu, "iam")
    with pytest.raises(ClientError) as excinfo:
        elb.create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"], Listeners=[LISTENER])
    code, status, message = denied(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert (f"is not authorized to perform: iam:CreateServiceLinkedRole on resource: arn:aws:iam::123456789012:role/"
            f"aws-service-role/elasticloadbalancing.amazonaws.com/{ELB_ROLE}") in message
    assert not iam.list_roles()["Roles"]
    allowed = {**SERVICE_LINKED_ROLE, "Condition": {"StringLike": {"iam:AWSServiceName": "elastic*"}}}
    as_user({**document, "Statement": [*document["Statement"], allowed]})
    elb.create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"], Listeners=[LISTENER])
    assert iam.get_role(RoleName=ELB_ROLE)["Role"]["Path"] == "/aws-service-role/elasticloadbalancing.amazonaws.com/"
    emu.iam.checked.clear()
    as_user.client("elbv2").create_load_balancer(Name="elb-alb", Subnets=default_subnets(emu))
    assert emu.iam.checked == [("elasticloadbalancing:CreateLoadBalancer", True)]  # the role exists: no check
    emu.reset()
    assert not iam.list_roles()["Roles"]  # a reset forgets the roles


def test_a_role_made_by_anyone_needs_no_permission_later(emu, as_user):
    admin(emu, "elb").create_load_balancer(LoadBalancerName="elb-first", AvailabilityZones=["us-east-1a"],
                                           Listeners=[LISTENER])
    as_user(policy("elasticloadbalancing:CreateLoadBalancer"))
    as_user.client("elb").create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"],
                                               Listeners=[LISTENER])
    assert emu.iam.checked == [("elasticloadbalancing:CreateLoadBalancer", True)]


def test_the_first_group_of_an_account_needs_the_auto_scaling_service_linked_role(emu, as_user):
    admin(emu, "autoscaling").create_launch_configuration(LaunchConfigurationName="lc-app", ImageId=AMI,
                                                          InstanceType="t3.micro")
    as_user(policy("autoscaling:CreateAutoScalingGroup"))
    group = {"MinSize": 0, "MaxSize": 0, "LaunchConfigurationName": "lc-app", "AvailabilityZones": ["us-east-1a"]}
    with pytest.raises(ClientError) as excinfo:
        as_user.client("autoscaling").create_auto_scaling_group(AutoScalingGroupName="asg-app", **group)
    assert "iam:CreateServiceLinkedRole on resource: arn:aws:iam::123456789012:role/aws-service-role/" \
           "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" in denied(excinfo)[2]
    document = policy("autoscaling:CreateAutoScalingGroup")
    as_user({**document, "Statement": [*document["Statement"], SERVICE_LINKED_ROLE]})
    as_user.client("autoscaling").create_auto_scaling_group(AutoScalingGroupName="asg-app", **group)
    assert admin(emu, "iam").get_role(RoleName="AWSServiceRoleForAutoScaling")


def test_a_lifecycle_hook_that_notifies_through_a_role_needs_to_pass_it(emu, as_user):
    admin(emu, "autoscaling").create_launch_configuration(LaunchConfigurationName="lc-app", ImageId=AMI,
                                                          InstanceType="t3.micro")
    allowed = policy("autoscaling:CreateAutoScalingGroup", "iam:CreateServiceLinkedRole")
    as_user(allowed)
    hook = {"LifecycleHookName": "drain", "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "NotificationTargetARN": "arn:aws:sqs:us-east-1:123456789012:drain",
            "RoleARN": "arn:aws:iam::123456789012:role/hooks"}
    group = {"MinSize": 0, "MaxSize": 0, "LaunchConfigurationName": "lc-app", "AvailabilityZones": ["us-east-1a"]}
    with pytest.raises(ClientError) as excinfo:
        as_user.client("autoscaling").create_auto_scaling_group(AutoScalingGroupName="asg-app", **group,
                                                                LifecycleHookSpecificationList=[hook])
    assert "not authorized to perform: iam:PassRole" in denied(excinfo)[2]
    without_role = {key: value for key, value in hook.items() if key not in ("NotificationTargetARN", "RoleARN")}
    as_user.client("autoscaling").create_auto_scaling_group(AutoScalingGroupName="asg-app", **group,
                                                            LifecycleHookSpecificationList=[without_role])
    as_user(policy("autoscaling:CreateAutoScalingGroup", "iam:CreateServiceLinkedRole", "iam:PassRole"))
    as_user.client("autoscaling").create_auto_scaling_group(AutoScalingGroupName="asg-two", **group,
                                                            LifecycleHookSpecificationList=[hook])


def default_subnets(emu):
    ec2 = admin(emu, "ec2")
    return [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
            ["Subnets"] if s["AvailabilityZone"] in ("us-east-1a", "us-east-1b")]


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
     "Condition": {"StringNotEquals": {"iam:AWSServiceName": "ec2.amazonaws.com"}}},
])
def test_a_policy_the_evaluation_does_not_model_is_refused(as_user, statement):
    with pytest.raises(ValueError, match="not modelled"):
        as_user({"Version": "2012-10-17", "Statement": [statement]})
