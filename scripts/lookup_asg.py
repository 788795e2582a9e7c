"""deploy: record this environment's existing groups, to be retired once the new one serves.
Ownership is exact: groups tagged with this App and Environment (a tag filter, so AWS does the
filtering and only this environment's groups are listed), never a name prefix."""

from core.groups import environment_groups
from core.step import Step, run


def lookup_asg(step: Step) -> None:
    step.say("pulling down list of existing autoscaling groups...")
    new_group = step.settings.group_prefix + step.recall("stamp", made_by="check-deploy")
    outdated = [g["AutoScalingGroupName"] for g in environment_groups(step) if g["AutoScalingGroupName"] != new_group]
    step.remember(outdated_groups=outdated)
    step.say(f"outdated groups: {' '.join(outdated) or 'none'}")


if __name__ == "__main__":
    run("deploy", lookup_asg)
