"""setup: turn on connection draining for DRAINING_SECONDS (default 300; the target group's
deregistration delay for an ALB), so instances taken out of the load balancer finish their
requests before they stop."""

from core.balancer import load_balancer
from core.step import Step, run


def enable_draining(step: Step) -> None:
    balancer = load_balancer(step)
    if balancer.draining_on():
        step.say(f"connection draining already on ({step.settings.draining_seconds} s).")
        return
    step.say(f"enabling connection draining on {balancer.name} ({step.settings.draining_seconds} s)...")
    balancer.enable_draining()


if __name__ == "__main__":
    run("setup", enable_draining)
