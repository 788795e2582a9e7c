"""Settings: env/defaults.env, then env/$NODE_ENV.env, then the process environment.

Everything is validated here, before any step touches a name, a path or an AWS API, and the
names of every resource are derived here, once.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent

# A DNS label that is also safe in a file name: lowercase letters, digits, inner hyphens.
SAFE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ZONE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
IMAGE = re.compile(r"^ami-[0-9a-f]{8,17}$")
HOSTED_ZONE_ID = re.compile(r"^[A-Z0-9]{1,32}$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP = re.compile(r"^(sg-[0-9a-f]{8,17}|[A-Za-z0-9._-]{1,255})$")
LAUNCH_KINDS = ("template", "configuration")
LOAD_BALANCER_KINDS = ("classic", "application")
CLASSIC_LB_NAME_MAX = 32


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    node_env: str
    app_name: str
    tld: str
    hosted_zone: str | None
    availability_zones: tuple[str, ...]
    instance_type: str
    min_capacity: int
    max_capacity: int
    desired_capacity: int
    primal_id: str | None
    image_id: str | None
    base_ami: str | None
    cleanup: bool
    packer: str
    health_timeout: float
    poll_interval: float
    build_command: str
    app_files: tuple[str, ...]
    keep_images: int
    lock_timeout: float
    security_groups: tuple[str, ...]
    subnets: tuple[str, ...]
    launch_kind: str
    load_balancer_kind: str

    # Names of this environment's resources (the contract in DESIGN.md).
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
    def log_dir(self) -> Path:
        return ROOT / "deploy" / "log" / self.node_env

    @property
    def ownership_tags(self) -> dict[str, str]:
        """Tags that say exactly which app and environment a resource belongs to."""
        return {"App": self.app_name, "Environment": self.node_env}


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings of NODE_ENV (default staging)."""
    environ = dict(os.environ if environ is None else environ)
    node_env = environ.get("NODE_ENV") or "staging"
    _check_name("NODE_ENV", node_env)
    values = {**dotenv_values(ROOT / "env" / "defaults.env")}
    env_file = ROOT / "env" / f"{node_env}.env"
    if env_file.exists():
        values.update(dotenv_values(env_file))
    values.update({k: v for k, v in environ.items() if k in KNOWN})
    get = lambda key: (values.get(key) or "").strip() or None  # noqa: E731

    app_name = _required(get, "APP_NAME")
    _check_name("APP_NAME", app_name)
    elb_name = f"elb-{app_name}-{node_env}"
    if len(elb_name) > CLASSIC_LB_NAME_MAX:
        raise SettingsError(
            f"APP_NAME and NODE_ENV are too long: load balancer name {elb_name} has "
            f"{len(elb_name)} characters, AWS allows {CLASSIC_LB_NAME_MAX}; shorten one of them")

    tld = _required(get, "TLD").lower().rstrip(".")
    if not DOMAIN.match(tld):
        raise SettingsError(f"TLD={tld!r} is not a domain name like example.com")
    hosted_zone = get("HOSTED_ZONE")
    if hosted_zone:
        hosted_zone = hosted_zone.removeprefix("/hostedzone/")
        if not HOSTED_ZONE_ID.match(hosted_zone):
            raise SettingsError(f"HOSTED_ZONE={hosted_zone!r} is not a Route 53 zone id like Z0123456789ABC")

    zones = tuple((get("AVAILABILITY_ZONES") or "").split())
    if not zones:
        raise SettingsError("AVAILABILITY_ZONES is empty: name at least one zone, e.g. us-east-1a")
    for zone in zones:
        if not ZONE.match(zone):
            raise SettingsError(f"AVAILABILITY_ZONES has {zone!r}, not a zone name like us-east-1a")

    instance_type = _required(get, "INSTANCE_TYPE")
    if not INSTANCE_TYPE.match(instance_type):
        raise SettingsError(f"INSTANCE_TYPE={instance_type!r} is not an instance type like t3.micro")
    minimum, maximum, desired = (_integer(get, k) for k in ("MIN_CAPACITY", "MAX_CAPACITY", "DESIRED_CAPACITY"))
    if not minimum <= desired <= maximum or desired < 1:
        raise SettingsError(
            f"capacities must satisfy 1 <= DESIRED_CAPACITY and MIN_CAPACITY <= DESIRED_CAPACITY <= MAX_CAPACITY "
            f"(got {minimum} <= {desired} <= {maximum})")

    if _integer(get, "KEEP_IMAGES") < 1:
        raise SettingsError("KEEP_IMAGES must be at least 1: the live release's image is always kept")

    cleanup = (get("CLEANUP") or "yes").lower()
    if cleanup not in ("yes", "no"):
        raise SettingsError(f"CLEANUP={cleanup!r}: use yes or no")

    return Settings(
        node_env=node_env,
        app_name=app_name,
        tld=tld,
        hosted_zone=hosted_zone,
        availability_zones=zones,
        instance_type=instance_type,
        min_capacity=minimum,
        max_capacity=maximum,
        desired_capacity=desired,
        primal_id=_image(get, "PRIMAL_ID"),
        image_id=_image(get, "IMAGE_ID"),
        base_ami=_image(get, "BASE_AMI"),
        cleanup=cleanup == "yes",
        packer=_required(get, "PACKER"),
        health_timeout=_seconds(get, "HEALTH_TIMEOUT"),
        poll_interval=_seconds(get, "POLL_INTERVAL"),
        build_command=_required(get, "BUILD_COMMAND"),
        app_files=_project_paths(get, "APP_FILES"),
        keep_images=_integer(get, "KEEP_IMAGES"),
        lock_timeout=_seconds(get, "LOCK_TIMEOUT"),
        security_groups=_listed(get, "SECURITY_GROUPS", SECURITY_GROUP, "a security group id like sg-0123abcd or name"),
        subnets=_listed(get, "SUBNETS", SUBNET, "a subnet id like subnet-0123abcd"),
        launch_kind=_one_of(get, "LAUNCH_KIND", LAUNCH_KINDS),
        load_balancer_kind=_one_of(get, "LOAD_BALANCER_KIND", LOAD_BALANCER_KINDS),
    )


# Settings read from the process environment even when the env files do not mention them.
KNOWN = {
    "APP_NAME", "TLD", "HOSTED_ZONE", "AVAILABILITY_ZONES", "INSTANCE_TYPE", "MIN_CAPACITY",
    "MAX_CAPACITY", "DESIRED_CAPACITY", "PRIMAL_ID", "IMAGE_ID", "BASE_AMI", "CLEANUP", "PACKER",
    "HEALTH_TIMEOUT", "POLL_INTERVAL", "BUILD_COMMAND", "APP_FILES", "KEEP_IMAGES", "SECURITY_GROUPS",
    "LOCK_TIMEOUT", "SUBNETS", "LAUNCH_KIND",
    "LOAD_BALANCER_KIND",
}


def _check_name(key: str, value: str) -> None:
    if len(value) > 20 or not SAFE_NAME.match(value):
        raise SettingsError(
            f"{key}={value!r} is not a safe name: use 1-20 lowercase letters, digits and inner hyphens (e.g. dev01)")


def _required(get, key: str) -> str:
    value = get(key)
    if value is None:
        raise SettingsError(f"{key} is not set: set it in env/defaults.env, env/$NODE_ENV.env or the environment")
    return value


def _integer(get, key: str) -> int:
    value = _required(get, key)
    if not value.isdigit():
        raise SettingsError(f"{key}={value!r} is not a whole number")
    return int(value)


def _seconds(get, key: str) -> float:
    value = _required(get, key)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not seconds > 0:
        raise SettingsError(f"{key}={value!r} is not a positive number of seconds")
    return seconds


def _project_paths(get, key: str) -> tuple[str, ...]:
    paths = tuple(_required(get, key).split())
    for path in paths:
        if path.startswith("/") or ".." in Path(path).parts:
            raise SettingsError(f"{key} has {path!r}: list paths inside the project, relative to its top")
    return paths


def _listed(get, key: str, pattern: re.Pattern, what: str) -> tuple[str, ...]:
    values = tuple((get(key) or "").split())
    for value in values:
        if not pattern.match(value):
            raise SettingsError(f"{key} has {value!r}, not {what}")
    return values


def _one_of(get, key: str, choices: tuple[str, ...]) -> str:
    value = _required(get, key)
    if value not in choices:
        raise SettingsError(f"{key}={value!r}: use one of {', '.join(choices)}")
    return value


def _image(get, key: str) -> str | None:
    value = get(key)
    if value is not None and not IMAGE.match(value):
        raise SettingsError(f"{key}={value!r} is not an image id like ami-0123456789abcdef0")
    return value
