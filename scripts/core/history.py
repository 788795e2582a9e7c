"""The release history of an environment, kept in AWS so that every checkout and CI runner sees the
same: one item of the deploy lock table (Environment = "<NODE_ENV>/releases"), a list of releases,
the oldest first. Each release: its stamp, kind (deploy or rollback; a rollback `restores` the
stamp of the release whose image it put back), image, who started it and when, and its outcome
(its group is named by its stamp):

  in flight    its run is going (or died without a word: then it shows as interrupted)
  soaking      it serves alone, the old instances kept warm, until `soak_ends` (then: live)
  live         it served; shown as retired once its group is gone from AWS
  rolled back  it failed and what it had launched was removed (`reason` says why)
  interrupted  Ctrl-C, SIGTERM or SIGHUP stopped it, and what it had launched was removed
  rollback failed  it failed and so did the removal: see its run record

Writes are conditional on the revision read, so two writers never lose each other's release. Every
field of a release is a string: the item holds the list as DynamoDB's attribute values (a list of
maps of strings), written and read here as the lock's item is, without boto3's type serializer (its
import loads the whole of boto3)."""

import time
from collections.abc import Callable

from .lock import table_name, who
from .step import Step, StepError

KEPT = 200  # releases kept in the item (about 200 bytes each; an item holds 400 KB)
TIME = "%Y-%m-%d %H:%M:%S UTC"
SERVED = "live"  # the outcome of a release that went live
SOAKING = "soaking"
UNSETTLED = ("in flight", SOAKING)  # a run is still deciding these releases' outcome


def now() -> str:
    return time.strftime(TIME, time.gmtime())


def _key(step: Step, node_env: str | None = None) -> dict:
    return {"Environment": {"S": f"{node_env or step.settings.node_env}/releases"}}


def _read(step: Step, node_env: str | None = None) -> tuple[list[dict], int]:
    """The history of this environment (or of `node_env`, another of the app's), and its revision."""
    dynamodb, node_env = step.client("dynamodb"), node_env or step.settings.node_env
    try:
        item = dynamodb.get_item(TableName=table_name(step, node_env), Key=_key(step, node_env),
                                 ConsistentRead=True).get("Item")
    except dynamodb.exceptions.ResourceNotFoundException:
        of = "" if node_env == step.settings.node_env else f" of {node_env}"
        raise StepError(f"no lock table {table_name(step, node_env)} (it keeps the release history{of}): "
                        f"run `NODE_ENV={node_env} make setup` first") from None
    if not item:
        return [], 0
    releases = [{name: value["S"] for name, value in release["M"].items()} for release in item["Releases"]["L"]]
    return releases, int(item["Revision"]["N"])


def releases(step: Step, node_env: str | None = None) -> list[dict]:
    """Every release kept, the oldest first: of this environment, or of `node_env`."""
    return _read(step, node_env)[0]


def _change(step: Step, change: Callable[[list[dict]], bool]) -> None:
    """Read the history, let `change` edit it (False: nothing to write), write it back if no one
    wrote in between (else read again); keep the newest KEPT."""
    dynamodb = step.client("dynamodb")
    for _ in range(5):
        found, revision = _read(step)
        if not change(found):
            return
        kept = [{"M": {name: {"S": value} for name, value in release.items()}} for release in found[-KEPT:]]
        try:
            dynamodb.put_item(
                TableName=table_name(step),
                Item={**_key(step), "Releases": {"L": kept}, "Revision": {"N": str(revision + 1)}},
                ConditionExpression="attribute_not_exists(Revision) OR Revision = :seen",
                ExpressionAttributeValues={":seen": {"N": str(revision)}})
            return
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue  # someone else wrote in between: read again
    raise StepError("the release history kept changing under this run: try again")


def release_of(found: list[dict], stamp: str | None) -> dict | None:
    """The release of that stamp in the history `found`, if kept."""
    return next((release for release in found if release["stamp"] == stamp), None)


def begin(step: Step, stamp: str, kind: str, **fields: str) -> None:
    """A release starts. Earlier ones still in flight died without a word (this run holds the lock,
    or runs a step alone): they are interrupted."""
    def change(found: list[dict]) -> bool:
        for release in found:
            if release["outcome"] in UNSETTLED:
                release.update(outcome="interrupted", reason="its run ended without a word (killed?)")
        found.append({"stamp": stamp, "kind": kind, "outcome": "in flight", "by": who(), "started": now(), **fields})
        return True
    _change(step, change)


def update(step: Step, **fields: str) -> None:
    """What this run's release (the state's stamp) has come to use: its image."""
    stamp = step.recall("stamp", made_by="check-deploy")

    def change(found: list[dict]) -> bool:
        mine = release_of(found, stamp)
        if mine:
            mine.update(fields)
        return mine is not None
    _change(step, change)


def settle(step: Step, outcome: str, reason: str | None = None) -> None:
    """This run's release (the state's stamp) ends with `outcome`, unless it has already ended."""
    state = step.state()

    def change(found: list[dict]) -> bool:
        mine = release_of(found, state.stamp)
        if mine is None or mine["outcome"] not in UNSETTLED:
            return False
        mine.update(outcome=outcome, ended=now(), **({"reason": reason} if reason else {}),
                    **({"image": state.image_id} if state.image_id else {}))
        return True
    _change(step, change)


def live_stamps(step: Step, groups: list[dict], node_env: str | None = None) -> set[str]:
    """The stamps of the releases whose groups are in AWS (a release's group is named by its stamp):
    of this environment, or of `node_env`."""
    prefix = f"asg-{step.settings.app_name}-{node_env}-" if node_env else step.settings.group_prefix
    return {group["AutoScalingGroupName"].removeprefix(prefix) for group in groups}


def shown(release: dict, running: set[str], locked: bool) -> str:
    """A release's outcome as AWS has it now (`running`: live_stamps): a live one whose group is
    gone is retired; one in flight while no one holds the lock was interrupted."""
    outcome = release["outcome"]
    if outcome == SERVED and release["stamp"] not in running:
        return "retired"
    if outcome in UNSETTLED and not locked:
        return "interrupted"
    return outcome


def origin(release: dict) -> str:
    """The stamp of the release whose image this one runs: its own, or what a rollback restores."""
    return release.get("restores") or release["stamp"]


def live(history: list[dict], running: set[str]) -> dict | None:
    """The newest release that went live and whose group is still in AWS (`running`: live_stamps)."""
    return next((r for r in reversed(history) if r["outcome"] == SERVED and r["stamp"] in running), None)


def line(release: dict, running: set[str], locked: bool) -> str:
    """One release in a line: stamp, kind, outcome as AWS has it now, image, who and when, why it failed."""
    kind = f"{release['kind']} of {release['restores']}" if release.get("restores") else release["kind"]
    reason = f" ({release['reason']})" if release.get("reason") else ""
    image = release.get("image") or "none"
    image += f" ({release['image_from']})" if release.get("image_from") else ""
    return (f"{release['stamp']} {kind}: {shown(release, running, locked)}{reason}, "
            f"image {image}, by {release['by']} at {release['started']}")
