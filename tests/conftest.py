"""The test harness: the corrected AWS emulator (emulator/) for the whole session, reset
before each test, and a copy of the project in which the real Make targets run as subprocesses.

Running make in a copy keeps the tests away from the developer's own deploy/keys and deploy/log.
A make run that a fresh project would run the same way (the same runs before it, the same settings,
files and emulator state) is run once per session: its result and what it left (the emulator's state
and the project's generated files) are kept, and later tests of any worker that reach it get them
back instead (Project.make; TESTS_REPLAY=0 runs every one).
Every make run signs as its environment's deployer, the IAM user `deployer-<NODE_ENV>`, who holds
exactly the managed policies `make iam-policy` writes for that environment of the app (the
documents of scripts/core/iam.py, for the test account, region and hosted zone), and whose calls
(Packer's too) the emulator checks against them; the harness's own calls (what a test sets up and
looks at) use the unchecked admin key "testing".
"""

import functools
import gc
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # the core (scripts/core) and the emulator package

from core.iam import documents  # noqa: E402
from core.record import FOLDER, records  # noqa: E402
from core.settings import SAFE_NAME, SAFE_NAME_MAX  # noqa: E402
from emulator import Emulator  # noqa: E402

REGION = "us-east-1"
BASE_AMI = "ami-1e749f67"
LOCK_BOOKKEEPING = {("dynamodb", "PutItem"), ("dynamodb", "DeleteItem")}
ACCOUNT, TLD = "123456789012", "example.com"  # moto's account; the tests' hosted zone
SAMPLE_ZONE = "Z0123456789EXAMPLE"  # for the policy's checks that need no emulator
DEPLOYER = "deployer"
ADMIN_KEY = "testing"
GENERATED = ("deploy/log", "deploy/keys", "deploy/iam", "tmp", "app/dist")
REPLAY = os.environ.get("TESTS_REPLAY", "1") != "0"
REPLAYS = [Path()]  # the folder of the kept make runs, shared by the workers: see replays()


class Replay:
    """A make run kept for later tests (of every worker), in a folder named by its key: its result,
    the emulator's state and the deploying principal after it (run.pickle), and the project's
    generated files (files/)."""

    def __init__(self, key: tuple):
        self.folder = REPLAYS[0] / hashlib.sha256(repr(key).encode()).hexdigest()

    def keep(self, project: "Project", result: subprocess.CompletedProcess, logs: tuple[int, int], files: str) -> None:
        """Keep the run, with the calls and IAM checks it added to the logs (of `logs` lengths before)
        and the fingerprint of the files it left."""
        part = Path(tempfile.mkdtemp(prefix="part-", dir=self.folder.parent))
        copy_generated(project.path, part / "files")
        added = project.emulator.calls[logs[0]:], project.emulator.iam.checked[logs[1]:]
        (part / "run.pickle").write_bytes(pickle.dumps(
            (result, project.emulator.snapshot(), added, (project.deployers, project.zone), files)))
        try:
            part.rename(self.folder)
        except OSError:  # another worker kept it first
            shutil.rmtree(part)

    def restore(self, project: "Project") -> tuple[subprocess.CompletedProcess, str] | None:
        """The run's result and the fingerprint of the files it left, its state put back and its
        calls and checks added to the logs; None if it was not kept."""
        if not self.folder.exists():
            return None
        result, emulator, (calls, checks), (project.deployers, project.zone), files = pickle.loads(
            (self.folder / "run.pickle").read_bytes())
        logs = project.emulator.calls + calls, project.emulator.iam.checked + checks
        project.emulator.restore(emulator)
        project.emulator.calls[:], project.emulator.iam.checked[:] = logs
        copy_generated(self.folder / "files", project.path)
        return result, files


def copy_generated(source: Path, target: Path) -> None:
    """The generated folders of `source` in place of those of `target` (none where it has none)."""
    for generated in GENERATED:
        shutil.rmtree(target / generated, ignore_errors=True)
        if (source / generated).exists():
            shutil.copytree(source / generated, target / generated, symlinks=True)


def fingerprint(path: Path) -> str:
    """The project copy's files (names, modes and contents), its generated files among them."""
    digest = hashlib.sha256()
    for folder, folders, files in os.walk(path):
        folders[:] = sorted(f for f in folders if f not in (".venv", "__pycache__", ".pytest_cache", ".ruff_cache"))
        for name in sorted(files):
            file = os.path.join(folder, name)
            stat = os.lstat(file)
            digest.update(f"{os.path.relpath(file, path)}\0{stat.st_mode}\0".encode() + content_digest(file, stat))
    return digest.hexdigest()


CONTENTS: dict[tuple, bytes] = {}  # (file, inode, size, times of change) -> the digest of its content


def content_digest(file: str, stat: os.stat_result) -> bytes:
    """The digest of a file's content (a link's target), read again only when the file changed."""
    known = (file, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if known not in CONTENTS:
        CONTENTS[known] = hashlib.sha256(os.readlink(file).encode() if os.path.islink(file) else
                                         Path(file).read_bytes()).digest()
    return CONTENTS[known]


def record_name(node_env: str) -> str:
    return f"{TLD}." if node_env == "production" else f"{node_env}.{TLD}."


def packer_1_6_tags_afterwards(app: str) -> dict:
    """Granted to the tests' Packer alone, never in the policy a user attaches: Debian's Packer 1.6.6
    tags an image and its snapshot after CreateImage (today's amazon plugin tags them in CreateImage:
    the policy's TagBake), when they hold no tags yet."""
    return {"Sid": "TestsOnlyPacker16TagsAfterCreateImage", "Effect": "Allow", "Action": "ec2:CreateTags",
            "Resource": ["arn:aws:ec2:*::image/*", "arn:aws:ec2:*::snapshot/*"],
            "Condition": {"StringEquals": {"aws:RequestTag/App": app},
                          "StringEqualsIfExists": {"aws:ResourceTag/App": app}}}


def policies(node_env: str = "dev01", app: str = "app", zone_id: str = SAMPLE_ZONE, region: str = REGION
             ) -> dict[str, dict]:
    """The documents `make iam-policy` writes for `node_env` of `app` in the tests' account and
    region ("bake" with the tests' Packer's grant)."""
    written = documents(app=app, node_env=node_env, record_name=record_name(node_env), zone_id=zone_id,
                        account=ACCOUNT, region=region)
    bake = written["bake"]
    return {**written, "bake": {**bake, "Statement": [*bake["Statement"], packer_1_6_tags_afterwards(app)]}}


def policy(*names: str, node_env: str = "dev01", app: str = "app", zone_id: str = SAMPLE_ZONE,
           region: str = REGION) -> dict:
    """One document with the statements of the policies named ("setup", "deploy", "bake", "read"; all
    by default), as AWS evaluates a principal's policies together."""
    written = policies(node_env, app, zone_id, region)
    chosen = [written[name] for name in names or written]
    return {"Version": chosen[0]["Version"], "Statement": [s for d in chosen for s in d["Statement"]]}


# An emulator's state as every test begins (the hosted zone, the dev01 deployer), by its URL: see begin()
FRESH: dict[str, tuple[bytes, dict, str]] = {}


class Project:
    """The project copy, the emulator behind it, and helpers to drive both."""

    def __init__(self, path: Path, emulator: Emulator):
        self.path = path
        self.emulator = emulator
        self.settings: dict[str, str] = {}  # given to every make run, before its own
        self.deployers: dict[tuple, dict[str, str]] = {}  # (app, env, zone, region): its key; see deployer()
        self.zone = ""  # the hosted zone of TLD: see begin()
        self._runs: tuple | None = None  # the make runs since begin(), while nothing else changed
        self._mark: tuple = ()
        self.ran = ""  # what the latest make() did: see there

    def begin(self) -> "Project":
        """As every test begins: a clean emulator with the example.com hosted zone and the deployer,
        no generated files, the project's own files as copied (none an earlier test left or changed);
        from here its make runs may be replayed."""
        self.emulator.reset()  # it forgets the registered principals too: the deployer is made anew
        for generated in GENERATED:
            shutil.rmtree(self.path / generated, ignore_errors=True)
        if fingerprint(self.path) != PRISTINE.get(self.path):  # a file an earlier test left or changed
            copy_project(self.path)
        fresh = FRESH.get(self.emulator.url)
        if fresh:  # as the first test of this emulator made it: put back (10 ms), not made again (0.2 s)
            snapshot, self.deployers, self.zone = fresh[0], dict(fresh[1]), fresh[2]
            self.emulator.restore(snapshot)
        else:
            self.zone = self.client("route53").create_hosted_zone(Name=TLD, CallerReference="tests")[
                "HostedZone"]["Id"].split("/")[-1]
            self.deployers = {}
            self.deployer("dev01")  # the one most tests use, made before anything is kept
            FRESH[self.emulator.url] = self.emulator.snapshot(), dict(self.deployers), self.zone
            # What the worker holds from here to its end (the imports, moto's and botocore's models,
            # the clients): out of the collector's passes, which took a sixth of a worker's CPU.
            gc.freeze()
        self.emulator.calls.clear()
        files = PRISTINE[self.path]  # as the check above made sure
        self._runs, self._mark = ("fresh", files), (self.emulator.mark(), files)
        return self

    def _marks(self) -> tuple:
        return self.emulator.mark(), fingerprint(self.path)

    def zone_id(self) -> str:
        """The hosted zone of TLD, made by begin(): the one `make iam-policy` finds."""
        return self.zone

    def policy(self, *names: str, node_env: str = "dev01", app: str = "app", zone_id: str = "",
               region: str = REGION) -> dict:
        """policy() for this project's hosted zone."""
        return policy(*names, node_env=node_env, app=app, zone_id=zone_id or self.zone_id(), region=region)

    def deployer(self, node_env: str, app: str = "app", zone_id: str = "", region: str = REGION) -> dict[str, str]:
        """The key of the environment's deploying principal, made on first use as on a real account:
        the IAM user `deployer-<env>` (`deployer-<app>-<env>` for another app) with the policies
        `make iam-policy` writes for it (for HOSTED_ZONE and the region when given) attached as customer managed
        policies (moto validates each document), registered with the emulator so that every call it
        signs is checked against them. The harness's IAM calls are left out of the call log."""
        zone_id = zone_id or self.zone_id()
        if (app, node_env, zone_id, region) not in self.deployers:
            user, calls = self.user(node_env, app, zone_id, region), len(self.emulator.calls)
            iam = self.client("iam")
            iam.create_user(UserName=user)
            for kind, document in policies(node_env, app, zone_id, region).items():
                arn = iam.create_policy(PolicyName=f"{user}-{kind}",
                                        PolicyDocument=json.dumps(document))["Policy"]["Arn"]
                iam.attach_user_policy(UserName=user, PolicyArn=arn)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            self.deployers[app, node_env, zone_id, region] = {k: key[k] for k in ("AccessKeyId", "SecretAccessKey")}
            self.emulator.iam.register(key["AccessKeyId"], self.policy(node_env=node_env, app=app, zone_id=zone_id,
                                                                       region=region), user=user)
            del self.emulator.calls[calls:]
        return self.deployers[app, node_env, zone_id, region]

    def user(self, node_env: str, app: str, zone_id: str, region: str = REGION) -> str:
        named = f"{DEPLOYER}-{node_env}" if app == "app" else f"{DEPLOYER}-{app}-{node_env}"
        return "-".join([named] + [part for part, usual in ((zone_id, self.zone_id()), (region, REGION))
                                   if part != usual])

    def signed_client(self, service: str, node_env: str = "dev01"):
        """A client of `service` that signs as the environment's deployer, as make runs do (a test's
        own calls, not through make)."""
        key = self.deployer(node_env)
        return boto3.client(service, endpoint_url=self.emulator.url, region_name=REGION,
                            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])

    def change_policy(self, policy: dict, node_env: str = "dev01", app: str = "app") -> None:
        """From now on the environment's deployer holds `policy` instead."""
        self.emulator.iam.register(self.deployer(node_env, app)["AccessKeyId"], policy,
                                   user=self.user(node_env, app, self.zone_id()))

    def env(self, node_env: str = "dev01", **settings: str) -> dict:
        given = {**self.settings, **settings}
        app, zone_id = given.get("APP_NAME") or "app", given.get("HOSTED_ZONE") or ""
        region = given.get("AWS_REGION") or given.get("AWS_DEFAULT_REGION") or REGION
        names_ok = all(SAFE_NAME.match(name) and len(name) <= SAFE_NAME_MAX for name in (node_env, app)) and \
            re.fullmatch(r"[A-Z0-9]*", zone_id)
        key = self.deployer(node_env, app, zone_id, region) if names_ok else self.deployer("dev01")  # refused first
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NODE_ENV", "MAKE"))}
        env.update(
            # `python3` (BUILD_COMMAND's) is the interpreter the tests run on, found at once: a pyenv
            # shim on PATH would spend 0.1 s of CPU in bash to find it, in every build.
            PATH=os.pathsep.join([str(Path(sys.base_prefix) / "bin"), os.environ.get("PATH", "")]),
            NODE_ENV=node_env,
            AWS_ENDPOINT_URL=self.emulator.url,
            AWS_ACCESS_KEY_ID=key["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            BASE_AMI=BASE_AMI,  # the Ubuntu image the emulator ships
            POLL_INTERVAL="0.1",  # health is scripted by polls, not time: no need to wait long
        )
        env.update(self.settings)
        env.update(settings)
        return env

    def make(self, target: str, node_env: str = "dev01", **settings: str) -> subprocess.CompletedProcess:
        """Run `make <target>`; the result carries returncode, stdout and stderr.

        While nothing but make runs (and reads) changed the emulator or the files since begin(),
        the run is known by those before it and its own target, environment and settings: the
        session's first run so known is kept (Replay), and a later test's run so known gets its
        result and state back instead, its calls and IAM checks added to the logs (self.ran says
        which happened: "run", "kept" or "replayed")."""
        on_path = REPLAY and self._runs is not None and self._marks() == self._mark
        key = (self._runs, target, node_env, tuple(sorted({**self.settings, **settings}.items()))) if on_path else None
        replay = Replay(key) if key else None
        kept = replay.restore(self) if replay else None
        if kept:
            result, files = kept
            self.ran = "replayed"
        else:
            logs = len(self.emulator.calls), len(self.emulator.iam.checked)
            result = subprocess.run(["make", "--no-print-directory", target], cwd=self.path,
                                    env=self.env(node_env, **settings), capture_output=True, text=True,
                                    stdin=subprocess.DEVNULL, timeout=600)
            self.ran = "kept" if replay else "run"
        self._runs = key
        if key:
            self._mark = self._marks()
            if kept:  # anything else the run changed would be missing: GENERATED names every folder it writes
                assert self._mark[1] == files, "a replayed make run left other files than it did"
            else:
                replay.keep(self, result, logs, self._mark[1])
        return result

    def start(self, target: str, node_env: str = "dev01", **settings: str) -> subprocess.Popen:
        """Start `make <target>` in a session of its own (a signal to its group reaches make and the
        step alike), its stdout and stderr piped, to read while it runs."""
        self._runs = None
        return subprocess.Popen(["make", "--no-print-directory", target], cwd=self.path,
                                env=self.env(node_env, **settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    def client(self, service: str):
        return admin_client(self.emulator.url, service)

    def mutating_actions(self) -> list[str]:
        """What changed AWS, less the deploy lock's own take-and-release (see lock_holder)."""
        return [call.action for call in self.emulator.mutating_calls()
                if (call.service, call.action) not in LOCK_BOOKKEEPING]

    def certificate(self, name: str, validate: bool = True) -> str:
        """A certificate for `name` requested as someone else would (no tool involved), its
        validation record put in the example.com zone and waited for unless `validate` is False;
        the call log is cleared after."""
        acm, route53 = self.client("acm"), self.client("route53")
        arn = acm.request_certificate(DomainName=name, ValidationMethod="DNS")["CertificateArn"]
        if not validate:
            self.emulator.calls.clear()
            return arn
        for _ in range(5):  # ACM names the record a moment later
            options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
            if all("ResourceRecord" in option for option in options):
                break
        zone = route53.list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]
        for record in (option["ResourceRecord"] for option in options):
            route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
                "Action": "UPSERT", "ResourceRecordSet": {"Name": record["Name"], "Type": record["Type"], "TTL": 300,
                                                          "ResourceRecords": [{"Value": record["Value"]}]}}]})
        statuses = [acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] for _ in range(3)]
        assert statuses[-1] == "ISSUED", statuses
        self.emulator.calls.clear()
        return arn

    def records(self, node_env: str = "dev01") -> list[Path]:
        """The run records of an environment (deploy/log/<env>/<time>-<target>/), the oldest first."""
        return records(self.path / "deploy/log" / node_env)

    def record(self, target: str, node_env: str = "dev01") -> Path:
        """The newest record of `make <target>`."""
        return [path for path in self.records(node_env) if FOLDER.match(path.name).group(3) == target][-1]

    def calls(self, target: str, node_env: str = "dev01") -> list[dict]:
        """The AWS calls the newest run of `make <target>` made, in order, from its record."""
        return [json.loads(line) for line in (self.record(target, node_env) / "aws.jsonl").read_text().splitlines()]

    def lock_holder(self, node_env: str = "dev01", app: str = "app") -> dict | None:
        return self.client("dynamodb").get_item(
            TableName=f"deploy-lock-{app}-{node_env}", Key={"Environment": {"S": node_env}}).get("Item")


@functools.cache
def admin_client(url: str, service: str):
    """The harness's own client of `service` (signed with the unchecked admin key): made once per
    emulator, as making one costs 5 to 10 ms (the first: 0.2 s)."""
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=ADMIN_KEY,
                        aws_secret_access_key=ADMIN_KEY)


RECORD_LINE = re.compile(r"^[a-z]+: the record of this run: deploy/log/[a-z0-9-]+/[\w.-]+/$")


def errors(result: subprocess.CompletedProcess) -> list[str]:
    """The lines on stderr, but make's own (`make: *** [...] Error 1`) and the last one, naming the
    run's record (checked: a failed recorded run ends with it)."""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    if any(RECORD_LINE.match(line) for line in lines):
        assert RECORD_LINE.match(lines[-1]), lines
    return [line for line in lines if not RECORD_LINE.match(line)]


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """Assert that a make run succeeded, showing its output when it did not."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def pytest_configure(config):
    config.addinivalue_line("markers", "end_to_end: runs make targets in a project copy (`make test-fast` skips it)")


def pytest_collection_modifyitems(items):
    """A test that uses the project copy runs make: it is end to end. `make test-fast` runs the rest
    (settings, layout, polling, Packer's output, the emulator and its IAM, the policies)."""
    for item in items:
        if "workspace" in item.fixturenames:
            item.add_marker(pytest.mark.end_to_end)


@pytest.fixture(scope="module")
def server():
    """An emulator of the module's own, for the tests of the emulator itself (boto3 straight at it)."""
    emulator = Emulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(server):
    server.reset()
    return server


@pytest.fixture(scope="session")
def emulator():
    emulator = Emulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    subprocess.run(["make", "-s", "venv"], cwd=ROOT, check=True)
    path = tmp_path_factory.mktemp("project") / "project"
    replays(tmp_path_factory)
    copy_project(path)
    return path


PRISTINE: dict[Path, str] = {}  # a project copy -> its fingerprint as copied


def copy_project(path: Path) -> None:
    """A copy of the project at `path` (in place of what is there), sharing its virtualenv, its Python
    files compiled once: with PYTHONDONTWRITEBYTECODE set, every step would compile the core again."""
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(ROOT, path, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "log", "keys", "tmp", "dist"))
    (path / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run([sys.executable, "-m", "compileall", "-q", "scripts", "emulator", "app"], cwd=path, check=True)
    PRISTINE[path] = fingerprint(path)


def replays(tmp_path_factory) -> None:
    """The session's folder of kept make runs: its workers' base folders share a parent."""
    base = tmp_path_factory.getbasetemp()
    REPLAYS[0] = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "replays"
    REPLAYS[0].mkdir(exist_ok=True)


@pytest.fixture
def set_up(project) -> Project:
    """An environment after `make setup`, of the default kinds (where the kind does not matter),
    the call log cleared."""
    ok(project.make("setup"))
    project.emulator.calls.clear()
    return project


@pytest.fixture
def project(workspace, emulator) -> Project:
    """A clean emulator with the example.com hosted zone and the deployer holding
    the tool's policies, and a project copy with no generated files."""
    return Project(workspace, emulator).begin()
