"""IAM for the emulator: the calls signed with a registered access key are checked against that
principal's policy document, as AWS checks them, so a policy that lacks an action the tool (or
Packer) calls fails the tests. moto has IAM enforcement of its own (INITIAL_NO_AUTH_ACTION_COUNT)
but checks every request against Resource "*" and denies statements whose Condition it cannot
evaluate, so a policy scoped to resources fails there for the wrong reason; this module does not
use it.

What is evaluated, per call:
- the call's own action, `<IAM prefix>:<Action>`: allowed when an Allow statement's Action matches
  it (wildcards * and ?, case-insensitive) and no Deny statement does. Resource is not evaluated,
  nor are conditions (taken as met), except iam:AWSServiceName on iam:CreateServiceLinkedRole.
- the actions AWS checks on top (implied), each recorded and denied like the call's own:
  tags given on a create call need the service's tagging action too; a group launching from a
  launch template needs ec2:RunInstances (and ec2:CreateTags when the template tags what it
  launches); a lifecycle hook given a RoleARN needs iam:PassRole; the first load balancer or
  group of an account makes its service-linked role, which
  needs iam:CreateServiceLinkedRole for that service. The roles are kept in moto's IAM backend,
  so a reset forgets them, and they are made whoever calls (the unchecked admin key too).

Calls signed with any other key (the harness's admin key) are not checked.
"""

from fnmatch import fnmatchcase
from typing import NamedTuple

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.iam.models import get_account_id_from, iam_backends
from moto.utilities.utils import get_partition

# The IAM prefix of each signing name (the credential scope of a request's signature) that is not
# its own prefix: the classic and application load balancer APIs both sign as elasticloadbalancing.
# CloudWatch signs as monitoring.
IAM_PREFIXES = {"elb": "elasticloadbalancing", "elbv2": "elasticloadbalancing", "monitoring": "cloudwatch"}
JSON_SERVICES = {"dynamodb", "acm", "monitoring"}  # their parameters are the JSON body (CloudWatch: botocore's JSON)

# A lifecycle hook that notifies through a role (RoleARN) passes that role to Auto Scaling.
PASSING_HOOK_ROLES = {"autoscaling:CreateAutoScalingGroup", "autoscaling:PutLifecycleHook"}
# The tagging action AWS also checks when a create call carries tags (EC2: TagSpecifications).
TAGGING_ON_CREATE = {
    "elasticloadbalancing:CreateLoadBalancer": "elasticloadbalancing:AddTags",
    "elasticloadbalancing:CreateTargetGroup": "elasticloadbalancing:AddTags",
    "autoscaling:CreateAutoScalingGroup": "autoscaling:CreateOrUpdateTags",
    "dynamodb:CreateTable": "dynamodb:TagResource",
    "acm:RequestCertificate": "acm:AddTagsToCertificate",
}
EC2_TAGGING = "ec2:CreateTags"
TAG_PARAMETERS = ("Tags.member.",)  # query protocols; EC2's is TagSpecification.N, JSON's "Tags"
EC2_TAG_PARAMETERS = ("TagSpecification.",)

# A group launched from a launch template: the caller needs the permissions to launch from it.
LAUNCHING_FROM_TEMPLATE = {"autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup"}
TEMPLATE_PARAMETERS = ("LaunchTemplate.", "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.")
LAUNCH = "ec2:RunInstances"

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
SERVICE_NAME_KEY = "iam:awsservicename"  # condition keys are case-insensitive: kept lower-case
EVALUATED_OPERATORS = ("StringEquals", "StringLike")

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


def iam_prefix(service: str) -> str:
    return IAM_PREFIXES.get(service, service)


def statements_of(policy: dict) -> tuple[dict, ...]:
    """The statements of a policy document, refusing what this evaluation does not model (so that
    no verdict is silently wrong)."""
    statements = policy["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    for statement in statements:
        if statement.get("Effect") not in ("Allow", "Deny") or "Action" not in statement:
            raise ValueError(f"not modelled: a statement without Effect Allow/Deny and Action: {statement}")
        for operator, pairs in statement.get("Condition", {}).items():
            if operator not in EVALUATED_OPERATORS and any(key.lower() == SERVICE_NAME_KEY for key in pairs):
                raise ValueError(f"not modelled: condition operator {operator} on iam:AWSServiceName")
    return tuple(statements)


def _listed(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _conditions_hold(condition: dict, context: dict[str, str]) -> bool:
    """Only the keys in `context` are evaluated; every other condition is taken as met."""
    for operator, pairs in condition.items():
        for key, values in pairs.items():
            if key.lower() not in context:
                continue
            value = context[key.lower()]
            if operator == "StringEquals":
                holds = value in _listed(values)
            else:  # StringLike: statements_of refused any other
                holds = any(fnmatchcase(value, pattern) for pattern in _listed(values))
            if not holds:
                return False
    return True


def _applies(statement: dict, action: str, context: dict[str, str]) -> bool:
    matches = any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"]))
    return matches and _conditions_hold(statement.get("Condition", {}), context)


def decide(statements: tuple[dict, ...], action: str, context: dict[str, str] | None = None) -> str:
    """"allowed", "explicit deny" or "implicit deny" (no Allow applies)."""
    applying = {s["Effect"] for s in statements if _applies(s, action, context or {})}
    if "Deny" in applying:
        return "explicit deny"
    return "allowed" if "Allow" in applying else "implicit deny"


def denial(service: str, user_arn: str, action: str, verdict: str, resource: str = "") -> Denial:
    """AWS's words for it, in the code and status of the service's protocol."""
    on = f" on resource: {resource}" if resource else ""
    why = ("with an explicit deny in an identity-based policy" if verdict == "explicit deny"
           else f"because no identity-based policy allows the {action} action")
    message = f"User: {user_arn} is not authorized to perform: {action}{on} {why}"
    if service in DENIED:
        return Denial(*DENIED[service], EC2_PREAMBLE + message)
    return Denial(*(DENIED_JSON if service in JSON_SERVICES else DENIED_OTHERS), message)


def carries_tags(prefix: str, params: dict) -> bool:
    if prefix in JSON_SERVICES:
        return bool(params.get("Tags"))
    starts = EC2_TAG_PARAMETERS if prefix == "ec2" else TAG_PARAMETERS
    return any(key.startswith(starts) for key in params)


def launch_template_tags(account: str, region: str, params: dict) -> bool | None:
    """None when the request names no launch template; else whether the template version it names
    tags what it launches (moto also keeps the template's own tags among them: those do not count)."""
    for start in TEMPLATE_PARAMETERS:
        template_id, name = params.get(start + "LaunchTemplateId"), params.get(start + "LaunchTemplateName")
        if template_id or name:
            break
    else:
        return None
    ec2 = ec2_backends[account][region]
    try:
        template = ec2.get_launch_template(template_id) if template_id else ec2.get_launch_template_by_name(name)
        data = template.get_version(params.get(start + "Version", "$Default")).data
    except (EC2ClientError, ValueError):  # an unknown template or version: moto gives the error
        return False
    return any(spec.get("ResourceType") != "launch-template" for spec in data.get("TagSpecifications") or [])


def implied_actions(action: str, account: str, request: Request) -> list[str]:
    """The actions AWS checks besides `action` itself, in the order it checks them."""
    prefix, implied = action.split(":")[0], []
    if prefix == "ec2" and carries_tags(prefix, request.params):
        implied.append(EC2_TAGGING)
    elif action in TAGGING_ON_CREATE and carries_tags(prefix, request.params):
        implied.append(TAGGING_ON_CREATE[action])
    if action in LAUNCHING_FROM_TEMPLATE:
        tags = launch_template_tags(account, request.region, request.params)
        if tags is not None:
            implied += [LAUNCH, EC2_TAGGING] if tags else [LAUNCH]
    if action in PASSING_HOOK_ROLES and any(key == "RoleARN" or key.endswith(".RoleARN") for key in request.params):
        implied.append("iam:PassRole")
    return implied


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
        own = {SERVICE_NAME_KEY: request.params.get("AWSServiceName", "")} if action == CREATE_SERVICE_LINKED_ROLE \
            else {}  # a call of its own: its AWSServiceName is the condition's
        needed = [(action, own, "")] + [(implied, {}, "") for implied in implied_actions(action, account, request)]
        role_service = SERVICE_LINKED_ROLES.get(action)
        new_role = role_service and not self.roles.exists(account, request.region, role_service)
        if new_role:
            needed.append((CREATE_SERVICE_LINKED_ROLE, {SERVICE_NAME_KEY: role_service},
                           self.roles.arn(account, request.region, role_service)))
        principal = self._principals.get(request.access_key)
        if principal:
            user_arn = f"arn:{get_partition(request.region)}:iam::{account}:user/{principal.user}"
            for checked, context, resource in needed:
                verdict = decide(principal.statements, checked, context)
                self.checked.append(Check(checked, verdict == "allowed"))
                if verdict != "allowed":
                    return denial(service, user_arn, checked, verdict, resource)
        if new_role:
            self.roles.create(account, request.region, role_service)
        return None
