"""setup: turn on connection draining (300 s) on the load balancer, so instances taken out of
it finish their requests before they stop."""

from step import Step, run

DRAINING = {"Enabled": True, "Timeout": 300}


def enable_draining(step: Step) -> None:
    name, elb = step.settings.elb_name, step.client("elb")
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName=name)
    if attributes["LoadBalancerAttributes"].get("ConnectionDraining") == DRAINING:
        step.say(f"connection draining already on ({DRAINING['Timeout']} s).")
        return
    step.say(f"enabling connection draining on {name} ({DRAINING['Timeout']} s)...")
    elb.modify_load_balancer_attributes(
        LoadBalancerName=name, LoadBalancerAttributes={"ConnectionDraining": DRAINING})


if __name__ == "__main__":
    run("setup", enable_draining)
