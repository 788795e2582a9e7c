"""deploy: stage in tmp/$NODE_ENV/appserver everything the app image needs: APP_FILES and the build
(tmp/$NODE_ENV/build, at BUILD_OUTPUT). Not the environment's app config (deploy/env/$NODE_ENV.json):
the launch template carries it to the instances as their user data (launch-asg), so the image is
the same for a change of config alone."""

import shutil

from core.release import missing_app_config
from core.settings import ROOT
from core.step import Step, StepError, run


def copy_over(step: Step) -> None:
    settings = step.settings
    if not settings.bakes:
        step.say(f"{settings.image_given}: nothing to stage.")
        return
    stage = settings.stage_dir
    missing = [path for path in settings.app_files if not (ROOT / path).exists()]
    if missing:
        raise StepError(f"APP_FILES lists {' '.join(missing)}, not in the project: fix APP_FILES")
    if not settings.build_dir.is_dir():
        raise StepError(f"no build for {settings.node_env}: run `NODE_ENV={settings.node_env} make build-app` first")
    missing = missing_app_config(step)
    if missing:
        raise StepError(missing)
    step.say(f"copying files over to {stage.relative_to(ROOT)}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for path in settings.app_files:
        copy(ROOT / path, stage / path)
    copy(settings.build_dir, stage / settings.build_output)


def copy(source, target) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


if __name__ == "__main__":
    run("deploy", copy_over)
