"""IAM for the emulator: the calls signed with a registered access key are checked against that
principal's policy document, as AWS evaluates it, so that a policy that lacks what the tool (or
Packer) needs, or that is scoped wrongly, fails the tests. moto has IAM enforcement of its own
(INITIAL_NO_AUTH_ACTION_COUNT) but checks every request against Resource "*" and denies statements
whose Condition it cannot evaluate; this module does not use it.

What is evaluated, per call (resources.py says on what):
- each action AWS authorizes for the call, on each resource it touches: allowed when, for every
  resource, an Allow statement's Action (wildcards, case-insensitive) and Resource (wildcards)
  match it and its Condition holds, and no Deny statement applies. Conditions are evaluated as AWS
  does (a key absent from the request context matches nothing; IfExists, ForAllValues,
  ForAnyValue, Null) for the operators in MODELLED_OPERATORS; a policy with any other is refused.
  The request context holds the tag keys (aws:RequestTag/, aws:TagKeys, aws:ResourceTag/ and the
  services' own ResourceTag/ keys, as AWS holds the tags), ec2:CreateAction and
  elasticloadbalancing:CreateAction on tagging at creation, the Route 53 record change keys,
  acm:DomainNames and iam:AWSServiceName.
- the actions AWS checks on top: tags given on a create call need the service's tagging action on
  the new resource; a group launching from a launch template needs ec2:RunInstances on the
  template's resources (and ec2:CreateTags for what it tags); a lifecycle hook given a RoleARN
  needs iam:PassRole on it; Elastic Load Balancing calls EC2 with the caller's permissions
  (ELB_NEEDS_EC2); the first load balancer or group of an account makes its service-linked role,
  which needs iam:CreateServiceLinkedRole for that service. The roles are kept in moto's IAM
  backend, so a reset forgets them, and they are made whoever calls (the unchecked admin key too).

Calls signed with any other key (the harness's admin key) are not checked.
"""

from fnmatch import fnmatchcase
from typing import NamedTuple

from moto.iam.models import get_account_id_from, iam_backends
from moto.utilities.utils import get_partition

from .resources import ANYTHING, CLASSIC_API, NEW, V2_API, Authorization, Target, authorizations

# The IAM prefix of each signing name (the credential scope of a request's signature) that is not
# its own prefix: the classic and application load balancer APIs both sign as elasticloadbalancing.
# CloudWatch signs as monitoring.
IAM_PREFIXES = {"elb": "elasticloadbalancing", "elbv2": "elasticloadbalancing", "monitoring": "cloudwatch"}
JSON_SERVICES = {"dynamodb", "acm", "monitoring"}  # their parameters are the JSON body (CloudWatch: botocore's JSON)

# A lifecycle hook that notifies through a role (RoleARN) passes that role to Auto Scaling.
PASSING_HOOK_ROLES = {"autoscaling:CreateAutoScalingGroup", "autoscaling:PutLifecycleHook"}

# "For some Elastic Load Balancing actions, you must grant users permission to call specific actions
# from the Amazon EC2 API" (ELB user guide, "Elastic Load Balancing API permissions"), per API version.
# The classic CreateLoadBalancer's ec2:CreateSecurityGroup is for the default_elb_ group it makes
# when given no security group; it is checked then only (create_security_group_for_elb).
DESCRIBE = "ec2:Describe"
ELB_NEEDS_EC2 = {
    V2_API: {
        "CreateLoadBalancer": ["AccountAttributes", "Addresses", "InternetGateways", "SecurityGroups", "Subnets",
                               "Vpcs"],
        "CreateTargetGroup": ["InternetGateways", "Vpcs"],
        "RegisterTargets": ["Instances", "InternetGateways", "Subnets", "Vpcs"],
        "SetIpAddressType": ["Subnets"],
        "SetSubnets": ["Subnets"],
    },
    CLASSIC_API: {
        "ApplySecurityGroupsToLoadBalancer": ["AccountAttributes", "SecurityGroups"],
        "AttachLoadBalancerToSubnets": ["Subnets"],
        "CreateLoadBalancer": ["AccountAttributes", "InternetGateways", "SecurityGroups", "Subnets", "Vpcs"],
        "DeregisterInstancesFromLoadBalancer": ["ClassicLinkInstances", "Instances"],
        "DescribeInstanceHealth": ["ClassicLinkInstances", "Instances"],
        "DescribeLoadBalancers": ["SecurityGroups"],
        "DisableAvailabilityZonesForLoadBalancer": ["AccountAttributes", "InternetGateways", "Vpcs"],
        "EnableAvailabilityZonesForLoadBalancer": ["AccountAttributes", "InternetGateways", "Vpcs"],
        "RegisterInstancesWithLoadBalancer": ["AccountAttributes", "ClassicLinkInstances", "Instances",
                                              "VpcClassicLink"],
    },
}

# Service-linked roles that AWS makes on a service's first use in an account: "Elastic Load
# Balancing creates this role for you when you create a load balancer or a target group ... you
# must have the required permissions"; Auto Scaling makes its own on the first group.
ELB_SERVICE, AUTOSCALING_SERVICE = "elasticloadbalancing.amazonaws.com", "autoscaling.amazonaws.com"
SERVICE_LINKED_ROLES = {
    "elasticloadbalancing:CreateLoadBalancer": ELB_SERVICE,
    "elasticloadbalancing:CreateTargetGroup": ELB_SERVICE,
    "autoscaling:CreateAutoScalingGroup": AUTOSCALING_SERVICE,
}
ROLE_NAMES = {ELB_SERVICE: "AWSServiceRoleForElasticLoadBalancing", AUTOSCALING_SERVICE: "AWSServiceRoleForAutoScaling"}
CREATE_SERVICE_LINKED_ROLE = "iam:CreateServiceLinkedRole"
# "No permissions are required to perform this operation" (STS API reference, GetCallerIdentity).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
SERVICE_NAME_KEY = "iam:awsservicename"  # condition keys are case-insensitive: kept lower-case

# How each protocol says "denied": (code, HTTP status).
DENIED = {"ec2": ("UnauthorizedOperation", 403)}
DENIED_JSON = ("AccessDeniedException", 400)
DENIED_OTHERS = ("AccessDenied", 403)
EC2_PREAMBLE = "You are not authorized to perform this operation. "


class Check(NamedTuple):
    action: str    # e.g. "autoscaling:SuspendProcesses"
    allowed: bool


class Denial(NamedTuple):
    code: str
    status: int
    message: str


class Principal(NamedTuple):
    user: str
    statements: tuple[dict, ...]


class Request(NamedTuple):
    """What a check needs of one request: who signed it, where, and its parameters (query or form
    parameters, first value each; the JSON body for JSON services; {} for REST services)."""
    access_key: str
    region: str
    params: dict
    path: str = ""
    body: bytes = b""


def iam_prefix(service: str) -> str:
    return IAM_PREFIXES.get(service, service)


MODELLED_OPERATORS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike",
                      "ArnEquals", "ArnLike", "ArnNotLike", "Bool", "Null"}


def statements_of(policy: dict) -> tuple[dict, ...]:
    """The statements of a policy document, refusing what this evaluation does not model (so that
    no verdict is silently wrong)."""
    statements = policy["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    for statement in statements:
        if statement.get("Effect") not in ("Allow", "Deny") or "Action" not in statement or "Resource" not in statement:
            raise ValueError(f"not modelled: a statement without Effect Allow/Deny, Action and Resource: {statement}")
        for operator in statement.get("Condition", {}):
            base = operator.rpartition(":")[2].removesuffix("IfExists")
            if base not in MODELLED_OPERATORS or operator.partition(":")[0] not in ("ForAllValues", "ForAnyValue",
                                                                                      operator):
                raise ValueError(f"not modelled: condition operator {operator}")
    return tuple(statements)


def _listed(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _string_match(operator: str, value: str, wanted: list) -> bool:
    if operator.startswith("StringEqualsIgnoreCase"):
        return value.lower() in [w.lower() for w in wanted]
    if operator.startswith(("StringLike", "ArnLike")):
        return any(fnmatchcase(value, pattern) for pattern in wanted)
    if operator.startswith("Bool"):
        return value.lower() in [str(w).lower() for w in wanted]
    return value in wanted  # StringEquals, ArnEquals


def _condition_holds(operator: str, key: str, wanted, context: dict[str, list[str]]) -> bool:
    """One operator on one key, as AWS evaluates it: a key absent from the request context matches
    nothing (so a negated operator holds), but with IfExists or ForAllValues, which hold."""
    wanted, values = _listed(wanted), context.get(key.lower())
    qualifier, _, base = operator.rpartition(":")
    if base == "Null":
        return (values is None) == (str(wanted[0]).lower() == "true")
    negated = "Not" in base
    positive = base.replace("Not", "").removesuffix("IfExists")
    if values is None:
        return qualifier == "ForAllValues" or base.endswith("IfExists") or (negated and qualifier != "ForAnyValue")
    matches = [_string_match(positive, value, [str(w) for w in wanted]) for value in values]
    if qualifier == "ForAllValues":
        return all(not m for m in matches) if negated else all(matches)
    if negated:
        return not any(matches)
    return any(matches)


def _conditions_hold(condition: dict, context: dict[str, list[str]]) -> bool:
    """Every operator and every key of a Condition block (AND); any of a key's values (OR)."""
    return all(_condition_holds(operator, key, wanted, context)
               for operator, pairs in condition.items() for key, wanted in pairs.items())


def _applies(statement: dict, action: str, target: Target) -> bool:
    matches = any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"]))
    return (matches and any(fnmatchcase(target.arn, pattern) for pattern in _listed(statement["Resource"]))
            and _conditions_hold(statement.get("Condition", {}), target.context))


def decide(statements: tuple[dict, ...], action: str, targets: list[Target] | None = None) -> str:
    """"allowed", "explicit deny" or "implicit deny" (no Allow applies to some resource)."""
    return judge(statements, action, targets)[0]


def judge(statements: tuple[dict, ...], action: str, targets: list[Target] | None = None) -> tuple[str, str]:
    """(decide's verdict, the resource refused): an action on several resources is allowed when
    each of them is allowed by an Allow and none is denied."""
    for target in targets or ANYTHING:
        applying = {s["Effect"] for s in statements if _applies(s, action, target)}
        if "Deny" in applying:
            return "explicit deny", target.arn
        if "Allow" not in applying:
            return "implicit deny", target.arn
    return "allowed", ""


def denial(service: str, user_arn: str, action: str, verdict: str, resource: str = "") -> Denial:
    """AWS's words for it, in the code and status of the service's protocol."""
    on = f" on resource: {resource}" if resource else ""
    why = ("with an explicit deny in an identity-based policy" if verdict == "explicit deny"
           else f"because no identity-based policy allows the {action} action")
    message = f"User: {user_arn} is not authorized to perform: {action}{on} {why}"
    if service in DENIED:
        return Denial(*DENIED[service], EC2_PREAMBLE + message)
    return Denial(*(DENIED_JSON if service in JSON_SERVICES else DENIED_OTHERS), message)


def elb_needs_ec2(action: str, request: Request) -> list[Authorization]:
    """The EC2 actions Elastic Load Balancing calls with the caller's permissions for `action`."""
    prefix, name = action.split(":")
    if prefix != "elasticloadbalancing":
        return []
    version = request.params.get("Version", "")
    needed = [Authorization(DESCRIBE + what, ANYTHING) for what in ELB_NEEDS_EC2.get(version, {}).get(name, [])]
    classic_default_vpc = version == CLASSIC_API and name == "CreateLoadBalancer" and not any(
        key.startswith("SecurityGroups.member.") for key in request.params)
    if classic_default_vpc:  # AWS makes the default_elb_<id> group, untagged, with the caller's rights
        needed.append(Authorization("ec2:CreateSecurityGroup", [Target(f"arn:aws:ec2:*:*:security-group/{NEW}", {})]))
    return needed


def passing_roles(action: str, request: Request) -> list[Authorization]:
    if action not in PASSING_HOOK_ROLES:
        return []
    roles = [value for key, value in request.params.items() if key == "RoleARN" or key.endswith(".RoleARN")]
    return [Authorization("iam:PassRole", [Target(role, {"iam:passedtoservice": [AUTOSCALING_SERVICE]})
                                           for role in roles])] if roles else []


class ServiceLinkedRoles:
    """The service-linked roles of each emulated account, kept as roles in moto's IAM backend."""

    @staticmethod
    def _iam(account: str, region: str):
        return iam_backends[account][get_partition(region)]

    @staticmethod
    def arn(account: str, region: str, service: str) -> str:
        return f"arn:{get_partition(region)}:iam::{account}:role/aws-service-role/{service}/{ROLE_NAMES[service]}"

    def exists(self, account: str, region: str, service: str) -> bool:
        """A role of the service, whoever made it (moto names some differently: go by the path)."""
        path = f"/aws-service-role/{service}/"
        return any(role.path == path for role in self._iam(account, region).get_roles())

    def create(self, account: str, region: str, service: str) -> None:
        trust = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
                 f'"Principal": {{"Service": "{service}"}}}}]}}')
        self._iam(account, region).create_role(
            ROLE_NAMES[service], trust, f"/aws-service-role/{service}/", permissions_boundary=None,
            description=f"Service-linked role of {service}", tags=[], max_session_duration="3600",
            linked_service=service)


class Iam:
    """The registered principals, and every check made for them since the last reset."""

    def __init__(self) -> None:
        self._principals: dict[str, Principal] = {}
        self.checked: list[Check] = []
        self.roles = ServiceLinkedRoles()

    def register(self, access_key_id: str, policy: dict, user: str = "deployer") -> None:
        """Check every call signed with `access_key_id` against `policy` (a policy document), as
        the IAM user `user`."""
        self._principals[access_key_id] = Principal(user, statements_of(policy))

    def principals(self) -> dict[str, "Principal"]:
        return dict(self._principals)

    def clear(self) -> None:
        """Forget the principals and the checks (moto's reset forgets the service-linked roles)."""
        self._principals.clear()
        self.checked.clear()

    def allowed_actions(self) -> set[str]:
        return {check.action for check in self.checked if check.allowed}

    def denied_actions(self) -> set[str]:
        return {check.action for check in self.checked if not check.allowed}

    def authorize(self, service: str, operation: str, request: Request) -> Denial | None:
        """None when the call may go on; else the denial of the first action refused."""
        action, account = f"{iam_prefix(service)}:{operation}", get_account_id_from(request.access_key)
        if action in NEEDS_NO_PERMISSION:
            return None
        if action == CREATE_SERVICE_LINKED_ROLE:  # a call of its own: its AWSServiceName is the condition's
            service_name = request.params.get("AWSServiceName", "")
            needed = [Authorization(action, [Target(f"arn:aws:iam::{account}:role/aws-service-role/{service_name}/*",
                                                    {SERVICE_NAME_KEY: [service_name]})])]
        else:
            needed = authorizations(action, account, request.region, request.params, request.path, request.body)
        needed += elb_needs_ec2(action, request) + passing_roles(action, request)
        role_service = SERVICE_LINKED_ROLES.get(action)
        new_role = role_service and not self.roles.exists(account, request.region, role_service)
        if new_role:
            needed.append(Authorization(CREATE_SERVICE_LINKED_ROLE, [Target(
                self.roles.arn(account, request.region, role_service), {SERVICE_NAME_KEY: [role_service]})]))
        principal = self._principals.get(request.access_key)
        if principal:
            user_arn = f"arn:{get_partition(request.region)}:iam::{account}:user/{principal.user}"
            for checked, targets in needed:
                verdict, resource = judge(principal.statements, checked, targets)
                self.checked.append(Check(checked, verdict == "allowed"))
                if verdict != "allowed":
                    return denial(service, user_arn, checked, verdict, "" if resource == "*" else resource)
        if new_role:
            self.roles.create(account, request.region, role_service)
        return None
