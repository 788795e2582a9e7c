"""setup: point the Route 53 A ALIAS record $NODE_ENV.$TLD. (the apex for production) at the load
balancer, with EvaluateTargetHealth, and wait until Route 53 has applied it. A record there that is
not this environment's is left alone (REPLACE_DNS_RECORD=yes replaces an A record)."""

from core.balancer import load_balancer
from core.dns import change_record, current_alias, hosted_zone_id, refuse_a_record_not_ours
from core.step import Step, run


def upsert_dns_record(step: Step) -> None:
    settings = step.settings
    zone = hosted_zone_id(step)
    target = load_balancer(step).alias_target()
    if current_alias(step, zone) == target:
        step.say(f"route53 alias {settings.record_name} already points at {settings.elb_name}.")
        return
    refuse_a_record_not_ours(step, zone, target)
    step.say(f"creating route53 alias recordset on {settings.record_name.rstrip('.')}...")
    change_record(step, zone, "UPSERT", {"Name": settings.record_name, "Type": "A", "AliasTarget": target})


if __name__ == "__main__":
    run("setup", upsert_dns_record)
