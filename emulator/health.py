"""Health over time for the emulator, which has none: what DescribeInstanceHealth and
DescribeTargetHealth answer, scripted per group and counted in polls, never in seconds."""

from typing import NamedTuple

from moto.autoscaling.models import autoscaling_backends
from moto.elb.models import ELBBackend


class _Rule(NamedTuple):
    prefix: str
    group_polls: int
    lb_polls: int
    never: bool
    earlier: frozenset  # instances already in a group when the rule was set: it does not apply to them


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

    def set(self, group_prefix: str, *, group_polls: int = 0, lb_polls: int = 0, never: bool = False) -> None:
        """Instances launched from now on in groups named group_prefix* stay Pending for group_polls
        DescribeAutoScalingGroups responses, then OutOfService for lb_polls DescribeInstanceHealth
        responses (in a target group: initial for lb_polls DescribeTargetHealth responses); never=True:
        Pending and OutOfService forever (unhealthy in target groups). Instances already running keep
        the health they had."""
        earlier = frozenset(state.instance.id for account in dict.values(autoscaling_backends)
                            for backend in dict.values(account) for group in backend.autoscaling_groups.values()
                            for state in group.instance_states)
        self._rules.append(_Rule(group_prefix, group_polls, lb_polls, never, earlier))

    def clear(self) -> None:
        self._rules.clear()
        self._group_seen.clear()
        self._lb_seen.clear()

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
        return rule is None or self._lb_counted(rule, instance_id, instance_id, observe)

    def target_state(self, group_name: str, instance_id: str, tg_arn: str, observe: bool) -> str:
        """healthy, initial or unhealthy: the state of a registered target of a target group in use."""
        rule = self._rule(group_name, instance_id)
        if rule is None:
            return "healthy"
        if rule.never:
            return "unhealthy"
        return "healthy" if self._lb_counted(rule, instance_id, (tg_arn, instance_id), observe) else "initial"

    def _lb_counted(self, rule: _Rule, instance_id: str, key, observe: bool) -> bool:
        if not self._in_group(rule, instance_id):
            return False  # the load balancer's count starts once the group has it InService
        seen = self._lb_seen.get(key, 0)
        if observe:
            self._lb_seen[key] = seen + 1
        return seen >= rule.lb_polls


def health_script() -> HealthScript:
    """The health script of the latest running emulator, kept process-wide (on moto's class) like
    the patches themselves."""
    running = ELBBackend.__dict__.get("_emulators_running")
    return running[-1].health if running else HealthScript()
