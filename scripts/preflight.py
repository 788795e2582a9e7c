"""setup: check, before anything is created, that the account can do what the settings ask:
the region and zones exist, and the Route 53 hosted zone for TLD is there (HOSTED_ZONE, or the
one public zone named TLD)."""

import jmespath

from step import Step, StepError, run
from upsert_dns_record import hosted_zone_id

ZONE_NAMES = "AvailabilityZones[].ZoneName"


def preflight(step: Step) -> None:
    settings = step.settings
    step.say(f"checking {step.aws.region} zones and the hosted zone of {settings.tld}...")
    known = jmespath.search(ZONE_NAMES, step.client("ec2").describe_availability_zones())
    unknown = [zone for zone in settings.availability_zones if zone not in known]
    if unknown:
        raise StepError(f"AVAILABILITY_ZONES has {' '.join(unknown)}, not in {step.aws.region} "
                        f"(its zones: {' '.join(known)}); fix AVAILABILITY_ZONES or AWS_REGION")
    zone = hosted_zone_id(step)
    step.say(f"ok: zones {' '.join(settings.availability_zones)}, hosted zone {zone}")


if __name__ == "__main__":
    run("setup", preflight)
