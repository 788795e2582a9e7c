"""setup: point the Route 53 A ALIAS record $NODE_ENV.$TLD. (the apex for production) at the load
balancer, with EvaluateTargetHealth, and wait until Route 53 has applied it."""

import jmespath

from balancer import load_balancer
from step import Step, StepError, run

PUBLIC_ZONES_NAMED = "HostedZones[?Name == '{name}' && Config.PrivateZone == `false`].Id"


def upsert_dns_record(step: Step) -> None:
    settings, route53 = step.settings, step.client("route53")
    zone = hosted_zone_id(step)
    target = load_balancer(step).alias_target()
    if current_alias(step, zone) == target:
        step.say(f"route53 alias {settings.record_name} already points at {settings.elb_name}.")
        return
    step.say(f"creating route53 alias recordset on {settings.record_name.rstrip('.')}...")
    change = route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": settings.record_name, "Type": "A", "AliasTarget": target},
    }]})
    route53.get_waiter("resource_record_sets_changed").wait(
        Id=change["ChangeInfo"]["Id"], WaiterConfig={"Delay": 10, "MaxAttempts": 60})


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


if __name__ == "__main__":
    run("setup", upsert_dns_record)
