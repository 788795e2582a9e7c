"""deploy: stage in tmp/appserver everything the app image needs: APP_FILES and the environment's
app config deploy/env/$NODE_ENV.json."""

import shutil

from core.settings import ROOT
from core.step import Step, StepError, run


def copy_over(step: Step) -> None:
    settings = step.settings
    stage = settings.stage_dir
    config = ROOT / "deploy/env" / f"{settings.node_env}.json"
    missing = [path for path in settings.app_files if not (ROOT / path).exists()]
    if missing:
        raise StepError(f"APP_FILES lists {' '.join(missing)}, not in the project: "
                        "run `make build-app` or fix APP_FILES")
    if not config.is_file():
        raise StepError(f"no app config for {settings.node_env}: create deploy/env/{settings.node_env}.json")
    step.say("copying files over to tmp/appserver")
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "deploy/env").mkdir(parents=True)
    for path in settings.app_files:
        source, target = ROOT / path, stage / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    shutil.copy2(config, stage / "deploy/env")


if __name__ == "__main__":
    run("deploy", copy_over)
