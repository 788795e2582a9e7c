"""The environment's Route 53 hosted zone and its ALIAS record: found, never guessed."""

import jmespath

from . import aws
from .step import Context, StepError

PUBLIC_ZONES_NAMED = "HostedZones[?Name == '{name}' && Config.PrivateZone == `false`].Id"
SERVING_TYPES = ("A", "AAAA", "CNAME")


def hosted_zone_id(step: Context) -> str:
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


def records_at_name(step: Context, zone: str) -> list[dict]:
    """The record sets at the environment's name that would serve or block its A record."""
    name = step.settings.record_name
    found = step.client("route53").list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, MaxItems="10")["ResourceRecordSets"]
    return [record for record in found if record["Name"] == name and record["Type"] in SERVING_TYPES]


def refuse_a_record_not_ours(step: Context, zone: str, target: dict | None) -> list[dict]:
    """Before anything changes: a record at the name that is not already the A alias to this
    environment's load balancer (`target`; None while it does not exist) is someone's live site.
    A plain A record or an alias elsewhere is replaced only with REPLACE_DNS_RECORD=yes; another
    type (a CNAME, AAAA) never: the one line says what to do. Returns the records there."""
    settings, found = step.settings, records_at_name(step, zone)
    for record in found:
        if record["Type"] == "A" and "AliasTarget" in record and target and alias_of(record) == target:
            continue
        what = describe_record(record)
        if record["Type"] != "A":
            raise StepError(f"{settings.record_name} already has a {what}: remove it in Route 53 yourself, or "
                            "choose another NODE_ENV or TLD; setup replaces only A records")
        if not settings.replace_dns_record:
            raise StepError(f"{settings.record_name} already is a {what}, not an alias to {settings.elb_name}: "
                            "set REPLACE_DNS_RECORD=yes to point it at this environment, or choose another "
                            "NODE_ENV or TLD")
    return found


def describe_record(record: dict) -> str:
    if "AliasTarget" in record:
        return f"{record['Type']} alias to {record['AliasTarget']['DNSName']}"
    values = " ".join(value["Value"] for value in record.get("ResourceRecords", []))
    return f"{record['Type']} record ({values})"


def alias_of(record: dict) -> dict:
    alias = record["AliasTarget"]
    return {**alias, "DNSName": alias["DNSName"].rstrip(".").lower() + "."}


def current_alias(step: Context, zone: str) -> dict | None:
    found = record_set(step, zone, step.settings.record_name, "A")
    return alias_of(found) if found and "AliasTarget" in found else None


def record_set(step: Context, zone: str, name: str, kind: str) -> dict | None:
    """The record set of that name and type in the zone, if there is one."""
    found = step.client("route53").list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, StartRecordType=kind, MaxItems="1")["ResourceRecordSets"]
    if found and found[0]["Name"].lower() == name.lower() and found[0]["Type"] == kind:
        return found[0]
    return None


def change_record(step: Context, zone: str, action: str, record: dict, wait: bool = True) -> None:
    """One change (UPSERT or DELETE) of one record set; with `wait`, until Route 53 has applied it."""
    route53 = step.client("route53")
    change = route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": action, "ResourceRecordSet": record}]})
    if wait:
        aws.wait(route53, "resource_record_sets_changed", timeout=600, interval=10, say=step.say,
             progress=lambda parsed: f"waiting for Route 53 to apply the change of {record['Name']} "
                                     f"({parsed.get('ChangeInfo', {}).get('Status', 'unknown')})",
             Id=change["ChangeInfo"]["Id"])
