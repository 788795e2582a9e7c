"""setup: check, before anything is created, that the account can do what the settings ask:
the region and zones exist, SUBNETS exist (in one VPC; without them, the region has a default VPC),
a load balancer or security groups of this environment's names are its own, an ALB gets two zones,
the Route 53 hosted zone for TLD is there (HOSTED_ZONE, or the one public zone named TLD) and has
no record at the environment's name that is someone else's (REPLACE_DNS_RECORD), a certificate
CERTIFICATE names is in the region, ISSUED and covers the name, and launch configurations are
allowed when LAUNCH_KIND asks for them."""

import jmespath

from core.balancer import load_balancer
from core.certificate import given_certificate
from core.dns import hosted_zone_id, refuse_a_record_not_ours
from core.groups import create_launch_configuration
from core.network import security_groups, vpc_id
from core.plan import Change, Planned, carry_out
from core.release import missing_app_config
from core.step import Step, StepError, run

ZONE_NAMES = "AvailabilityZones[].ZoneName"
SUBNET_IDS = "Subnets[].SubnetId"


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    """Every check (reads alone); the one change is the probe LAUNCH_KIND=configuration needs."""
    checks(step)
    return probe(step)


def checks(step: Step) -> tuple[str, str]:
    """Refuse what the account cannot do as the settings ask; (the VPC, the hosted zone)."""
    settings = step.settings
    known = jmespath.search(ZONE_NAMES, step.client("ec2").describe_availability_zones())
    unknown = [zone for zone in settings.availability_zones if zone not in known]
    if unknown:
        raise StepError(f"AVAILABILITY_ZONES has {' '.join(unknown)}, not in {step.aws.region} "
                        f"(its zones: {' '.join(known)}); fix AVAILABILITY_ZONES or AWS_REGION")
    if settings.subnets:
        check_subnets(step)
    vpc = vpc_id(step)
    security_groups(step)  # refuses groups of that name that are another environment's
    balancer = load_balancer(step)
    exists = balancer.describe() is not None
    if exists:
        balancer.check_ownership()
        balancer.check_drift()
    else:
        balancer.check_placement()
    zone = hosted_zone_id(step)
    refuse_a_record_not_ours(step, zone, balancer.alias_target() if exists else None)
    if settings.certificate not in ("auto", "none"):
        given_certificate(step)
    return vpc, zone


def probe(step: Step) -> list[Change]:
    """LAUNCH_KIND=configuration: the one change preflight makes, last."""
    settings = step.settings
    if settings.launch_kind != "configuration":
        return []
    probe = f"lc-{settings.name}-probe"
    return [Change("probe", f"launch configuration {probe}", "created and deleted at once",
                   "LAUNCH_KIND=configuration: AWS has no read-only way to ask whether the account may",
                   do=lambda: check_launch_configurations_allowed(step))]


def preflight(step: Step) -> None:
    settings = step.settings
    step.say(f"checking {step.aws.region} zones and the hosted zone of {settings.tld}...")
    vpc, zone = checks(step)
    carry_out(probe(step), step.say)
    for note in first_deploy_needs(step):
        step.say(f"note: the first deploy will stop here: {note}")
    step.say(f"ok: zones {' '.join(settings.availability_zones)}, {vpc}, hosted zone {zone}")


def first_deploy_needs(step: Step) -> list[str]:
    """What setup does not need but the first deploy will (said now, not after a bake)."""
    settings, needs = step.settings, [missing_app_config(step)]
    if not (settings.base_ami or settings.primal_id or settings.image_id):
        needs.append("BASE_AMI is not set: name the Debian or Ubuntu image primal is baked from, or set PRIMAL_ID")
    return [need for need in needs if need]


def check_subnets(step: Step) -> None:
    ec2, subnets = step.client("ec2"), step.settings.subnets
    found = jmespath.search(SUBNET_IDS, ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": list(subnets)}]))
    unknown = [subnet for subnet in subnets if subnet not in found]
    if unknown:
        raise StepError(f"SUBNETS has {' '.join(unknown)}, not in {step.aws.region}: fix SUBNETS")


def check_launch_configurations_allowed(step: Step) -> None:
    """AWS has no read-only way to ask; a launch configuration named lc-<app>-<env>-probe is
    created and deleted at once. Accounts made after 2024-10-01 refuse it (UnsupportedOperation)."""
    autoscaling, probe = step.client("autoscaling"), f"lc-{step.settings.name}-probe"
    image = step.settings.base_ami or step.settings.primal_id or step.settings.image_id
    if not image:
        raise StepError("LAUNCH_KIND=configuration needs an image to probe with: set BASE_AMI")
    try:
        create_launch_configuration(step, LaunchConfigurationName=probe, ImageId=image,
                                    InstanceType=step.settings.instance_type)
    except autoscaling.exceptions.AlreadyExistsFault:
        pass  # a probe an earlier run could not delete: it goes now
    autoscaling.delete_launch_configuration(LaunchConfigurationName=probe)


if __name__ == "__main__":
    run("setup", preflight)
