"""deploy: build the app for NODE_ENV with BUILD_COMMAND (run in the project, NODE_ENV in its
environment), like the original's `npm run build-$NODE_ENV`."""

import shlex
import subprocess

from core.settings import ROOT
from core.step import Step, StepError, run


def build_app(step: Step) -> None:
    settings = step.settings
    step.say(f"building app for {settings.node_env} environment ({settings.build_command})")
    try:
        subprocess.run(shlex.split(settings.build_command), cwd=ROOT, check=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError as error:
        raise StepError(f"BUILD_COMMAND cannot run: {error.filename} not found") from None
    except subprocess.CalledProcessError as error:
        raise StepError(f"BUILD_COMMAND failed with exit {error.returncode}: fix the build and deploy again") from None


if __name__ == "__main__":
    run("deploy", build_app)
