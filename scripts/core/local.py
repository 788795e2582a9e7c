"""Running the tool against the local AWS emulator (emulator/), as `make demo` and `make bench` do:
the environment that points every AWS client at it and nowhere else, a clean slate for the demo
environment, its hosted zone, and `make` runs whose whole process group ends with them."""

import contextlib
import os
import shutil
import signal
import subprocess
import time

from .settings import NAMES, ROOT
from .step import Context, StepError

NODE_ENV = "demo"
EMULATOR_ENVIRONMENT = {
    "NODE_ENV": NODE_ENV,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
STOP_TIMEOUT = 15  # seconds a child gets after SIGTERM (an interrupted deploy rolls back), then SIGKILL


def use_only_the_emulator() -> None:
    """Set aside the caller's AWS configuration and settings: the demo's come from env/demo.env."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in NAMES - {"PACKER"}:
            del os.environ[name]
    os.environ.update(EMULATOR_ENVIRONMENT)


def forget_earlier_demo(step: Context) -> None:
    """An earlier demo's log and keys belong to its emulator, which is gone."""
    settings = step.settings
    shutil.rmtree(settings.log_dir, ignore_errors=True)
    for path in (settings.key_file, settings.key_file.with_suffix(".pub")):
        path.unlink(missing_ok=True)


def create_hosted_zone(step: Context) -> None:
    step.say(f"creating the hosted zone {step.settings.tld} in the emulator...")
    step.client("route53").create_hosted_zone(Name=step.settings.tld, CallerReference=NODE_ENV)


def make(step: Context, target: str, output=None, **settings: str | None) -> float:
    """Run `make <target>` (output to ours, or to the file `output`), `settings` in its environment
    (None: left out); return its wall time."""
    step.say(f"make {target}")
    started = time.monotonic()
    environment = {**os.environ, **{key: value for key, value in settings.items() if value is not None}}
    child = subprocess.Popen(["make", "--no-print-directory", target], cwd=ROOT, stdin=subprocess.DEVNULL,
                             stdout=output, stderr=subprocess.STDOUT if output else None, start_new_session=True,
                             env=environment)
    try:
        code = child.wait()
    finally:
        stop(child)
    seconds = time.monotonic() - started
    if code:
        where = output.name if output else "above"
        raise StepError(f"`make {target}` failed (exit {code}) after {seconds:.0f}s: see {where}")
    step.say(f"make {target}: ok [{seconds:.1f}s]")
    return seconds


def stop(process: subprocess.Popen) -> None:
    """End a child and everything it started (its session): SIGTERM, then SIGKILL after STOP_TIMEOUT."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
