"""setup: create the load balancer elb-$APP_NAME-$NODE_ENV in SUBNETS (or AVAILABILITY_ZONES of the
default VPC), tagged with its app and environment: a classic one, or with LOAD_BALANCER_KIND=application
an ALB and its target group tg-$APP_NAME-$NODE_ENV; put it in its security group
$APP_NAME-$NODE_ENV-lb (and no other); then its listeners: HTTP 80 and, with the certificate
(CERTIFICATE), HTTPS 443 (classic: TLS 1.2 policy; ALB: TLS 1.3 policy, and HTTP 80 answers 301 to
HTTPS). What exists is kept or corrected; a load balancer of another app or environment is refused."""

from core.balancer import load_balancer
from core.certificate import certificate_arn, planned_certificate
from core.plan import Change, Planned, carry_out
from core.step import Step, run


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    """Planned ahead (`planned`), a certificate request-certificate has yet to make stands for it;
    in the run itself, none yet is an error, before anything is made."""
    certificate = planned_certificate(step) if planned else certificate_arn(step)
    return load_balancer(step).changes(certificate)


def create_load_balancer(step: Step) -> None:
    changes = plan(step)
    if not changes:
        step.say(f"{step.settings.elb_name} load balancer already exists, as set.")
    carry_out(changes, step.say)


if __name__ == "__main__":
    run("setup", create_load_balancer)
