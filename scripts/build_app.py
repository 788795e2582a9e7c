"""deploy: build the app for NODE_ENV with BUILD_COMMAND, like the original's `npm run
build-$NODE_ENV`: a shell command run in the project, with NODE_ENV and BUILD_DIR (this
environment's own, emptied first: tmp/$NODE_ENV/build) in its environment."""

import os
import shutil
import subprocess

from core.plan import Change, Planned, carry_out
from core.settings import ROOT
from core.step import Step, StepError, run, say

COMMAND_NOT_FOUND = 127  # the shell's exit code


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    settings = step.settings
    if not settings.bakes:
        return []  # the image is given: nothing to build
    return [Change("build", f"the app for {settings.node_env}", f"`{settings.build_command}` into "
                   f"{settings.build_dir.relative_to(ROOT)}")]


def build_app(step: Step) -> None:
    settings = step.settings
    if not settings.bakes:
        step.say(f"{settings.image_given}: nothing to build.")
        return
    carry_out(plan(step), step.say)
    shutil.rmtree(settings.build_dir, ignore_errors=True)
    settings.build_dir.mkdir(parents=True)
    environment = {**os.environ, "NODE_ENV": settings.node_env, "BUILD_DIR": str(settings.build_dir)}
    # Its output is relayed line by line (and kept in the run's record): a reader that went away
    # (`make deploy | head`) must not fail the build with a broken pipe.
    with subprocess.Popen(["/bin/sh", "-c", settings.build_command], cwd=ROOT, env=environment, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          errors="replace") as build:
        for line in build.stdout:
            say(line.rstrip("\n"))
    code = build.returncode
    if code:
        hint = " (command not found)" if code == COMMAND_NOT_FOUND else ""
        raise StepError(f"BUILD_COMMAND failed with exit {code}{hint}: fix the build and deploy again")


if __name__ == "__main__":
    run("deploy", build_app)
