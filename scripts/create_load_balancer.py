"""setup: create the load balancer elb-$APP_NAME-$NODE_ENV, HTTP 80, in SUBNETS (or
AVAILABILITY_ZONES of the default VPC), tagged with its app and environment: a classic one, or with
LOAD_BALANCER_KIND=application an ALB, its target group tg-$APP_NAME-$NODE_ENV and its listener;
then put it in its security group $APP_NAME-$NODE_ENV-lb (and no other). What exists is kept; a
load balancer of another app or environment is refused."""

from core.balancer import load_balancer
from core.step import Step, run


def create_load_balancer(step: Step) -> None:
    balancer = load_balancer(step)
    balancer.create()
    balancer.secure()


if __name__ == "__main__":
    run("setup", create_load_balancer)
