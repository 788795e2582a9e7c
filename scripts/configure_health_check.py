"""setup: configure the load balancer's health check: GET /api/status/health on port 80 must
answer 200 within 4 s; checked every 30 s; 2 failures make an instance unhealthy, 2 successes
healthy again."""

from aws import describe_load_balancer
from step import Step, StepError, run

HEALTH_CHECK = {
    "Target": "HTTP:80/api/status/health",
    "Interval": 30,
    "Timeout": 4,
    "UnhealthyThreshold": 2,
    "HealthyThreshold": 2,
}


def configure_health_check(step: Step) -> None:
    name, elb = step.settings.elb_name, step.client("elb")
    balancer = describe_load_balancer(elb, name)
    if balancer is None:
        raise StepError(f"no load balancer {name} yet: run `make setup` first")
    if balancer.get("HealthCheck") == HEALTH_CHECK:
        step.say(f"health check already {HEALTH_CHECK['Target']}.")
        return
    step.say(f"configuring health check {HEALTH_CHECK['Target']} on {name}...")
    elb.configure_health_check(LoadBalancerName=name, HealthCheck=HEALTH_CHECK)


if __name__ == "__main__":
    run("setup", configure_health_check)
