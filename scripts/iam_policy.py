"""iam-policy: write the IAM policies a principal needs to set up, deploy, roll back, watch and
destroy this environment of the app, and nothing more, as deploy/iam/$APP_NAME-$NODE_ENV-setup.json,
-deploy.json, -bake.json and -read.json: customer managed policies to attach (core/iam.py says how
each is scoped).
Asks AWS for the account (STS, which needs no permission) and the hosted zone (HOSTED_ZONE, or
looked up from TLD); changes nothing in AWS, keeps no record."""

import json

from core.dns import hosted_zone_id
from core.iam import MANAGED_POLICY_CHARACTERS, compact, documents
from core.settings import ROOT
from core.step import Step, StepError, run

ACCOUNT = "Account"


def iam_policy(step: Step) -> None:
    settings = step.settings
    account = step.client("sts").get_caller_identity()[ACCOUNT]
    written = documents(app=settings.app_name, node_env=settings.node_env, record_name=settings.record_name,
                        zone_id=hosted_zone_id(step), account=account, region=step.aws.region)
    folder = ROOT / "deploy" / "iam"
    folder.mkdir(parents=True, exist_ok=True)
    for kind, document in written.items():
        size = len(compact(document))
        if size > MANAGED_POLICY_CHARACTERS:  # never written: AWS would refuse it whole
            raise StepError(f"the {kind} policy has {size} characters, a managed policy holds "
                            f"{MANAGED_POLICY_CHARACTERS}: shorten APP_NAME or NODE_ENV")
        path = folder / f"{settings.name}-{kind}.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        step.say(f"wrote {path.relative_to(ROOT)} ({size} of {MANAGED_POLICY_CHARACTERS} characters)")
    step.say(f"attach all {len(written)} to the principal that deploys {settings.node_env} of {settings.app_name} "
             f"(account {account}, {step.aws.region}), each as: aws iam create-policy --policy-name "
             f"{settings.name}-<kind> --policy-document file://deploy/iam/{settings.name}-<kind>.json, then "
             "aws iam attach-role-policy (or attach-user-policy) with its ARN")


if __name__ == "__main__":
    run("iam-policy", iam_policy, recorded=False)
