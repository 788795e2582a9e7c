"""Run a list of steps in one process, in the order the Makefile gives them.

`make setup` and `make deploy` use this so a whole run shares one AWS session and pays Python's
start-up once; each step is still the same function its own target runs alone
(`make wait-health` runs scripts/wait_health.py, whose function wait_health is called here).
"""

import importlib
import re
import sys

from step import Step, run

STEP_NAME = re.compile(r"^[a-z][a-z-]*$")


def pipeline(steps: list[str]):
    def run_steps(step: Step) -> None:
        for name in steps:
            function = name.replace("-", "_")
            getattr(importlib.import_module(function), function)(step)
    return run_steps


if __name__ == "__main__":
    phase, steps = sys.argv[1], sys.argv[2:]
    if not all(STEP_NAME.match(name) for name in steps):
        sys.exit(f"{phase}: error: step names are lowercase words joined by hyphens, got {steps}")
    run(phase, pipeline(steps))
