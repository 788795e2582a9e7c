"""deploy: retire the outdated groups once the new one serves: take their instances out of the
load balancer (waiting for connection draining), scale them to 0, wait until their instances are
gone, and delete them with their launch templates. The traffic guard retires them only when the
new group has at least as many instances InService at the load balancer as the largest of them
(it may have scaled out during the deploy; each is a whole copy of the site, two serve at once
only after an interrupted retirement), and never takes out the last InService instances."""

from core.balancer import load_balancer
from core.groups import describe_groups, retire
from core.step import Step, StepError, run


def cleanup_asgs(step: Step) -> None:
    outdated = step.recall("outdated_groups", made_by="lookup-asg")
    if not outdated:
        step.say("no outdated autoscaling groups.")
        return
    check_new_group_serves_as_many(step, outdated)
    retire(step, outdated)
    step.remember(outdated_groups=[])


def check_new_group_serves_as_many(step: Step, outdated: list[str]) -> None:
    settings, balancer = step.settings, load_balancer(step)
    new_group = step.recall("serving", made_by="wait-health")
    at_lb = balancer.serving()
    serving = {group["AutoScalingGroupName"]: len({i["InstanceId"] for i in group["Instances"]} & at_lb)
               for group in describe_groups(step, [new_group, *outdated])}
    new, old = serving.pop(new_group, 0), max(serving.values(), default=0)
    if new < old:
        raise StepError(f"refusing to retire {' '.join(outdated)}: {old} of their instances are {balancer.SERVING} "
                        f"at {settings.elb_name}, only {new} of {new_group} (did they scale out meanwhile?); both "
                        f"serve: run `NODE_ENV={settings.node_env} make deploy` again, it starts with as many")


if __name__ == "__main__":
    run("deploy", cleanup_asgs)
