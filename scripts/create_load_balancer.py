"""setup: create the load balancer elb-$APP_NAME-$NODE_ENV in SUBNETS (or AVAILABILITY_ZONES of the
default VPC), tagged with its app and environment: a classic one, or with LOAD_BALANCER_KIND=application
an ALB and its target group tg-$APP_NAME-$NODE_ENV; put it in its security group
$APP_NAME-$NODE_ENV-lb (and no other); then its listeners: HTTP 80 and, with the certificate
(CERTIFICATE), HTTPS 443 (classic: TLS 1.2 policy; ALB: TLS 1.3 policy, and HTTP 80 answers 301 to
HTTPS). What exists is kept or corrected; a load balancer of another app or environment is refused."""

from core.balancer import load_balancer
from core.certificate import certificate_arn
from core.plan import Change, carry_out
from core.step import Step, run


def decide(step: Step, certificate: str | None) -> list[Change]:
    return load_balancer(step).changes(certificate)


def create_load_balancer(step: Step) -> None:
    certificate = certificate_arn(step)  # before anything is made: none yet is an error
    changes = decide(step, certificate)
    if not changes:
        step.say(f"{step.settings.elb_name} load balancer already exists, as set.")
    carry_out(changes, step.say)


if __name__ == "__main__":
    run("setup", create_load_balancer)
