"""The record of one run: every setup, deploy, rollback, destroy, unlock or lone step writes a
folder of its own, deploy/log/$NODE_ENV/<UTC time>-<target>/, that no later run overwrites:

  progress.log       the progress lines as printed, errors included
  aws.jsonl          every AWS call in order, one JSON object a line: when, the service and
                     operation, its parameters and the response or error (secrets never)
  packer-<role>.log  Packer's whole machine-readable output of each bake
  failure.txt        when the run failed: what failed, where the details are (and a bug's traceback)
  outcome.txt        how the run ended: succeeded, or failed (with failure.txt)

An environment keeps the records of its newest KEEP_RECORDS runs that changed something in AWS, and
the newest KEEP_RECORDS of any kind (refusals, runs that found nothing to do), and always its
newest failure; a new run removes the rest. The read-only targets (status, history, settings)
keep none: what they say is on the screen.
"""

import itertools
import json
import re
import shutil
import time
from pathlib import Path

FOLDER = re.compile(r"^(\d{8}T\d{6}Z)(?:\.(\d+))?-([a-z][a-z-]*)$")  # time, the same second's count, target
# Never kept: key material, credentials, and the instances' user data (the app config: not a place
# for secrets, but a record is no place for it either).
SECRET_FIELDS = {"KeyMaterial", "SecretAccessKey", "SessionToken", "UserData"}
READS = ("Describe", "List", "Get")
DETAILS = ("details: progress.log (what the run said), aws.jsonl (every AWS call, its parameters and answer), "
           "packer-*.log (each bake's whole output), in this folder")


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

    def restamp(self, stamp: str) -> None:
        """Name the folder by the stamp (YYYYmmddHHMMSS) of the release the run began, as its group
        and images are; its files stay open (a rename keeps them)."""
        named = self.folder.with_name(f"{stamp[:8]}T{stamp[8:]}Z-{FOLDER.match(self.folder.name).group(3)}")
        if named != self.folder and not named.exists():
            self.folder.rename(named)
            self.folder = named

    def line(self, text: str) -> None:
        self._progress.write(text + "\n")

    def call(self, service: str, operation: str, params: dict, outcome: dict) -> None:
        """One AWS call: its parameters and its `outcome` ({"response": ...} or {"error": ...})."""
        entry = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "call": f"{service}.{operation}",
                 "params": without_secrets(params), **without_secrets(outcome)}
        self._calls.write(json.dumps(entry, default=str) + "\n")

    def fail(self, report: str) -> None:
        first, _, rest = report.rstrip("\n").partition("\n")
        (self.folder / "failure.txt").write_text(f"{first}\n{DETAILS}\n{rest}".rstrip("\n") + "\n")
        (self.folder / "outcome.txt").write_text(f"failed: {first}\n")

    def succeed(self) -> None:
        ended = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        (self.folder / "outcome.txt").write_text(f"succeeded at {ended}\n")


def changed_aws(record: Path) -> bool:
    """The run changed something in AWS: a call other than a read, the deploy lock's own take and
    release (a refused or idle run takes it too), that AWS answered."""
    try:
        lines = (record / "aws.jsonl").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        operation, params = entry.get("call", ".").split(".", 1)[1], entry.get("params", {})
        item = (params.get("Item") or params.get("Key") or {}).get("Environment", {}).get("S", "")
        lock = operation in ("PutItem", "DeleteItem") and "/" not in item  # the history's item is <env>/releases
        if "response" in entry and not operation.startswith(READS) and not lock:
            return True
    return False


def prune(log_dir: Path, keep: int) -> None:
    """Keep the records of the newest `keep` runs that changed AWS, the newest `keep` of all, and the
    newest failure; remove the rest (a failed deploy's record is never pushed out by refusals)."""
    found = records(log_dir)
    kept = set(found[-keep:]) | set([r for r in found if changed_aws(r)][-keep:])
    failures = [r for r in found if (r / "failure.txt").exists()]
    kept |= set(failures[-1:])
    for old in found:
        if old not in kept:
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
