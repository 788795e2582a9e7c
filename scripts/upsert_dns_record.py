"""setup: point the Route 53 A ALIAS record $NODE_ENV.$TLD. (the apex for production) at the load
balancer, with EvaluateTargetHealth, and wait until Route 53 has applied it. A record there that is
not this environment's is left alone (REPLACE_DNS_RECORD=yes replaces an A record)."""

from core.balancer import load_balancer
from core.dns import (
    change_record,
    current_alias,
    describe_record,
    hosted_zone_id,
    refuse_a_record_not_ours,
)
from core.plan import Change, Planned, carry_out
from core.step import Step, run


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    settings, balancer = step.settings, load_balancer(step)
    zone = hosted_zone_id(step)
    target = balancer.alias_target() if balancer.made() else None
    if target and current_alias(step, zone) == target:
        return []
    was = " ".join(describe_record(record) for record in refuse_a_record_not_ours(step, zone, target))

    def upsert():
        record = {"Name": settings.record_name, "Type": "A", "AliasTarget": balancer.alias_target()}
        change_record(step, zone, "UPSERT", record)
    return [Change("upsert", f"record {settings.record_name}", f"A alias to {settings.elb_name} "
                   f"({target['DNSName'] if target else 'the new load balancer'}), was {was or 'none'}",
                   f"hosted zone {zone}", do=upsert)]


def upsert_dns_record(step: Step) -> None:
    changes = plan(step)
    if not changes:
        step.say(f"route53 alias {step.settings.record_name} already points at {step.settings.elb_name}.")
    carry_out(changes, step.say)


if __name__ == "__main__":
    run("setup", upsert_dns_record)
