"""plan: what `make setup` and then `make deploy` would change in AWS now (TARGET=setup, deploy,
rollback or destroy: that one alone), from reads alone; nothing is changed. Each change in the
order the run makes it: what it acts on, from what to what, why, and what it waits on when its
outcome is known only once it is done (the id of a bake, health). Drift shows as changes: a rule
added by hand to a security group is revoked, a record pointing elsewhere is upserted (or refused),
a serving group that scaled out is carried over, a setting that contradicts what exists stops the run.
A release also says the instance-hours it adds while old and new groups run together.

Exit status: 0 nothing to change; 2 changes (as `terraform plan -detailed-exitcode`; by default,
setup's: a release always has changes); 1 a run would stop (the line says at which step, and why)."""

import argparse
import importlib
import time

from core.plan import Planned, Stopped, lasting, overlap, plan_of, say_plan
from core.release import next_stamp
from core.step import Step, run

TARGETS = ("setup", "deploy", "rollback", "destroy")
CHANGES = 2  # the exit status of a plan with changes


def plan(targets: list[str], steps: dict[str, list[str]], counted: list):
    """The run's body; the changes that count for the exit status go into `counted`."""
    def plan_targets(step: Step) -> None:
        settings = step.settings
        step.say(f"{settings.node_env} of app {settings.app_name} in {step.aws.region}, "
                 f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC: reads only, nothing is changed")
        for target in targets:
            planned = Planned(stamp=next_stamp())
            modules = {name: importlib.import_module(name.replace("-", "_")) for name in steps[target]}
            try:
                changes = plan_of(step, modules, planned)
            except Stopped as stopped:
                say_plan(step.say, stopped.changes, f"{target} (up to {stopped.target})")
                raise
            after = " (once setup has made its changes)" if target != "setup" and counted else ""
            say_plan(step.say, changes, f"{target}{after}")
            if planned.group:
                step.say(f"{target}: {overlap(planned, settings)}")
            if target != "deploy" or targets == ["deploy"]:
                counted.extend(lasting(changes))
    return plan_targets


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", choices=TARGETS, metavar="TARGET")
    for target in TARGETS[:3]:
        parser.add_argument(f"--{target}", type=str.split, default=[], help=f"the steps of {target}")
    arguments = parser.parse_args()
    lists = {target: getattr(arguments, target) for target in TARGETS[:3]} | {"destroy": ["destroy"]}
    counted = []
    run("plan", plan(arguments.targets, lists, counted), recorded=False)
    raise SystemExit(CHANGES if counted else 0)
