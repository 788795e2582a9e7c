"""What AWS authorizes a call on: the resources of one request, each with its ARN and the condition
keys AWS puts in the request context for it (iam.py evaluates the policy for each of them).

AWS authorizes an action once per resource it touches: RunInstances its image, the new instance,
network interfaces and volumes, its security groups, subnet, key pair and launch template; a
call on an existing resource that resource (`aws:ResourceTag/<key>`, as AWS holds its tags); a
call that creates one the new resource (`aws:RequestTag/<key>`, `aws:TagKeys`, from the tags the
request gives it). Tags given at creation are also authorized as the service's tagging action
(`ec2:CreateTags` per tagged resource type, with `ec2:CreateAction`; ELB's AddTags with
`elasticloadbalancing:CreateAction`). A resource AWS names by an id it has not made yet is named
here with the id `*`-free placeholder NEW, so that only a policy pattern ending in `*` matches it, as
on AWS. Actions not listed here act on `*` (AWS's Describe and List calls, which take no resource).

What is not modelled, and so taken as on `*` with no resource condition keys: the EC2 condition
keys other than the tag keys and ec2:CreateAction (ec2:Vpc, ec2:InstanceType, ...), the subnet a
RunInstances without SubnetId picks, and every action the tool and Packer do not call.
"""

import re
from typing import NamedTuple
from xml.etree import ElementTree

from moto.autoscaling.models import autoscaling_backends
from moto.ec2.models import ec2_backends
from moto.elb.models import elb_backends
from moto.elbv2.models import elbv2_backends

NEW = "NEW"  # the id of a resource the call creates


class Target(NamedTuple):
    """One resource of a request: its ARN, and the condition keys (lower-case) with their values."""
    arn: str
    context: dict[str, list[str]]


class Authorization(NamedTuple):
    """One action AWS authorizes, on its resources."""
    action: str
    targets: list[Target]


ANYTHING = [Target("*", {})]


def tag_context(tags: dict[str, str], *, request: bool, prefixes=("aws",)) -> dict[str, list[str]]:
    """aws:RequestTag/<key> and aws:TagKeys (request), or aws:ResourceTag/<key> and the service's
    own <prefix>:ResourceTag/<key> (a resource's tags)."""
    if request:
        context = {f"aws:requesttag/{key.lower()}": [value] for key, value in tags.items()}
        context["aws:tagkeys"] = list(tags)
        return context
    return {f"{prefix}:resourcetag/{key.lower()}": [value] for prefix in prefixes for key, value in tags.items()}


def numbered(params: dict, start: str, end: str = "") -> list[str]:
    """The values of start.1.end, start.2.end, ... in a query request's parameters."""
    pattern = re.compile(re.escape(start) + r"\.(\d+)" + re.escape(end) + "$")
    found = sorted((int(m.group(1)), value) for key, value in params.items() if (m := pattern.match(key)))
    return [value for _, value in found]


def tags_of_members(params: dict, start: str) -> dict[str, str]:
    """Key/Value pairs listed as start.N.Key and start.N.Value."""
    return dict(zip(numbered(params, start, ".Key"), numbered(params, start, ".Value"), strict=False))


# EC2

EC2_TAGGING, EC2_KEYS = "ec2:CreateTags", ("aws", "ec2")


def ec2_arn(region: str, account: str, kind: str, name: str) -> str:
    owner = "" if kind in ("image", "snapshot") else account  # images and snapshots: no account in the ARN
    return f"arn:aws:ec2:{region}:{owner}:{kind}/{name}"


KINDS = {"i-": "instance", "ami-": "image", "snap-": "snapshot", "sg-": "security-group", "lt-": "launch-template",
         "vol-": "volume", "subnet-": "subnet", "vpc-": "vpc", "eni-": "network-interface", "key-": "key-pair"}


def tag_specifications(params: dict, start: str = "TagSpecification") -> dict[str, dict[str, str]]:
    """{resource type: tags} of a request's TagSpecification.N."""
    specs = {}
    for n, kind in enumerate(numbered(params, start, ".ResourceType"), 1):
        specs.setdefault(kind, {}).update(tags_of_members(params, f"{start}.{n}.Tag"))
    return specs


def launch_template(ec2_backend, params: dict, start: str = "") -> tuple[object | None, dict]:
    """The launch template a request names (`start`LaunchTemplateId or LaunchTemplateName, and
    Version) and that version's data; (None, {}) when it names none, or one moto does not know
    (moto answers with AWS's error after the check)."""
    template_id, name = params.get(start + "LaunchTemplateId"), params.get(start + "LaunchTemplateName")
    if not (template_id or name):
        return None, {}
    try:
        template = (ec2_backend.get_launch_template(template_id) if template_id else
                    ec2_backend.get_launch_template_by_name(name))
        return template, template.get_version(params.get(start + "Version", "$Default")).data
    except Exception:  # noqa: BLE001 - an unknown template or version
        return None, {}


class Ec2:
    def __init__(self, account: str, region: str) -> None:
        self.backend, self.account, self.region = ec2_backends[account][region], account, region

    def tags(self, resource_id: str) -> dict[str, str]:
        return dict(self.backend.tags.get(resource_id, {}))

    def existing(self, kind: str, resource_id: str, name: str = "") -> Target:
        return Target(ec2_arn(self.region, self.account, kind, name or resource_id),
                      tag_context(self.tags(resource_id), request=False, prefixes=EC2_KEYS))

    def new(self, kind: str, tags: dict[str, str], name: str = NEW) -> Target:
        return Target(ec2_arn(self.region, self.account, kind, name), tag_context(tags, request=True))

    def key_pair(self, name: str = "", key_id: str = "") -> Target:
        pairs = self.backend.key_pairs.values()
        pair = next((p for p in pairs if p.key_name == name or (key_id and p.id == key_id)), None)
        if pair is None:
            return Target(ec2_arn(self.region, self.account, "key-pair", name or key_id), {})
        return self.existing("key-pair", pair.id, pair.key_name)

    def security_group(self, group_id: str = "", name: str = "") -> Target:
        if not group_id and name:
            vpc = self.backend.get_default_vpc()
            group = self.backend.get_security_group_from_name(name, vpc.id if vpc else None)
            group_id = group.id if group else name
        return self.existing("security-group", group_id)

    def tagging_on_create(self, action: str, specs: dict[str, dict[str, str]], name: str = NEW) -> Authorization | None:
        targets = [Target(t.arn, {**t.context, "ec2:createaction": [action]})
                   for kind, tags in specs.items() for t in [self.new(kind, tags, name if kind == "key-pair" else NEW)]]
        return Authorization(EC2_TAGGING, targets) if targets else None

    def run_instances(self, action: str, image: str, groups: list[Target], key_name: str,
                      specs: dict[str, dict[str, str]], template=None, subnet: str = "") -> list[Authorization]:
        """RunInstances as AWS authorizes it: the image, the new instance, network interface and
        volume (with their request tags), the security groups, the subnet, key pair and template."""
        targets = [self.existing("image", image)] if image else []
        targets += [self.new(kind, specs.get(kind, {})) for kind in ("instance", "network-interface", "volume")]
        targets += groups or [self.security_group(name="default")]
        targets.append(self.existing("subnet", subnet) if subnet else
                       Target(ec2_arn(self.region, self.account, "subnet", "*"), {}))
        if key_name:
            targets.append(self.key_pair(key_name))
        if template is not None:
            targets.append(self.existing("launch-template", template.id))
        needed = [Authorization("ec2:RunInstances", targets)]
        tagging = self.tagging_on_create(action, specs)
        return needed + [tagging] if tagging else needed


def ec2_authorizations(action: str, account: str, region: str, params: dict) -> list[Authorization]:
    ec2, name = Ec2(account, region), action.split(":")[1]
    specs = tag_specifications(params)
    if name == "RunInstances":
        template, data = launch_template(ec2.backend, params, "LaunchTemplate.")  # AWS authorizes what it gives too
        groups = [ec2.security_group(g) for g in numbered(params, "SecurityGroupId")]
        groups += [ec2.security_group(name=g) for g in numbered(params, "SecurityGroup")]
        groups += [ec2.security_group(g) for g in numbered(params, "NetworkInterface.1.SecurityGroupId")]
        subnet = params.get("SubnetId") or params.get("NetworkInterface.1.SubnetId", "")
        groups = groups or [ec2.security_group(g) for g in data.get("SecurityGroupIds") or []]
        return ec2.run_instances(name, params.get("ImageId") or data.get("ImageId", ""), groups,
                                 params.get("KeyName") or data.get("KeyName", ""), specs, template, subnet)
    if name == "CreateTags":
        tags = tags_of_members(params, "Tag")
        return [Authorization(action, [
            Target(existing.arn, {**existing.context, **tag_context(tags, request=True)})
            for resource in numbered(params, "ResourceId")
            for existing in [ec2.existing(KINDS.get(resource.split("-")[0] + "-", "unknown"), resource)]])]
    if name == "CreateImage":
        needed = [Authorization(action, [ec2.new("image", specs.get("image", {})),
                                         ec2.existing("instance", params.get("InstanceId", "")),
                                         ec2.new("snapshot", specs.get("snapshot", {}))])]
    elif name == "CreateLaunchTemplate":
        needed = [Authorization(action, [ec2.new("launch-template", specs.get("launch-template", {}))])]
    elif name in ("ImportKeyPair", "CreateKeyPair"):  # a key pair's ARN names it
        needed = [Authorization(action, [ec2.new("key-pair", specs.get("key-pair", {}), params.get("KeyName", NEW))])]
    elif name == "CreateSecurityGroup":
        vpc = params.get("VpcId") or getattr(ec2.backend.get_default_vpc(), "id", NEW)
        needed = [Authorization(action, [ec2.new("security-group", specs.get("security-group", {})),
                                         ec2.existing("vpc", vpc)])]
    elif name == "DeleteLaunchTemplate":
        template = launch_template(ec2.backend, params)[0]
        return [Authorization(action, [ec2.existing("launch-template", template.id if template else
                                                    params.get("LaunchTemplateId") or NEW)])]
    elif name == "DeleteKeyPair":
        return [Authorization(action, [ec2.key_pair(params.get("KeyName", ""), params.get("KeyPairId", ""))])]
    elif name in ("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "DeleteSecurityGroup"):
        return [Authorization(action, [ec2.security_group(params.get("GroupId", ""), params.get("GroupName", ""))])]
    elif name in ("StopInstances", "TerminateInstances"):
        return [Authorization(action, [ec2.existing("instance", i) for i in numbered(params, "InstanceId")])]
    elif name in ("DeregisterImage", "ModifyImageAttribute"):
        return [Authorization(action, [ec2.existing("image", params.get("ImageId", ""))])]
    elif name == "DeleteSnapshot":
        return [Authorization(action, [ec2.existing("snapshot", params.get("SnapshotId", ""))])]
    elif name == "DeleteVolume":
        return [Authorization(action, [ec2.existing("volume", params.get("VolumeId", ""))])]
    else:
        return [Authorization(action, ANYTHING)]
    tagging = ec2.tagging_on_create(name, specs, params.get("KeyName", NEW))
    return needed + [tagging] if tagging else needed


# Auto Scaling

def group_arn(account: str, region: str, name: str) -> tuple[str, dict[str, str]]:
    group = autoscaling_backends[account][region].autoscaling_groups.get(name)
    if group is None:
        return f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:{NEW}:autoScalingGroupName/{name}", {}
    return group.arn, {tag["Key"]: tag["Value"] for tag in group.tags}


GROUP_KEYS = ("aws", "autoscaling")


def autoscaling_authorizations(action: str, account: str, region: str, params: dict) -> list[Authorization]:
    name = action.split(":")[1]
    if name in ("CreateLaunchConfiguration", "DeleteLaunchConfiguration"):
        arn = (f"arn:aws:autoscaling:{region}:{account}:launchConfiguration:{NEW}:launchConfigurationName/"
               f"{params.get('LaunchConfigurationName', '')}")
        return [Authorization(action, [Target(arn, {})])]
    if name == "CreateOrUpdateTags":
        groups = numbered(params, "Tags.member", ".ResourceId")
        tags = tags_of_members(params, "Tags.member")
        return [Authorization(action, [
            Target(arn, {**tag_context(held, request=False, prefixes=GROUP_KEYS), **tag_context(tags, request=True)})
            for group in dict.fromkeys(groups) for arn, held in [group_arn(account, region, group)]])]
    if "AutoScalingGroupName" not in params:
        return [Authorization(action, ANYTHING)]
    arn, held = group_arn(account, region, params["AutoScalingGroupName"])
    if name != "CreateAutoScalingGroup":
        return [Authorization(action, [Target(arn, tag_context(held, request=False, prefixes=GROUP_KEYS))])]
    tags = tags_of_members(params, "Tags.member")
    needed = [Authorization(action, [Target(arn, tag_context(tags, request=True))])]
    if tags:
        needed.append(Authorization("autoscaling:CreateOrUpdateTags", [Target(arn, tag_context(tags, request=True))]))
    return needed + launching_from_template(account, region, params)


TEMPLATE_PARAMETERS = ("LaunchTemplate.", "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.")


def launching_from_template(account: str, region: str, params: dict) -> list[Authorization]:
    """A group launching from a launch template: AWS checks that the caller may run instances from
    it (ec2:RunInstances on the template's resources, and ec2:CreateTags for what it tags)."""
    for start in TEMPLATE_PARAMETERS:
        if params.get(start + "LaunchTemplateId") or params.get(start + "LaunchTemplateName"):
            break
    else:
        return []
    ec2 = Ec2(account, region)
    template, data = launch_template(ec2.backend, params, start)
    if template is None:
        return [Authorization("ec2:RunInstances", ANYTHING)]
    specs = {}
    for spec in data.get("TagSpecifications") or []:
        if spec.get("ResourceType") != "launch-template":  # moto keeps the template's own tags there
            specs.setdefault(spec["ResourceType"], {}).update({t["Key"]: t["Value"] for t in spec.get("Tags", [])})
    groups = [ec2.security_group(g) for g in data.get("SecurityGroupIds") or []]
    return ec2.run_instances("RunInstances", data.get("ImageId", ""), groups, data.get("KeyName", ""), specs,
                             template)


# Elastic Load Balancing: the classic API names a load balancer, the v2 API an ARN.

ELB_KEYS = ("aws", "elasticloadbalancing")
CLASSIC_API, V2_API = "2012-06-01", "2015-12-01"  # the API version an ELB request names


def elb_authorizations(action: str, account: str, region: str, params: dict, classic: bool) -> list[Authorization]:
    name, tags = action.split(":")[1], tags_of_members(params, "Tags.member")
    if classic:
        lb_name = params.get("LoadBalancerName") or next(iter(numbered(params, "LoadBalancerNames.member")), None)
        if not lb_name:
            return [Authorization(action, ANYTHING)]
        balancer = elb_backends[account][region].load_balancers.get(lb_name)
        arns = {f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{lb_name}":
                dict(balancer.tags or {}) if balancer else {}}
    else:
        backend = elbv2_backends[account][region]
        if name == "CreateLoadBalancer":
            arns = {f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{params.get('Name')}/{NEW}": {}}
        elif name == "CreateTargetGroup":
            arns = {f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{params.get('Name')}/{NEW}": {}}
        else:
            given = [params[k] for k in ("LoadBalancerArn", "TargetGroupArn", "ListenerArn") if params.get(k)]
            given += numbered(params, "ResourceArns.member")
            if not given or name.startswith("Describe"):
                return [Authorization(action, ANYTHING)]
            arns = {arn: backend.tagging_service.get_tag_dict_for_resource(arn) for arn in given}
    if name in ("CreateLoadBalancer", "CreateTargetGroup"):
        needed = [Authorization(action, [Target(arn, tag_context(tags, request=True)) for arn in arns])]
        if tags:
            needed.append(Authorization("elasticloadbalancing:AddTags", [
                Target(arn, {**tag_context(tags, request=True), "elasticloadbalancing:createaction": [name]})
                for arn in arns]))
        return needed
    context = tag_context(tags, request=True) if name == "AddTags" else {}
    return [Authorization(action, [Target(arn, {**tag_context(held, request=False, prefixes=ELB_KEYS), **context})
                                   for arn, held in arns.items()])]


# DynamoDB, ACM, Route 53

def dynamodb_authorizations(action: str, account: str, region: str, params: dict) -> list[Authorization]:
    table = params.get("TableName") or (params.get("ResourceArn", "").rpartition("/")[2])
    if not table:
        return [Authorization(action, ANYTHING)]
    arn = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags") or []}
    needed = [Authorization(action, [Target(arn, tag_context(tags, request=True) if tags else {})])]
    if action == "dynamodb:CreateTable" and tags:
        needed.append(Authorization("dynamodb:TagResource", [Target(arn, tag_context(tags, request=True))]))
    return needed


def acm_authorizations(action: str, account: str, region: str, params: dict) -> list[Authorization]:
    tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags") or []}
    if action == "acm:RequestCertificate":
        names = [params.get("DomainName", ""), *(params.get("SubjectAlternativeNames") or [])]
        context = {**tag_context(tags, request=True), "acm:domainnames": list(dict.fromkeys(names)),
                   "acm:validationmethod": [params.get("ValidationMethod", "EMAIL")]}
        needed = [Authorization(action, [Target("*", context)])]
        if tags:
            arn = f"arn:aws:acm:{region}:{account}:certificate/{NEW}"
            needed.append(Authorization("acm:AddTagsToCertificate", [Target(arn, tag_context(tags, request=True))]))
        return needed
    if params.get("CertificateArn"):
        context = tag_context(tags, request=True) if tags else {}
        return [Authorization(action, [Target(params["CertificateArn"], context)])]
    return [Authorization(action, ANYTHING)]


ROUTE53 = "{https://route53.amazonaws.com/doc/2013-04-01/}"


def normalized(name: str) -> str:
    """Route 53's normalized record name: lower case, no trailing dot."""
    return name.lower().rstrip(".")


def route53_authorizations(action: str, path: str, body: bytes) -> list[Authorization]:
    zone = re.search(r"/hostedzone/([^/]+)", path)
    change = re.search(r"/change/([^/]+)", path)
    if action == "route53:ChangeResourceRecordSets" and zone:
        changes = ElementTree.fromstring(body).iter(f"{ROUTE53}Change") if body else []
        actions, names, types = [], [], []
        for one in changes:
            actions.append(one.findtext(f"{ROUTE53}Action", ""))
            names.append(normalized(one.findtext(f"{ROUTE53}ResourceRecordSet/{ROUTE53}Name", "")))
            types.append(one.findtext(f"{ROUTE53}ResourceRecordSet/{ROUTE53}Type", ""))
        context = {"route53:changeresourcerecordsetsactions": actions,
                   "route53:changeresourcerecordsetsnormalizedrecordnames": names,
                   "route53:changeresourcerecordsetsrecordtypes": types}
        return [Authorization(action, [Target(f"arn:aws:route53:::hostedzone/{zone.group(1)}", context)])]
    if zone and action in ("route53:GetHostedZone", "route53:ListResourceRecordSets"):
        return [Authorization(action, [Target(f"arn:aws:route53:::hostedzone/{zone.group(1)}", {})])]
    if change and action == "route53:GetChange":
        return [Authorization(action, [Target(f"arn:aws:route53:::change/{change.group(1)}", {})])]
    return [Authorization(action, ANYTHING)]


def cloudwatch_authorizations(action: str, account: str, region: str, params: dict) -> list[Authorization]:
    """DescribeAlarms: each alarm it names (or any)."""
    names = params.get("AlarmNames") or ["*"] if action == "cloudwatch:DescribeAlarms" else []
    if not names:
        return [Authorization(action, ANYTHING)]
    return [Authorization(action, [Target(f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}", {})
                                   for name in names])]


def authorizations(action: str, account: str, region: str, params: dict, path: str = "",
                   body: bytes = b"") -> list[Authorization]:
    """Every (action, resources) AWS authorizes for one call of `action`, the call's own first."""
    prefix = action.split(":")[0]
    if prefix == "ec2":
        return ec2_authorizations(action, account, region, params)
    if prefix == "autoscaling":
        return autoscaling_authorizations(action, account, region, params)
    if prefix == "elasticloadbalancing":
        return elb_authorizations(action, account, region, params, params.get("Version") == CLASSIC_API)
    if prefix == "dynamodb":
        return dynamodb_authorizations(action, account, region, params)
    if prefix == "acm":
        return acm_authorizations(action, account, region, params)
    if prefix == "route53":
        return route53_authorizations(action, path, body)
    if prefix == "cloudwatch":
        return cloudwatch_authorizations(action, account, region, params)
    return [Authorization(action, ANYTHING)]
