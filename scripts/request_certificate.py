"""setup: the HTTPS certificate for $NODE_ENV.$TLD (the apex for production), as CERTIFICATE says.
auto: find this environment's certificate in ACM (by its name and tags), or request one with DNS
validation; put its validation CNAME in the hosted zone and wait until ACM has ISSUED it (for at
most CERTIFICATE_TIMEOUT seconds). An ARN: check that certificate (in the region, ISSUED, covering
the name). none: nothing (HTTP only)."""

from core.certificate import (
    domain_name,
    given_certificate,
    own_certificate,
    put_validation_records,
    request,
    validation_records,
    wait_issued,
)
from core.dns import hosted_zone_id
from core.plan import Change, Planned, carry_out
from core.step import Step, run


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    settings, name = step.settings, domain_name(step)
    if not settings.https:
        return []
    if settings.certificate != "auto":
        given_certificate(step)  # checked: in the region, ISSUED, covering the name
        return []
    found = own_certificate(step)
    if found and found["Status"] == "ISSUED":
        return []
    zone = hosted_zone_id(step)

    def validate():
        arn = found["CertificateArn"] if found else request(step)
        put_validation_records(step, zone, validation_records(step, arn))
        certificate = wait_issued(step, arn, zone)
        step.say(f"certificate {arn} for {name} ISSUED (expires {certificate['NotAfter']:%Y-%m-%d}).")
    subject = f"certificate {found['CertificateArn']}" if found else f"certificate for {name}"
    return [Change("validate" if found else "request", subject, f"DNS-validated in hosted zone {zone}",
                   "pending validation" if found else "CERTIFICATE=auto",
                   pending=f"ACM issuing it (at most CERTIFICATE_TIMEOUT={settings.certificate_timeout:g}s)",
                   do=validate)]


def request_certificate(step: Step) -> None:
    settings, name = step.settings, domain_name(step)
    changes = plan(step)
    if not settings.https:
        step.say("CERTIFICATE=none: HTTP only, no certificate.")
    elif not changes:
        certificate = given_certificate(step) if settings.certificate != "auto" else own_certificate(step)
        step.say(f"certificate {certificate['CertificateArn']} for {name} ISSUED (expires "
                 f"{certificate['NotAfter']:%Y-%m-%d}).")
    carry_out(changes, step.say)


if __name__ == "__main__":
    run("setup", request_certificate)
