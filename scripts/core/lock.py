"""One deploy per environment at a time, across machines: a DynamoDB item written with a
conditional put (only if no one holds it), in the table deploy-lock-$APP_NAME-$NODE_ENV that
`make setup` creates. `make unlock` breaks a lock older than LOCK_TIMEOUT. A lock whose holder ran
on this very host and whose process is gone (killed) is taken over at once, and said."""

import getpass
import os
import re
import socket
import time
from contextlib import contextmanager

from .step import Context, StepError, uninterrupted


def who() -> str:
    """The user and machine of this run, as the lock and the release history name it."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


OWNER = re.compile(r"^(?P<who>\S+@(?P<host>\S+)) pid (?P<pid>\d+)$")


def dead_here(lock: dict) -> bool:
    """The lock's holder ran on this host and its process is gone (a pid of another host, or a
    process that may still run, is never taken as dead)."""
    found = OWNER.match(lock["Owner"]["S"])
    if not found or found["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(found["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: it runs
        pass
    return False


def table_name(step: Context, node_env: str | None = None) -> str:
    """The lock table of this environment (or of `node_env`, another of the app's)."""
    return f"deploy-lock-{step.settings.app_name}-{node_env or step.settings.node_env}"


@contextmanager
def deploy_lock(step: Context):
    """Hold the environment's lock for the duration of the block; say who holds it otherwise."""
    dynamodb, key = step.client("dynamodb"), {"Environment": {"S": step.settings.node_env}}
    me = {"Owner": {"S": f"{who()} pid {os.getpid()}"},
          "Since": {"N": str(int(time.time()))}}
    with uninterrupted():  # taken and released whole, even under Ctrl-C: the steps run interruptible()
        try:
            dynamodb.put_item(TableName=table_name(step), Item={**key, **me},
                              ConditionExpression="attribute_not_exists(Environment)")
        except dynamodb.exceptions.ConditionalCheckFailedException:
            take_over_a_dead_holder(step, me)
        except dynamodb.exceptions.ResourceNotFoundException:
            raise StepError(f"no lock table {table_name(step)}: run `NODE_ENV={step.settings.node_env} "
                            "make setup` first") from None
        try:
            yield
        finally:
            remove_lock(step, me)


def take_over_a_dead_holder(step: Context, me: dict) -> None:
    """Take the lock from a holder known dead (dead_here), only if it still holds it; else say who
    holds it."""
    dynamodb, node_env = step.client("dynamodb"), step.settings.node_env
    lock = current_lock(step)
    if lock and dead_here(lock):
        try:
            dynamodb.put_item(
                TableName=table_name(step), Item={"Environment": {"S": node_env}, **me},
                ConditionExpression="#owner = :owner AND #since = :since",
                ExpressionAttributeNames={"#owner": "Owner", "#since": "Since"},
                ExpressionAttributeValues={":owner": lock["Owner"], ":since": lock["Since"]})
            step.say(f"took over the deploy lock {held_by(step, lock)}: its process is gone from this host")
            return
        except dynamodb.exceptions.ConditionalCheckFailedException:
            lock = None  # someone else took it meanwhile
    raise StepError(f"{node_env} is locked: {held_by(step, lock)}; wait for that run to end, or `NODE_ENV={node_env} "
                    "make unlock` once the lock is older than LOCK_TIMEOUT") from None


def remove_lock(step: Context, holder: dict) -> None:
    """Delete the lock item, only if it is still the one `holder` (Owner and Since) took; a table
    that is gone (`make destroy` removes it last, holding the lock) holds no lock."""
    dynamodb = step.client("dynamodb")
    try:
        dynamodb.delete_item(
            TableName=table_name(step), Key={"Environment": {"S": step.settings.node_env}},
            ConditionExpression="#owner = :owner AND #since = :since",
            ExpressionAttributeNames={"#owner": "Owner", "#since": "Since"},
            ExpressionAttributeValues={":owner": holder["Owner"], ":since": holder["Since"]})
    except dynamodb.exceptions.ResourceNotFoundException:
        pass


def current_lock(step: Context) -> dict | None:
    dynamodb = step.client("dynamodb")
    try:
        item = dynamodb.get_item(
            TableName=table_name(step), Key={"Environment": {"S": step.settings.node_env}}, ConsistentRead=True)
    except dynamodb.exceptions.ResourceNotFoundException:
        raise StepError(f"no lock table {table_name(step)}: run `NODE_ENV={step.settings.node_env} "
                        "make setup` first") from None
    return item.get("Item")


def held_by(step: Context, lock: dict | None = None) -> str:
    lock = lock or current_lock(step)
    if lock is None:
        return "by no one"
    since = int(lock["Since"]["N"])
    dead = ", whose process is gone from this host" if dead_here(lock) else ""
    return (f"held by {lock['Owner']['S']} since {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(since))} "
            f"({int(time.time()) - since} s ago{dead})")
