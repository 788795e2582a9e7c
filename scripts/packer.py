"""Bake an AMI with Packer and return its id.

`bake` runs `packer build -machine-readable -color=false -only=<builder> -var k=v ... template`,
keeps Packer's whole machine-readable output in a log file, prints one progress line per Packer
message, and returns the AMI id from the `artifact,0,id` line. Every way a bake can fail (no
packer, a bad template or variable, an AWS error, no image at the end) becomes a BakeError whose
message is one line naming what failed and the log to read.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, TextIO

from step import StepError

PACKER_COMMA = "%!(PACKER_COMMA)"  # how -machine-readable escapes a comma inside a field


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


def bake(packer: str, template: Path, variables: dict[str, str], only: str, log_file: Path,
         env: dict | None = None) -> str:
    """Bake `template` with the `only` builder ("aws" or "emulator") and return the AMI id."""
    if not Path(template).is_file():
        raise BakeError(f"packer template not found: {template}")
    command = [packer, "build", "-machine-readable", "-color=false", f"-only={only}"]
    for name, value in variables.items():
        command += ["-var", f"{name}={value}"]
    command.append(str(template))
    env = dict(os.environ if env is None else env)
    env.setdefault("CHECKPOINT_DISABLE", "1")  # no update check: bakes must not wait on the internet
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w", encoding="utf-8") as log:
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, encoding="utf-8", errors="replace", env=env)
        except FileNotFoundError:
            raise BakeError("packer not found: install it (apt-get install packer) or set PACKER") from None
        except OSError as error:
            raise BakeError(f"cannot run packer ({packer}): {error.strerror}") from None
        with process:
            output = parse_machine_readable(_logged(process.stdout, log),
                                            say=lambda message: print(f"packer: {message}", flush=True))
    what = f"packer build of {Path(template).name} (-only={only})"
    if process.returncode != 0:
        reason = "; ".join(output.errors) or "no error message"
        if output.image_ids:  # e.g. a post-processor failed after the AMI was made
            reason += f"; it left {', '.join(output.image_ids)} behind"
        raise BakeError(f"{what} failed (exit {process.returncode}): {reason} (full log: {log_file})")
    if len(output.image_ids) != 1:
        found = ", ".join(output.image_ids) or "no AMI id"
        raise BakeError(f"{what} finished with {found}, expected exactly one AMI (full log: {log_file})")
    return output.image_ids[0]
