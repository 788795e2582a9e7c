"""Run a list of steps in one process, in the order the Makefile gives them.

`make setup`, `make deploy` and `make rollback` use this so a whole run shares one AWS session and
pays Python's start-up once; each step is still the same function its own target runs alone
(`make wait-health` runs scripts/wait_health.py, whose function wait_health is called here).
Decide, then do: once the first step has checked (and, for a release, picked its stamp), the run
says the plan of the steps after it (each step module's `plan`, as `make plan` does), then carries
it out, each step saying each change ("-> ...") as it makes it.

  --lock      hold the environment's deploy lock for the whole run (scripts/core/lock.py); a step
              function's `before_lock` check (inputs in the checkout alone) runs before it is taken
  --rollback  when a step fails or the run is interrupted before the new group serves, remove
              what this release added (scripts/core/release.py); the old groups keep serving
"""

import argparse
import contextlib
import importlib
import re

from core import history
from core.lock import deploy_lock
from core.plan import Planned, overlap, plan_of, say_plan
from core.release import in_flight, roll_back
from core.step import Step, StepError, describe, interruptible, run, uninterrupted

STEP_NAME = re.compile(r"^[a-z][a-z-]*$")


def pipeline(steps: list[str], lock: bool, rollback: bool):
    def run_steps(step: Step) -> None:
        modules = {target: importlib.import_module(target.replace("-", "_")) for target in steps}
        functions = [getattr(module, target.replace("-", "_")) for target, module in modules.items()]
        for function in functions:  # what a step can check in the checkout alone, before the lock
            getattr(function, "before_lock", lambda step: None)(step)
        with deploy_lock(step) if lock else contextlib.nullcontext():
            try:
                with interruptible():
                    for number, function in enumerate(functions):
                        function(step)
                        if number == 0:
                            say_the_plan(step, dict(list(modules.items())[1:]))
            except BaseException as failure:
                if rollback:
                    with uninterrupted():
                        roll_back_after(step, failure)
                raise
        step.say("done.")  # here, not by make: a reader that went away (`| head`) must not fail a good run
    return run_steps


def say_the_plan(step: Step, rest: dict) -> None:
    """The changes of the steps after the first, planned from what AWS holds now."""
    state = step.state()
    planned = Planned(stamp=state.stamp or "", image=state.image_id or "")
    changes = plan_of(step, rest, planned)
    say_plan(step.say, changes, f"plan of release {planned.stamp}" if planned.stamp else "plan")
    if planned.group:
        step.say(overlap(planned, step.settings))


def roll_back_after(step: Step, failure: BaseException) -> None:
    """Roll back what the release launched, and say in the history how it ended; should the
    rollback fail too, say both, so neither the cause nor the leftovers hide."""
    interrupted = isinstance(failure, KeyboardInterrupt)
    cause = "interrupted" if interrupted else describe(failure) or repr(failure)
    outcome = "interrupted" if interrupted else "rolled back"
    reason = "stopped by Ctrl-C, SIGTERM or SIGHUP" if interrupted else cause
    try:
        if in_flight(step):
            roll_back(step, reason, outcome)
        elif step.began:  # nothing launched yet (or the step that failed already rolled back)
            history.settle(step, outcome, reason)
    except Exception as error:  # noqa: BLE001 - reported with the failure that caused the rollback
        old = ("the old groups' instances are still out of the load balancer, kept warm (`make status` shows "
               "them)" if step.state().warm else "the old groups still serve")
        message = (f"{cause}; then the rollback failed too: {describe(error) or repr(error)}; {old}; run "
                   f"`NODE_ENV={step.settings.node_env} make deploy` again to converge")
        with contextlib.suppress(Exception):
            history.settle(step, "rollback failed", message)
        raise StepError(message) from error


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase")
    parser.add_argument("--lock", action="store_true")
    parser.add_argument("--rollback", action="store_true")
    parser.add_argument("steps", nargs="+", type=lambda name: name if STEP_NAME.match(name) else parser.error(name))
    arguments = parser.parse_args()
    run(arguments.phase, pipeline(arguments.steps, arguments.lock, arguments.rollback), target=arguments.phase)
