"""demo: the tool's whole job on a local AWS emulator, no AWS account needed. Makes sure Debian's
packer is there, starts tests/emulator.py (moto, corrected to behave like AWS) on a free loopback
port, creates the hosted zone of the demo domain, then runs `make setup` and two `make deploy`s of
the example app (the real packer bakes against the emulator), `make status` after each, and ends
with the record, the live group and its image. The emulator, and every process the demo started,
stops on exit: also on failure, Ctrl-C or SIGTERM.

Settings come from env/demo.env (NODE_ENV=demo) alone: the caller's AWS_* variables and settings
are set aside (PACKER excepted), so nothing reaches a real account. Of deploy/, the demo clears and
uses only deploy/log/demo and deploy/keys/demo-demo*: they belong to the throwaway emulator."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

import jmespath

from groups import environment_groups
from settings import KNOWN, ROOT
from step import Step, StepError, run
from upsert_dns_record import current_alias, hosted_zone_id

NODE_ENV = "demo"
EMULATOR = ROOT / "tests/emulator.py"
EMULATOR_ENVIRONMENT = {
    "NODE_ENV": NODE_ENV,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
STOP_TIMEOUT = 15  # seconds a child gets after SIGTERM (an interrupted deploy rolls back), then SIGKILL
IMAGE_TAG = "Tags[?Key == 'Image'].Value | [0]"


def demo(step: Step) -> None:
    started = time.monotonic()
    ensure_packer(step)
    forget_earlier_demo(step)
    with emulator(step) as url:
        os.environ["AWS_ENDPOINT_URL"] = url
        create_hosted_zone(step)
        for target in ("setup", "deploy", "status", "deploy", "status"):
            make(step, target)
        show_result(step)
        step.say(f"done in {time.monotonic() - started:.0f}s; stopping the emulator (the demo's AWS goes with it)")


def use_only_the_emulator() -> None:
    """Set aside the caller's AWS configuration and settings: the demo's come from env/demo.env."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in KNOWN - {"PACKER"}:
            del os.environ[name]
    os.environ.update(EMULATOR_ENVIRONMENT)


def ensure_packer(step: Step) -> None:
    """Install Debian's packer when it is missing and we are root; otherwise say how."""
    packer = step.settings.packer
    if shutil.which(packer):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StepError(f"packer not found ({packer}): install Debian's packer "
                        "(`sudo apt-get install -y packer`), then run `make demo` again")
    step.say("installing packer (apt-get install packer)...")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "packer"]):
        if subprocess.run(command, stdin=subprocess.DEVNULL).returncode:
            raise StepError(f"`{' '.join(command)}` failed: install packer, then run `make demo` again")


def forget_earlier_demo(step: Step) -> None:
    """An earlier demo's log and keys belong to its emulator, which is gone."""
    settings = step.settings
    shutil.rmtree(settings.log_dir, ignore_errors=True)
    for path in (settings.key_file, settings.key_file.with_suffix(".pub")):
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def emulator(step: Step):
    """Run tests/emulator.py on a free loopback port; yield its URL; stop it on the way out."""
    step.say("starting the AWS emulator...")
    server = subprocess.Popen([sys.executable, str(EMULATOR), "--port", "0"], cwd=ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("EMULATOR_URL="):
            raise StepError(f"the emulator did not start (exit {server.poll()}): see its messages above")
        url = line.removeprefix("EMULATOR_URL=")
        step.say(f"emulator at {url}")
        yield url
    finally:
        stop(server)
        server.stdout.close()


def create_hosted_zone(step: Step) -> None:
    step.say(f"creating the hosted zone {step.settings.tld} in the emulator...")
    step.client("route53").create_hosted_zone(Name=step.settings.tld, CallerReference=NODE_ENV)


def make(step: Step, target: str, output=None) -> float:
    """Run `make <target>` (output to ours, or to the file `output`); return its wall time."""
    step.say(f"make {target}")
    started = time.monotonic()
    child = subprocess.Popen(["make", "--no-print-directory", target], cwd=ROOT, stdin=subprocess.DEVNULL,
                             stdout=output, stderr=subprocess.STDOUT if output else None, start_new_session=True)
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


def show_result(step: Step) -> None:
    settings = step.settings
    alias = current_alias(step, hosted_zone_id(step))
    step.say(f"record {settings.record_name} -> {alias['DNSName'] if alias else 'missing'}")
    for group in environment_groups(step):
        step.say(f"live group {group['AutoScalingGroupName']} ({len(group['Instances'])} instance(s)), "
                 f"image {jmespath.search(IMAGE_TAG, group)}")


if __name__ == "__main__":
    use_only_the_emulator()
    run("demo", demo)
