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
from .network import HTTP_PORT, HTTPS_PORT, group_name, require_group
from .plan import Change
from .step import Context, StepError

HEALTH_PATH = "/api/status/health"
DRAINING_MARGIN = 60  # retirement waits DRAINING_SECONDS and this long for the load balancer to let go
TAGS = "TagDescriptions[0].Tags[].[Key, Value]"


def load_balancer(step: Context) -> "Balancer":
    """The step's load balancer; one per run, so what it looks up (the target group) is looked up once."""
    if "load balancer" not in step.looked_up:
        step.looked_up["load balancer"] = existing_kind(step)
    return step.looked_up["load balancer"]


def existing_kind(step: Context) -> "Balancer":
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


def check_load_balancer(step: Context) -> None:
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
    MADE_WITH_HEALTH_CHECK = False  # what it forwards to is created with the health check set

    @abstractmethod
    def describe(self) -> dict | None:
        """The load balancer as AWS describes it; None: there is none."""

    @abstractmethod
    def tags(self) -> dict:
        """DescribeTags' answer for it."""

    @abstractmethod
    def creation_changes(self, found: dict | None) -> list[Change]:
        """Create it (`found`: as it is; None: there is none) and what it forwards to, each only if missing."""

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
    def listener_changes(self, found: dict | None, certificate: str | None) -> list[Change]:
        """Its listeners made or corrected: HTTP, and HTTPS with `certificate` (None: none)."""

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

    def __init__(self, step: Context):
        self.step, self.settings, self.name = step, step.settings, step.settings.elb_name

    def made(self) -> bool:
        """It and what it forwards to exist (setup made them)."""
        return self.describe() is not None

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

    def changes(self, certificate: str | None) -> list[Change]:
        """create-load-balancer's decisions: it (and what it forwards to), its security group, its
        listeners. One of another environment, or placed elsewhere than the settings say, is refused."""
        found = self.describe()
        if found:
            self.check_ownership()
            self.check_drift()
        return [*self.creation_changes(found), *self.security_changes(found),
                *self.listener_changes(found, certificate)]

    def security_changes(self, found: dict | None) -> list[Change]:
        """In exactly its own security group ($APP_NAME-$NODE_ENV-lb): a new one is created in it."""
        if found is None:
            return []
        wanted = [require_group(self.step, "lb")]
        current = found.get("SecurityGroups") or []
        if current == wanted:
            return []
        return [Change("modify", f"load balancer {self.name}", f"security group {wanted[0]} (was "
                       f"{' '.join(current) or 'none'})", "in its own group alone",
                       do=lambda: self.apply_security_groups(wanted))]

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

    def __init__(self, step: Context):
        super().__init__(step)
        self.client = step.client("elb")

    def describe(self) -> dict | None:
        try:
            return self.client.describe_load_balancers(LoadBalancerNames=[self.name])["LoadBalancerDescriptions"][0]
        except self.client.exceptions.AccessPointNotFoundException:
            return None

    def tags(self) -> dict:
        return self.client.describe_tags(LoadBalancerNames=[self.name])

    def creation_changes(self, found: dict | None) -> list[Change]:
        if found:
            return []
        # In subnets with its group from the start, the default VPC's too: given zones alone, AWS
        # would make a default_elb_<id> group for it, with the caller's ec2:CreateSecurityGroup.
        subnets = self.zone_subnets()

        def create():
            self.client.create_load_balancer(
                LoadBalancerName=self.name, Listeners=[self.LISTENER], Subnets=subnets,
                SecurityGroups=[require_group(self.step, "lb")], Tags=tag_list(self.settings.ownership_tags))
        return [Change("create", f"load balancer {self.name}", f"classic, HTTP 80 -> 80, in "
                       f"{' '.join(self.settings.subnets or self.settings.availability_zones)}, in security group "
                       f"{group_name(self.step, 'lb')}", do=create)]

    def apply_security_groups(self, groups: list[str]) -> None:
        self.client.apply_security_groups_to_load_balancer(LoadBalancerName=self.name, SecurityGroups=groups)

    def https_listener(self, found: dict | None = None) -> dict | None:
        """The HTTPS listener's description (Listener, PolicyNames), if there is one."""
        listeners = (found or self.require())["ListenerDescriptions"]
        return next((one for one in listeners if one["Listener"]["LoadBalancerPort"] == HTTPS_PORT), None)

    def https_certificate(self) -> str | None:
        return ((self.https_listener() or {}).get("Listener") or {}).get("SSLCertificateId")

    def listener_changes(self, found: dict | None, certificate: str | None) -> list[Change]:
        """With a certificate: HTTPS 443 -> HTTP 80 with it and the TLS 1.2 policy (HTTP 80 stays:
        a classic load balancer cannot redirect, the app does)."""
        if certificate is None:
            return []
        client, name, changes = self.client, self.name, []
        listener = self.https_listener(found) if found else None
        subject = f"HTTPS listener of {name}"
        if listener is None:
            changes.append(Change("create", subject, f"443 -> 80, certificate {certificate}",
                                  do=lambda: client.create_load_balancer_listeners(LoadBalancerName=name, Listeners=[{
                                      "Protocol": "HTTPS", "LoadBalancerPort": HTTPS_PORT, "InstanceProtocol": "HTTP",
                                      "InstancePort": HTTP_PORT, "SSLCertificateId": certificate}])))
        elif listener["Listener"].get("SSLCertificateId") != certificate:
            changes.append(Change("modify", subject, f"certificate {certificate} (was "
                                  f"{listener['Listener'].get('SSLCertificateId')})",
                                  do=lambda: client.set_load_balancer_listener_ssl_certificate(
                                      LoadBalancerName=name, LoadBalancerPort=HTTPS_PORT,
                                      SSLCertificateId=certificate)))
        if (listener or {}).get("PolicyNames") != [self.TLS_POLICY_NAME]:
            changes.append(Change("modify", subject, f"security policy {self.TLS_POLICY} (was "
                                  f"{' '.join((listener or {}).get('PolicyNames') or []) or 'none'})",
                                  do=self.set_tls_policy))
        return changes

    def set_tls_policy(self) -> None:
        client, name = self.client, self.name
        try:
            client.create_load_balancer_policy(
                LoadBalancerName=name, PolicyName=self.TLS_POLICY_NAME, PolicyTypeName="SSLNegotiationPolicyType",
                PolicyAttributes=[{"AttributeName": "Reference-Security-Policy", "AttributeValue": self.TLS_POLICY}])
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
    COUNTS_REQUESTS = MADE_WITH_HEALTH_CHECK = True
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

    def __init__(self, step: Context):
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

    def creation_changes(self, found: dict | None) -> list[Change]:
        """The load balancer and its target group, each only if missing."""
        tags, changes = tag_list(self.settings.ownership_tags), []
        if found is None:
            subnets = self.subnets()
            changes.append(Change(
                "create", f"load balancer {self.name}", f"application, in {' '.join(subnets)}, in security group "
                f"{group_name(self.step, 'lb')}",
                do=lambda: self.client.create_load_balancer(
                    Name=self.name, Subnets=subnets, Type="application", Scheme="internet-facing", Tags=tags,
                    SecurityGroups=[require_group(self.step, "lb")])))
        if self.target_group() is None:
            changes.append(Change(
                "create", f"target group {self.target_group_name}", "HTTP 80, instances",
                do=lambda: self.client.create_target_group(
                    Name=self.target_group_name, Protocol="HTTP", Port=80, VpcId=self.require()["VpcId"],
                    TargetType="instance", Tags=tags, **self.HEALTH_CHECK)))
        return changes

    def made(self) -> bool:
        return self.describe() is not None and self.target_group() is not None

    def listeners(self) -> dict[int, dict]:
        found = self.client.describe_listeners(LoadBalancerArn=self.require()["LoadBalancerArn"])["Listeners"]
        return {listener["Port"]: listener for listener in found}

    def https_certificate(self) -> str | None:
        return jmespath.search(self.CERTIFICATE, self.listeners().get(HTTPS_PORT) or {})

    def listener_changes(self, found: dict | None, certificate: str | None) -> list[Change]:
        """With a certificate: HTTPS 443 (it, the TLS 1.3 policy) forwarding to the target group,
        then HTTP 80 answering 301 to HTTPS; without: HTTP 80 forwarding. Each made or corrected."""
        present, changes = self.listeners() if found else {}, []
        target_group = (self.target_group() or {}).get("TargetGroupArn") or "the new target group"
        for port, (wanted, shown) in self.wanted_listeners(certificate, target_group).items():
            listener, subject = present.get(port), f"listener {port} of {self.name}"
            if listener is None:
                changes.append(Change("create", subject, shown, do=lambda port=port: self.client.create_listener(
                    LoadBalancerArn=self.require()["LoadBalancerArn"],
                    **self.wanted_listeners(certificate, self.target_group_arn)[port][0])))
            elif jmespath.search(self.SHAPE, listener) != jmespath.search(self.SHAPE, wanted):
                changes.append(Change("modify", subject, shown, do=lambda port=port, arn=listener["ListenerArn"]:
                                      self.client.modify_listener(ListenerArn=arn, **self.wanted_listeners(
                                          certificate, self.target_group_arn)[port][0])))
        return changes

    def wanted_listeners(self, certificate: str | None, target_group: str) -> dict[int, tuple[dict, str]]:
        """{port: (the listener, shown)}, HTTPS first: HTTP redirects to it."""
        forward = [{"Type": "forward", "TargetGroupArn": target_group}]
        wanted = {}
        if certificate:
            wanted[HTTPS_PORT] = ({"Protocol": "HTTPS", "Port": HTTPS_PORT, "SslPolicy": self.TLS_POLICY,
                                   "Certificates": [{"CertificateArn": certificate}], "DefaultActions": forward},
                                  f"HTTPS 443, certificate {certificate}, {self.TLS_POLICY}, "
                                  f"to {self.target_group_name}")
        wanted[HTTP_PORT] = ({"Protocol": "HTTP", "Port": HTTP_PORT,
                              "DefaultActions": [self.REDIRECT] if certificate else forward},
                             "HTTP 80, " + ("301 to HTTPS" if certificate else f"to {self.target_group_name}"))
        return wanted

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
