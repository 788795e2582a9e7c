"""Today's Packer, proven: the EC2 calls that the amazon plugin's amazon-ebs builder makes for each
of deploy/templates/*.json (its `aws` builder's settings), replayed as its source makes them, as
the environment's deployer holding exactly the policies `make iam-policy` writes (without the
tests' grant for Packer 1.6.6), against the IAM-enforcing emulator.

Followed: hashicorp/packer-plugin-amazon v1.8.2 (July 2026; the SDK v2 builder, unchanged in its
calls since v1.7.1): builder/ebs/builder.go (the step list) and builder/ebs/step_create_ami.go;
common/step_pre_validate.go, regions.go, step_source_ami_info.go, ami_filter.go,
step_network_info.go, step_key_pair.go, step_security_group.go, step_run_source_instance.go,
state.go, step_stop_ebs_instance.go, step_create_tags.go, step_cleanup_volumes.go and
run_config.go (its defaults). With the templates' settings (security_group_id given, no subnet,
no description, users, regions or encryption) it makes no temporary security group, no
ModifyImageAttribute and no copy. A template change that changes these calls must change this
file: the settings are read from the templates, so a changed tag or option changes the calls.
"""

import json
import re
import uuid

import pytest

from conftest import ACCOUNT, BASE_AMI, REGION, ROOT, ok
from core.iam import documents

USER_VARIABLE = re.compile(r"\{\{\s*user\s+`([^`]+)`\s*\}\}")


def render(value, variables: dict[str, str]):
    """A template value with its {{user `x`}} variables put in, as Packer renders them."""
    if isinstance(value, dict):
        return {key: render(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    return USER_VARIABLE.sub(lambda found: variables[found.group(1)], value) if isinstance(value, str) else value


def aws_builder(role: str, variables: dict[str, str]) -> dict:
    template = json.loads((ROOT / f"deploy/templates/{role}.json").read_text())
    [builder] = [b for b in template["builders"] if b["name"] == "aws"]
    return render(builder, {**{k: v for k, v in template["variables"].items() if v is not None}, **variables})


def tags(mapping: dict[str, str]) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in mapping.items()]


def bake(ec2, builder: dict, fail_after_image: bool = False) -> str:
    """One amazon-ebs build, call by call, as plugin v1.8.2 makes them; `fail_after_image`: its
    tagging fails, so it cleans the image up (stepCreateAMI.Cleanup)."""
    run_tags, volume_tags = tags(builder["run_tags"]), tags(builder["run_volume_tags"])
    ec2.describe_regions()  # step_pre_validate.go: ValidateRegion
    ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [builder["ami_name"]]}])  # name free
    ec2.describe_images(ImageIds=[builder["source_ami"]], IncludeDeprecated=False)  # step_source_ami_info.go
    key_name = f"packer_{uuid.uuid4()}"  # step_key_pair.go: a temporary key pair, tagged with run_tags
    ec2.create_key_pair(KeyName=key_name, KeyType="rsa",
                        TagSpecifications=[{"ResourceType": "key-pair", "Tags": run_tags}])
    ec2.describe_security_groups(GroupIds=[builder["security_group_id"]])  # step_security_group.go: given
    metadata = builder.get("metadata_options", {})  # run_config.go: enabled, optional, 1 unless given
    instance = ec2.run_instances(  # step_run_source_instance.go
        ImageId=builder["source_ami"], InstanceType=builder["instance_type"], MinCount=1, MaxCount=1,
        UserData="", KeyName=key_name, SecurityGroupIds=[builder["security_group_id"]], EbsOptimized=False,
        EnclaveOptions={"Enabled": False}, CreditSpecification={"CpuCredits": "standard"},
        MetadataOptions={"HttpEndpoint": metadata.get("http_endpoint", "enabled"),
                         "HttpTokens": metadata.get("http_tokens", "optional"),
                         "HttpPutResponseHopLimit": metadata.get("http_put_response_hop_limit", 1)},
        InstanceInitiatedShutdownBehavior="stop",
        CapacityReservationSpecification={"CapacityReservationPreference": "none"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": run_tags},
                           {"ResourceType": "network-interface", "Tags": run_tags},
                           {"ResourceType": "volume", "Tags": volume_tags}])["Instances"][0]["InstanceId"]
    ec2.describe_instances(InstanceIds=[instance])  # the InstanceRunning waiter (state.go)
    ec2.describe_instances(InstanceIds=[instance])
    ec2.stop_instances(InstanceIds=[instance])  # step_stop_ebs_instance.go
    ec2.describe_instances(InstanceIds=[instance])  # the InstanceStopped waiter
    image = ec2.create_image(  # builder/ebs/step_create_ami.go: image and snapshots tagged with run_tags
        InstanceId=instance, Name=builder["ami_name"],
        TagSpecifications=[{"ResourceType": "image", "Tags": run_tags},
                           {"ResourceType": "snapshot", "Tags": run_tags}])["ImageId"]
    ec2.describe_images(ImageIds=[image])  # the ImageAvailable waiter
    described = ec2.describe_images(ImageIds=[image])["Images"][0]
    snapshots = [m["Ebs"]["SnapshotId"] for m in described["BlockDeviceMappings"] if "Ebs" in m]
    ec2.describe_images(ImageIds=[image])  # step_create_tags.go
    if not fail_after_image:
        ec2.create_tags(Resources=[image, *snapshots], Tags=tags(builder["tags"]))
        ec2.create_tags(Resources=snapshots, Tags=tags(builder["snapshot_tags"]))
    ec2.terminate_instances(InstanceIds=[instance])  # cleanup: step_run_source_instance.go
    ec2.describe_instances(InstanceIds=[instance])  # the InstanceTerminated waiter
    ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": ["vol-00000000"]}])  # step_cleanup_volumes.go
    ec2.delete_key_pair(KeyName=key_name)  # step_key_pair.go
    if fail_after_image:  # stepCreateAMI.Cleanup
        ec2.describe_images(ImageIds=[image])
        ec2.deregister_image(ImageId=image)
        for snapshot in snapshots:
            ec2.delete_snapshot(SnapshotId=snapshot)
    return image


def users_policy(project) -> dict:
    """dev01's policies as a user attaches them (those of `make iam-policy`, without the tests'
    grant for Packer 1.6.6), as one document."""
    written = documents(app="app", node_env="dev01", record_name="dev01.example.com.", zone_id=project.zone_id(),
                        account=ACCOUNT, region=REGION)
    return {"Version": "2012-10-17", "Statement": [s for d in written.values() for s in d["Statement"]]}


@pytest.fixture
def deployer_ec2(project):
    """dev01 set up, and an EC2 client signing as its deployer, who holds exactly users_policy."""
    ok(project.make("setup"))
    project.change_policy(users_policy(project))
    return project.signed_client("ec2")


def variables(project) -> dict[str, str]:
    [bake_group] = project.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["app-dev01-bake"]}])["SecurityGroups"]
    return {"region": REGION, "endpoint": project.emulator.url, "instance_type": "t3.micro", "app_name": "app",
            "NODE_ENV": "dev01", "stamp": "20261202000000", "fingerprint": "f00d", "base_ami": BASE_AMI,
            "bake_group": bake_group["GroupId"]}


def test_today_s_plugin_bakes_both_templates_under_the_environment_s_policies(project, deployer_ec2):
    given = variables(project)
    project.emulator.iam.checked.clear()  # the bakes' checks alone
    primal = bake(deployer_ec2, aws_builder("primal", given))
    carnivore = bake(deployer_ec2, aws_builder("carnivore", {**given, "SOURCE_ID": primal}))
    assert project.emulator.iam.denied_actions() == set()
    held = {image["ImageId"]: {t["Key"]: t["Value"] for t in image["Tags"]}
            for image in project.client("ec2").describe_images(ImageIds=[primal, carnivore])["Images"]}
    assert held[primal]["Role"] == "primal" and held[carnivore]["Role"] == "carnivore"
    assert held[carnivore]["Environment"] == "dev01"
    checked = {check.action for check in project.emulator.iam.checked}
    assert {"ec2:CreateKeyPair", "ec2:RunInstances", "ec2:CreateImage", "ec2:CreateTags", "ec2:DeleteKeyPair",
            "ec2:TerminateInstances"} <= checked
    assert "ec2:ModifyImageAttribute" not in checked and "ec2:CreateSecurityGroup" not in checked


def test_today_s_plugin_cleans_up_a_failed_bake_under_the_environment_s_policies(project, deployer_ec2):
    image = bake(deployer_ec2, aws_builder("primal", variables(project)), fail_after_image=True)
    assert project.emulator.iam.denied_actions() == set()
    assert project.client("ec2").describe_images(ImageIds=[image])["Images"] == []


def test_the_plugin_s_network_interface_tag_needs_the_policy_s_grant(project, deployer_ec2):
    """The call Debian's Packer 1.6.6 never makes: without tagging network interfaces at launch,
    today's bake is refused at RunInstances."""
    statements = users_policy(project)["Statement"]
    for statement in statements:
        if statement["Sid"] == "TagRunInstances":
            statement["Resource"] = [r for r in statement["Resource"] if "network-interface" not in r]
    project.change_policy({"Version": "2012-10-17", "Statement": statements})
    with pytest.raises(deployer_ec2.exceptions.ClientError) as refused:
        bake(deployer_ec2, aws_builder("primal", variables(project)))
    assert "ec2:CreateTags on resource: arn:aws:ec2:us-east-1:123456789012:network-interface/" in str(refused.value)
