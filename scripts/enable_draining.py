"""setup: turn on connection draining for DRAINING_SECONDS (default 300; the target group's
deregistration delay for an ALB), so instances taken out of the load balancer finish their
requests before they stop."""

from core.balancer import load_balancer
from core.plan import Change, Planned, carry_out
from core.step import Step, run


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    balancer, seconds = load_balancer(step), step.settings.draining_seconds
    if balancer.made() and balancer.draining_on():
        return []
    return [Change("modify", f"load balancer {balancer.name}", f"connection draining on, {seconds} s",
                   "not as DRAINING_SECONDS says" if balancer.made() else "a new load balancer",
                   do=balancer.enable_draining)]


def enable_draining(step: Step) -> None:
    changes = plan(step)
    if not changes:
        step.say(f"connection draining already on ({step.settings.draining_seconds} s).")
    carry_out(changes, step.say)


if __name__ == "__main__":
    run("setup", enable_draining)
