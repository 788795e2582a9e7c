"""Bake an AMI with Packer and return its id.

`bake` runs `packer build -machine-readable -color=false -only=<builder> -var k=v ... template`,
keeps Packer's whole machine-readable output in a log file (in the run's record), prints a line
for each moment of the bake worth seeing (MILESTONES, with the time since it began), and returns
the AMI id from the `artifact,0,id` line. Every way a bake can fail (no
packer, a bad template or variable, an AWS error, no image at the end) becomes a BakeError whose
message is one line naming what failed and the log to read. `bake_image` is what the deploy
steps call: one image of the release, from deploy/templates/<role>.json.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, TextIO

import jmespath

from .aws import wait
from .network import require_group
from .settings import ROOT
from .step import Step, StepError, say, uninterrupted

# How a packer without the amazon-ebs builder says so: 1.6 to 1.9, and 1.10+ without the plugin.
NO_BUILDER = ("Unknown builder amazon-ebs", "builder amazon-ebs is unknown")
PACKER_COMMA = "%!(PACKER_COMMA)"  # how -machine-readable escapes a comma inside a field
# The moments of an amazon-ebs bake worth a line on the screen; the log has every line.
MILESTONES = re.compile(r"^(==> \w+: (Launching a source|Waiting for SSH|Connected to SSH|Provisioning with"
                        r"|Stopping the source|Creating AMI (?!tags)|Terminating the source)"
                        r"|--> \w+: AMIs were created)")


class BakeError(StepError):
    """A bake failed; str(error) is one line: what failed and what to look at."""


class PackerOutput(NamedTuple):
    image_ids: list[str]  # distinct AMI ids from `artifact,N,id` lines, in order
    errors: list[str]  # `error` lines, or else the `ui,error` lines (template and variable errors)


def one_line(text: str) -> str:
    return " ".join(text.split())


def parse_machine_readable(lines: Iterable[str], say: Callable[[str], None] = lambda message: None) -> PackerOutput:
    """Read `timestamp,target,type,data...` lines: hand each `ui,say`/`ui,message` to `say`
    (as one line), collect AMI ids and error messages. Lines of any other shape are skipped."""
    image_ids: list[str] = []
    errors: list[str] = []
    ui_errors: list[str] = []
    for line in lines:
        fields = line.rstrip("\r\n").split(",")
        if len(fields) < 4 or not fields[0].isdigit():
            continue
        kind = fields[2]
        data = [field.replace(PACKER_COMMA, ",").replace("\\n", "\n") for field in fields[3:]]
        if kind == "ui" and len(data) > 1:
            if data[0] in ("say", "message") and data[1].strip():
                say(one_line(data[1]))
            elif data[0] == "error":
                ui_errors.append(one_line(data[1]))
        elif kind == "artifact" and len(data) > 2 and data[1] == "id":
            # "us-east-1:ami-1", or "us-east-1:ami-1,eu-west-1:ami-2" when copied to more regions
            for region_image in data[2].split(","):
                image_id = region_image.rpartition(":")[2]
                if image_id not in image_ids:
                    image_ids.append(image_id)
        elif kind == "error":
            errors.append(one_line(data[0]))
    return PackerOutput(image_ids, errors or ui_errors)


def _logged(lines: Iterable[str], log: TextIO) -> Iterator[str]:
    for line in lines:
        log.write(line)
        yield line


def packer_command(packer: str, verb: str, template: Path, variables: dict[str, str], only: str) -> list[str]:
    if not Path(template).is_file():
        raise BakeError(f"packer template not found: {template}")
    command = [packer, verb, "-machine-readable", f"-only={only}"] + (["-color=false"] if verb == "build" else [])
    for name, value in variables.items():
        command += ["-var", f"{name}={value}"]
    return command + [str(template)]


def packer_environment(env: dict | None) -> dict:
    env = dict(os.environ if env is None else env)
    env.setdefault("CHECKPOINT_DISABLE", "1")  # no update check: bakes must not wait on the internet
    return env


def no_builder(what: str, errors: list[str], log: str) -> BakeError | None:
    if any(words in error for error in errors for words in NO_BUILDER):
        return BakeError(f"{what} failed: this packer has no amazon-ebs builder (since Packer 1.10 it is a "
                         "plugin): run `packer plugins install github.com/hashicorp/amazon` and deploy again, "
                         f"or set PACKER ({log})")
    return None


def validate(packer: str, templates: dict[Path, dict[str, str]], only: str, env: dict | None = None) -> None:
    """`packer validate` every template with its variables, all at once: offline, in a fraction of
    a second, so a template error or a missing builder stops the deploy before anything is baked."""
    env = packer_environment(env)
    try:
        runs = {template: subprocess.Popen(packer_command(packer, "validate", template, variables, only), text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                           encoding="utf-8", errors="replace")
                for template, variables in templates.items()}
    except FileNotFoundError:
        raise BakeError("packer not found: install it (apt-get install packer) or set PACKER") from None
    failures = []
    for template, process in runs.items():
        output = parse_machine_readable(process.communicate()[0].splitlines(keepends=True))
        if process.returncode:
            what = f"packer validate of {template.name}"
            failures.append(no_builder(what, output.errors, "nothing was baked") or BakeError(
                f"{what} failed: {'; '.join(output.errors) or 'no error message'}: fix the template or its "
                "variables; nothing was baked"))
    if failures:
        raise failures[0]


# How long an interrupted bake gets to clean up after itself (terminate its build instance and wait
# for it, delete its key pair, deregister an image it made): a minute or two on AWS.
CLEANUP_SECONDS = 300


def stop(process: subprocess.Popen, log: TextIO, what: str, timeout: float = CLEANUP_SECONDS) -> None:
    """The run was interrupted: pass it on to Packer (its own session, so only this way) and let it
    clean up, within `timeout`, keeping its output in the log; say what, if anything, it left. The
    caller holds off further interrupts (uninterrupted): a second one must not cut the cleanup short."""
    say(f"packer: interrupted; letting {what} clean up its build instance and key pair "
        f"(at most {timeout:.0f}s)...")
    left: list[str] = []
    # SIGTERM: Packer cancels and cleans up on it as on Ctrl-C, and a SIGINT ignored where the run
    # started (a background job's) would be ignored by Packer too.
    process.send_signal(signal.SIGTERM)
    reader = threading.Thread(target=lambda: left.extend(
        parse_machine_readable(_logged(process.stdout, log)).image_ids), daemon=True)
    reader.start()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        say(f"packer: {what} did not finish cleaning up within {timeout:.0f}s: look for an instance named "
            "packer-* and a key pair packer_* it may have left (see its log)")
        return
    reader.join(5)
    if left:
        say(f"packer: {what} left {', '.join(left)} behind: deregister it")
    else:
        say(f"packer: {what} cleaned up (exit {process.returncode})")


def shown(path: Path) -> str:
    """A path as said and kept (in the release history too): within the project, relative to it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def bake(packer: str, template: Path, variables: dict[str, str], only: str, log_file: Path,
         env: dict | None = None) -> str:
    """Bake `template` with the `only` builder ("aws" or "emulator") and return the AMI id. Packer
    runs in a session of its own: an interrupt reaches it from here, once (stop)."""
    command = packer_command(packer, "build", template, variables, only)
    env = packer_environment(env)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w", encoding="utf-8") as log:
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, encoding="utf-8", errors="replace", env=env,
                                       start_new_session=True)
        except FileNotFoundError:
            raise BakeError("packer not found: install it (apt-get install packer) or set PACKER") from None
        except OSError as error:
            raise BakeError(f"cannot run packer ({packer}): {error.strerror}") from None
        started = time.monotonic()

        def milestone(message: str) -> None:
            if MILESTONES.match(message):
                say(f"packer: {message} [{time.monotonic() - started:.0f}s]")

        what = f"packer build of {Path(template).name} (-only={only})"
        with process:
            try:
                output = parse_machine_readable(_logged(process.stdout, log), say=milestone)
            except KeyboardInterrupt:
                stopped = False
                while not stopped:  # make passes the signal on: a second one must not skip Packer's cleanup
                    try:
                        with uninterrupted():
                            stopped = True
                            stop(process, log, what)
                    except KeyboardInterrupt:  # it came before the shield held: stop was not begun
                        continue
                raise
    if process.returncode != 0:
        missing = no_builder(what, output.errors, f"full log: {shown(log_file)}")
        if missing:
            raise missing
        reason = "; ".join(output.errors) or "no error message"
        if output.image_ids:  # e.g. a post-processor failed after the AMI was made
            reason += f"; it left {', '.join(output.image_ids)} behind"
        raise BakeError(f"{what} failed (exit {process.returncode}): {reason} (full log: {shown(log_file)})")
    if len(output.image_ids) != 1:
        found = ", ".join(output.image_ids) or "no AMI id"
        raise BakeError(f"{what} finished with {found}, expected exactly one AMI (full log: {shown(log_file)})")
    return output.image_ids[0]


# Baking one image of a release: the variables both templates take, and the builder to use.

def bake_image(step: Step, role: str, variables: dict[str, str], remember: Callable[[str], None]) -> str:
    """Bake deploy/templates/<role>.json, hand the AMI id to `remember` at once (so a rollback can
    find it), then wait until the image is available."""
    settings = step.settings
    log = (step.record.folder if step.record else settings.log_dir) / f"packer-{role}.log"
    step.say(f"building {role} image with packer (its whole log: {log.relative_to(ROOT)})...")
    image_id = bake(settings.packer, ROOT / "deploy/templates" / f"{role}.json",
                    {**packer_variables(step), **variables}, only=packer_builder(),
                    log_file=log)
    remember(image_id)
    wait(step.client("ec2"), "image_available", timeout=1800, interval=15, say=step.say,
         progress=lambda parsed: f"waiting for image {image_id} to be available "
                                 f"({jmespath.search('Images[0].State', parsed) or 'not listed yet'})",
         ImageIds=[image_id])
    step.say(f"built image {image_id}")
    return image_id


def packer_variables(step: Step) -> dict[str, str]:
    """What both templates need: where to bake, with which instance type, named by the release."""
    settings = step.settings
    return {
        "region": step.aws.region,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL_EC2") or os.environ.get("AWS_ENDPOINT_URL", ""),
        "instance_type": settings.instance_type,
        "app_name": settings.app_name,
        "stamp": step.recall("stamp", made_by="check-deploy"),
        "ssh_username": settings.bake_ssh_user,
        "bake_group": require_group(step, "bake"),  # Packer makes no security group of its own
        **bake_key(step),
    }


def bake_key(step: Step) -> dict[str, str]:
    """The environment's own key pair, when this machine holds its private key (setup made it here);
    else none, and Packer makes a temporary key pair packer_* and deletes it (a CI runner has no
    deploy/keys/)."""
    settings = step.settings
    if settings.key_file.is_file():
        return {"key_name": settings.key_name, "key_file": str(settings.key_file)}
    return {}


def validate_templates(step: Step, primal: dict[str, str] | None, carnivore: dict[str, str] | None) -> None:
    """Validate the templates this release will bake (None: not baked), with their variables; a
    bake on AWS needs SSH from where Packer runs."""
    if primal is None and carnivore is None:
        return
    if packer_builder() == "aws" and not step.settings.bake_ssh_cidr:
        raise StepError(f"BAKE_SSH_CIDR is empty, so the bake instance admits SSH from nowhere: set it to the range "
                        f"Packer runs from (e.g. 203.0.113.7/32), then run `NODE_ENV={step.settings.node_env} "
                        "make setup`")
    shared = packer_variables(step)
    templates = {ROOT / "deploy/templates" / f"{role}.json": {**shared, **variables}
                 for role, variables in (("primal", primal), ("carnivore", carnivore)) if variables is not None}
    if "key_name" not in shared:
        step.say(f"no deploy/keys/{step.settings.key_name} on this machine: Packer will log in with a temporary "
                 "key pair packer_* (and delete it)")
    validate(step.settings.packer, templates, only=packer_builder())


def packer_builder() -> str:
    """An emulator (AWS_ENDPOINT_URL set) runs no machines: bake there without ssh or provisioners."""
    return "emulator" if os.environ.get("AWS_ENDPOINT_URL") else "aws"
