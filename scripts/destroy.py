"""destroy: remove everything of one environment: its DNS record (when it points at this
environment's load balancer), its groups with their instances, its launch templates, the load
balancer, the certificate setup requested (never one CERTIFICATE names) and its validation record
(unless another certificate of that name needs it), its security groups, the key pair and its
files in deploy/keys/, its app (carnivore) images with their snapshots, and its deploy lock table.
Primal images are shared by the app's environments: they go with the app's last environment (the
last with app images). The log folder deploy/log/$NODE_ENV stays.

What goes is found by exact names and ownership tags, listed first, and removed only once
confirmed: by typing the environment's name on a terminal, or with CONFIRM=yes. The removal holds
the environment's deploy lock, so a deploy that starts meanwhile is refused; the lock table goes
last. Nothing keeps serving here, so unlike a deploy's cleanup the groups are force-deleted (their
instances terminate with them) without draining: the load balancer goes too."""

import contextlib
import os
import sys
from collections.abc import Callable

import jmespath

from core import history
from core.aws import search, tag_filters, tag_value
from core.balancer import load_balancer
from core.certificate import VALIDATION_RECORDS, certificates_named, delete, domain_name, own_certificates
from core.dns import change_record, current_alias, hosted_zone_id, record_set
from core.groups import delete_unused_launch_settings, describe_groups, environment_groups
from core.images import SNAPSHOT_IDS, app_images, delete_image, environment_images
from core.lock import current_lock, deploy_lock, held_by, table_name
from core.network import delete_security_groups, security_groups
from core.plan import Change, Planned
from core.poll import TimedOut, wait_until
from core.release import needed_elsewhere
from core.settings import ROOT
from core.step import Step, StepError, run

GROUP_NAMES = "[].AutoScalingGroupName"
INSTANCE_COUNT = "length([].Instances[])"
TEMPLATE_NAMES = "LaunchTemplates[].LaunchTemplateName"
IMAGE_SNAPSHOTS = "[]." + SNAPSHOT_IDS
SNAPSHOTS = "Snapshots[].SnapshotId"
KEY_PAIRS = "KeyPairs[].KeyName"

Removal = tuple[str, Callable[[], None]]  # what goes (for the list), and the call that removes it


def destroy(step: Step) -> None:
    settings = step.settings
    lock_table = existing_lock_table(step)
    removals = removals_of(step, lock_table)
    if not removals:
        step.say(f"nothing of environment {settings.node_env} of app {settings.app_name} is left.")
        return
    step.say(f"this removes environment {settings.node_env} of app {settings.app_name}:")
    for what, _ in removals:
        step.say(f"  {what}")
    confirm(step)
    with deploy_lock(step) if lock_table else contextlib.nullcontext():  # no deploy meanwhile
        for _, remove in removals:
            remove()
    step.say(f"{settings.node_env} is gone; its log folder {settings.log_dir.relative_to(ROOT)}/ stays.")


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    return [Change("delete", what) for what, _ in removals_of(step, existing_lock_table(step))]


def removals_of(step: Step, lock_table: str | None) -> list[Removal]:
    """What this environment has, in the order it goes: the record first (no more traffic), the
    lock table (when there is one) last. Reads only."""
    settings = step.settings
    balancer = load_balancer(step).describe()
    if balancer:
        load_balancer(step).check_ownership()
    removals = record_removal(step, balancer) + group_removals(step)
    if balancer:
        removals.append((f"load balancer {settings.elb_name}", lambda: delete_load_balancer(step)))
    removals += certificate_removals(step)
    groups = security_groups(step)
    if groups:  # once the load balancer and the instances that use them are gone
        names = " ".join(group["GroupName"] for group in groups.values())
        removals.append((f"security group(s) {names}", lambda: delete_security_groups(step)))
    removals += key_removals(step) + image_removals(step)
    if lock_table:
        removals.append((f"lock table {lock_table}", lambda: delete_lock_table(step)))
    return removals


def record_removal(step: Step, balancer: dict | None) -> list[Removal]:
    """The record, only when it points at this environment's load balancer."""
    settings = step.settings
    zone = hosted_zone_id(step)
    alias = current_alias(step, zone)
    if alias and balancer and alias == load_balancer(step).alias_target():
        return [(f"record {settings.record_name}", lambda: delete_record(step, zone, alias))]
    if alias:
        step.say(f"leaving record {settings.record_name} alone: it points at {alias['DNSName']}, "
                 f"not at {settings.elb_name}")
    return []


def group_removals(step: Step) -> list[Removal]:
    """The groups (by their tags), then the launch templates tagged as this environment's: once the
    groups are gone, no template is in use."""
    removals, groups = [], environment_groups(step)
    if groups:
        names = jmespath.search(GROUP_NAMES, groups)
        removals.append((f"group(s) {' '.join(names)} and their {jmespath.search(INSTANCE_COUNT, groups)} "
                         "instance(s)", lambda: delete_groups(step, names)))
    owned = tag_filters(step.settings.ownership_tags)
    templates = search(step.client("ec2"), "describe_launch_templates", TEMPLATE_NAMES, Filters=owned)
    if templates or step.settings.launch_kind == "configuration":
        removals.append((f"launch template(s) {' '.join(sorted(templates)) or 'none'} and configurations",
                         lambda: delete_unused_launch_settings(step, configurations=True)))
    return removals


def certificate_removals(step: Step) -> list[Removal]:
    """The certificates setup requested (found by name and tags; not the one CERTIFICATE names),
    then their validation records, unless a certificate of that name that stays needs them too."""
    settings, named = step.settings, certificates_named(step)
    ours = [cert for cert in own_certificates(step, named) if cert["CertificateArn"] != settings.certificate]
    if not ours:
        return []
    arns = [cert["CertificateArn"] for cert in ours]
    removals = [(f"certificate {arn} ({domain_name(step)})", lambda arn=arn: delete(step, arn)) for arn in arns]
    staying = [arn for arn in named if arn not in arns]
    zone = hosted_zone_id(step)
    records = {(r["Name"], r["Type"]) for cert in ours for r in jmespath.search(VALIDATION_RECORDS, cert) or []}
    for name, kind in sorted(records):
        present = record_set(step, zone, name, kind)
        if present and staying:
            step.say(f"leaving validation record {name.rstrip('.')} alone: certificate(s) {' '.join(staying)} "
                     "of that name use it too")
        elif present:
            removals.append((f"validation record {name.rstrip('.')}",
                             lambda present=present: delete_validation_record(step, zone, present)))
    return removals


def key_removals(step: Step) -> list[Removal]:
    """The key pair $APP_NAME-$NODE_ENV, and exactly its two files in deploy/keys/."""
    settings, removals = step.settings, []
    key_pairs = step.client("ec2").describe_key_pairs(Filters=[{"Name": "key-name", "Values": [settings.key_name]}])
    if jmespath.search(KEY_PAIRS, key_pairs):
        removals.append((f"key pair {settings.key_name}", lambda: delete_key_pair(step)))
    key_files = [path for path in (settings.key_file, settings.key_file.with_suffix(".pub")) if path.exists()]
    if key_files:
        removals.append((f"key file(s) {' '.join(path.name for path in key_files)} in deploy/keys",
                         lambda: delete_files(step, key_files)))
    return removals


def image_removals(step: Step) -> list[Removal]:
    """The app images with their snapshots, and any snapshot an interrupted removal left behind;
    not an image another environment of the app runs or can roll back to (it promoted it), but one
    of a destroyed environment that none needs any more (left there when it was destroyed)."""
    needed = needed_elsewhere(step)
    images = environment_images(step)
    for image in [image for image in images if image["ImageId"] in needed]:
        step.say(f"leaving image {image['ImageId']} alone: another environment of {step.settings.app_name} runs it "
                 "or can roll back to it")
    carnivores = app_images(step, "carnivore")
    kept = {image["ImageId"] for image in images} | needed  # this environment's are removed below or needed
    others = [image for image in carnivores if image["ImageId"] not in kept]
    gone = destroyed(step, {tag_value(image, "Environment") for image in others})
    every = images + [image for image in others if tag_value(image, "Environment") in gone]
    if len(every) == len(carnivores):  # the app's last environment
        every += app_images(step, "primal")
    removals = [(f"image {image['ImageId']} ({image.get('Name')}) and its snapshot(s)",
                 lambda image=image: delete_image(step, image)) for image in every if image["ImageId"] not in needed]
    carnivore = tag_filters({**step.settings.ownership_tags, "Role": "carnivore"})
    leftover = set(search(step.client("ec2"), "describe_snapshots", SNAPSHOTS, OwnerIds=["self"], Filters=carnivore))
    leftover -= set(jmespath.search(IMAGE_SNAPSHOTS, every))
    if leftover:
        removals.append((f"snapshot(s) {' '.join(sorted(leftover))} of removed images",
                         lambda: delete_snapshots(step, sorted(leftover))))
    return removals


def destroyed(step: Step, environments: set[str | None]) -> set[str]:
    """Of the app's other environments named, those destroyed (their lock table, with the history, is gone)."""
    gone = set()
    for node_env in environments - {None, step.settings.node_env}:
        try:
            history.releases(step, node_env)
        except StepError:
            gone.add(node_env)
    return gone


def confirm(step: Step) -> None:
    """CONFIRM=yes, or the environment's name typed on a terminal; else nothing is removed."""
    node_env = step.settings.node_env
    if os.environ.get("CONFIRM") == "yes":
        return
    if not sys.stdin.isatty():
        raise StepError(f"not confirmed, nothing removed: run `NODE_ENV={node_env} make destroy` on a terminal, "
                        "or with CONFIRM=yes")
    try:
        answer = input(f"destroy: type the environment name to confirm ({node_env}): ").strip()
    except EOFError:
        answer = ""
    if answer != node_env:
        raise StepError(f"not confirmed ({answer!r} is not {node_env!r}), nothing removed")


def existing_lock_table(step: Step) -> str | None:
    """The deploy lock table, when setup made one. A deploy holding the lock is running: refuse."""
    dynamodb, name = step.client("dynamodb"), table_name(step)
    try:
        dynamodb.describe_table(TableName=name)
    except dynamodb.exceptions.ResourceNotFoundException:
        return None
    if current_lock(step):
        node_env = step.settings.node_env
        raise StepError(f"{node_env} is locked, a deploy may be running: {held_by(step)}; wait for it to end "
                        f"(or `NODE_ENV={node_env} make unlock` a dead one's lock), then destroy")
    return name


def delete_record(step: Step, zone: str, alias: dict) -> None:
    name = step.settings.record_name
    step.say(f"deleting record {name.rstrip('.')}...")
    change_record(step, zone, "DELETE", {"Name": name, "Type": "A", "AliasTarget": alias}, wait=False)


def delete_validation_record(step: Step, zone: str, record: dict) -> None:
    step.say(f"deleting validation record {record['Name'].rstrip('.')}...")
    change_record(step, zone, "DELETE", record, wait=False)


def delete_groups(step: Step, names: list[str]) -> None:
    """Force-delete the groups (their instances terminate with them) and wait until they are gone."""
    settings, autoscaling = step.settings, step.client("autoscaling")
    for name in names:
        step.say(f"deleting {name} and its instances...")
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)

    def gone():
        left = jmespath.search(GROUP_NAMES, describe_groups(step, names))
        return not left, f"waiting until the group(s) are gone ({len(left)} left)"

    try:
        wait_until(gone, timeout=settings.health_timeout, interval=settings.poll_interval, say=step.say)
    except TimedOut as error:
        raise StepError(f"the groups are still being deleted: {error}; run "
                        f"`NODE_ENV={settings.node_env} make destroy` again later") from None


def delete_load_balancer(step: Step) -> None:
    step.say(f"deleting load balancer {step.settings.elb_name}...")
    load_balancer(step).delete()


def delete_key_pair(step: Step) -> None:
    step.say(f"deleting key pair {step.settings.key_name}...")
    step.client("ec2").delete_key_pair(KeyName=step.settings.key_name)


def delete_files(step: Step, paths: list) -> None:
    for path in paths:
        step.say(f"deleting deploy/keys/{path.name}...")
        path.unlink()


def delete_snapshots(step: Step, snapshot_ids: list[str]) -> None:
    for snapshot in snapshot_ids:
        step.say(f"deleting snapshot {snapshot}...")
        step.client("ec2").delete_snapshot(SnapshotId=snapshot)


def delete_lock_table(step: Step) -> None:
    step.say(f"deleting lock table {table_name(step)}...")
    step.client("dynamodb").delete_table(TableName=table_name(step))


if __name__ == "__main__":
    run("destroy", destroy)
