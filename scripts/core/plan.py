"""Decide, then do: what a run changes in AWS, as data.

A step that changes AWS first decides from reads alone: an ordered list of Change, each naming its
action, what it acts on, from what to what, and why. Then it carries them out in that order,
saying each (carry_out). `make plan` decides the same way and carries nothing out
(scripts/plan.py). A change whose outcome is not known until it is done (the id of an image a
bake makes, an instance's health) says what it waits on: `pending`.

The decisions themselves are functions of data (what AWS answered, the settings), so the tests
check them without AWS, make or Packer.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType

from .step import Context, StepError


@dataclass(frozen=True)
class Change:
    action: str  # create, modify, admit, revoke, upsert, request, import, bake, build, launch, soak, retire, delete
    subject: str  # what it acts on, by the name AWS or the user knows it by
    detail: str = ""  # from what to what
    why: str = ""
    pending: str = ""  # the outcome it waits on (a change of the plan, known once it is done)
    do: Callable[[], object] | None = field(default=None, compare=False, repr=False)

    def line(self) -> str:
        text = f"{self.action} {self.subject}"
        text += f": {self.detail}" if self.detail else ""
        text += f" ({self.why})" if self.why else ""
        return text + (f" [pending: {self.pending}]" if self.pending else "")


def carry_out(changes: Iterable[Change], say: Callable[[str], None]) -> None:
    """Do each change in order, saying it first."""
    for change in changes:
        say(f"-> {change.line()}")
        if change.do:
            change.do()


def numbered(changes: list[Change]) -> list[str]:
    width = len(str(len(changes)))
    return [f"{number:>{width}}. {change.line()}" for number, change in enumerate(changes, 1)]


def instance_hours(instances: int, seconds: float) -> float:
    return instances * seconds / 3600


@dataclass
class Planned:
    """What the steps planned so far would have made, for the steps after them to plan with: an
    id, or what stands for it until the change that makes it is done."""
    stamp: str
    primal: str = ""
    image: str = ""
    image_pending: str = ""  # the image is made by a change of the plan: what its id waits on
    origin: str = ""  # where a given image comes from (IMAGE_FROM's release)
    capacity: dict = field(default_factory=dict)
    outdated: list[dict] = field(default_factory=list)  # the groups to retire, as AWS describes them
    group: str = ""


def overlap(planned: Planned, settings) -> str:
    """The instance-hours a release adds while the old groups and the new run together: from its
    launch to the old groups' retirement (health, the soak, draining)."""
    old = sum(len(group["Instances"]) for group in planned.outdated)
    if not planned.capacity or not old:
        return "nothing runs twice: no old group has instances"
    new = planned.capacity["desired"]
    least = settings.soak_seconds + settings.draining_seconds
    most = least + settings.health_timeout
    return (f"old and new run together {least:g}-{most:g}s ({new} new, {old} old instance(s)): about "
            f"{instance_hours(new, least):.2f}-{instance_hours(new, most):.2f} instance-hours more "
            "(SOAK_SECONDS + DRAINING_SECONDS, + HEALTH_TIMEOUT at most)")


class Stopped(StepError):
    """A run would stop at a step (a check refused): the changes planned before it, and why."""

    def __init__(self, target: str, changes: list[Change], why: StepError):
        super().__init__(f"{target} would stop here: {why}")
        self.target, self.changes = target, changes


def plan_of(step: Context, steps: dict[str, ModuleType], planned: Planned) -> list[Change]:
    """The changes of the steps (by target, in order), each planned with what the ones before it
    planned: a step module's `plan(step, planned)` (a step without one changes nothing)."""
    changes = []
    for target, module in steps.items():
        planner = getattr(module, "plan", None)
        try:
            changes += planner(step, planned) if planner else []
        except StepError as error:
            raise Stopped(target, changes, error) from None
    return changes


def lasting(changes: list[Change]) -> list[Change]:
    """The changes that leave AWS otherwise than it was (not a reuse, nor setup's probe)."""
    return [change for change in changes if change.action not in ("reuse", "probe")]


def say_plan(say: Callable[[str], None], changes: list[Change], heading: str) -> None:
    say(f"{heading}: {len(changes)} change(s)" + (":" if changes else ""))
    for line in numbered(changes):
        say(f"  {line}")
