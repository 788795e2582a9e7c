"""Settings: env/defaults.env, then env/$NODE_ENV.env, then the process environment.

Each setting is declared once, as a field of Settings below: its name (the field's, in capitals),
how it is read and checked, and its one line of help. That declaration drives what load() reads
and validates, the names the process environment may set, and `make settings`. Everything is
validated here, before any step touches a name, a path or an AWS API, and the names of every
resource are derived here, once.
"""

import io
import ipaddress
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from dotenv import dotenv_values
from dotenv.parser import parse_stream

ROOT = Path(__file__).resolve().parents[2]  # the project's top: scripts/core/settings.py

# A DNS label that is also safe in a file name: lowercase letters, digits, inner hyphens.
SAFE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
SAFE_NAME_MAX = 20
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ZONE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
IMAGE = re.compile(r"^ami-[0-9a-f]{8,17}$")
HOSTED_ZONE_ID = re.compile(r"^[A-Z0-9]{1,32}$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP = re.compile(r"^(sg-[0-9a-f]{8,17}|[A-Za-z0-9._-]{1,255})$")
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate/[0-9a-f-]{36}$")
ALARM_NAME = re.compile(r"^[!-~]{1,255}$")  # CloudWatch allows 255 characters; here no spaces (the list's separator)
CLASSIC_LB_NAME_MAX = 32
DEFAULTS = "env/defaults.env"
ENVIRONMENT = "the environment"


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


# Readers: each turns a setting's text (None when unset or empty) into its value, or says what to fix.
Reader = Callable[[str, str | None], Any]


def _required(key: str, value: str | None) -> str:
    if value is None:
        raise SettingsError(f"{key} is not set: set it in env/defaults.env, env/$NODE_ENV.env or the environment")
    return value


def text(key: str, value: str | None) -> str:
    return _required(key, value)


def safe_name(key: str, value: str | None) -> str:
    value = _required(key, value)
    if len(value) > SAFE_NAME_MAX or not SAFE_NAME.match(value):
        raise SettingsError(f"{key}={value!r} is not a safe name: use 1-{SAFE_NAME_MAX} lowercase letters, "
                            "digits and inner hyphens (e.g. dev01)")
    return value


def domain(key: str, value: str | None) -> str:
    value = _required(key, value).lower().rstrip(".")
    if not DOMAIN.match(value):
        raise SettingsError(f"{key}={value!r} is not a domain name like example.com")
    return value


def zone_id(key: str, value: str | None) -> str | None:
    value = value and value.removeprefix("/hostedzone/")
    if value and not HOSTED_ZONE_ID.match(value):
        raise SettingsError(f"{key}={value!r} is not a Route 53 zone id like Z0123456789ABC")
    return value


def zones(key: str, value: str | None) -> tuple[str, ...]:
    names = tuple((value or "").split())
    if not names:
        raise SettingsError(f"{key} is empty: name at least one zone, e.g. us-east-1a")
    for name in names:
        if not ZONE.match(name):
            raise SettingsError(f"{key} has {name!r}, not a zone name like us-east-1a")
    return names


def ec2_type(key: str, value: str | None) -> str:
    value = _required(key, value)
    if not INSTANCE_TYPE.match(value):
        raise SettingsError(f"{key}={value!r} is not an instance type like t3.micro")
    return value


def whole(key: str, value: str | None) -> int:
    value = _required(key, value)
    if not value.isdigit():
        raise SettingsError(f"{key}={value!r} is not a whole number")
    return int(value)


def positive(what: str) -> Reader:
    """A number above 0; `what` names it in the error."""
    def read(key: str, value: str | None) -> float:
        value = _required(key, value)
        try:
            number = float(value)
        except ValueError:
            number = -1
        if not number > 0:
            raise SettingsError(f"{key}={value!r} is not {what}")
        return number
    return read


seconds = positive("a positive number of seconds")


def draining(key: str, value: str | None) -> int:
    """Whole seconds AWS takes for connection draining and deregistration delays: 1 to 3600."""
    number = whole(key, value)
    if not 1 <= number <= 3600:
        raise SettingsError(f"{key}={number}: AWS allows 1 to 3600 seconds")
    return number


def target_value(key: str, value: str | None) -> float | None:
    """A positive number, or unset."""
    return None if value is None else positive("a positive number, like 50")(key, value)


def image(key: str, value: str | None) -> str | None:
    if value is not None and not IMAGE.match(value):
        raise SettingsError(f"{key}={value!r} is not an image id like ami-0123456789abcdef0")
    return value


def environment_name(key: str, value: str | None) -> str | None:
    """Another environment's NODE_ENV, or None."""
    return None if value is None else safe_name(key, value)


def yes_or_no(empty: str) -> Reader:
    """yes or no; `empty` when unset."""
    def read(key: str, value: str | None) -> bool:
        answer = (value or empty).lower()
        if answer not in ("yes", "no"):
            raise SettingsError(f"{key}={answer!r}: use yes or no")
        return answer == "yes"
    return read


def project_paths(key: str, value: str | None) -> tuple[str, ...]:
    paths = tuple(_required(key, value).split())
    for path in paths:
        if path.startswith("/") or ".." in Path(path).parts:
            raise SettingsError(f"{key} has {path!r}: list paths inside the project, relative to its top")
    return paths


def private_range(key: str, value: str | None) -> str | None:
    """A CIDR that SSH may come from; never the whole internet."""
    if value is None:
        return None
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise SettingsError(f"{key}={value!r} is not a CIDR like 203.0.113.0/24") from None
    if network.prefixlen == 0:
        raise SettingsError(f"{key}={value} opens SSH to the whole internet: name your own range, "
                            "e.g. 203.0.113.0/24, or leave it empty (no SSH)")
    return str(network)


def project_path(key: str, value: str | None) -> str:
    paths = project_paths(key, value)
    if len(paths) != 1:
        raise SettingsError(f"{key}={value!r}: name one path, relative to the project's top")
    return paths[0]


def listed(pattern: re.Pattern, what: str) -> Reader:
    def read(key: str, value: str | None) -> tuple[str, ...]:
        values = tuple((value or "").split())
        for one in values:
            if not pattern.match(one):
                raise SettingsError(f"{key} has {one!r}, not {what}")
        return values
    return read


def one_of(*choices: str, empty: bool = False) -> Reader:
    """One of `choices`; with `empty`, unset is allowed too (None)."""
    def read(key: str, value: str | None) -> str | None:
        if value is None and empty:
            return None
        value = _required(key, value)
        if value not in choices:
            raise SettingsError(f"{key}={value!r}: use one of {', '.join(choices)}")
        return value
    return read


def certificate_choice(key: str, value: str | None) -> str:
    """auto, none, or an ACM certificate ARN."""
    value = _required(key, value)
    if value not in ("auto", "none") and not CERTIFICATE_ARN.match(value):
        raise SettingsError(f"{key}={value!r}: use auto (request one), none (HTTP only), or an ACM certificate ARN "
                            "like arn:aws:acm:us-east-1:123456789012:certificate/<id>")
    return value


def setting(read: Reader, help: str):
    """Declare a setting: the field of that name, in capitals, read and checked by `read`."""
    return field(metadata={"read": read, "help": help})


@dataclass(frozen=True)
class Settings:
    node_env: str  # NODE_ENV comes from the process environment alone (default staging)

    # Names: the load balancer is elb-$APP_NAME-$NODE_ENV.
    app_name: str = setting(safe_name, "the app's name, in every resource name (elb-$APP_NAME-$NODE_ENV, ...)")
    load_balancer_kind: str | None = setting(one_of("classic", "application", empty=True),
                                             "classic, or application (an ALB and target group; 2+ zones); "
                                             "empty: the kind that exists, else classic")
    tld: str = setting(domain, "the domain whose hosted zone gets the record $NODE_ENV.$TLD (the apex for production)")
    hosted_zone: str | None = setting(zone_id, "the Route 53 hosted zone id; empty: looked up from TLD")
    replace_dns_record: bool = setting(yes_or_no("no"), "yes: setup may replace an A record at the name that is not "
                                       "this environment's (default no: it refuses)")
    availability_zones: tuple[str, ...] = setting(zones, "zones of the load balancer and groups (space separated)")

    # HTTPS.
    certificate: str = setting(certificate_choice, "auto: an ACM certificate for the record name, DNS-validated in the "
                               "hosted zone; an ACM certificate ARN: that one; none: HTTP only")
    certificate_timeout: float = setting(seconds, "seconds setup waits for a requested certificate to be ISSUED")

    # Instances of each new group.
    instance_type: str = setting(ec2_type, "the instances' type")
    min_capacity: int = setting(whole, "the least instances of a new group")
    max_capacity: int = setting(whole, "the most instances of a new group (widened to hold a serving group's)")
    desired_capacity: int = setting(whole, "the instances a new group starts with, at least (a serving group's "
                                    "current capacity carries over)")
    scaling_metric: str | None = setting(one_of("cpu", "requests", empty=True),
                                         "a target-tracking policy on every new group: cpu (average CPU), requests "
                                         "(requests per target, an ALB only); empty: none")
    scaling_target: float | None = setting(target_value, "the value SCALING_METRIC keeps: a CPU percentage (e.g. 50), "
                                           "or requests per target per minute (e.g. 1000)")

    # The app.
    build_command: str = setting(text, "builds the app for NODE_ENV (which it gets in its environment)")
    app_files: tuple[str, ...] = setting(project_paths, "paths in the project that go into the app image")
    build_output: str = setting(project_path, "where in the app image the build (BUILD_DIR) goes")

    # Network and launches.
    security_groups: tuple[str, ...] = setting(listed(SECURITY_GROUP, "a security group id like sg-0123abcd or name"),
                                               "the instances' security groups (ids, or names in the default VPC)")
    subnets: tuple[str, ...] = setting(listed(SUBNET, "a subnet id like subnet-0123abcd"),
                                       "subnet ids of your own VPC; empty: AVAILABILITY_ZONES of the default VPC")
    ssh_cidr: str | None = setting(private_range, "the one range the instances admit SSH from; empty: no SSH")
    launch_kind: str = setting(one_of("template", "configuration"),
                               "template (launch templates, IMDSv2), or configuration (older accounts only)")

    # Images.
    primal_id: str | None = setting(image, "a primal image to use: skips the primal bake")
    image_id: str | None = setting(image, "an app image to use: skips the app bake (never deleted)")
    image_from: str | None = setting(environment_name, "deploy the image live in that environment of the app "
                                     "(e.g. staging), once it passed its soak there: no build, no bake")
    base_ami: str | None = setting(image, "the Debian or Ubuntu image primal is baked from (unless PRIMAL_ID)")
    cleanup: bool = setting(yes_or_no("yes"), "no: keep every image; yes: delete images past KEEP_IMAGES")
    keep_images: int = setting(whole, "this environment's newest app images kept for rollback (at least 1)")
    keep_primal_images: int = setting(whole, "the app's newest primal (base) images kept, for all its environments")
    packer: str = setting(text, "the packer binary")
    bake_ssh_user: str = setting(text, "BASE_AMI's login user, for Packer's SSH (Debian: admin, Ubuntu: ubuntu)")
    bake_ssh_cidr: str | None = setting(private_range, "the one range the bake instance admits SSH from (where "
                                        "Packer runs; `make setup` applies it); empty: none (AWS bakes need it)")

    # Waiting and the lock.
    health_timeout: float = setting(seconds, "seconds a new group gets to be healthy before it is rolled back")
    poll_interval: float = setting(seconds, "seconds between two looks while waiting")
    draining_seconds: int = setting(draining, "seconds the load balancer drains a retiring instance (connection "
                                    "draining, an ALB's deregistration delay); retirement waits that long and a minute")
    soak_seconds: int = setting(whole, "seconds the new group serves alone before the old groups retire, their "
                                "instances kept warm to go back to at once; 0: no soak (the original's)")
    soak_alarms: tuple[str, ...] = setting(listed(ALARM_NAME, "a CloudWatch alarm name (without spaces)"),
                                           "CloudWatch alarms that end the soak in a rollback when one is in ALARM "
                                           "(space separated)")
    lock_timeout: float = setting(seconds, "seconds after which `make unlock` may break a deploy lock")
    keep_records: int = setting(whole, "how many run records (deploy/log/$NODE_ENV/<time>-<target>/) to keep "
                                "(at least 1)")

    def __post_init__(self):
        elb_name = self.elb_name
        if len(elb_name) > CLASSIC_LB_NAME_MAX:
            raise SettingsError(
                f"APP_NAME and NODE_ENV are too long: load balancer name {elb_name} has "
                f"{len(elb_name)} characters, AWS allows {CLASSIC_LB_NAME_MAX}; shorten one of them")
        minimum, desired, maximum = self.min_capacity, self.desired_capacity, self.max_capacity
        if not minimum <= desired <= maximum or desired < 1:
            raise SettingsError(
                "capacities must satisfy 1 <= DESIRED_CAPACITY and MIN_CAPACITY <= DESIRED_CAPACITY <= MAX_CAPACITY "
                f"(got {minimum} <= {desired} <= {maximum})")
        if bool(self.scaling_metric) != bool(self.scaling_target):
            raise SettingsError("SCALING_METRIC and SCALING_TARGET go together: set both (e.g. cpu and 50), "
                                "or neither (no scaling policy)")
        if self.soak_alarms and not self.soak_seconds:
            raise SettingsError("SOAK_ALARMS are watched during the soak: set SOAK_SECONDS too (e.g. 600), or "
                                "leave SOAK_ALARMS empty")
        if self.health_timeout < self.poll_interval:
            raise SettingsError(f"HEALTH_TIMEOUT={self.health_timeout:g} is shorter than POLL_INTERVAL="
                                f"{self.poll_interval:g}: a wait would give up before it looked; raise HEALTH_TIMEOUT")
        if self.image_from and (self.image_from == self.node_env or self.image_id):
            raise SettingsError(f"IMAGE_FROM={self.image_from} names " + (
                "this environment itself" if self.image_from == self.node_env else "an image as IMAGE_ID does") +
                ": set one of IMAGE_FROM (another environment) and IMAGE_ID")
        if self.keep_images < 1:
            raise SettingsError("KEEP_IMAGES must be at least 1: the live release's image is always kept")
        if self.keep_records < 1:
            raise SettingsError("KEEP_RECORDS must be at least 1: the running one is always kept")

    @property
    def bakes(self) -> bool:
        """A release builds and bakes its image: neither IMAGE_ID nor IMAGE_FROM gives it one."""
        return not (self.image_id or self.image_from)

    @property
    def image_given(self) -> str:
        """What gives a release its image, when it bakes none: IMAGE_ID=..., or IMAGE_FROM=..."""
        return f"IMAGE_ID={self.image_id}" if self.image_id else f"IMAGE_FROM={self.image_from}"

    @property
    def https(self) -> bool:
        return self.certificate != "none"

    # Names of this environment's resources (the contract the README states).
    @property
    def name(self) -> str:
        return f"{self.app_name}-{self.node_env}"

    @property
    def elb_name(self) -> str:
        return f"elb-{self.name}"

    @property
    def key_name(self) -> str:
        return self.name

    @property
    def group_prefix(self) -> str:
        return f"asg-{self.name}-"

    @property
    def record_name(self) -> str:
        host = "" if self.node_env == "production" else f"{self.node_env}."
        return f"{host}{self.tld}."

    @property
    def key_file(self) -> Path:
        return ROOT / "deploy" / "keys" / self.name

    @property
    def app_config(self) -> Path:
        """The app's config for this environment, baked into its image (as the original's)."""
        return ROOT / "deploy" / "env" / f"{self.node_env}.json"

    @property
    def build_dir(self) -> Path:
        """Where BUILD_COMMAND writes this environment's build (it gets the path as BUILD_DIR)."""
        return ROOT / "tmp" / self.node_env / "build"

    @property
    def stage_dir(self) -> Path:
        """Where copy-over stages what this environment's app image needs (the carnivore bake reads it)."""
        return ROOT / "tmp" / self.node_env / "appserver"

    @property
    def log_dir(self) -> Path:
        return ROOT / "deploy" / "log" / self.node_env

    @property
    def ownership_tags(self) -> dict[str, str]:
        """Tags that say exactly which app and environment a resource belongs to."""
        return {"App": self.app_name, "Environment": self.node_env}


DECLARED = tuple(f for f in fields(Settings) if "read" in f.metadata)
NAMES = frozenset(f.name.upper() for f in DECLARED)  # the settings the process environment may set


class Value(NamedTuple):
    text: str | None  # as written (None: set nowhere, or empty)
    origin: str       # env/defaults.env, env/$NODE_ENV.env or the environment


def node_env_of(environ: dict[str, str]) -> str:
    """NODE_ENV, staging when unset; set but empty (a CI variable that is missing) is refused."""
    if environ.get("NODE_ENV") == "":
        raise SettingsError("NODE_ENV is set but empty: name the environment (e.g. NODE_ENV=staging), "
                            "or unset it for staging")
    return safe_name("NODE_ENV", environ.get("NODE_ENV", "staging"))


def env_file(name: str) -> dict[str, str | None]:
    """The settings of env/<name>; a line that is neither NAME=value, a comment nor empty is refused
    (python-dotenv would only warn, and skip it)."""
    text = (ROOT / "env" / name).read_text()
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            written = binding.original.string  # with the empty lines before it
            line = binding.original.line + written[:len(written) - len(written.lstrip())].count("\n")
            raise SettingsError(f"env/{name} line {line}: {written.strip()!r} is not NAME=value: fix it "
                                "(e.g. SOAK_SECONDS=600) or remove it")
    return dotenv_values(stream=io.StringIO(text))


def values(environ: dict[str, str] | None = None) -> dict[str, Value]:
    """Each setting's text for NODE_ENV and where it came from: env/defaults.env, then
    env/$NODE_ENV.env, then the process environment, each over the one before."""
    environ = dict(os.environ if environ is None else environ)
    node_env = node_env_of(environ)
    found = {name: Value(None, "nowhere") for name in NAMES}
    layers = [(f"env/{name}", env_file(name))
              for name in ("defaults.env", f"{node_env}.env") if (ROOT / "env" / name).exists()]
    for origin, layer in [*layers, (ENVIRONMENT, environ)]:
        for name, text in layer.items():
            if name in NAMES:
                found[name] = Value((text or "").strip() or None, origin)
            elif origin != ENVIRONMENT:
                raise SettingsError(f"{origin} sets {name}, which is not a setting: fix its name "
                                    "(`make settings` lists them all)")
    return found


def missing_env_file(environ: dict[str, str] | None = None) -> str | None:
    """What to say when env/$NODE_ENV.env does not exist: the environment runs on the defaults and
    the process environment alone (a typo of NODE_ENV, often)."""
    environ = dict(os.environ if environ is None else environ)
    node_env = node_env_of(environ)
    if (ROOT / "env" / f"{node_env}.env").exists():
        return None
    given = sorted(name for name in NAMES if environ.get(name))
    return (f"there is no env/{node_env}.env: NODE_ENV={node_env} runs on env/defaults.env"
            + (f" and the environment ({', '.join(given)})" if given else " alone"))


def refuse_a_bare_environment(environ: dict[str, str] | None = None) -> None:
    """Setup and deploy of an environment that has neither its env file nor any setting in the
    process environment: a NODE_ENV nobody configured (a typo, an unset CI variable's default)."""
    environ = dict(os.environ if environ is None else environ)
    node_env = node_env_of(environ)
    if missing_env_file(environ) and not any(environ.get(name) for name in NAMES):
        raise SettingsError(f"NODE_ENV={node_env} has no env/{node_env}.env and no setting in the environment: create "
                            f"env/{node_env}.env with its settings (or check NODE_ENV for a typo)")


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings of NODE_ENV (default staging)."""
    environ = dict(os.environ if environ is None else environ)
    found = values(environ)
    return Settings(node_env=node_env_of(environ),
                    **{f.name: f.metadata["read"](f.name.upper(), found[f.name.upper()].text) for f in DECLARED})
