"""The environment's network path: its VPC and the three security groups setup makes in it.

A default VPC gives a classic load balancer AWS's `default_elb_<id>` group and the instances the
VPC's `default` group, which admits only its own members: every health check would fail. So:
- $APP_NAME-$NODE_ENV-lb, the load balancer's: its listener ports (80, and 443 unless
  CERTIFICATE=none) from anywhere (IPv4 and IPv6);
- $APP_NAME-$NODE_ENV-instances, the instances': the app port from the load balancer's group
  alone, and SSH only from SSH_CIDR when that is set;
- $APP_NAME-$NODE_ENV-bake, Packer's build instance's (Packer makes no group of its own): SSH
  from BAKE_SSH_CIDR alone, nothing when it is empty (the emulator's bakes need none).
All are tagged App/Environment/Role, found by name in the VPC and checked to be this
environment's; setup brings their inbound rules to exactly these (adding and revoking)."""

from typing import NamedTuple

import jmespath

from .aws import search
from .poll import TimedOut, wait_until
from .settings import Settings
from .step import Context, StepError

HTTP_PORT, HTTPS_PORT = 80, 443
APP_PORT = 80  # the instance port the load balancer forwards to and health-checks
SSH_PORT = 22
ROLES = ("lb", "instances", "bake")
VPC_OF_SUBNETS = "Subnets[].VpcId"
DEFAULT_VPC = "Vpcs[0].VpcId"
GROUPS = "SecurityGroups[]"
TAGS = "Tags[].[Key, Value]"
DELETE_TIMEOUT = 300  # a deleted load balancer's network interfaces hold its group for a while


class Rule(NamedTuple):
    """One inbound rule: TCP `port` from a CIDR (IPv4 or IPv6) or from a security group."""
    port: int
    source: str  # "0.0.0.0/0", "::/0", or "sg-..."

    def permission(self) -> dict:
        where = ({"UserIdGroupPairs": [{"GroupId": self.source}]} if self.source.startswith("sg-") else
                 {"Ipv6Ranges": [{"CidrIpv6": self.source}]} if ":" in self.source else
                 {"IpRanges": [{"CidrIp": self.source}]})
        return {"IpProtocol": "tcp", "FromPort": self.port, "ToPort": self.port, **where}


def inbound(group: dict) -> dict[Rule, dict]:
    """A group's inbound rules, each source on its own: the Rule (port None for anything but one
    TCP port) and the IpPermission that names exactly it (to revoke it)."""
    rules = {}
    for permission in group.get("IpPermissions", []):
        ports = {k: permission[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in permission}
        single = permission.get("IpProtocol") == "tcp" and permission.get("FromPort") == permission.get("ToPort")
        for key, source_key in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6"), ("UserIdGroupPairs", "GroupId")):
            for source in permission.get(key, []):
                rule = Rule(permission["FromPort"] if single else None, source[source_key])
                rules[rule] = {**ports, key: [{source_key: source[source_key]}]}
    return rules


def listener_ports(settings: Settings) -> tuple[int, ...]:
    """The load balancer's ports: HTTP, and HTTPS unless CERTIFICATE=none."""
    return (HTTP_PORT, HTTPS_PORT) if settings.https else (HTTP_PORT,)


def group_name(step: Context, role: str) -> str:
    return f"{step.settings.name}-{role}"


def vpc_id(step: Context) -> str:
    """The VPC of SUBNETS (all in one), or else the region's default VPC."""
    settings, ec2 = step.settings, step.client("ec2")
    if settings.subnets:
        vpcs = set(jmespath.search(VPC_OF_SUBNETS, ec2.describe_subnets(SubnetIds=list(settings.subnets))))
        if len(vpcs) != 1:
            raise StepError(f"SUBNETS are in {len(vpcs)} VPCs ({' '.join(sorted(vpcs))}): name subnets of one VPC")
        return vpcs.pop()
    found = jmespath.search(DEFAULT_VPC, ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}]))
    if not found:
        raise StepError(f"{step.aws.region} has no default VPC: set SUBNETS to subnets of your VPC")
    return found


def security_groups(step: Context) -> dict[str, dict]:
    """This environment's groups that exist, by role; one of another app or environment is refused."""
    if "security groups" not in step.looked_up:  # one look per run
        names = {group_name(step, role): role for role in ROLES}
        found = search(step.client("ec2"), "describe_security_groups", GROUPS, Filters=[
            {"Name": "vpc-id", "Values": [vpc_id(step)]}, {"Name": "group-name", "Values": list(names)}])
        for group in found:
            tags = dict(jmespath.search(TAGS, group) or [])
            if {k: tags.get(k) for k in step.settings.ownership_tags} != step.settings.ownership_tags:
                raise StepError(f"security group {group['GroupName']} ({group['GroupId']}) is not tagged as "
                                f"{step.settings.ownership_tags}: choose another APP_NAME or NODE_ENV")
        step.looked_up["security groups"] = {names[group["GroupName"]]: group for group in found}
    return step.looked_up["security groups"]


def require_group(step: Context, role: str) -> str:
    group = security_groups(step).get(role)
    if group is None:
        raise StepError(f"no security group {group_name(step, role)}: run "
                        f"`NODE_ENV={step.settings.node_env} make setup` first")
    return group["GroupId"]


def instance_security_groups(step: Context) -> list[str]:
    """The ids the instances launch with: this environment's instance group, then SECURITY_GROUPS
    (names looked up in the VPC)."""
    own = require_group(step, "instances")
    names = [group for group in step.settings.security_groups if not group.startswith("sg-")]
    ids = {group: group for group in step.settings.security_groups if group.startswith("sg-")}
    if names:
        found = search(step.client("ec2"), "describe_security_groups", GROUPS, Filters=[
            {"Name": "vpc-id", "Values": [vpc_id(step)]}, {"Name": "group-name", "Values": names}])
        ids.update({group["GroupName"]: group["GroupId"] for group in found})
        missing = [name for name in names if name not in ids]
        if missing:
            raise StepError(f"SECURITY_GROUPS has {' '.join(missing)}, not a group in {vpc_id(step)}: fix it")
    return [own] + [ids[group] for group in step.settings.security_groups if ids[group] != own]


def delete_security_groups(step: Context) -> None:
    """The instances' group, then the load balancer's (which the first one names); a group still
    held by a network interface of a deleted load balancer or instance is tried again, bounded."""
    ec2 = step.client("ec2")
    for role in reversed(ROLES):
        group = security_groups(step).get(role)
        if group is None:
            continue
        step.say(f"deleting security group {group['GroupName']}...")

        def deleted(group=group):
            try:
                ec2.delete_security_group(GroupId=group["GroupId"])
            except ec2.exceptions.ClientError as error:
                if error.response["Error"]["Code"] != "DependencyViolation":
                    raise
                return False, f"{group['GroupName']} is still in use (DependencyViolation)"
            return True, f"{group['GroupName']} deleted"

        try:
            wait_until(deleted, timeout=DELETE_TIMEOUT, interval=max(step.settings.poll_interval, 5), say=step.say,
                       bound="the wait for a deleted load balancer's network interfaces")
        except TimedOut as error:
            raise StepError(f"security group {group['GroupName']} is still in use: {error}; "
                            f"run `NODE_ENV={step.settings.node_env} make destroy` again later") from None
