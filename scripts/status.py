"""status: one environment at a glance, read-only, all from AWS (a fresh checkout sees the same):
its load balancer and how many instances are InService there, the DNS record, the HTTPS
certificate (status, names, expiry), its security groups and what they admit, the live group(s)
with their capacity, each instance's state and the image they launch from, the app images kept
(with their release stamps), the live release and the last run's outcome (from the release
history), a deploy in its soak, who holds the deploy lock, and the newest run record of this
checkout. It keeps no record of its own."""

import jmespath

from core import history
from core.balancer import load_balancer
from core.certificate import describe, names_of, own_certificate
from core.dns import current_alias, hosted_zone_id
from core.groups import environment_groups
from core.images import environment_images, images_in_use, released
from core.lock import current_lock, dead_here, held_by
from core.network import ROLES, group_name, inbound, security_groups
from core.record import records
from core.settings import ROOT
from core.step import Step, StepError, run, say

IMAGE_TAG = "Tags[?Key == 'Image'].Value | [0]"
TIME = "%Y-%m-%d %H:%M:%S %Z"


def status(step: Step) -> None:
    settings = step.settings
    balancer = load_balancer(step)
    balancer.require()
    at_lb = {instance: state for instance, (state, *_) in balancer.health().items()}
    serving = sum(state == balancer.SERVING for state in at_lb.values())

    rows = [("load balancer", f"{settings.elb_name} ({balancer.kind}): {serving}/{len(at_lb)} instance(s) "
                              f"{balancer.SERVING}"),
            ("record", record(step)),
            ("certificate", certificate(step))]
    rows += security_group_rows(step)
    groups = environment_groups(step)
    launched_from = {group["AutoScalingGroupName"]: group_image(step, group) for group in groups}
    for group in groups:
        rows += group_rows(group, launched_from[group["AutoScalingGroupName"]], at_lb)
    if not groups:
        rows.append(("group", f"none: run `NODE_ENV={settings.node_env} make deploy`"))
    try:
        releases, lock, unknown = history.releases(step), current_lock(step), None
    except StepError as missing:  # no lock table (a setup that stopped early): the rest still shows
        releases, lock, unknown = [], None, missing
    soak = soaking(releases, lock)
    rows += image_rows(step, live=set(launched_from.values()), trial=soak if soak and not dead_here(lock) else None)
    if unknown:
        rows.append(("live release", f"unknown: {unknown}"))
    else:
        rows += release_rows(step, history.live_stamps(step, groups), releases, lock, soak)
    kept = records(settings.log_dir)
    rows.append(("last record here", f"{kept[-1].relative_to(ROOT)}/" if kept else "none in this checkout"))

    step.say(f"environment {settings.node_env} of app {settings.app_name}")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        say(f"  {label:<{width}} {value}")


def soaking(releases: list[dict], lock: dict | None) -> dict | None:
    """The newest release while it is in its soak (its run holds the lock)."""
    newest = releases[-1] if releases else None
    return newest if newest and newest["outcome"] == history.SOAKING and lock else None


def release_rows(step: Step, running: set[str], releases: list[dict], lock: dict | None,
                 soak: dict | None) -> list[tuple[str, str]]:
    """The live release and the last run's, from the history in AWS; a soak; the lock."""
    live = history.live(releases, running)
    rows = [("live release", history.line(live, running, bool(lock)) if live else "none")]
    if releases and releases[-1] is not live:
        rows.append(("last run", history.line(releases[-1], running, bool(lock))))
    if soak and dead_here(lock):
        rows.append(("soak", f"release {soak['stamp']} was in its soak when its run died; the old groups' instances "
                             "may be out of the load balancer: the next deploy takes over"))
    elif soak:
        rows.append(("soak", f"release {soak['stamp']} serves alone until {soak['soak_ends']}; the old groups' "
                             "instances are kept warm, out of the load balancer"))
    rows.append(("deploy lock", held_by(step, lock) if lock else "free"))
    return rows


def group_image(step: Step, group: dict) -> str:
    """The image a group launches from: its Image tag, or else its launch template's."""
    return jmespath.search(IMAGE_TAG, group) or " ".join(sorted(images_in_use(step, [group]))) or "unknown"


def group_rows(group: dict, image: str, at_lb: dict[str, str]) -> list[tuple[str, str]]:
    """The group, and each instance's state in the group and at the load balancer."""
    rows = [("group", f"{group['AutoScalingGroupName']} since {group['CreatedTime'].strftime(TIME)}, image {image}, "
                      f"{group['DesiredCapacity']} desired (min {group['MinSize']}, max {group['MaxSize']})")]
    for instance in group["Instances"]:
        rows.append((f"  {instance['InstanceId']}",
                     f"{instance['LifecycleState']}/{instance['HealthStatus']} in {instance['AvailabilityZone']}, "
                     f"{at_lb.get(instance['InstanceId'], 'not registered')} at the load balancer"))
    return rows


def image_rows(step: Step, live: set[str], trial: dict | None) -> list[tuple[str, str]]:
    """The app images kept, the latest release first."""
    stamps = {image["ImageId"]: released(image) for image in environment_images(step)}
    on_trial = trial.get("image") if trial else None

    def use(image_id: str) -> str:
        if image_id == on_trial:
            return f", on trial: release {trial['stamp']} serves alone in its soak until {trial['soak_ends']}"
        if image_id in live and trial:
            return ", live, kept warm out of the load balancer until the soak passes"
        return ", live" if image_id in live else ""
    return [("image", f"{image_id} released {stamp or 'not yet'}{use(image_id)}")
            for image_id, stamp in sorted(stamps.items(), key=lambda item: item[1], reverse=True)]


def security_group_rows(step: Step) -> list[tuple[str, str]]:
    """Each of the environment's security groups and what it admits."""
    groups, rows = security_groups(step), []
    for role in ROLES:
        group = groups.get(role)
        admits = (", ".join(f"tcp {rule.port or 'any'} from {rule.source}" for rule in sorted(inbound(group), key=str))
                  or "admits nothing") if group else f"missing: run `NODE_ENV={step.settings.node_env} make setup`"
        rows.append((f"security group {role}", f"{group['GroupId'] if group else group_name(step, role)}: {admits}"))
    return rows


def certificate(step: Step) -> str:
    """The certificate CERTIFICATE says, with its status, names and expiry."""
    settings = step.settings
    if not settings.https:
        return "none: HTTP only (CERTIFICATE=none)"
    found = own_certificate(step) if settings.certificate == "auto" else describe(step, settings.certificate)
    if found is None:
        return f"missing: run `NODE_ENV={settings.node_env} make request-certificate`"
    expires = f", expires {found['NotAfter']:%Y-%m-%d}" if found.get("NotAfter") else ""
    return f"{found['CertificateArn']}: {found['Status']}, {' '.join(names_of(found))}{expires}"


def record(step: Step) -> str:
    """The record and its alias target, flagged when it does not point at this load balancer."""
    settings = step.settings
    alias = current_alias(step, hosted_zone_id(step))
    if alias is None:
        return f"{settings.record_name} missing: run `NODE_ENV={settings.node_env} make upsert-dns-record`"
    elsewhere = "" if alias == load_balancer(step).alias_target() else f" (not {settings.elb_name}!)"
    return f"{settings.record_name} -> {alias['DNSName']}{elsewhere}"


if __name__ == "__main__":
    run("status", status, recorded=False)
