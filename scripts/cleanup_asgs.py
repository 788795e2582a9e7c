"""deploy: retire the outdated groups once the new one serves: take their instances out of the
load balancer (waiting for connection draining), scale them to 0, wait until their instances are
gone, and delete them with their launch templates. The traffic guard retires them only when the
new group has at least as many instances InService at the load balancer as the largest of them
(it may have scaled out during the deploy), and never takes out the last InService instances."""

from core.groups import retire
from core.release import alone
from core.step import Step, run


def cleanup_asgs(step: Step) -> None:
    outdated = step.recall("outdated_groups", made_by="lookup-asg")
    if not outdated:
        step.say("no outdated autoscaling groups.")
        return
    retire(step, outdated, successor=step.recall("serving", made_by="wait-health"))
    step.remember(outdated_groups=[])


if __name__ == "__main__":
    run("deploy", alone(cleanup_asgs))
