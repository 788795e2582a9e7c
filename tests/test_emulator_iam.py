"""The emulator's IAM checks (emulator/iam.py): how a policy is evaluated, the checks AWS makes on
top of a call's own action, service-linked roles, and AWS's denials in each protocol, proved
through boto3 against a started Emulator."""

from urllib.request import Request, urlopen

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.iam import CREATE_SERVICE_LINKED_ROLE, ELB_NEEDS_EC2, decide
from emulator.resources import Target

AMI = "ami-1e749f67"  # shipped with moto
KEY, ADMIN = "AKIATESTERKEY0000001", "testing"
USER_ARN = "arn:aws:iam::123456789012:user/tester"
LISTENER = {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}
TAGS = [{"Key": "App", "Value": "app"}]
ELB_ROLE = "AWSServiceRoleForElasticLoadBalancing"
# What a classic CreateLoadBalancer in the default VPC needs besides its own action (ELB_NEEDS_EC2).
CREATING_LB = ("elasticloadbalancing:CreateLoadBalancer", "ec2:Describe*", "ec2:CreateSecurityGroup")
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


@pytest.mark.parametrize("condition, context, verdict", [
    ({"StringEquals": {"aws:ResourceTag/App": "app"}}, {"aws:resourcetag/app": ["app"]}, "allowed"),
    ({"StringEquals": {"aws:ResourceTag/App": "app"}}, {"aws:resourcetag/app": ["other"]}, "implicit deny"),
    ({"StringEquals": {"aws:ResourceTag/App": "app"}}, {}, "implicit deny"),  # an absent key matches nothing
    ({"StringNotEquals": {"aws:ResourceTag/App": "app"}}, {}, "allowed"),
    ({"StringEqualsIfExists": {"aws:ResourceTag/App": "app"}}, {}, "allowed"),
    ({"Null": {"aws:ResourceTag/App": "false"}}, {"aws:resourcetag/app": ["any"]}, "allowed"),
    ({"Null": {"aws:ResourceTag/App": "false"}}, {}, "implicit deny"),
    ({"StringLike": {"aws:ResourceTag/App": "ap*"}}, {"aws:resourcetag/app": ["app"]}, "allowed"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["App", "Environment"]}}, {"aws:tagkeys": ["App"]}, "allowed"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["App"]}}, {"aws:tagkeys": ["App", "Owner"]}, "implicit deny"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["App"]}}, {}, "allowed"),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["App"]}}, {}, "implicit deny"),
    ({"StringEquals": {"aws:RequestTag/App": "app", "ec2:CreateAction": "RunInstances"}},  # keys: all must hold
     {"aws:requesttag/app": ["app"], "ec2:createaction": ["CreateTags"]}, "implicit deny"),
])
def test_conditions_are_evaluated_as_aws_does(condition, context, verdict):
    statements = tuple(policy("ec2:TerminateInstances", Condition=condition)["Statement"])
    assert decide(statements, "ec2:TerminateInstances", [Target("arn:aws:ec2:us-east-1:1:instance/i-1", context)]) \
        == verdict


def test_every_resource_of_a_call_must_be_allowed():
    statements = tuple(policy("ec2:RunInstances", Resource=["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*::image/*"])
                       ["Statement"])
    instance, image = Target("arn:aws:ec2:r:1:instance/NEW", {}), Target("arn:aws:ec2:r::image/ami-1", {})
    assert decide(statements, "ec2:RunInstances", [instance, image]) == "allowed"
    assert decide(statements, "ec2:RunInstances", [instance, image, Target("arn:aws:ec2:r:1:volume/NEW", {})]) \
        == "implicit deny"
    assert decide(statements, "ec2:DescribeImages") == "implicit deny"  # a call on "*" needs Resource "*"


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
    assert f"User: {USER_ARN} is not authorized to perform: {action}" in message
    assert "because no identity-based policy allows" in message
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
    assert f"is not authorized to perform: {tagging} on resource: " in denied(excinfo)[2]
    assert emu.iam.checked == [(action, True), (tagging, False)]
    create(as_user.client(service), {})  # untagged, the call's own action is enough


def test_a_tagged_load_balancer_needs_add_tags_and_keeps_its_tags(emu, as_user):
    admin(emu, "elb").create_load_balancer(LoadBalancerName="elb-first", AvailabilityZones=["us-east-1a"],
                                           Listeners=[LISTENER])  # the account's role exists now
    as_user(policy(*CREATING_LB))
    elb = as_user.client("elb")
    with pytest.raises(ClientError) as excinfo:
        elb.create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"],
                                 Listeners=[LISTENER], Tags=TAGS)
    assert "elasticloadbalancing:AddTags" in denied(excinfo)[2]
    as_user(policy(*CREATING_LB, "elasticloadbalancing:AddTags"))
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
    document = policy(*CREATING_LB)
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
    assert CREATE_SERVICE_LINKED_ROLE not in {action for action, _ in emu.iam.checked}  # the role exists: no check
    emu.reset()
    assert not iam.list_roles()["Roles"]  # a reset forgets the roles


def test_a_role_made_by_anyone_needs_no_permission_later(emu, as_user):
    admin(emu, "elb").create_load_balancer(LoadBalancerName="elb-first", AvailabilityZones=["us-east-1a"],
                                           Listeners=[LISTENER])
    as_user(policy(*CREATING_LB))
    as_user.client("elb").create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"],
                                               Listeners=[LISTENER])
    assert CREATE_SERVICE_LINKED_ROLE not in {action for action, _ in emu.iam.checked}


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
     "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
    {"Effect": "Allow", "Action": "ec2:RunInstances", "NotResource": "*"},
])
def test_a_policy_the_evaluation_does_not_model_is_refused(as_user, statement):
    with pytest.raises(ValueError, match="not modelled"):
        as_user({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize("service, call, needed", [
    ("elb", lambda c, emu: c.create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"],
                                                  Listeners=[LISTENER]),
     ELB_NEEDS_EC2["2012-06-01"]["CreateLoadBalancer"]),
    ("elb", lambda c, emu: c.describe_load_balancers(), ELB_NEEDS_EC2["2012-06-01"]["DescribeLoadBalancers"]),
    ("elbv2", lambda c, emu: c.create_target_group(
        Name="tg-app", Protocol="HTTP", Port=80, VpcId=admin(emu, "ec2").describe_vpcs()["Vpcs"][0]["VpcId"]),
     ELB_NEEDS_EC2["2015-12-01"]["CreateTargetGroup"]),
])
def test_elastic_load_balancing_needs_the_caller_s_ec2_permissions(emu, as_user, service, call, needed):
    """The ELB user guide's "Elastic Load Balancing API permissions": each EC2 action, taken away,
    fails the call."""
    admin(emu, "elb").create_load_balancer(LoadBalancerName="elb-first", AvailabilityZones=["us-east-1a"],
                                           Listeners=[LISTENER])  # the account's role exists now
    for missing in needed:
        as_user(policy("elasticloadbalancing:*", "ec2:CreateSecurityGroup",
                       *(f"ec2:Describe{n}" for n in needed if n != missing)))
        with pytest.raises(ClientError) as excinfo:
            call(as_user.client(service), emu)
        assert f"is not authorized to perform: ec2:Describe{missing} because" in denied(excinfo)[2]
    as_user(policy("elasticloadbalancing:*", "ec2:CreateSecurityGroup", *(f"ec2:Describe{n}" for n in needed)))
    call(as_user.client(service), emu)


def test_a_classic_load_balancer_given_no_security_group_makes_one_with_the_caller_s_rights(emu, as_user):
    as_user(policy("elasticloadbalancing:*", "ec2:Describe*", "iam:CreateServiceLinkedRole"))
    with pytest.raises(ClientError) as excinfo:
        as_user.client("elb").create_load_balancer(LoadBalancerName="elb-app", AvailabilityZones=["us-east-1a"],
                                                   Listeners=[LISTENER])
    assert "is not authorized to perform: ec2:CreateSecurityGroup on resource: " in denied(excinfo)[2]
    group = admin(emu, "ec2").create_security_group(GroupName="lb", Description="lb")["GroupId"]
    as_user.client("elb").create_load_balancer(LoadBalancerName="elb-app", Listeners=[LISTENER],
                                               Subnets=default_subnets(emu)[:1], SecurityGroups=[group])


def test_who_am_i_needs_no_permission(emu, as_user):
    as_user(policy("iam:GetUser"))
    assert as_user.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert emu.iam.checked == []


RUN_RESOURCES = ["image", "instance", "network-interface", "security-group", "subnet", "volume", "key-pair",
                 "launch-template"]


def arn_pattern(kind: str) -> str:
    return f"arn:aws:ec2:*::{kind}/*" if kind in ("image", "snapshot") else f"arn:aws:ec2:*:*:{kind}/*"


@pytest.mark.parametrize("missing", RUN_RESOURCES)
def test_run_instances_is_authorized_on_each_resource_it_touches(emu, as_user, missing):
    ec2 = admin(emu, "ec2")
    ec2.create_key_pair(KeyName="k")
    template = ec2.create_launch_template(LaunchTemplateName="lt", LaunchTemplateData={"ImageId": AMI})[
        "LaunchTemplate"]["LaunchTemplateId"]
    subnet = default_subnets(emu)[0]
    tagged = {"TagSpecifications": [{"ResourceType": kind, "Tags": TAGS}
                                    for kind in ("instance", "network-interface", "volume")]}
    allowed = [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": [arn_pattern(kind) for kind in
                                                                              RUN_RESOURCES if kind != missing]},
               {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
                "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}}}]
    as_user({"Version": "2012-10-17", "Statement": allowed})
    with pytest.raises(ClientError) as excinfo:
        as_user.client("ec2").run_instances(MinCount=1, MaxCount=1, KeyName="k", SubnetId=subnet,
                                            LaunchTemplate={"LaunchTemplateId": template}, **tagged)
    assert f"ec2:RunInstances on resource: arn:aws:ec2:us-east-1:{'' if missing == 'image' else '123456789012'}:" \
           f"{missing}/" in denied(excinfo)[2]
    as_user({"Version": "2012-10-17", "Statement": [{**allowed[0], "Resource": [
        arn_pattern(kind) for kind in RUN_RESOURCES]}, allowed[1]]})
    as_user.client("ec2").run_instances(MinCount=1, MaxCount=1, KeyName="k", SubnetId=subnet,
                                        LaunchTemplate={"LaunchTemplateId": template}, **tagged)


def test_tags_at_creation_are_authorized_per_resource_type_with_the_creating_action(emu, as_user):
    statements = [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
                  {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:*:*:instance/*",
                   "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances", "aws:RequestTag/App": "app"}}}]
    as_user({"Version": "2012-10-17", "Statement": statements})
    ec2 = as_user.client("ec2")
    instance = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": TAGS}])["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as excinfo:  # a volume tagged too: a resource type the policy does not tag
        ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, TagSpecifications=[
            {"ResourceType": "instance", "Tags": TAGS}, {"ResourceType": "volume", "Tags": TAGS}])
    assert "ec2:CreateTags on resource: arn:aws:ec2:us-east-1:123456789012:volume/" in denied(excinfo)[2]
    with pytest.raises(ClientError) as excinfo:  # the same tags afterwards: not at creation
        ec2.create_tags(Resources=[instance], Tags=TAGS)
    assert f"ec2:CreateTags on resource: arn:aws:ec2:us-east-1:123456789012:instance/{instance}" in denied(excinfo)[2]
