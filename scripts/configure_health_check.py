"""setup: configure the health check: GET /api/status/health on port 80 must answer 200 within
4 s; checked every 30 s; 2 failures make an instance unhealthy, 2 successes healthy again (on the
classic load balancer, or on the ALB's target group)."""

from core.balancer import HEALTH_PATH, load_balancer
from core.step import Step, run


def configure_health_check(step: Step) -> None:
    balancer = load_balancer(step)
    if balancer.health_check_set():
        step.say(f"health check already HTTP:80{HEALTH_PATH}.")
        return
    step.say(f"configuring health check HTTP:80{HEALTH_PATH} on {balancer.name}...")
    balancer.configure_health_check()


if __name__ == "__main__":
    run("setup", configure_health_check)
