"""deploy: soak the new group before the old ones retire (SOAK_SECONDS; 0: no soak, the original's
way). The outdated groups' instances leave the load balancer but keep running, their groups
suspended, and for SOAK_SECONDS the new group is watched every POLL_INTERVAL: each of its
instances that served must still be InService at the load balancer, it must keep as many serving
as its capacity, and no SOAK_ALARMS alarm may go to ALARM. At the first answer that fails, or an
interrupt, the warm instances are registered again and waited for until they serve, then the new
group is removed as a failed release is (with an image this deploy baked); the exit is non-zero.
When the soak passes, cleanup-asgs retires the old groups as it always does."""

import time

import jmespath

from core import history
from core.alarms import IN_ALARM, alarm_states
from core.balancer import load_balancer
from core.groups import INSTANCE_IDS, describe_groups, hold_warm
from core.plan import Change, Planned
from core.poll import wait_until
from core.release import alone, roll_back
from core.settings import Settings
from core.step import Step, StepError, run, uninterrupted


class Soured(Exception):
    """An answer during the soak showed the new release failing; the message says how."""


def soak(step: Step, clock=time.monotonic, sleep=time.sleep) -> None:
    settings = step.settings
    outdated = step.recall("outdated_groups", made_by="lookup-asg")
    if not settings.soak_seconds or not outdated:
        step.say("no soak (SOAK_SECONDS=0)." if not settings.soak_seconds else "no soak: no old group to go back to.")
        return
    group_name = step.recall("serving", made_by="wait-health")
    desired = step.recall("capacity", made_by="lookup-asg")["desired"]
    alarms = alarm_states(step)  # all there, before anything changes
    if hold_warm(step, outdated, successor=group_name, keep=lambda warm: step.remember(warm=warm)) is None:
        step.say(f"no soak: {' '.join(outdated)} have no instance to go back to.")
        return
    ends = time.strftime(history.TIME, time.gmtime(time.time() + settings.soak_seconds))
    history.update(step, outcome=history.SOAKING, soak_ends=ends)
    step.say(f"-> {soak_change(settings, group_name, outdated).line()}")
    step.say(f"soaking {group_name} for {settings.soak_seconds}s (until {ends}); {' '.join(outdated)} kept warm")
    started = clock()
    try:
        watch(step, group_name, desired, alarms, lambda: settings.soak_seconds - (clock() - started), clock, sleep)
    except Soured as failure:
        with uninterrupted():
            failed_at = clock() - started
            step.say(f"the soak failed: {failure}; going back to the warm instances...")
            roll_back(step, f"failed its soak: {failure}")
        raise StepError(f"{group_name} failed its soak after {failed_at:.0f}s: {failure}; rolled back to the warm "
                        f"instances of {' '.join(outdated)}, which serve again") from None
    except KeyboardInterrupt:
        with uninterrupted():
            step.say("interrupted during the soak; going back to the warm instances...")
            roll_back(step, "stopped during its soak by Ctrl-C, SIGTERM or SIGHUP", "interrupted")
        raise
    step.remember(warm=None)
    history.update(step, outcome=history.SERVED, ended=history.now())
    step.say(f"soak passed: {group_name} served alone for {clock() - started:.0f}s")


def plan(step: Step, planned: Planned) -> list[Change]:
    """A soak when SOAK_SECONDS is set and an old group has instances to keep warm."""
    if not step.settings.soak_seconds or not any(group["Instances"] for group in planned.outdated):
        return []
    return [soak_change(step.settings, planned.group, [group["AutoScalingGroupName"] for group in planned.outdated],
                        pending="the soak passing; the warm instances serve again otherwise")]


def soak_change(settings: Settings, group_name: str, outdated: list[str], pending: str = "") -> Change:
    alarms = f" and SOAK_ALARMS {' '.join(settings.soak_alarms)}" if settings.soak_alarms else ""
    return Change("soak", f"group {group_name}", f"serves alone for SOAK_SECONDS={settings.soak_seconds}, watched at "
                  f"{settings.elb_name}{alarms}; {' '.join(outdated)} kept warm, out of the load balancer",
                  pending=pending)


def watch(step: Step, group_name: str, desired: int, alarms: dict[str, str], left, clock, sleep) -> None:
    """Every POLL_INTERVAL until `left()` is 0: raise Soured at the first answer that shows an
    instance of the group that served fall out of service, fewer serving than `desired`, or an
    alarm going to ALARM (one in ALARM from the start counts once it has left it)."""
    settings, balancer = step.settings, load_balancer(step)
    served: set[str] = set()
    for name in sorted(name for name, state in alarms.items() if state == IN_ALARM):
        step.say(f"alarm {name} is in ALARM already: it counts once it has left ALARM")
    last = dict(alarms)

    def check():
        members = set(jmespath.search(INSTANCE_IDS, describe_groups(step, [group_name])))
        health = balancer.health()
        serving = {instance for instance in members if health.get(instance, ("",))[0] == balancer.SERVING}
        for instance in sorted(served - serving):
            state, reason, description = health.get(instance, ("gone", "-", "no longer in its group"))
            raise Soured(f"{instance} is {state} at {settings.elb_name} ({reason}: {description})")
        if len(serving) < desired:
            raise Soured(f"{group_name} has {len(serving)}/{desired} instance(s) {balancer.SERVING}: it lost capacity")
        served.update(serving)
        for name, state in alarm_states(step).items():
            if state == IN_ALARM and last[name] != IN_ALARM:
                raise Soured(f"alarm {name} is in ALARM")
            last[name] = state
        watched = f", alarms {' '.join(f'{n} {s}' for n, s in sorted(last.items()))}" if last else ""
        remaining = max(0.0, left())
        return remaining <= 0, (f"soaking {group_name}: {len(serving)}/{desired} {balancer.SERVING}{watched}; "
                                f"{remaining:.0f}s left")

    wait_until(check, timeout=settings.soak_seconds + settings.poll_interval, interval=settings.poll_interval,
               say=step.say, clock=clock, sleep=sleep, bound="SOAK_SECONDS")


if __name__ == "__main__":
    run("deploy", alone(soak))
