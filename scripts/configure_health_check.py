"""setup: configure the health check: GET /api/status/health on port 80 must answer 200 within
4 s; checked every 30 s; 2 failures make an instance unhealthy, 2 successes healthy again (on the
classic load balancer, or on the ALB's target group)."""

from core.balancer import HEALTH_PATH, load_balancer
from core.plan import Change, Planned, carry_out
from core.step import Step, run


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    balancer = load_balancer(step)
    if balancer.health_check_set() if balancer.made() else balancer.MADE_WITH_HEALTH_CHECK:
        return []
    return [Change("modify", f"health check of {balancer.name}", f"HTTP:80{HEALTH_PATH}, every 30 s",
                   "not as setup sets it" if balancer.made() else "a new load balancer",
                   do=balancer.configure_health_check)]


def configure_health_check(step: Step) -> None:
    changes = plan(step)
    if not changes:
        step.say(f"health check already HTTP:80{HEALTH_PATH}.")
    carry_out(changes, step.say)


if __name__ == "__main__":
    run("setup", configure_health_check)
