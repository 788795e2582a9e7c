"""deploy: retire the outdated groups once the new one serves: take their instances out of the
load balancer (waiting for connection draining), scale them to 0, wait until their instances are
gone, and delete them with their launch templates. The traffic guard refuses to take out the
last InService instances of the load balancer."""

from core.groups import retire
from core.step import Step, run


def cleanup_asgs(step: Step) -> None:
    outdated = step.recall("outdated_groups", made_by="lookup-asg")
    if not outdated:
        step.say("no outdated autoscaling groups.")
        return
    retire(step, outdated)
    step.remember(outdated_groups=[])


if __name__ == "__main__":
    run("deploy", cleanup_asgs)
