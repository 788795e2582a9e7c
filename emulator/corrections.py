"""The corrections of moto, each one function that patches moto's backends where they differ
from AWS, each numbered (the README lists them); installed once per process, on the first Emulator.start().
moto's backends are process-wide, so the corrections consult the health script of the most
recently started Emulator."""

import inspect
import ipaddress
import re
from datetime import UTC, datetime
from functools import wraps

from moto.autoscaling.exceptions import AutoscalingClientError, ValidationError
from moto.autoscaling.models import AutoScalingBackend, LifecycleHook, autoscaling_backends
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import AmiBackend
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.elb.exceptions import ELBClientError, LoadBalancerNotFoundError
from moto.elb.models import ELBBackend, FakeListener, LoadBalancer
from moto.elb.responses import ELBResponse
from moto.elbv2.exceptions import ELBClientError as ELBv2ClientError
from moto.elbv2.exceptions import InvalidTargetError, TargetGroupNotFoundError
from moto.elbv2.models import ELBv2Backend, FakeTargetGroup, elbv2_backends
from moto.elbv2.responses import ELBV2Response

from .certificates import CORRECTIONS as CERTIFICATE_CORRECTIONS
from .health import health_script
from .resources import launch_template

# The published hosted zone ids of classic and application load balancers (Route 53 ALIAS targets), by region.
ELB_HOSTED_ZONE_IDS = {"us-east-1": "Z35SXDOTRQ7X7K", "us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2"}
REGISTERING = "Instance registration is still in progress."
OUT_OF_SERVICE = "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."
READ_ONLY_PREFIXES = ("Describe", "List", "Get")
# DescribeTargetHealth (State, Reason, Description) as AWS words them.
TG_INITIAL = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
TG_UNHEALTHY = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
TG_NOT_REGISTERED = ("unused", "Target.NotRegistered", "Target is not registered to the target group")
TG_DRAINING = ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
TG_NOT_IN_USE = ("unused", "Target.NotInUse",
                 "Target group is not configured to receive traffic from the load balancer")



class _View:
    """A read-only stand-in for a moto model with some attributes overridden, for one response."""

    def __init__(self, obj, **overrides):
        self.__dict__.update(overrides, _obj=obj)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._obj, name)


def _fail(error_class, code: str, message: str):
    """A moto service error that reaches the client as a 400 with this AWS error code."""
    return type(code, (error_class,), {"code": code})(message)


def _patch_elb_hosted_zone() -> None:
    """1. DescribeLoadBalancers (classic) carries CanonicalHostedZoneNameID, the region's published
    zone id, and a DNSName/CanonicalHostedZoneName in the load balancer's own region (moto: no zone
    id, and us-east-1 in every DNS name)."""
    create = ELBBackend.create_load_balancer

    def create_load_balancer(self, name, *args, **kwargs):
        lb = create(self, name, *args, **kwargs)
        lb.region_name, lb.dns_name = self.region_name, f"{name}.{self.region_name}.elb.amazonaws.com"
        return lb

    ELBBackend.create_load_balancer = create_load_balancer
    LoadBalancer.canonical_hosted_zone_name_id = property(
        lambda lb: ELB_HOSTED_ZONE_IDS.get(getattr(lb, "region_name", "")))


def check_lb_name(name: str, error_class, too_long: str, bad_characters: str) -> None:
    """AWS's rule for both kinds of load balancer: at most 32 letters, digits and inner hyphens
    (each service words its errors its own way)."""
    if len(name) > 32:
        raise _fail(error_class, "ValidationError", too_long)
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", name):
        raise _fail(error_class, "ValidationError", bad_characters)


def _patch_elb_name_rules() -> None:
    """2. CreateLoadBalancer refuses names AWS refuses (moto accepts any): at most 32 characters,
    letters, digits and hyphens only, no hyphen first or last."""
    create = ELBBackend.create_load_balancer

    def create_load_balancer(self, name, *args, **kwargs):
        check_lb_name(name, ELBClientError, f"LoadBalancerName '{name}' must be at most 32 characters long",
                      f"LoadBalancerName '{name}' must contain only alphanumeric characters or hyphens, "
                      "and must not begin or end with a hyphen")
        return create(self, name, *args, **kwargs)

    ELBBackend.create_load_balancer = create_load_balancer


def _patch_group_registration() -> None:
    """3. A group registers its own new instances and deregisters only its own instances that left
    it (moto deregisters every instance of the load balancer that is not in the syncing group, so a
    second group on one load balancer drops the first group's instances). An explicit
    DeregisterInstancesFromLoadBalancer takes the instances out, whoever registered them, and the
    group does not put them back (moto ignored it for group-registered instances). Registering an
    instance twice lists it once. Target groups: see 9.
    20. An instance the tool registers (RegisterInstancesWithLoadBalancer, RegisterTargets) is checked
    before it serves: OutOfService ("Instance registration is still in progress.", in a target group
    initial) for HealthScript.register_polls answers, as AWS waits for its healthy threshold (moto:
    InService at once)."""
    register, deregister = ELBBackend.register_instances, ELBBackend.deregister_instances

    def register_instances(self, lb_name, instance_ids, from_autoscaling=False):
        lb = _existing_lb(self, lb_name)
        new = [i for i in dict.fromkeys(instance_ids) if i not in lb.instance_ids]
        if not from_autoscaling:
            lb.__dict__.setdefault("_emu_deregistered", set()).difference_update(new)
            for instance_id in new:  # 20.
                health_script().start_registering((lb_name, instance_id))
        return register(self, lb_name, new, from_autoscaling)

    def deregister_instances(self, lb_name, instance_ids, from_autoscaling=False):
        lb = _existing_lb(self, lb_name)
        instance_ids = list(instance_ids)
        if not from_autoscaling:  # the tool asked: out of both lists, and the group must not re-add it
            lb.__dict__.setdefault("_emu_deregistered", set()).update(instance_ids)
            for instance_id in instance_ids:
                health_script().start_draining((lb_name, instance_id))
            deregister(self, lb_name, instance_ids, True)
        return deregister(self, lb_name, instance_ids, from_autoscaling)

    def update_attached_elbs(self, group_name):
        group = self.autoscaling_groups[group_name]
        active, owned = _active_and_owned(group)
        if not group.load_balancer_names:
            return
        try:
            elbs = self.elb_backend.describe_load_balancers(names=group.load_balancer_names)
        except LoadBalancerNotFoundError:
            return  # ELBs can be deleted before their group
        for elb in elbs:
            skip = set(elb.instance_ids) | getattr(elb, "_emu_deregistered", set())
            self.elb_backend.register_instances(elb.name, sorted(active - skip), from_autoscaling=True)
            self.elb_backend.deregister_instances(elb.name, owned - active, from_autoscaling=True)

    ELBBackend.register_instances, ELBBackend.deregister_instances = register_instances, deregister_instances
    AutoScalingBackend.update_attached_elbs = update_attached_elbs


def _existing_lb(elb_backend: ELBBackend, name: str) -> LoadBalancer:
    lb = elb_backend.get_load_balancer(name)
    if lb is None:  # moto crashed (HTTP 500) on an unknown name here
        raise LoadBalancerNotFoundError(name)
    return lb


def _active_and_owned(group) -> tuple[set[str], set[str]]:
    """The group's InService instances, and every instance it ever had (the ones it may deregister)."""
    active = {state.instance.id for state in group.active_instances()}
    owned = group.__dict__.setdefault("_emu_owned", set())
    owned_before = set(owned)
    owned |= active
    return active, owned_before | active


def _patch_duplicates_and_in_use() -> None:
    """4. CreateAutoScalingGroup / CreateLaunchConfiguration with a taken name fail with
    AlreadyExists (moto replaced the old one silently), and DeleteAutoScalingGroup of a group that
    still has instances fails with ResourceInUse unless ForceDelete (moto deleted it anyway)."""
    create_group = AutoScalingBackend.create_auto_scaling_group
    create_config = AutoScalingBackend.create_launch_configuration
    delete_group = AutoScalingResponse.delete_auto_scaling_group

    def create_auto_scaling_group(self, name, *args, **kwargs):
        if name in self.autoscaling_groups:
            raise _fail(AutoscalingClientError, "AlreadyExists",
                        f"AutoScalingGroup by this name already exists - A group with the name {name} already exists")
        return create_group(self, name, *args, **kwargs)

    def create_launch_configuration(self, name, *args, **kwargs):
        if name in self.launch_configurations:
            raise _fail(AutoscalingClientError, "AlreadyExists", "Launch Configuration by this name already "
                        f"exists - A launch configuration already exists with the name {name}")
        return create_config(self, name, *args, **kwargs)

    def delete_auto_scaling_group(self):
        group = self.autoscaling_backend.autoscaling_groups.get(self._get_param("AutoScalingGroupName"))
        if group and group.instance_states and not self._get_bool_param("ForceDelete", False):
            raise _fail(AutoscalingClientError, "ResourceInUse", "You cannot delete an AutoScalingGroup while "
                        "there are instances or pending Spot instance request(s) still in the group.")
        return delete_group(self)

    AutoScalingBackend.create_auto_scaling_group = create_auto_scaling_group
    AutoScalingBackend.create_launch_configuration = create_launch_configuration
    AutoScalingResponse.delete_auto_scaling_group = delete_auto_scaling_group


def _patch_scripted_health() -> None:
    """5. Instances come up over time, as the HealthScript says: LifecycleState Pending in the group
    and OutOfService at the load balancer until enough responses have shown them (moto: InService
    at once); one the tool deregistered drains for HealthScript.drain's polls when asked for by id
    (InService, "Instance deregistration currently in progress.", as AWS says it; moto: gone at once).
    moto's own state stays InService underneath, so its scaling arithmetic is unchanged."""
    describe_groups = AutoScalingResponse.describe_auto_scaling_groups
    describe_instances = AutoScalingResponse.describe_auto_scaling_instances

    def view(state, observe):
        if state.lifecycle_state != "InService":
            return state
        shown = health_script().lifecycle_state(state.auto_scaling_group_name, state.instance.id, observe)
        return _View(state, lifecycle_state=shown)

    def describe_auto_scaling_groups(self):
        result = describe_groups(self)
        groups = result.result["AutoScalingGroups"]
        groups[:] = [_View(g, instances=[view(s, True) for s in g.instance_states]) for g in groups]
        return result

    def describe_auto_scaling_instances(self):
        result = describe_instances(self)
        result.result["AutoScalingInstances"] = [view(s, False) for s in result.result["AutoScalingInstances"]]
        return result

    def describe_instance_health(self):
        name, asked = self._get_param("LoadBalancerName"), self._get_param("Instances", [])
        # AWS answers InvalidInstance for an instance the load balancer does not have (moto:
        # Unknown); botocore's InstanceDeregistered waiter relies on it.
        registered = set(_existing_lb(self.elb_backend, name).instance_ids)
        draining = [i["InstanceId"] for i in asked if i["InstanceId"] not in registered and
                    health_script().draining((name, i["InstanceId"]), observe=True)]
        missing = [i["InstanceId"] for i in asked
                   if i["InstanceId"] not in registered and i["InstanceId"] not in draining]
        if missing:
            raise _fail(ELBClientError, "InvalidInstance", f"Could not find EC2 instance {missing[0]}.")
        rest = [i for i in asked if i["InstanceId"] not in draining]
        states = instance_health(self.elb_backend, name, rest, observe=True) if rest or not asked else []
        states += [{"InstanceId": i, "State": "InService", "ReasonCode": "N/A",
                    "Description": "Instance deregistration currently in progress."} for i in draining]
        replace_failed(self.elb_backend.account_id, self.elb_backend.region_name, [s["InstanceId"] for s in states])
        return ActionResult({"InstanceStates": states})

    AutoScalingResponse.describe_auto_scaling_groups = describe_auto_scaling_groups
    AutoScalingResponse.describe_auto_scaling_instances = describe_auto_scaling_instances
    ELBResponse.describe_instance_health = describe_instance_health


def replace_failed(account: str, region: str, shown: list[str]) -> None:
    """17. ELB health replacement, as the HealthScript says (HealthScript.replace): an instance the
    load balancer has shown enough times is terminated by its group, which launches another; the
    desired capacity stays (moto has no health, and so replaces nothing)."""
    groups = groups_of_instances(account, region)
    for instance_id in shown:
        if instance_id in groups and health_script().due_for_replacement(groups[instance_id], instance_id):
            autoscaling_backends[account][region].terminate_instance(instance_id, should_decrement=False)


def groups_of_instances(account: str, region: str) -> dict[str, str]:
    """{instance id: the name of the group it is in}."""
    groups = autoscaling_backends[account][region].autoscaling_groups.values()
    return {state.instance.id: group.name for group in groups for state in group.instance_states}


def instance_health(elb_backend: ELBBackend, lb_name: str, instances: list, observe: bool) -> list[dict]:
    """DescribeInstanceHealth as the tool sees it: moto's answer (Unknown when not registered,
    OutOfService when not running), then a group instance stays OutOfService until the script says."""
    group_of = groups_of_instances(elb_backend.account_id, elb_backend.region_name)
    lb = elb_backend.load_balancers[lb_name]
    states = []
    for moto_state in elb_backend.describe_instance_health(lb_name, instances):
        state = {"InstanceId": moto_state["InstanceId"], "State": moto_state["State"],
                 "ReasonCode": "N/A", "Description": "N/A"}
        group = group_of.get(state["InstanceId"])
        if state["State"] == "InService" and health_script().registering((lb_name, state["InstanceId"]), observe):
            state.update(State="OutOfService", ReasonCode="ELB", Description=REGISTERING)
        elif state["State"] == "InService" and group and not health_script().in_service_at_lb(
                group, state["InstanceId"], observe):
            state.update(State="OutOfService", ReasonCode="Instance", Description=OUT_OF_SERVICE)
        elif state["State"] == "InService" and not admitted(
                elb_backend.account_id, elb_backend.region_name, state["InstanceId"],
                set(lb.security_groups), classic_health_port(lb)):
            state.update(State="OutOfService", ReasonCode="Instance", Description=OUT_OF_SERVICE)
        states.append(state)
    return states


def _patch_ebs_images() -> None:
    """6. An image made from an EBS-backed instance is EBS-backed (moto: RootDeviceType standard,
    which Packer refuses as a source image, so carnivore could not be baked from primal).
    22. CreateImage tags the image's snapshots with its `snapshot` TagSpecifications, as today's
    Packer amazon plugin asks (moto: NotImplementedError, an HTTP 500)."""
    create = AmiBackend.create_image

    def create_image(self, instance_id, name, description, tag_specifications):
        for_snapshots = [spec for spec in tag_specifications if spec["ResourceType"] == "snapshot"]
        image = create(self, instance_id, name, description,
                       [spec for spec in tag_specifications if spec["ResourceType"] != "snapshot"])
        image.root_device_type = "ebs"
        for spec in for_snapshots:
            self.create_tags([image.ebs_snapshot.id], {tag["Key"]: tag["Value"] for tag in spec["Tags"]})
        return image

    AmiBackend.create_image = create_image


def _patch_alb_hosted_zone() -> None:
    """7. DescribeLoadBalancers (elbv2) of an application load balancer carries the region's published
    CanonicalHostedZoneId (moto: the placeholder Z2P70J7EXAMPLE in every region) and its Scheme
    (moto: none unless given; AWS: internet-facing), with internal- before the DNS name of an internal one."""
    create = ELBv2Backend.create_load_balancer

    @wraps(create)  # keeps moto's signature visible to patch 8
    def create_load_balancer(self, name, *args, **kwargs):
        lb = create(self, name, *args, **kwargs)
        if lb.type == "application":
            lb.canonical_hosted_zone_id = ELB_HOSTED_ZONE_IDS.get(self.region_name)
        lb.scheme = lb.scheme or "internet-facing"
        if lb.scheme == "internal" and not lb.dns_name.startswith("internal-"):
            lb.dns_name = f"internal-{lb.dns_name}"
        return lb

    ELBv2Backend.create_load_balancer = create_load_balancer


def _patch_alb_name_rules() -> None:
    """8. CreateLoadBalancer (elbv2) refuses what AWS refuses (moto accepts it): names over 32 characters,
    other than letters, digits and hyphens, with a hyphen first or last, or starting with internal-
    (ValidationError); an application load balancer in fewer than two Availability Zones (ValidationError)
    or in two subnets of one zone (InvalidConfigurationRequest). A taken name: the same load balancer
    again when the settings are the same (CreateLoadBalancer is idempotent), else
    DuplicateLoadBalancerName (moto made a second load balancer of that name). Target group names
    were already checked as AWS does."""
    create = ELBv2Backend.create_load_balancer
    signature = inspect.signature(create)  # moto's own

    def create_load_balancer(self, name, *args, **kwargs):
        call = signature.bind(self, name, *args, **kwargs)
        call.apply_defaults()
        given = call.arguments
        check_lb_name(name, ELBv2ClientError, f"The load balancer name '{name}' cannot be longer than '32' characters",
                      f"The load balancer name '{name}' can only contain alphanumeric characters or hyphens, "
                      "and cannot begin or end with a hyphen")
        if name.startswith("internal-"):
            raise _fail(ELBv2ClientError, "ValidationError",
                        f"The load balancer name '{name}' cannot begin with 'internal-'")
        subnet_ids = list(given["subnet_ids"] or []) + [m["SubnetId"] for m in given["subnet_mappings"] or []]
        zones = [self.ec2_backend.get_subnet(subnet_id).availability_zone for subnet_id in subnet_ids]
        kind = given["loadbalancer_type"] or "application"
        if kind == "application" and len(set(zones)) < 2:
            raise _fail(ELBv2ClientError, "ValidationError",
                        "At least two subnets in two different Availability Zones must be specified")
        if len(set(zones)) < len(zones):
            raise _fail(ELBv2ClientError, "InvalidConfigurationRequest",
                        "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
        if not given["security_groups"] and subnet_ids:  # AWS: the VPC's default group (patch 12)
            vpc = self.ec2_backend.get_subnet(subnet_ids[0]).vpc_id
            given["security_groups"] = [self.ec2_backend.get_default_security_group(vpc).id]
        for lb in self.load_balancers.values():
            if lb.name == name:
                settings = (kind, given["scheme"] or "internet-facing", sorted(subnet_ids),
                            sorted(given["security_groups"] or []))
                if settings == (lb.type, lb.scheme or "internet-facing", sorted(s.id for s in lb.subnets),
                                sorted(lb.security_groups or [])):
                    return lb
                raise _fail(ELBv2ClientError, "DuplicateLoadBalancerName",
                            "A load balancer with the specified name already exists.")
        return create(*call.args, **call.kwargs)

    ELBv2Backend.create_load_balancer = create_load_balancer


def _patch_target_registration() -> None:
    """9. Target groups as on AWS: a group registers its own InService instances (moto: every instance
    it has), deregisters only its own instances that left it (moto: never), also when an instance was
    replaced after TerminateInstances (moto: the replacement was never registered), and skips target
    groups deleted before it (moto: UpdateAutoScalingGroup failed). A DeregisterTargets by the tool
    takes the instances out for good: their group does not register them again, RegisterTargets does.
    DeregisterTargets of an existing instance that is not registered does nothing (moto: InvalidTarget).
    CreateAutoScalingGroup with an unknown target group fails with ValidationError (moto: it created the
    group, then failed with TargetGroupNotFound)."""
    create_group = AutoScalingBackend.create_auto_scaling_group
    notify_terminate = AutoScalingBackend.notify_terminate_instances
    tool_register, tool_deregister = ELBV2Response.register_targets, ELBV2Response.deregister_targets

    def update_attached_target_groups(self, group_name):
        group = self.autoscaling_groups[group_name]
        active, owned = _active_and_owned(group)
        for arn in group.target_group_arns:
            tg = self.elbv2_backend.target_groups.get(arn)
            if tg is None:
                continue  # target groups can be deleted before their group
            new = active - set(tg.targets) - tg.__dict__.get("_emu_deregistered", set())
            gone = (owned - active) & set(tg.targets)
            if new:
                self.elbv2_backend.register_targets(arn, [{"Id": i, "Port": tg.port} for i in sorted(new)])
            if gone:
                self.elbv2_backend.deregister_targets(arn, [{"Id": i} for i in sorted(gone)])

    def create_auto_scaling_group(self, name, *args, **kwargs):
        if any(arn not in self.elbv2_backend.target_groups for arn in kwargs.get("target_group_arns") or []):
            raise _fail(AutoscalingClientError, "ValidationError",
                        "Provided Target Groups may not be valid. Please ensure they exist and try again.")
        return create_group(self, name, *args, **kwargs)

    def notify_terminate_instances(self, instance_ids):
        notify_terminate(self, instance_ids)
        for name in list(self.autoscaling_groups):
            self.update_attached_target_groups(name)

    def tool_marks(response) -> set:
        tg = response.elbv2_backend.target_groups.get(response._get_param("TargetGroupArn"))
        return tg.__dict__.setdefault("_emu_deregistered", set()) if tg else set()

    def register_targets(self):
        tg = self.elbv2_backend.target_groups.get(self._get_param("TargetGroupArn"))
        new = [t["Id"] for t in self._get_param("Targets", []) if tg is None or t["Id"] not in tg.targets]
        result = tool_register(self)
        tool_marks(self).difference_update(t["Id"] for t in self._get_param("Targets", []))
        for instance_id in new:  # 20.
            health_script().start_registering((self._get_param("TargetGroupArn"), instance_id))
        return result

    def deregister_targets(self):
        result = tool_deregister(self)
        tool_marks(self).update(t["Id"] for t in self._get_param("Targets", []))
        for target in self._get_param("Targets", []):
            health_script().start_draining((self._get_param("TargetGroupArn"), target["Id"]))
        return result

    def deregister(tg, targets):
        for target in targets:
            if target["Id"] not in tg.targets and target["Id"].startswith("i-") and \
                    tg.ec2_backend.get_instance_by_id(target["Id"]) is None:
                raise InvalidTargetError()
        for target in targets:
            if target["Id"] in tg.targets:
                tg.deregistered_targets[target["Id"]] = tg.targets.pop(target["Id"])

    AutoScalingBackend.update_attached_target_groups = update_attached_target_groups
    AutoScalingBackend.create_auto_scaling_group = create_auto_scaling_group
    AutoScalingBackend.notify_terminate_instances = notify_terminate_instances
    ELBV2Response.register_targets, ELBV2Response.deregister_targets = register_targets, deregister_targets
    FakeTargetGroup.deregister = deregister


def _patch_target_group_load_balancers() -> None:
    """10. A target group's LoadBalancerArns are the load balancers whose listeners or rules forward to it
    now (moto kept the ARNs of deleted listeners and load balancers for good)."""

    def load_balancer_arns(tg) -> list[str]:
        backend = elbv2_backends[tg.account_id][tg.region_name]
        return [lb.arn for lb in backend.load_balancers.values()
                if any(tg.arn in backend._get_target_group_arns_from(action.data)
                       for listener in lb.listeners.values() for rule in listener.rules.values()
                       for action in rule.actions)]

    FakeTargetGroup.load_balancer_arns = property(load_balancer_arns, lambda tg, value: None)


def _patch_target_health() -> None:
    """11. DescribeTargetHealth as on AWS (moto: healthy at once, draining forever after TerminateInstances):
    a registered instance of a scripted group is initial until the HealthScript says (unhealthy for
    never=True); every target is unused (Target.NotInUse) while no listener forwards to its group;
    draining takes no time (or HealthScript.drain's polls: draining, Target.DeregistrationInProgress,
    meanwhile), so a deregistered or terminated target asked for by id is unused (Target.NotRegistered).
    Without explicit targets only registered ones are listed, as before."""

    def describe_target_health(self):
        tg = self.elbv2_backend.target_groups.get(self._get_param("TargetGroupArn"))
        if tg is None:
            raise TargetGroupNotFoundError()
        targets = self._get_param("Targets", [])
        descriptions = target_health(self.elbv2_backend, tg, targets, observe=True)
        replace_failed(self.elbv2_backend.account_id, self.elbv2_backend.region_name,
                       [d["Target"]["Id"] for d in descriptions])
        return ActionResult({"TargetHealthDescriptions": descriptions})

    ELBV2Response.describe_target_health = describe_target_health


def target_health(backend: ELBv2Backend, tg: FakeTargetGroup, targets: list, observe: bool) -> list[dict]:
    """DescribeTargetHealth as the tool sees it: moto's answer (healthy, unused when not registered or
    stopped), corrected as patch 11 describes."""
    group_of = groups_of_instances(backend.account_id, backend.region_name)
    in_use = bool(tg.load_balancer_arns)
    descriptions = []
    for target in targets or list(tg.targets.values()):
        moto = tg.health_for(target, backend.ec2_backend)
        state = (moto.status, moto.reason, moto.description)
        if moto.status == "draining":
            state = TG_NOT_REGISTERED
        elif moto.status == "healthy" and not in_use:
            state = TG_NOT_IN_USE
        elif moto.status == "healthy" and health_script().registering((tg.arn, moto.target["Id"]), observe):
            state = TG_INITIAL
        elif moto.status == "healthy" and moto.instance_id in group_of:
            shown = health_script().target_state(group_of[moto.instance_id], moto.instance_id, tg.arn, observe)
            state = {"healthy": state, "initial": TG_INITIAL, "unhealthy": TG_UNHEALTHY}[shown]
        if state == TG_NOT_REGISTERED and health_script().draining((tg.arn, moto.target["Id"]), observe):
            state = TG_DRAINING
        if state[0] == "healthy" and not admitted(backend.account_id, backend.region_name, moto.instance_id,
                                                  alb_groups(backend, tg), target_health_port(tg, moto)):
            state = TG_UNHEALTHY
        descriptions.append({"Target": moto.target, "HealthCheckPort": moto.health_check_port,
                             "TargetHealth": {k: v for k, v in zip(("State", "Reason", "Description"), state,
                                                                   strict=True) if v}})
    return descriptions


def _patch_default_security_groups() -> None:
    """12. Security groups as a new account has them: a VPC's `default` group admits all traffic
    from its own members (moto: no inbound rule); a classic load balancer created without groups
    gets `default_elb_<id>` admitting its listener ports from anywhere (moto: the group, no rule).
    (An application load balancer created without groups gets its VPC's `default` group: patch 8.)"""
    create_group = SecurityGroupBackend.create_security_group

    def create_security_group(self, name, description, vpc_id=None, tags=None, force=False, is_default=None):
        group = create_group(self, name, description, vpc_id=vpc_id, tags=tags, force=force, is_default=is_default)
        if is_default:
            self.authorize_security_group_ingress(group.id, "-1", None, None, [],
                                                  source_groups=[{"GroupId": group.id}], vpc_id=group.vpc_id)
        return group

    create_classic = ELBBackend.create_load_balancer

    def create_load_balancer(self, name, zones, ports, *args, **kwargs):
        lb = create_classic(self, name, zones, ports, *args, **kwargs)
        ec2 = ec2_backends[self.account_id][self.region_name]
        for group_id in lb.security_groups:
            group = ec2.get_security_group_from_id(group_id)
            if group.name.startswith("default_elb_") and not group.ingress_rules:
                for port in {listener.load_balancer_port for listener in lb.listeners}:
                    ec2.authorize_security_group_ingress(group.id, "tcp", str(port), str(port),
                                                         [{"CidrIp": "0.0.0.0/0"}], vpc_id=group.vpc_id)
        return lb

    SecurityGroupBackend.create_security_group = create_security_group
    ELBBackend.create_load_balancer = create_load_balancer


def _patch_classic_zones_of_subnets() -> None:
    """21. A classic load balancer created in subnets is in their zones (DescribeLoadBalancers'
    AvailabilityZones; moto: none)."""
    create_classic = ELBBackend.create_load_balancer

    def create_load_balancer(self, name, zones, ports, *args, **kwargs):
        lb = create_classic(self, name, zones, ports, *args, **kwargs)
        if not lb.availability_zones and lb.subnets:
            ec2 = ec2_backends[self.account_id][self.region_name]
            lb.availability_zones = sorted({ec2.get_subnet(subnet).availability_zone for subnet in lb.subnets})
        return lb

    ELBBackend.create_load_balancer = create_load_balancer


def _patch_template_images() -> None:
    """23. CreateAutoScalingGroup from a launch template version whose image no longer exists
    fails with ValidationError (moto: made the group, and launched from the missing image)."""
    create_group = AutoScalingBackend.create_auto_scaling_group

    def create_auto_scaling_group(self, name, *args, **kwargs):
        ec2 = ec2_backends[self.account_id][self.region_name]
        image = launch_template(ec2, kwargs.get("launch_template") or {})[1].get("ImageId")
        if image and image not in ec2.amis:  # (an unknown template or version: moto's own error follows)
            raise ValidationError(f"You must use a valid fully-formed launch template. The image id "
                                  f"'[{image}]' does not exist")
        return create_group(self, name, *args, **kwargs)

    AutoScalingBackend.create_auto_scaling_group = create_auto_scaling_group


def _patch_instance_protocol() -> None:
    """16. A classic listener's InstanceProtocol is the one it was given (HTTPS 443 -> HTTP 80: the
    load balancer ends TLS), the listener's own protocol only when none was (moto: always its own)."""
    create = ELBBackend.create_load_balancer
    create_listeners = ELBBackend.create_load_balancer_listeners

    def keep(lb, ports) -> None:
        for port in ports:
            given = port.get("InstanceProtocol") or port.get("instance_protocol")
            for listener in lb.listeners if given else []:
                if int(listener.load_balancer_port) == int(port.get("LoadBalancerPort") or port["load_balancer_port"]):
                    listener.given_instance_protocol = given.upper()

    def create_load_balancer(self, name, zones, ports, *args, **kwargs):
        lb = create(self, name, zones, ports, *args, **kwargs)
        keep(lb, ports)
        return lb

    def create_load_balancer_listeners(self, name, ports):
        lb = create_listeners(self, name, ports)
        if lb:
            keep(lb, ports)
        return lb

    ELBBackend.create_load_balancer = create_load_balancer
    ELBBackend.create_load_balancer_listeners = create_load_balancer_listeners
    FakeListener.instance_protocol = property(lambda listener: getattr(listener, "given_instance_protocol",
                                                                       listener.protocol))


def moment(value) -> datetime | None:
    """A time as moto's request parsing leaves it (text or a datetime), with its zone (UTC when none)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value and (value if value.tzinfo else value.replace(tzinfo=UTC))


def _patch_scheduled_actions() -> None:
    """18. Scheduled actions belong to their group, as on AWS: two groups may each have one of the
    same name (moto keys them by name alone, so putting one on a second group took it from the
    first), and a group's go with it when it is deleted; a start time in the past, or an end time
    before it, is refused with AWS's ValidationError (moto stores it)."""
    put, delete = AutoScalingBackend.put_scheduled_update_group_action, AutoScalingBackend.delete_scheduled_action
    delete_group = AutoScalingBackend.delete_auto_scaling_group

    def put_scheduled_update_group_action(self, name, desired_capacity, max_size, min_size, scheduled_action_name,
                                          start_time, end_time, recurrence, timezone):
        now = datetime.now(UTC)
        start, end = (moment(t) for t in (start_time, end_time))
        if start and start < now:
            raise ValidationError("Given start time is in the past")
        if end and (end < now or start and end <= start):
            raise ValidationError("End time must be after the start time and in the future")
        action = put(self, name, desired_capacity, max_size, min_size, scheduled_action_name, start_time, end_time,
                     recurrence, timezone)
        self.scheduled_actions.pop(scheduled_action_name, None)
        self.scheduled_actions[(name, scheduled_action_name)] = action
        return action

    def delete_scheduled_action(self, auto_scaling_group_name, scheduled_action_name):
        if (auto_scaling_group_name, scheduled_action_name) not in self.scheduled_actions:
            return delete(self, auto_scaling_group_name, scheduled_action_name)  # its "not found"
        del self.scheduled_actions[(auto_scaling_group_name, scheduled_action_name)]

    def delete_auto_scaling_group(self, group_name):
        delete_group(self, group_name)
        for key in [key for key in self.scheduled_actions if isinstance(key, tuple) and key[0] == group_name]:
            del self.scheduled_actions[key]

    AutoScalingBackend.put_scheduled_update_group_action = put_scheduled_update_group_action
    AutoScalingBackend.delete_scheduled_action = delete_scheduled_action
    AutoScalingBackend.delete_auto_scaling_group = delete_auto_scaling_group


HOOK_FIELDS = {"NotificationTargetARN": "notification_target_arn", "RoleARN": "role_arn",
               "NotificationMetadata": "notification_metadata"}


def _patch_lifecycle_hooks() -> None:
    """19. Lifecycle hooks as given: a hook keeps the notification target, role and metadata it was
    given, and none when none was (moto answers a made-up SQS queue and role for every hook); the
    hooks of CreateAutoScalingGroup's LifecycleHookSpecificationList are the group's from the start
    (moto ignores the list)."""
    create_response = AutoScalingResponse.create_auto_scaling_group
    put_response = AutoScalingResponse.put_lifecycle_hook
    LifecycleHook.role_arn = LifecycleHook.notification_target_arn = LifecycleHook.notification_metadata = None

    def __init__(self, name, as_name, transition, timeout, result, **given):
        self.name, self.auto_scaling_group_name, self.lifecycle_transition = name, as_name, transition
        self.heartbeat_timeout, self.default_result, self.global_timeout = timeout or 3600, result or "ABANDON", 172800
        for key, attribute in HOOK_FIELDS.items():
            if given.get(key):
                setattr(self, attribute, given[key])

    def hook(backend, spec: dict, group_name: str) -> None:
        backend.lifecycle_hooks[f"{group_name}_{spec['LifecycleHookName']}"] = LifecycleHook(
            spec["LifecycleHookName"], group_name, spec.get("LifecycleTransition"),
            int(spec["HeartbeatTimeout"]) if spec.get("HeartbeatTimeout") else None, spec.get("DefaultResult"),
            **{key: spec.get(key) for key in HOOK_FIELDS})

    def create_auto_scaling_group(self):
        response = create_response(self)
        for spec in self._get_params().get("LifecycleHookSpecificationList") or []:
            hook(self.autoscaling_backend, spec, self._get_param("AutoScalingGroupName"))
        return response

    def put_lifecycle_hook(self):
        response = put_response(self)
        hook(self.autoscaling_backend, {key: self._get_param(key) for key in (
            "LifecycleHookName", "LifecycleTransition", "HeartbeatTimeout", "DefaultResult", *HOOK_FIELDS)},
            self._get_param("AutoScalingGroupName"))
        return response

    LifecycleHook.__init__ = __init__
    AutoScalingResponse.create_auto_scaling_group = create_auto_scaling_group
    AutoScalingResponse.put_lifecycle_hook = put_lifecycle_hook


def admitted(account: str, region: str, instance_id: str, sources: set[str], port: int) -> bool:
    """13. Reachability: does one of the instance's security groups (its VPC's `default` group when
    it has none) admit TCP `port` from a member of one of the `sources` groups, or from a CIDR that
    holds the VPC (where the load balancer's nodes live)? moto models no network at all; AWS's
    health checks fail, and so the instance stays OutOfService (unhealthy), when none does."""
    ec2 = ec2_backends[account][region]
    instance = ec2.get_instance(instance_id)
    groups = [ec2.get_security_group_from_id(g) if isinstance(g, str) else g for g in instance.security_groups]
    groups = [g for g in groups if g] or [ec2.get_default_security_group(instance.vpc_id)]
    vpc = ipaddress.ip_network(ec2.get_vpc(instance.vpc_id).cidr_block)
    for rule in (rule for group in groups for rule in group.ingress_rules):
        if rule.ip_protocol == "tcp" and not rule.from_port <= port <= rule.to_port:
            continue
        if rule.ip_protocol not in ("tcp", "-1"):
            continue
        if rule.source_group.get("GroupId") in sources:
            return True
        cidr = rule.ip_range.get("CidrIp")
        if cidr and vpc.subnet_of(ipaddress.ip_network(cidr, strict=False)):
            return True
    return False


def classic_health_port(lb: LoadBalancer) -> int:
    """The port of a classic load balancer's health check (HTTP:80/path), else its first listener's."""
    target = lb.health_check.target if lb.health_check else ""
    found = re.match(r"^[A-Z]+:(\d+)", target or "")
    return int(found.group(1)) if found else lb.listeners[0].instance_port


def alb_groups(backend: ELBv2Backend, tg: FakeTargetGroup) -> set[str]:
    """The security groups of the load balancers that forward to the target group."""
    return {group for arn in tg.load_balancer_arns for group in backend.load_balancers[arn].security_groups}


def target_health_port(tg: FakeTargetGroup, moto) -> int:
    """The port a target is health-checked on: the group's health check port, or its own."""
    port = tg.health_check_port
    return int(moto.port if port in (None, "traffic-port") else port)


CORRECTIONS = (_patch_ebs_images, _patch_elb_hosted_zone, _patch_elb_name_rules, _patch_group_registration,
            _patch_duplicates_and_in_use, _patch_scripted_health, _patch_alb_hosted_zone, _patch_alb_name_rules,
            _patch_target_registration, _patch_target_group_load_balancers, _patch_target_health,
            _patch_default_security_groups, *CERTIFICATE_CORRECTIONS, _patch_instance_protocol,
            _patch_scheduled_actions, _patch_lifecycle_hooks, _patch_classic_zones_of_subnets, _patch_template_images)


def install_corrections() -> None:
    """Once per process, even if this file is imported under two module names."""
    if "_emulators_running" not in ELBBackend.__dict__:
        for patch in CORRECTIONS:
            patch()
        ELBBackend._emulators_running = []
