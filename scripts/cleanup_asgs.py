"""deploy: retire the outdated groups once the new one serves: take their instances out of the
load balancer (waiting for connection draining), scale them to 0, wait until their instances are
gone, and delete them with their launch templates. The traffic guard retires them only when the
new group has at least as many instances InService at the load balancer as the largest of them
(it may have scaled out during the deploy), and never takes out the last InService instances."""

from core.groups import describe_groups, retire
from core.plan import Change, Planned
from core.release import alone
from core.settings import Settings
from core.step import Step, run


def retire_changes(settings: Settings, groups: list[dict], successor: str, desired: int,
                   pending: str = "") -> list[Change]:
    return [Change("retire", f"group {group['AutoScalingGroupName']}",
                   f"its {len(group['Instances'])} instance(s) out of {settings.elb_name}, drained, scaled to 0; "
                   "deleted with its launch template", f"once {successor} serves {desired}", pending)
            for group in groups]


def plan(step: Step, planned: Planned) -> list[Change]:
    return retire_changes(step.settings, planned.outdated, planned.group, planned.capacity["desired"],
                          pending=f"{planned.group} serving")


def cleanup_asgs(step: Step) -> None:
    outdated = step.recall("outdated_groups", made_by="lookup-asg")
    if not outdated:
        step.say("no outdated autoscaling groups.")
        return
    successor = step.recall("serving", made_by="wait-health")
    desired = step.recall("capacity", made_by="lookup-asg")["desired"]
    for change in retire_changes(step.settings, describe_groups(step, outdated), successor, desired):
        step.say(f"-> {change.line()}")
    retire(step, outdated, successor=successor)
    step.remember(outdated_groups=[])


if __name__ == "__main__":
    run("deploy", alone(cleanup_asgs))
