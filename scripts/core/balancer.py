"""The environment's load balancer behind one small interface, so every step reads the same for
both kinds LOAD_BALANCER_KIND chooses:

- classic: a classic load balancer elb-$APP_NAME-$NODE_ENV (the original's), HTTP 80 -> 80 and,
  with a certificate, HTTPS 443 -> HTTP 80 under a TLS 1.2 policy (it cannot redirect HTTP to
  HTTPS: the app does, from X-Forwarded-Proto);
- application: an Application Load Balancer elb-$APP_NAME-$NODE_ENV whose listeners forward to the
  target group tg-$APP_NAME-$NODE_ENV, which the groups register their instances in: with a
  certificate, HTTPS 443 under a TLS 1.3 policy, and HTTP 80 answering 301 to HTTPS; without,
  HTTP 80.

Both carry the App and Environment tags; one that names another app or environment is refused.
Waits for draining and for instances registered again use botocore's waiters (elb
InstanceDeregistered and InstanceInService, elbv2 TargetDeregistered and TargetInService), with
each answer shown as a progress line.

Balancer declares what every kind provides; KINDS names each kind's class, so another kind (a
Network Load Balancer) is one class more and its entry there.
"""

from abc import ABC, abstractmethod
from functools import cached_property

import jmespath

from .aws import ELB_HOSTED_ZONE_IDS, tag_list, wait
from .network import HTTP_PORT, HTTPS_PORT, require_group
from .step import Step, StepError

HEALTH_PATH = "/api/status/health"
DRAINING_MARGIN = 60  # retirement waits DRAINING_SECONDS and this long for the load balancer to let go
TAGS = "TagDescriptions[0].Tags[].[Key, Value]"


def load_balancer(step: Step) -> "Balancer":
    """The step's load balancer; one per run, so what it looks up (the target group) is looked up once."""
    if not hasattr(step, "load_balancer"):
        step.load_balancer = existing_kind(step)
    return step.load_balancer


def existing_kind(step: Step) -> "Balancer":
    """The environment's shape is what exists: the kind of load balancer named elb-$APP_NAME-$NODE_ENV
    there is, whatever LOAD_BALANCER_KIND says when unset; a setting that contradicts it is refused.
    A new environment gets the kind set, or a classic one."""
    wanted = step.settings.load_balancer_kind
    first = KINDS[wanted or DEFAULT_KIND](step)
    if first.describe() is not None:
        return first
    for other in (kind(step) for name, kind in KINDS.items() if name != first.kind):
        if other.describe() is None:
            continue
        if wanted:
            raise StepError(f"{first.name} is {'an' if other.kind[0] in 'aeiou' else 'a'} {other.kind} load balancer, "
                            f"but LOAD_BALANCER_KIND={wanted}: leave LOAD_BALANCER_KIND empty "
                            f"(or set it to {other.kind})")
        return other
    return first


def check_load_balancer(step: Step) -> None:
    balancer = load_balancer(step)
    balancer.require()
    balancer.check_ownership()


class Balancer(ABC):
    """What every kind provides (the abstract methods), and what they share: ownership, the ALIAS
    target, placement, waiting with progress lines."""
    kind: str  # its name in LOAD_BALANCER_KIND
    SERVING: str  # what its health answer says of an instance that serves, and of one let go
    DRAINED: str
    IN_SERVICE: str  # botocore's waiters for an instance registered again, and for one drained
    DEREGISTERED: str
    COUNTS_REQUESTS = False  # it counts requests per target (SCALING_METRIC=requests)

    @abstractmethod
    def describe(self) -> dict | None:
        """The load balancer as AWS describes it; None: there is none."""

    @abstractmethod
    def tags(self) -> dict:
        """DescribeTags' answer for it."""

    @abstractmethod
    def create(self) -> None:
        """Create it (and what it forwards to), each only if missing."""

    @abstractmethod
    def check_placement(self) -> None:
        """Refuse, before anything is created, zones or subnets it cannot be made in."""

    @abstractmethod
    def placement(self) -> tuple[list[str], list[str]]:
        """(where it is, where the settings put it)."""

    @abstractmethod
    def apply_security_groups(self, groups: list[str]) -> None: ...

    @abstractmethod
    def https_certificate(self) -> str | None:
        """The certificate of its HTTPS listener, if it has one."""

    @abstractmethod
    def listen(self, certificate: str | None) -> None:
        """Its listeners: HTTP, and HTTPS with `certificate` (None: none)."""

    @abstractmethod
    def draining_on(self) -> bool: ...

    @abstractmethod
    def enable_draining(self) -> None: ...

    @abstractmethod
    def health_check_set(self) -> bool: ...

    @abstractmethod
    def configure_health_check(self) -> None: ...

    @abstractmethod
    def zones(self) -> list[str]: ...

    @abstractmethod
    def attachment(self) -> dict:
        """What CreateAutoScalingGroup takes to attach a group to it."""

    @abstractmethod
    def targets(self, instances: list[str]) -> dict:
        """The parameters that name `instances` to its waiters."""

    @abstractmethod
    def health(self) -> dict[str, tuple[str, str, str]]:
        """Each registered instance: (state, reason code, description)."""

    @abstractmethod
    def register(self, instances: list[str]) -> None: ...

    @abstractmethod
    def deregister(self, instances: list[str]) -> None: ...

    @abstractmethod
    def delete(self) -> None: ...

    def __init__(self, step: Step):
        self.step, self.settings, self.name = step, step.settings, step.settings.elb_name

    def require(self) -> dict:
        found = self.describe()
        if found is None:
            raise StepError(f"no load balancer {self.name}: run `NODE_ENV={self.settings.node_env} make setup` first")
        return found

    def check_ownership(self) -> None:
        """Refuse a load balancer whose tags name another app or environment (untagged ones, made
        by the original scripts, are taken as this environment's)."""
        tags = dict(jmespath.search(TAGS, self.tags()) or [])
        others = {k: tags[k] for k, v in self.settings.ownership_tags.items() if k in tags and tags[k] != v}
        if others:
            raise StepError(f"load balancer {self.name} belongs to {others}, not to "
                            f"{self.settings.ownership_tags}: choose another APP_NAME or NODE_ENV")

    def alias_target(self) -> dict:
        """Its ALIAS target, with its canonical hosted zone (the published per-region id when the
        API leaves it out)."""
        found = self.require()
        region = self.step.aws.region
        zone = found.get("CanonicalHostedZoneNameID") or found.get("CanonicalHostedZoneId") or \
            ELB_HOSTED_ZONE_IDS.get(region)
        if not zone:
            raise StepError(f"no canonical hosted zone id known for load balancers in {region}")
        dns_name = found.get("CanonicalHostedZoneName") or found["DNSName"]
        return {"HostedZoneId": zone, "DNSName": dns_name.rstrip(".").lower() + ".", "EvaluateTargetHealth": True}

    def check_drift(self) -> None:
        """Refuse a load balancer whose zones or subnets are not what the settings say, or that serves
        HTTPS while CERTIFICATE=none: neither is changed in place here, and printing "ok" would hide it."""
        where, wanted = self.placement()
        node_env = self.settings.node_env
        if set(where) != set(wanted):
            setting = "SUBNETS" if self.settings.subnets else "AVAILABILITY_ZONES"
            raise StepError(f"{self.name} is in {' '.join(sorted(where))}, {setting} says {' '.join(sorted(wanted))}: "
                            f"fix {setting}, or `NODE_ENV={node_env} make destroy setup` to move it")
        serving = self.https_certificate()
        if serving and not self.settings.https:
            raise StepError(f"{self.name} serves HTTPS (certificate {serving}), but CERTIFICATE=none: set CERTIFICATE "
                            f"(auto, or that ARN); HTTPS is not taken away in place (`NODE_ENV={node_env} make destroy "
                            "setup` does)")

    def secure(self) -> None:
        """Put the load balancer in exactly its own security group ($APP_NAME-$NODE_ENV-lb)."""
        wanted = [require_group(self.step, "lb")]
        current = self.require().get("SecurityGroups") or []
        if current == wanted:
            return
        self.step.say(f"{self.name}: security group {wanted[0]} (was {' '.join(current) or 'none'})...")
        self.apply_security_groups(wanted)

    DEFAULT_SUBNET_ZONES = "Subnets[].[AvailabilityZone, SubnetId]"

    def zone_subnets(self) -> list[str]:
        """SUBNETS, or the default subnets of AVAILABILITY_ZONES (each zone must have one)."""
        settings = self.settings
        if settings.subnets:
            return list(settings.subnets)
        defaults = [{"Name": "default-for-az", "Values": ["true"]},
                    {"Name": "availability-zone", "Values": list(settings.availability_zones)}]
        found = dict(jmespath.search(self.DEFAULT_SUBNET_ZONES,
                                     self.step.client("ec2").describe_subnets(Filters=defaults)))
        missing = [zone for zone in settings.availability_zones if zone not in found]
        if missing:
            raise StepError(f"{' '.join(missing)} of AVAILABILITY_ZONES has no default subnet: set SUBNETS to "
                            "subnets of your VPC, or choose zones of the default VPC")
        return [found[zone] for zone in settings.availability_zones]

    def wait_drained(self, instances: list[str], timeout: float) -> None:
        """Wait (botocore's InstanceDeregistered or TargetDeregistered waiter, every POLL_INTERVAL for
        at most `timeout` seconds) until the deregistered instances have drained, with a progress
        line for every answer."""
        def progress(parsed):
            rows = jmespath.search(self.STATES, parsed) or []  # none: the instances are no longer registered
            left = sum(state != self.DRAINED for _, state, *_ in rows)
            return f"waiting for connection draining ({left}/{len(instances)} instance(s) still draining)"

        wait(self.client, self.DEREGISTERED, timeout=timeout, interval=self.settings.poll_interval,
             say=self.step.say, progress=progress, **self.targets(instances))

    def wait_serving(self, instances: list[str], timeout: float) -> None:
        """Wait (botocore's InstanceInService or TargetInService waiter, every POLL_INTERVAL for at
        most `timeout` seconds) until the registered instances serve, with a progress line for
        every answer."""
        def progress(parsed):
            rows = jmespath.search(self.STATES, parsed) or []
            return (f"waiting for {len(instances)} instance(s) to pass their health checks at {self.name} "
                    f"({sum(state == self.SERVING for _, state, *_ in rows)}/{len(instances)} {self.SERVING})")

        wait(self.client, self.IN_SERVICE, timeout=timeout, interval=self.settings.poll_interval,
             say=self.step.say, progress=progress, **self.targets(instances))

    def serving(self) -> set[str]:
        return {instance for instance, (state, *_) in self.health().items() if state == self.SERVING}


class Classic(Balancer):
    kind, SERVING, DRAINED = "classic", "InService", "OutOfService"
    LISTENER = {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 80}
    HEALTH_CHECK = {"Target": f"HTTP:80{HEALTH_PATH}", "Interval": 30, "Timeout": 4,
                    "UnhealthyThreshold": 2, "HealthyThreshold": 2}
    DEREGISTERED, IN_SERVICE = "instance_deregistered", "instance_in_service"
    STATES = "InstanceStates[].[InstanceId, State, ReasonCode, Description]"
    # TLS 1.2 only (a classic load balancer has no TLS 1.3), as a policy of the load balancer's own.
    TLS_POLICY, TLS_POLICY_NAME = "ELBSecurityPolicy-TLS-1-2-2017-01", "tls-1-2-2017-01"

    def __init__(self, step: Step):
        super().__init__(step)
        self.client = step.client("elb")

    def describe(self) -> dict | None:
        try:
            return self.client.describe_load_balancers(LoadBalancerNames=[self.name])["LoadBalancerDescriptions"][0]
        except self.client.exceptions.AccessPointNotFoundException:
            return None

    def tags(self) -> dict:
        return self.client.describe_tags(LoadBalancerNames=[self.name])

    def create(self) -> None:
        if self.describe():
            self.check_ownership()
            self.check_drift()
            self.step.say(f"{self.name} load balancer already exists.")
            return
        settings = self.settings
        # In subnets with its group from the start, the default VPC's too: given zones alone, AWS
        # would make a default_elb_<id> group for it, with the caller's ec2:CreateSecurityGroup.
        where = {"Subnets": self.zone_subnets(), "SecurityGroups": [require_group(self.step, "lb")]}
        where_shown = " ".join(settings.subnets or settings.availability_zones)
        self.step.say(f"creating {self.name} load balancer ({where_shown})...")
        self.client.create_load_balancer(LoadBalancerName=self.name, Listeners=[self.LISTENER], **where,
                                         Tags=tag_list(settings.ownership_tags))

    def apply_security_groups(self, groups: list[str]) -> None:
        self.client.apply_security_groups_to_load_balancer(LoadBalancerName=self.name, SecurityGroups=groups)

    def https_listener(self) -> dict | None:
        """The HTTPS listener's description (Listener, PolicyNames), if there is one."""
        found = self.require()["ListenerDescriptions"]
        return next((one for one in found if one["Listener"]["LoadBalancerPort"] == HTTPS_PORT), None)

    def https_certificate(self) -> str | None:
        return ((self.https_listener() or {}).get("Listener") or {}).get("SSLCertificateId")

    def listen(self, certificate: str | None) -> None:
        """With a certificate: HTTPS 443 -> HTTP 80 with it and the TLS 1.2 policy (HTTP 80 stays:
        a classic load balancer cannot redirect, the app does)."""
        if certificate is None:
            return
        client, name, listener = self.client, self.name, self.https_listener()
        if listener is None:
            self.step.say(f"creating the HTTPS listener of {name} (443 -> 80, certificate {certificate})...")
            client.create_load_balancer_listeners(LoadBalancerName=name, Listeners=[{
                "Protocol": "HTTPS", "LoadBalancerPort": HTTPS_PORT, "InstanceProtocol": "HTTP",
                "InstancePort": HTTP_PORT, "SSLCertificateId": certificate}])
        elif listener["Listener"].get("SSLCertificateId") != certificate:
            self.step.say(f"{name}: HTTPS with certificate {certificate} (was {self.https_certificate()})...")
            client.set_load_balancer_listener_ssl_certificate(
                LoadBalancerName=name, LoadBalancerPort=HTTPS_PORT, SSLCertificateId=certificate)
        if (listener or {}).get("PolicyNames") != [self.TLS_POLICY_NAME]:
            self.step.say(f"{name}: HTTPS security policy {self.TLS_POLICY}...")
            try:
                client.create_load_balancer_policy(
                    LoadBalancerName=name, PolicyName=self.TLS_POLICY_NAME, PolicyTypeName="SSLNegotiationPolicyType",
                    PolicyAttributes=[{"AttributeName": "Reference-Security-Policy",
                                       "AttributeValue": self.TLS_POLICY}])
            except client.exceptions.DuplicatePolicyNameException:
                pass  # made by an earlier setup
            client.set_load_balancer_policies_of_listener(
                LoadBalancerName=name, LoadBalancerPort=HTTPS_PORT, PolicyNames=[self.TLS_POLICY_NAME])

    def check_placement(self) -> None:
        self.zone_subnets()  # made in them: each zone needs its default subnet

    def placement(self) -> tuple[list[str], list[str]]:
        """(where it is, where the settings put it): subnets with SUBNETS, else zones."""
        found, settings = self.require(), self.settings
        if settings.subnets:
            return found["Subnets"], list(settings.subnets)
        return found["AvailabilityZones"], list(settings.availability_zones)

    def draining_on(self) -> bool:
        attributes = self.client.describe_load_balancer_attributes(LoadBalancerName=self.name)
        return all(attributes["LoadBalancerAttributes"].get(k) == v for k, v in self.attributes().items())

    def enable_draining(self) -> None:
        self.client.modify_load_balancer_attributes(LoadBalancerName=self.name,
                                                    LoadBalancerAttributes=self.attributes())

    def attributes(self) -> dict:
        """Connection draining, and cross-zone load balancing (off when created through the API)."""
        return {"ConnectionDraining": {"Enabled": True, "Timeout": self.settings.draining_seconds},
                "CrossZoneLoadBalancing": {"Enabled": True}}

    def health_check_set(self) -> bool:
        return self.require().get("HealthCheck") == self.HEALTH_CHECK

    def configure_health_check(self) -> None:
        self.client.configure_health_check(LoadBalancerName=self.name, HealthCheck=self.HEALTH_CHECK)

    def zones(self) -> list[str]:
        return self.require()["AvailabilityZones"]

    def attachment(self) -> dict:
        return {"LoadBalancerNames": [self.name]}

    def targets(self, instances: list[str]) -> dict:
        return {"LoadBalancerName": self.name, "Instances": [{"InstanceId": i} for i in instances]}

    def health(self) -> dict[str, tuple[str, str, str]]:
        """Every registered instance: (state, reason code, description), in one call."""
        found = self.client.describe_instance_health(LoadBalancerName=self.name)
        return {row[0]: tuple(row[1:]) for row in jmespath.search(self.STATES, found)}

    def register(self, instances: list[str]) -> None:
        self.client.register_instances_with_load_balancer(**self.targets(instances))

    def deregister(self, instances: list[str]) -> None:
        self.client.deregister_instances_from_load_balancer(**self.targets(instances))

    def delete(self) -> None:
        self.client.delete_load_balancer(LoadBalancerName=self.name)


class Application(Balancer):
    kind, SERVING, DRAINED = "application", "healthy", "unused"
    COUNTS_REQUESTS = True
    HEALTH_CHECK = {"HealthCheckProtocol": "HTTP", "HealthCheckPort": "80", "HealthCheckPath": HEALTH_PATH,
                    "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 4,
                    "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2, "Matcher": {"HttpCode": "200"}}
    DEREGISTERED, IN_SERVICE = "target_deregistered", "target_in_service"
    STATES = "TargetHealthDescriptions[].[Target.Id, TargetHealth.State, TargetHealth.Reason, TargetHealth.Description]"
    TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2
    REDIRECT = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": str(HTTPS_PORT),
                                                       "StatusCode": "HTTP_301"}}
    CERTIFICATE = "Certificates[0].CertificateArn"
    # What setup sets of a listener, to compare what is with what is wanted (a policy: HTTPS only).
    SHAPE = ("[Protocol, Protocol == 'HTTPS' && SslPolicy, Certificates[0].CertificateArn, DefaultActions[].[Type, "
             "TargetGroupArn, RedirectConfig.Protocol, RedirectConfig.Port, RedirectConfig.StatusCode]]")

    def __init__(self, step: Step):
        super().__init__(step)
        self.client = step.client("elbv2")
        self.target_group_name = f"tg-{step.settings.name}"

    def describe(self) -> dict | None:
        try:
            return self.client.describe_load_balancers(Names=[self.name])["LoadBalancers"][0]
        except self.client.exceptions.LoadBalancerNotFoundException:
            return None

    def target_group(self) -> dict | None:
        try:
            return self.client.describe_target_groups(Names=[self.target_group_name])["TargetGroups"][0]
        except self.client.exceptions.TargetGroupNotFoundException:
            return None

    @cached_property
    def target_group_arn(self) -> str:
        found = self.target_group()
        if found is None:
            raise StepError(f"no target group {self.target_group_name}: run `NODE_ENV={self.settings.node_env} "
                            "make setup` first")
        return found["TargetGroupArn"]

    def tags(self) -> dict:
        return self.client.describe_tags(ResourceArns=[self.require()["LoadBalancerArn"]])

    def check_placement(self) -> None:
        self.subnets()  # two zones or more

    def subnets(self) -> list[str]:
        """SUBNETS, or the default subnets of AVAILABILITY_ZONES; an ALB needs two zones or more."""
        subnets = self.zone_subnets()
        if len(subnets) < 2:
            raise StepError("an application load balancer needs subnets in two zones or more: "
                            "set SUBNETS, or AVAILABILITY_ZONES with default subnets")
        return subnets

    def create(self) -> None:
        """The load balancer and its target group (each only if missing)."""
        tags = tag_list(self.settings.ownership_tags)
        balancer = self.describe()
        if balancer is None:
            subnets = self.subnets()
            self.step.say(f"creating {self.name} application load balancer ({' '.join(subnets)})...")
            balancer = self.client.create_load_balancer(
                Name=self.name, Subnets=subnets, Type="application", Scheme="internet-facing", Tags=tags,
                SecurityGroups=[require_group(self.step, "lb")])["LoadBalancers"][0]
        else:
            self.check_ownership()
            self.check_drift()
            self.step.say(f"{self.name} load balancer already exists.")
        target_group = self.target_group()
        if target_group is None:
            self.step.say(f"creating target group {self.target_group_name}...")
            target_group = self.client.create_target_group(
                Name=self.target_group_name, Protocol="HTTP", Port=80, VpcId=balancer["VpcId"],
                TargetType="instance", Tags=tags, **self.HEALTH_CHECK)["TargetGroups"][0]

    def listeners(self) -> dict[int, dict]:
        found = self.client.describe_listeners(LoadBalancerArn=self.require()["LoadBalancerArn"])["Listeners"]
        return {listener["Port"]: listener for listener in found}

    def https_certificate(self) -> str | None:
        return jmespath.search(self.CERTIFICATE, self.listeners().get(HTTPS_PORT) or {})

    def listen(self, certificate: str | None) -> None:
        """With a certificate: HTTPS 443 (it, the TLS 1.3 policy) forwarding to the target group,
        then HTTP 80 answering 301 to HTTPS; without: HTTP 80 forwarding. Each made or corrected."""
        forward = [{"Type": "forward", "TargetGroupArn": self.target_group_arn}]
        found = self.listeners()
        if certificate:
            https = {"Protocol": "HTTPS", "Port": HTTPS_PORT, "Certificates": [{"CertificateArn": certificate}],
                     "SslPolicy": self.TLS_POLICY, "DefaultActions": forward}
            self.converge(found.get(HTTPS_PORT), https, f"HTTPS 443 (certificate {certificate}, {self.TLS_POLICY})")
        http = {"Protocol": "HTTP", "Port": HTTP_PORT, "DefaultActions": [self.REDIRECT] if certificate else forward}
        self.converge(found.get(HTTP_PORT), http, f"HTTP 80 {'redirecting to HTTPS' if certificate else 'forwarding'}")

    def converge(self, listener: dict | None, wanted: dict, shown: str) -> None:
        """Create the listener, or modify it where it differs from `wanted`."""
        if listener is None:
            self.step.say(f"creating the listener of {self.name}: {shown}...")
            self.client.create_listener(LoadBalancerArn=self.require()["LoadBalancerArn"], **wanted)
            return
        if jmespath.search(self.SHAPE, listener) != jmespath.search(self.SHAPE, wanted):
            self.step.say(f"{self.name}: listener {shown}...")
            self.client.modify_listener(ListenerArn=listener["ListenerArn"], **wanted)

    def resource_label(self) -> str:
        """What ALBRequestCountPerTarget names: app/<name>/<id>/targetgroup/<name>/<id>."""
        balancer = self.require()["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
        return f"{balancer}/{self.target_group_arn.split(':', 5)[5]}"

    def apply_security_groups(self, groups: list[str]) -> None:
        self.client.set_security_groups(LoadBalancerArn=self.require()["LoadBalancerArn"], SecurityGroups=groups)

    def placement(self) -> tuple[list[str], list[str]]:
        return [zone["SubnetId"] for zone in self.require()["AvailabilityZones"]], self.subnets()

    def draining_on(self) -> bool:
        found = self.client.describe_target_group_attributes(TargetGroupArn=self.target_group_arn)
        return self.draining() in found["Attributes"]

    def enable_draining(self) -> None:
        self.client.modify_target_group_attributes(TargetGroupArn=self.target_group_arn, Attributes=[self.draining()])

    def draining(self) -> dict:
        return {"Key": "deregistration_delay.timeout_seconds", "Value": str(self.settings.draining_seconds)}

    def health_check_set(self) -> bool:
        found = self.target_group() or {}
        return all(found.get(key) == value for key, value in self.HEALTH_CHECK.items())

    def configure_health_check(self) -> None:
        self.client.modify_target_group(TargetGroupArn=self.target_group_arn, **self.HEALTH_CHECK)

    def zones(self) -> list[str]:
        return [zone["ZoneName"] for zone in self.require()["AvailabilityZones"]]

    def attachment(self) -> dict:
        return {"TargetGroupARNs": [self.target_group_arn]}

    def targets(self, instances: list[str]) -> dict:
        return {"TargetGroupArn": self.target_group_arn, "Targets": [{"Id": i} for i in instances]}

    def health(self) -> dict[str, tuple[str, str, str]]:
        found = self.client.describe_target_health(TargetGroupArn=self.target_group_arn)
        return {row[0]: tuple(row[1:]) for row in jmespath.search(self.STATES, found)}

    def register(self, instances: list[str]) -> None:
        self.client.register_targets(**self.targets(instances))

    def deregister(self, instances: list[str]) -> None:
        self.client.deregister_targets(**self.targets(instances))

    def delete(self) -> None:
        """The load balancer (and with it its listeners), then the target group it used."""
        target_group = self.target_group()
        balancer = self.describe()
        if balancer:
            self.client.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
            wait(self.client, "load_balancers_deleted", timeout=300, interval=5, say=self.step.say,
                 progress=lambda parsed: f"waiting for {self.settings.elb_name} to be deleted "
                                         f"({jmespath.search('LoadBalancers[0].State.Code', parsed) or 'gone'})",
                 LoadBalancerArns=[balancer["LoadBalancerArn"]])
        if target_group:
            self.step.say(f"deleting target group {self.target_group_name}...")
            self.client.delete_target_group(TargetGroupArn=target_group["TargetGroupArn"])


KINDS: dict[str, type[Balancer]] = {kind.kind: kind for kind in (Classic, Application)}
DEFAULT_KIND = Classic.kind  # a new environment's, when LOAD_BALANCER_KIND is empty
