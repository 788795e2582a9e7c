"""The environment's Route 53 hosted zone and its ALIAS record: found, never guessed."""

import jmespath

from .step import Step, StepError

PUBLIC_ZONES_NAMED = "HostedZones[?Name == '{name}' && Config.PrivateZone == `false`].Id"


def hosted_zone_id(step: Step) -> str:
    """HOSTED_ZONE when set (checked to be TLD's zone), else the one public zone named TLD."""
    settings, route53 = step.settings, step.client("route53")
    if settings.hosted_zone:
        try:
            name = route53.get_hosted_zone(Id=settings.hosted_zone)["HostedZone"]["Name"]
        except route53.exceptions.NoSuchHostedZone:
            raise StepError(f"HOSTED_ZONE={settings.hosted_zone} does not exist: fix it, or leave it "
                            f"empty to look the zone up from TLD={settings.tld}") from None
        if name.rstrip(".") != settings.tld:
            raise StepError(f"HOSTED_ZONE={settings.hosted_zone} is the zone of {name}, not of "
                            f"TLD={settings.tld}: fix one of them")
        return settings.hosted_zone
    zones = route53.list_hosted_zones_by_name(DNSName=settings.tld, MaxItems="100")
    ids = jmespath.search(PUBLIC_ZONES_NAMED.format(name=settings.tld + "."), zones)
    if len(ids) != 1:
        problem = "no public hosted zone" if not ids else f"{len(ids)} public hosted zones"
        raise StepError(f"{problem} named {settings.tld} in Route 53: create one, or set HOSTED_ZONE")
    return ids[0].removeprefix("/hostedzone/")


def current_alias(step: Step, zone: str) -> dict | None:
    name = step.settings.record_name
    found = step.client("route53").list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, StartRecordType="A", MaxItems="1")["ResourceRecordSets"]
    if found and found[0]["Name"] == name and found[0]["Type"] == "A" and "AliasTarget" in found[0]:
        alias = found[0]["AliasTarget"]
        return {**alias, "DNSName": alias["DNSName"].rstrip(".").lower() + "."}
    return None
