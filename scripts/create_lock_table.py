"""setup: create the DynamoDB table deploy-lock-$APP_NAME-$NODE_ENV that keeps two deploys of this
environment (from any machine) from running at once. On demand billing: an idle table costs
nothing."""

from core.aws import tag_list, wait
from core.lock import table_name
from core.plan import Change, Planned, carry_out
from core.step import Step, run


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    dynamodb, name = step.client("dynamodb"), table_name(step)
    try:
        dynamodb.describe_table(TableName=name)
        return []
    except dynamodb.exceptions.ResourceNotFoundException:
        pass

    def create():
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "Environment", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "Environment", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=tag_list(step.settings.ownership_tags),
        )
        wait(dynamodb, "table_exists", timeout=120, interval=2, say=step.say,
             progress=lambda parsed: f"waiting for lock table {name} "
                                     f"({parsed.get('Table', {}).get('TableStatus', 'not yet')})",
             TableName=name)
    return [Change("create", f"lock table {name}", "DynamoDB, on demand", do=create)]


def create_lock_table(step: Step) -> None:
    changes = plan(step)
    if not changes:
        step.say(f"lock table {table_name(step)} already exists.")
    carry_out(changes, step.say)


if __name__ == "__main__":
    run("setup", create_lock_table)
