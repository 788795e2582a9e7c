"""setup: turn on connection draining (300 s; the target group's deregistration delay for an ALB),
so instances taken out of the load balancer finish their requests before they stop."""

from core.balancer import DRAINING_SECONDS, load_balancer
from core.step import Step, run


def enable_draining(step: Step) -> None:
    balancer = load_balancer(step)
    if balancer.draining_on():
        step.say(f"connection draining already on ({DRAINING_SECONDS} s).")
        return
    step.say(f"enabling connection draining on {balancer.name} ({DRAINING_SECONDS} s)...")
    balancer.enable_draining()


if __name__ == "__main__":
    run("setup", enable_draining)
