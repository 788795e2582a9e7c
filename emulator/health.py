"""Health over time for the emulator, which has none: what DescribeInstanceHealth and
DescribeTargetHealth answer, scripted per group and counted in polls, never in seconds."""

from typing import NamedTuple

from moto.autoscaling.models import autoscaling_backends
from moto.elb.models import ELBBackend

REGISTER_POLLS = 2  # answers an instance the tool registers stays out of service: AWS's healthy threshold


class _Rule(NamedTuple):
    prefix: str
    group_polls: int
    lb_polls: int
    never: bool
    earlier: frozenset  # instances already in a group when the rule was set: it does not apply to them
    good_polls: int | None = None  # healthy answers at the load balancer before the instance fails
    failing: int | None = None  # with good_polls: how many instances fail (None: all)
    failed: list | None = None  # the instances that failed so far


class HealthScript:
    """Health over time, counted in observations (responses that showed an instance), not seconds.

    The latest rule whose prefix matches the group name wins; no rule: InService at once, as moto.
    An instance's DescribeInstanceHealth (or, per target group, DescribeTargetHealth) responses count
    only once its group shows it InService. HealthStatus stays Healthy throughout, as during a group's
    grace period."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._group_seen: dict[str, int] = {}  # instance id -> DescribeAutoScalingGroups responses
        self._lb_seen: dict = {}  # id -> DescribeInstanceHealth, (tg arn, id) -> DescribeTargetHealth responses
        self._replacements: list[list] = []  # [prefix, after_lb_polls, earlier, done]
        self._replace_seen: dict[str, int] = {}  # id -> load balancer answers that showed it
        self._drain_polls = 0
        self._draining: dict = {}  # (lb name or tg arn, id) -> answers left while it drains
        self.register_polls = REGISTER_POLLS
        self._registering: dict = {}  # (lb name or tg arn, id) -> answers left before its checks pass

    def set(self, group_prefix: str, *, group_polls: int = 0, lb_polls: int = 0, never: bool = False,
            good_polls: int | None = None, failing: int | None = None) -> None:
        """Instances launched from now on in groups named group_prefix* stay Pending for group_polls
        DescribeAutoScalingGroups responses, then OutOfService for lb_polls DescribeInstanceHealth
        responses (in a target group: initial for lb_polls DescribeTargetHealth responses); never=True:
        Pending and OutOfService forever (unhealthy in target groups). good_polls: a release that
        turns bad, InService (healthy) for that many of the load balancer's answers, then
        OutOfService (unhealthy) for good; with `failing`, only that many instances do (the first to
        reach their good_polls), the others stay healthy. Instances already running keep the health
        they had."""
        self._rules.append(_Rule(group_prefix, group_polls, lb_polls, never, running_instances(), good_polls,
                                 failing, []))

    def replace(self, group_prefix: str, *, after_lb_polls: int = 1) -> None:
        """ELB health replacement, once: the first instance launched from now on in a group named
        group_prefix* that a load balancer's health answer (DescribeInstanceHealth or
        DescribeTargetHealth) has shown after_lb_polls times is terminated by its group, which
        launches another in its place (as TerminateInstanceInAutoScalingGroup without decrementing
        the desired capacity does: a group whose health check type is ELB does so after the grace
        period, for an instance the load balancer finds unhealthy)."""
        self._replacements.append([group_prefix, after_lb_polls, running_instances(), False])

    def drain(self, polls: int) -> None:
        """From now on an instance the tool deregisters from a load balancer drains for `polls` of
        the load balancer's answers that ask for it by id: a classic one says InService "Instance
        deregistration currently in progress.", a target group draining (moto: gone at once)."""
        self._drain_polls = polls

    def start_draining(self, key) -> None:
        _start(self._draining, key, self._drain_polls)

    def draining(self, key, observe: bool) -> bool:
        return _counting(self._draining, key, observe)

    def start_registering(self, key) -> None:
        """The tool registered an instance (again): it is checked register_polls times before it serves."""
        _start(self._registering, key, self.register_polls)

    def registering(self, key, observe: bool) -> bool:
        return _counting(self._registering, key, observe)

    def due_for_replacement(self, group_name: str, instance_id: str) -> bool:
        """Count one load balancer answer that showed the instance; True once it is to be replaced."""
        for rule in self._replacements:
            prefix, after, earlier, done = rule
            if done or not group_name.startswith(prefix) or instance_id in earlier:
                continue
            self._replace_seen[instance_id] = self._replace_seen.get(instance_id, 0) + 1
            if self._replace_seen[instance_id] >= after:
                rule[3] = True
                return True
        return False

    def clear(self) -> None:
        self._rules.clear()
        self._group_seen.clear()
        self._lb_seen.clear()
        self._replacements.clear()
        self._replace_seen.clear()
        self._drain_polls = 0
        self._draining.clear()
        self.register_polls = REGISTER_POLLS
        self._registering.clear()

    def _rule(self, group_name: str, instance_id: str) -> _Rule | None:
        return next((r for r in reversed(self._rules)
                     if group_name.startswith(r.prefix) and instance_id not in r.earlier), None)

    def _in_group(self, rule: _Rule, instance_id: str) -> bool:
        return not rule.never and self._group_seen.get(instance_id, 0) >= rule.group_polls

    def lifecycle_state(self, group_name: str, instance_id: str, observe: bool) -> str:
        rule = self._rule(group_name, instance_id)
        if rule is None:
            return "InService"
        state = "InService" if self._in_group(rule, instance_id) else "Pending"
        if observe:
            self._group_seen[instance_id] = self._group_seen.get(instance_id, 0) + 1
        return state

    def in_service_at_lb(self, group_name: str, instance_id: str, observe: bool) -> bool:
        rule = self._rule(group_name, instance_id)
        return rule is None or self._lb_state(rule, instance_id, instance_id, observe) == "healthy"

    def target_state(self, group_name: str, instance_id: str, tg_arn: str, observe: bool) -> str:
        """healthy, initial or unhealthy: the state of a registered target of a target group in use."""
        rule = self._rule(group_name, instance_id)
        if rule is None:
            return "healthy"
        if rule.never:
            return "unhealthy"
        state = self._lb_state(rule, instance_id, (tg_arn, instance_id), observe)
        return {"pending": "initial", "failed": "unhealthy"}.get(state, state)

    def _lb_state(self, rule: _Rule, instance_id: str, key, observe: bool) -> str:
        """pending, healthy, or failed (after its good_polls), by the load balancer's answers so far."""
        if not self._in_group(rule, instance_id):
            return "pending"  # the load balancer's count starts once the group has it InService
        seen = self._lb_seen.get(key, 0)
        if observe:
            self._lb_seen[key] = seen + 1
        if seen < rule.lb_polls:
            return "pending"
        if rule.good_polls is None or seen < rule.lb_polls + rule.good_polls:
            return "healthy"
        if instance_id not in rule.failed:
            if rule.failing is not None and len(rule.failed) >= rule.failing:
                return "healthy"
            rule.failed.append(instance_id)
        return "failed"


def _start(answers_left: dict, key, polls: int) -> None:
    if polls:
        answers_left[key] = polls


def _counting(answers_left: dict, key, observe: bool) -> bool:
    """Whether `key` still has answers left; an observed answer counts one."""
    left = answers_left.get(key, 0)
    if left and observe:
        answers_left[key] = left - 1
    return left > 0


def running_instances() -> frozenset[str]:
    """The instances in any group now (a rule set now does not apply to them)."""
    return frozenset(state.instance.id for account in dict.values(autoscaling_backends)
                     for backend in dict.values(account) for group in backend.autoscaling_groups.values()
                     for state in group.instance_states)


def latest_emulator():
    """The latest running Emulator, kept process-wide (on moto's class) like the patches themselves,
    whose health script and DNS the corrections consult; None when none runs."""
    running = ELBBackend.__dict__.get("_emulators_running")
    return running[-1] if running else None


def health_script() -> HealthScript:
    emulator = latest_emulator()
    return emulator.health if emulator else HealthScript()
