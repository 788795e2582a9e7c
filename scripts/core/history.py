"""The release history of an environment, kept in AWS so that every checkout and CI runner sees the
same: one item of the deploy lock table (Environment = "<NODE_ENV>/releases"), a list of releases,
the oldest first. Each release: its stamp, kind (deploy or rollback; a rollback `restores` the
stamp of the release whose image it put back), image, group, who started it and when, and its
outcome:

  in flight    its run is going (or died without a word: then it shows as interrupted)
  live         it served; shown as retired once its group is gone from AWS
  rolled back  it failed and what it had launched was removed (`reason` says why)
  interrupted  Ctrl-C, SIGTERM or SIGHUP stopped it, and what it had launched was removed
  rollback failed  it failed and so did the removal: see its run record

Writes are conditional on the revision read, so two writers never lose each other's release."""

import time

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from .lock import table_name, who
from .step import Step, StepError

KEPT = 200  # releases kept in the item (about 200 bytes each; an item holds 400 KB)
TIME = "%Y-%m-%d %H:%M:%S UTC"
SERVED = "live"  # the outcome of a release that went live


def now() -> str:
    return time.strftime(TIME, time.gmtime())


def _key(step: Step) -> dict:
    return {"Environment": {"S": f"{step.settings.node_env}/releases"}}


def _read(step: Step) -> tuple[list[dict], int]:
    dynamodb = step.client("dynamodb")
    try:
        item = dynamodb.get_item(TableName=table_name(step), Key=_key(step), ConsistentRead=True).get("Item")
    except dynamodb.exceptions.ResourceNotFoundException:
        raise StepError(f"no lock table {table_name(step)} (it keeps the release history): run "
                        f"`NODE_ENV={step.settings.node_env} make setup` first") from None
    if not item:
        return [], 0
    found = {name: TypeDeserializer().deserialize(value) for name, value in item.items()}
    return found["Releases"], int(found["Revision"])


def releases(step: Step) -> list[dict]:
    """Every release kept, the oldest first."""
    return _read(step)[0]


def note(step: Step, stamp: str, **fields: str) -> None:
    """Add the release `stamp`, or update its fields; keep the newest KEPT."""
    dynamodb = step.client("dynamodb")
    for _ in range(5):
        found, revision = _read(step)
        entry = next((release for release in found if release["stamp"] == stamp), None)
        if entry is None:
            entry = {"stamp": stamp}
            found.append(entry)
        entry.update({name: value for name, value in fields.items() if value is not None})
        item = {"Releases": found[-KEPT:], "Revision": revision + 1}
        try:
            dynamodb.put_item(
                TableName=table_name(step), Item={**_key(step), **TypeSerializer().serialize(item)["M"]},
                ConditionExpression="attribute_not_exists(Revision) OR Revision = :seen",
                ExpressionAttributeValues={":seen": {"N": str(revision)}})
            return
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue  # someone else wrote in between: read again
    raise StepError("the release history kept changing under this run: try again")


def begin(step: Step, stamp: str, kind: str, **fields: str) -> None:
    """A release starts. Earlier ones still in flight died without a word (this run holds the lock,
    or runs a step alone): they are interrupted."""
    for release in releases(step):
        if release["outcome"] == "in flight":
            note(step, release["stamp"], outcome="interrupted", reason="its run ended without a word (killed?)")
    note(step, stamp, kind=kind, outcome="in flight", by=who(), started=now(), **fields)


def update(step: Step, **fields: str) -> None:
    """What this run's release (the state's stamp) has come to use: its image, its group."""
    note(step, step.recall("stamp", made_by="check-deploy"), **fields)


def settle(step: Step, outcome: str, reason: str | None = None) -> None:
    """This run's release (the state's stamp) ends with `outcome`, unless it has already ended."""
    state = step.state()
    stamp = state.get("stamp")
    mine = next((release for release in releases(step) if release["stamp"] == stamp), None) if stamp else None
    if mine is None or mine["outcome"] != "in flight":
        return
    note(step, stamp, outcome=outcome, reason=reason, ended=now(),
         image=state.get("image_id"), group=state.get("group_name") or state.get("serving"))


def shown(release: dict, groups: set[str], locked: bool) -> str:
    """A release's outcome as AWS has it now: a live one whose group is gone is retired; one in
    flight while no one holds the lock was interrupted."""
    outcome = release["outcome"]
    if outcome == SERVED and release.get("group") not in groups:
        return "retired"
    if outcome == "in flight" and not locked:
        return "interrupted"
    return outcome


def origin(release: dict) -> str:
    """The stamp of the release whose image this one runs: its own, or what a rollback restores."""
    return release.get("restores") or release["stamp"]


def live(history: list[dict], groups: set[str]) -> dict | None:
    """The newest release that went live and whose group is still in AWS."""
    return next((r for r in reversed(history) if r["outcome"] == SERVED and r.get("group") in groups), None)


def line(release: dict, groups: set[str], locked: bool) -> str:
    """One release in a line: stamp, kind, outcome as AWS has it now, image, who and when, why it failed."""
    kind = f"{release['kind']} of {release['restores']}" if release.get("restores") else release["kind"]
    reason = f" ({release['reason']})" if release.get("reason") else ""
    return (f"{release['stamp']} {kind}: {shown(release, groups, locked)}{reason}, "
            f"image {release.get('image') or 'none'}, by {release['by']} at {release['started']}")
