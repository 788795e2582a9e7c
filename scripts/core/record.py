"""The record of one run: every setup, deploy, rollback, destroy, unlock or lone step writes a
folder of its own, deploy/log/$NODE_ENV/<UTC time>-<target>/, that no later run overwrites:

  progress.log       the progress lines as printed, errors included
  aws.jsonl          every AWS call in order, one JSON object a line: when, the service and
                     operation, its parameters and the response or error (secrets never)
  packer-<role>.log  Packer's whole machine-readable output of each bake
  failure.txt        when the run failed: what failed (and a bug's traceback)

An environment keeps its newest KEEP_RECORDS records; a new run removes the older ones. The
read-only targets (status, history, settings) keep none: what they say is on the screen.
"""

import itertools
import json
import re
import shutil
import time
from pathlib import Path

FOLDER = re.compile(r"^(\d{8}T\d{6}Z)(?:\.(\d+))?-([a-z][a-z-]*)$")  # time, the same second's count, target
SECRET_FIELDS = {"KeyMaterial", "SecretAccessKey", "SessionToken"}


class Record:
    def __init__(self, log_dir: Path, target: str, keep: int):
        log_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for n in itertools.count():  # runs in one second, of any targets, get counted folders: in order
            prefix = f"{stamp}{f'.{n}' if n else ''}-"
            if any(log_dir.glob(f"{prefix}*")):
                continue
            self.folder = log_dir / f"{prefix}{target}"
            try:
                self.folder.mkdir()
                break
            except FileExistsError:
                continue
        prune(log_dir, keep)
        # Line-buffered: what a killed run wrote so far is on disk.
        self._progress = open(self.folder / "progress.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._calls = open(self.folder / "aws.jsonl", "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def line(self, text: str) -> None:
        self._progress.write(text + "\n")

    def call(self, service: str, operation: str, params: dict, outcome: dict) -> None:
        """One AWS call: its parameters and its `outcome` ({"response": ...} or {"error": ...})."""
        entry = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "call": f"{service}.{operation}",
                 "params": without_secrets(params), **without_secrets(outcome)}
        self._calls.write(json.dumps(entry, default=str) + "\n")

    def fail(self, report: str) -> None:
        (self.folder / "failure.txt").write_text(report.rstrip("\n") + "\n")


def prune(log_dir: Path, keep: int) -> None:
    """Remove the records of log_dir past the newest `keep`."""
    for old in records(log_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def records(log_dir: Path) -> list[Path]:
    """The records kept, the oldest first."""
    found = {}
    for path in log_dir.iterdir() if log_dir.is_dir() else ():
        match = FOLDER.match(path.name)
        if match and path.is_dir():
            found[match.group(1), int(match.group(2) or 0), path.name] = path
    return [found[key] for key in sorted(found)]


def without_secrets(value):
    if isinstance(value, dict):
        return {k: "<not logged>" if k in SECRET_FIELDS else without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value
