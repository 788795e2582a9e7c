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
