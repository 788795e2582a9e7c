"""demo: the tool's whole job on a local AWS emulator, no AWS account needed. Makes sure Debian's
packer is there, starts the emulator (emulator/: moto, corrected to behave like AWS) on a free
loopback port, creates the hosted zone of the demo domain, then runs `make setup` and two `make deploy`s of
the example app (the real packer bakes against the emulator), `make status` after each and `make
history`, and ends with the record, the live group, its image, the site's https URL and what to
try next. The emulator, and every process the demo started,
stops on exit: also on failure, Ctrl-C or SIGTERM.

Settings come from env/demo.env (NODE_ENV=demo) alone: the caller's AWS_* variables and settings
are set aside (PACKER excepted), so nothing reaches a real account. Of deploy/, the demo clears and
uses only deploy/log/demo and deploy/keys/demo-demo*: they belong to the throwaway emulator."""

import contextlib
import os
import shutil
import subprocess
import sys
import time

import jmespath

from core.certificate import domain_name, own_certificate
from core.dns import current_alias, hosted_zone_id
from core.groups import environment_groups
from core.local import create_hosted_zone, forget_earlier_demo, make, stop, use_only_the_emulator
from core.settings import ROOT
from core.step import Step, StepError, run

IMAGE_TAG = "Tags[?Key == 'Image'].Value | [0]"


def demo(step: Step) -> None:
    started = time.monotonic()
    ensure_packer(step)
    forget_earlier_demo(step)
    with emulator(step) as url:
        os.environ["AWS_ENDPOINT_URL"] = url
        create_hosted_zone(step)
        for target in ("setup", "deploy", "status", "deploy", "status", "history"):
            make(step, target)
        show_result(step)
        step.say(f"done in {time.monotonic() - started:.0f}s; stopping the emulator (the demo's AWS goes with it)")
    what_next(step)


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


@contextlib.contextmanager
def emulator(step: Step):
    """Run the emulator (python -m emulator) on a free loopback port; yield its URL; stop it on the way out."""
    step.say("starting the AWS emulator...")
    server = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0"], cwd=ROOT, stdin=subprocess.DEVNULL,
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


def show_result(step: Step) -> None:
    settings = step.settings
    alias = current_alias(step, hosted_zone_id(step))
    step.say(f"record {settings.record_name} -> {alias['DNSName'] if alias else 'missing'}")
    for group in environment_groups(step):
        step.say(f"live group {group['AutoScalingGroupName']} ({len(group['Instances'])} instance(s)), "
                 f"image {jmespath.search(IMAGE_TAG, group)}")
    certificate = own_certificate(step) or {}
    step.say(f"the site: https://{domain_name(step)}/ (certificate {certificate.get('Status', 'missing')}; "
             "on AWS, http:// answers 301 to it)")


def what_next(step: Step) -> None:
    log = step.settings.log_dir.relative_to(ROOT)
    for line in (
            "what next:",
            f"  what each run did: {log}/<time>-<target>/ (progress.log, aws.jsonl: every AWS call, packer-*.log)",
            "  drive it by hand: `make emulator` in one shell, the exports it prints in another, then",
            "    NODE_ENV=demo make setup deploy status history rollback   (`make help` lists every target)",
            "    NODE_ENV=demo SOAK_SECONDS=60 make deploy   (the old instances kept warm for a minute; "
            "Ctrl-C goes back to them)",
            "    NODE_ENV=demo make emulator-health HEALTH=fail deploy   (a release that never gets healthy: "
            "rolled back; HEALTH=sour fails a soak, HEALTH=ok heals)",
            "  on your own AWS account: README.md, \"First run on AWS\" (credentials, hosted zone, BASE_AMI, costs)"):
        step.say(line)


if __name__ == "__main__":
    use_only_the_emulator()
    run("demo", demo, recorded=False)
