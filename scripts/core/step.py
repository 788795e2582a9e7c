"""What every step script shares: its settings, AWS clients, progress lines, the hand-off state
between steps, and one way to fail (a single line on stderr and a non-zero exit).

Steps hand results to each other through deploy/log/$NODE_ENV/state.json, so a step can run alone
(`NODE_ENV=dev01 make wait-health`) and say which earlier step to run when its input is missing.
Each run keeps its own record (scripts/core/record.py): what it printed, every AWS call, and why
it failed; the last line of a failed run names that record.
"""

import dataclasses
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import botocore.exceptions

from .aws import Aws, throttled
from .record import Record
from .settings import ROOT, Settings, SettingsError, load, missing_env_file, refuse_a_bare_environment


class StepError(Exception):
    """The step cannot go on; the message says what is wrong and what to do."""


@dataclass
class Release:
    """The release handed between its steps (deploy/log/$NODE_ENV/state.json): every field, once,
    with the step that writes it; None: not written yet. A field the file has that is not declared
    here, or a field asked for that is not, fails at once: a renamed field never reads as missing."""
    stamp: str | None = None  # check-deploy, previous-release: the release's stamp (its group, image, record carry it)
    primal_id: str | None = None  # primal-image: the base image this release's app image is baked from
    image_id: str | None = None  # deployment-image, previous-release: the app image the new group launches
    image_baked: bool = False  # deployment-image: this release baked image_id (a rollback deletes it)
    outdated_groups: list[str] | None = None  # lookup-asg: the environment's groups to retire once the new one serves
    capacity: dict | None = None  # lookup-asg: the new group's min, max and desired (and why)
    scheduled_actions: list[dict] | None = None  # lookup-asg: the serving group's scheduled actions, carried over
    lifecycle_hooks: list[dict] | None = None  # lookup-asg: the serving group's lifecycle hooks, carried over
    group_name: str | None = None  # launch-asg: the new group (written before it is created)
    serving: str | None = None  # wait-health: the new group, once it serves
    warm: dict | None = None  # soak: the old groups' instances kept warm out of the load balancer

    @classmethod
    def check(cls, key: str) -> str:
        if key not in FIELDS:
            raise KeyError(f"{key!r} is no field of the release hand-off (core/step.py Release)")
        return key

    @classmethod
    def read(cls, text: str) -> "Release":
        fields = json.loads(text)
        for key in fields:
            cls.check(key)
        return cls(**fields)


FIELDS = {field.name for field in dataclasses.fields(Release)}


class Context(Protocol):
    """What the core's lookups and changes take of a run, and no more: its settings, its AWS clients
    and region, a way to say a line, what it looked up once. A Step is one; its hand-off (state,
    remember, recall) and its record are not part of it: only the modules that carry a release
    (release, history, packer) take the Step itself (a layout test holds them to that)."""
    settings: Settings
    aws: Aws
    looked_up: dict[str, object]

    def client(self, service: str): ...

    def say(self, message: str) -> None: ...


class Step:
    def __init__(self, phase: str, settings: Settings, target: str | None = None):
        """`target`: the Make target this run is, for its record; None: a read-only run, unrecorded."""
        global _record
        self.phase = phase
        self.settings = settings
        self.began = None  # the stamp of the release this run began, if it did
        # What a run looks up once, by what: "load balancer" (core/balancer.py), "security groups"
        # (core/network.py, which a group setup creates joins).
        self.looked_up: dict[str, object] = {}
        self.aws = Aws(None, warn=lambda line: say(f"{phase}: {line}"))
        if not self.aws.region:
            raise SettingsError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or a region in your AWS profile")
        self.record = _record = Record(settings.log_dir, target, settings.keep_records) if target else None
        self.aws.record = self.record

    def client(self, service: str):
        return self.aws.client(service)

    def say(self, message: str) -> None:
        say(f"{self.phase}: {message}")

    # The hand-off between steps.
    @property
    def state_file(self):
        return self.settings.log_dir / "state.json"

    def state(self) -> Release:
        try:
            return Release.read(self.state_file.read_text())
        except FileNotFoundError:
            return Release()
        except KeyError as error:  # written by another version of the tool
            raise StepError(f"{self.state_file.relative_to(ROOT)}: {error.args[0]}: run `NODE_ENV="
                            f"{self.settings.node_env} make deploy` for a new release") from None

    def remember(self, **values) -> None:
        for key in values:
            Release.check(key)
        self._write(dataclasses.replace(self.state(), **values))

    def begin_release(self, stamp: str) -> None:
        """Start the hand-off of a new release: nothing of an earlier one carries over."""
        self._write(Release(stamp=stamp))
        self.began = stamp
        if self.record:
            self.record.restamp(stamp)

    def _write(self, state: Release) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_suffix(".tmp")
        written = {key: value for key, value in dataclasses.asdict(state).items() if value is not None}
        partial.write_text(json.dumps(written, indent=2) + "\n")
        partial.replace(self.state_file)

    def recall(self, key: str, made_by: str):
        value = getattr(self.state(), Release.check(key))
        if value is None:
            raise StepError(f"no {key.replace('_', ' ')} recorded for {self.settings.node_env} yet: "
                            f"run `NODE_ENV={self.settings.node_env} make {made_by}` first")
        return value


_record: Record | None = None  # the run's record, which keeps every line said


def say(line: str, stream=None) -> None:
    """Print a progress line (and keep it in the run's record). A terminal or pipe that went away
    (Ctrl-C of `make deploy | tee`, a closed ssh session) must never stop a rollback: from the
    first failed write on, lines go nowhere instead."""
    if _record:
        _record.line(line)
    stream = stream or sys.stdout
    try:
        print(line, file=stream, flush=True)
    except OSError:  # EPIPE, EIO
        devnull = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
        os.dup2(devnull.fileno(), stream.fileno())


def run(phase: str, body: Callable[[Step], None], target: str | None = "", recorded: bool = True) -> None:
    """Run one step (or a pipeline of them) as the Make target `target` (default: the body's name,
    dashed); turn every expected failure into one line on stderr, then the line naming the run's
    record, and exit 1. `recorded=False`: a read-only run, which keeps no record. SIGTERM and
    SIGHUP (the terminal closed) are handled like Ctrl-C, so an interrupted step can still undo
    what it started."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    step = None
    try:
        if phase in ("setup", "deploy"):
            refuse_a_bare_environment()
        settings, missing = load(), missing_env_file()
        if missing and recorded:
            say(f"{phase}: note: {missing}")
        step = Step(phase, settings, (target or body.__name__.replace("_", "-")) if recorded else None)
        body(step)
        if step.record:
            step.record.succeed()
    except KeyboardInterrupt:
        fail(step, phase, "interrupted", traceback.format_exc())
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - every failure ends the same way: one line, exit 1
        message = describe(error)
        if message is None:
            if step and step.record:
                step.record.fail(traceback.format_exc())
            raise
        fail(step, phase, f"error: {message}", traceback.format_exc())
        sys.exit(1)


def fail(step: Step | None, phase: str, message: str, trace: str) -> None:
    """Say why the run failed; keep that in its record, and name the record last."""
    say(f"{phase}: {message}", sys.stderr)
    if step and step.record:
        step.record.fail(f"{phase}: {message}\n\n{trace}")
        say(f"{phase}: the record of this run: {step.record.folder.relative_to(ROOT)}/", sys.stderr)


class _Signals:
    shielded = 0  # > 0 inside uninterrupted(): Ctrl-C and SIGTERM wait
    pending = False


def interrupt(*_) -> None:
    if _Signals.shielded:
        _Signals.pending = True
    else:
        raise KeyboardInterrupt


@contextmanager
def uninterrupted():
    """Finish what is inside (taking or releasing the lock, a rollback) even if Ctrl-C or SIGTERM
    comes; the signal then stops the next interruptible() block."""
    _Signals.shielded += 1
    try:
        yield
    finally:
        _Signals.shielded -= 1


@contextmanager
def completed():
    """Let what is inside complete even if Ctrl-C or SIGTERM comes, then stop at once: for the AWS
    calls that create what a rollback must find (a call cut off in flight is still carried out by
    AWS, and may be after the rollback looked)."""
    with uninterrupted():
        yield
    if _Signals.pending and not _Signals.shielded:
        _Signals.pending = False
        raise KeyboardInterrupt


@contextmanager
def interruptible():
    """Let Ctrl-C and SIGTERM stop what is inside, even within an uninterrupted() block."""
    shielded, _Signals.shielded = _Signals.shielded, 0
    try:
        if _Signals.pending:
            _Signals.pending = False
            raise KeyboardInterrupt
        yield
    finally:
        _Signals.shielded = shielded


def describe(error: Exception) -> str | None:
    """One line for an error a user can act on; None for a bug (which keeps its traceback)."""
    if isinstance(error, (SettingsError, StepError)):
        return str(error)
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        return f"{error.operation_name} failed: {info.get('Code')}: {info.get('Message')}"
    if isinstance(error, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)):
        where = os.environ.get("AWS_ENDPOINT_URL") or "AWS"
        return f"cannot reach {where} ({error}): check the network, AWS_ENDPOINT_URL and AWS_REGION"
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials: configure a profile (AWS_PROFILE), SSO, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    if isinstance(error, botocore.exceptions.WaiterError):
        code = throttled(error.last_response or {})
        if code:
            return f"AWS kept throttling the calls of a wait ({code}) past every retry: try again later"
        return f"gave up waiting: {error}"
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return f"AWS call failed: {error}"
    return None
