"""setup: create the environment's network path in the VPC of SUBNETS (or the default VPC): the
security group $APP_NAME-$NODE_ENV-lb, open to the world on the listener ports (80, and 443 unless
CERTIFICATE=none), $APP_NAME-$NODE_ENV-instances, admitting the app port from the first alone
(and SSH from SSH_CIDR when set), and $APP_NAME-$NODE_ENV-bake, the build instance's, admitting
SSH from BAKE_SSH_CIDR alone; tagged App/Environment; each group's inbound rules are brought to
exactly these (a rule added by hand is revoked)."""

from core.aws import tag_list
from core.network import APP_PORT, ROLES, SSH_PORT, Rule, group_name, inbound, listener_ports, security_groups, vpc_id
from core.plan import Change, Planned, carry_out
from core.settings import Settings
from core.step import Step, run

LB_GROUP = "the load balancer's group"  # its id, while it is not made yet


def wanted_rules(settings: Settings, load_balancer_group: str) -> dict[str, set[Rule]]:
    ssh = {Rule(SSH_PORT, settings.ssh_cidr)} if settings.ssh_cidr else set()
    bake = {Rule(SSH_PORT, settings.bake_ssh_cidr)} if settings.bake_ssh_cidr else set()
    return {"lb": {Rule(port, world) for port in listener_ports(settings) for world in ("0.0.0.0/0", "::/0")},
            "instances": {Rule(APP_PORT, load_balancer_group)} | ssh, "bake": bake}


def rule_changes(settings: Settings, groups: dict[str, dict]) -> list[tuple[str, str, set[Rule]]]:
    """Given the groups as AWS describes them (by role; a missing one has none), the rules to
    admit and revoke: [(role, "admit" or "revoke", rules)]."""
    wanted = wanted_rules(settings, groups["lb"]["GroupId"] if "lb" in groups else LB_GROUP)
    changes = []
    for role in ROLES:
        present = set(inbound(groups.get(role, {})))
        changes += [(role, action, rules) for action, rules in
                    (("admit", wanted[role] - present), ("revoke", present - wanted[role])) if rules]
    return changes


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    """Create what is missing, then bring each group's inbound rules to exactly the wanted ones."""
    ec2, vpc = step.client("ec2"), vpc_id(step)
    groups = security_groups(step)  # the run's own look: a group created here is in it for the next steps
    changes = []
    for role in ROLES:
        if role not in groups:
            changes.append(Change("create", f"security group {group_name(step, role)}", f"in {vpc}", DESCRIPTIONS[role],
                                  do=lambda role=role: groups.update({role: create(step, vpc, role)})))
    for role, action, rules in rule_changes(step.settings, groups):
        why = ("" if role not in groups else "missing" if action == "admit" else
               "not in the settings: added by hand, or a setting changed")
        changes.append(Change(action, f"security group {group_name(step, role)}", show(rules), why,
                              do=lambda role=role, action=action, rules=rules:
                              change_rules(ec2, groups, role, action, rules)))
    return changes


def create(step: Step, vpc: str, role: str) -> dict:
    tags = {**step.settings.ownership_tags, "Name": group_name(step, role), "Role": role}
    created = step.client("ec2").create_security_group(
        GroupName=group_name(step, role), VpcId=vpc, Description=DESCRIPTIONS[role],
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags)}])
    return {"GroupId": created["GroupId"], "GroupName": group_name(step, role), "IpPermissions": []}


def change_rules(ec2, groups: dict[str, dict], role: str, action: str, rules: set[Rule]) -> None:
    group = groups[role]
    if action == "revoke":
        present = inbound(group)
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[present[rule] for rule in rules])
        return
    rules = {Rule(rule.port, groups["lb"]["GroupId"]) if rule.source == LB_GROUP else rule for rule in rules}
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"],
                                         IpPermissions=[rule.permission() for rule in sorted(rules)])


def create_security_groups(step: Step) -> None:
    changes = plan(step)
    if not changes:
        step.say(f"security groups {' '.join(group_name(step, role) for role in ROLES)} exist, as set.")
    carry_out(changes, step.say)


DESCRIPTIONS = {"lb": "the load balancer: its listener ports from anywhere",
                "instances": "the instances: the app port from the load balancer only",
                "bake": "the bake instance: SSH from where Packer runs only"}


def show(rules: set[Rule]) -> str:
    return ", ".join(f"{f'tcp {rule.port}' if rule.port else 'traffic'} from {rule.source}"
                     for rule in sorted(rules, key=str))


if __name__ == "__main__":
    run("setup", create_security_groups)
