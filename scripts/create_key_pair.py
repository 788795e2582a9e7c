"""setup: make the environment's ssh key (ed25519, mode 0600, in deploy/keys/, git-ignored) and
import it as key pair $APP_NAME-$NODE_ENV, unless AWS already has that key pair."""

import os
import subprocess

from core.aws import tag_list
from core.plan import Change, Planned, carry_out
from core.step import Step, StepError, run


def plan(step: Step, planned: Planned | None = None) -> list[Change]:
    settings, ec2 = step.settings, step.client("ec2")
    name, key_file = settings.key_name, settings.key_file
    if ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name]}])["KeyPairs"]:
        return []

    def make_and_import():
        if not key_file.exists():
            make_key(key_file, comment=name)
        ec2.import_key_pair(KeyName=name, PublicKeyMaterial=key_file.with_suffix(".pub").read_bytes(),
                            TagSpecifications=[{"ResourceType": "key-pair", "Tags": tag_list(settings.ownership_tags)}])
    made = "" if key_file.exists() else ", made now (ed25519, mode 0600)"
    return [Change("import", f"key pair {name}", f"the public half of {shown(step)}{made}", do=make_and_import)]


def shown(step: Step) -> str:
    key_file = step.settings.key_file
    return str(key_file.relative_to(key_file.parents[2]))


def create_key_pair(step: Step) -> None:
    changes = plan(step)
    if not changes:
        where = shown(step) if step.settings.key_file.exists() else "another machine (not in deploy/keys/ here)"
        step.say(f"ssh key pair {step.settings.key_name} already exists on aws; its private key is in {where}.")
    carry_out(changes, step.say)


def make_key(key_file, comment: str) -> None:
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key_file)],
                       check=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise StepError("ssh-keygen not found: install openssh-client") from None
    os.chmod(key_file, 0o600)


if __name__ == "__main__":
    run("setup", create_key_pair)
