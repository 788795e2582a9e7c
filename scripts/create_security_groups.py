"""setup: create the environment's network path in the VPC of SUBNETS (or the default VPC): the
security group $APP_NAME-$NODE_ENV-lb, open to the world on the listener ports (80, and 443 unless
CERTIFICATE=none), $APP_NAME-$NODE_ENV-instances, admitting the app port from the first alone
(and SSH from SSH_CIDR when set), and $APP_NAME-$NODE_ENV-bake, the build instance's, admitting
SSH from BAKE_SSH_CIDR alone; tagged App/Environment; each group's inbound rules are brought to
exactly these."""

from core.aws import tag_list
from core.network import APP_PORT, ROLES, SSH_PORT, Rule, group_name, inbound, listener_ports, security_groups, vpc_id
from core.step import Step, run


def wanted_rules(step: Step, load_balancer_group: str) -> dict[str, set[Rule]]:
    ssh = {Rule(SSH_PORT, step.settings.ssh_cidr)} if step.settings.ssh_cidr else set()
    bake = {Rule(SSH_PORT, step.settings.bake_ssh_cidr)} if step.settings.bake_ssh_cidr else set()
    return {"lb": {Rule(port, world) for port in listener_ports(step.settings) for world in ("0.0.0.0/0", "::/0")},
            "instances": {Rule(APP_PORT, load_balancer_group)} | ssh, "bake": bake}


def create_security_groups(step: Step) -> None:
    """Create what is missing, then bring each group's inbound rules to exactly the wanted ones."""
    ec2, vpc = step.client("ec2"), vpc_id(step)
    groups = security_groups(step)
    for role in ROLES:
        if role in groups:
            step.say(f"security group {group_name(step, role)} already exists.")
            continue
        step.say(f"creating security group {group_name(step, role)} in {vpc}...")
        tags = {**step.settings.ownership_tags, "Name": group_name(step, role), "Role": role}
        created = ec2.create_security_group(
            GroupName=group_name(step, role), VpcId=vpc, Description=DESCRIPTIONS[role],
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags)}])
        groups[role] = {"GroupId": created["GroupId"], "GroupName": group_name(step, role), "IpPermissions": []}
    for role, wanted in wanted_rules(step, groups["lb"]["GroupId"]).items():
        group, present = groups[role], inbound(groups[role])
        missing, extra = wanted - set(present), set(present) - wanted
        if missing:
            step.say(f"{group['GroupName']}: admitting {show(missing)}")
            ec2.authorize_security_group_ingress(
                GroupId=group["GroupId"], IpPermissions=[rule.permission() for rule in sorted(missing)])
        if extra:
            step.say(f"{group['GroupName']}: revoking {show(extra)}")
            ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[present[r] for r in extra])


DESCRIPTIONS = {"lb": "the load balancer: its listener ports from anywhere",
                "instances": "the instances: the app port from the load balancer only",
                "bake": "the bake instance: SSH from where Packer runs only"}


def show(rules: set[Rule]) -> str:
    return ", ".join(f"{f'tcp {rule.port}' if rule.port else 'traffic'} from {rule.source}"
                     for rule in sorted(rules, key=str))


if __name__ == "__main__":
    run("setup", create_security_groups)
