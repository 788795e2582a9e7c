"""history: the releases of an environment, the newest first, from the history kept in AWS (the
deploy lock table; core/history.py), so every checkout sees the same: each release's stamp, kind
(a rollback names the release it restores), outcome as AWS has it now, image, who and when, and
why it failed. Read-only; it keeps no record."""

from core import history as kept
from core.groups import environment_groups
from core.lock import current_lock
from core.step import Step, run, say


def history(step: Step) -> None:
    releases = kept.releases(step)
    if not releases:
        step.say(f"no releases of {step.settings.node_env} yet: `NODE_ENV={step.settings.node_env} make deploy`")
        return
    running, locked = kept.live_stamps(step, environment_groups(step)), current_lock(step) is not None
    step.say(f"releases of {step.settings.node_env}, the newest first:")
    for release in reversed(releases):
        say(f"  {kept.line(release, running, locked)}")


if __name__ == "__main__":
    run("history", history, recorded=False)
