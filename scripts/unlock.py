"""unlock: break this environment's deploy lock when the run that took it died: only once the lock
is older than LOCK_TIMEOUT, so a deploy still running is never unlocked by mistake."""

import time

from core.lock import current_lock, held_by, remove_lock
from core.step import Step, StepError, run


def unlock(step: Step) -> None:
    lock = current_lock(step)
    if lock is None:
        step.say(f"{step.settings.node_env} is not locked.")
        return
    age = time.time() - int(lock["Since"]["N"])
    if age < step.settings.lock_timeout:
        raise StepError(f"the lock is {held_by(step)}, younger than LOCK_TIMEOUT={step.settings.lock_timeout:g} s: "
                        "if that run is really dead, wait or lower LOCK_TIMEOUT")
    step.say(f"breaking the lock {held_by(step)}...")
    remove_lock(step, lock)


if __name__ == "__main__":
    run("unlock", unlock)
