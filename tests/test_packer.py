"""scripts/core/packer.py: parsing Packer 1.6's machine-readable output, and real bakes of
deploy/templates/{primal,carnivore}.json (builder "emulator") against a local moto server."""
from __future__ import annotations

import os
import re
import uuid
from datetime import datetime

import pytest

from conftest import ROOT as REPO
from core.packer import BakeError, bake, parse_machine_readable

# Real lines from `packer build -machine-readable -color=false -only=emulator` (Packer 1.6.6).
# Packer writes a newline inside a message as the two characters \n, and keeps tabs as they are.
SUCCESS = [
    "1795704203,,ui,say,==> emulator: Creating AMI primal-demoapp-20240101000000 from instance i-ca394dc083e941e0e\n",
    "1795704203,,ui,message,    emulator: AMI: ami-90014b9b5c7880d92\n",
    "1795704203,,ui,say,==> emulator: No volumes to clean up%!(PACKER_COMMA) skipping\n",
    "1795704203,,ui,say,\\n==> Builds finished. The artifacts of successful builds are:\n",
    "1795704203,emulator,artifact-count,1\n",
    "1795704203,emulator,artifact,0,builder-id,mitchellh.amazonebs\n",
    "1795704203,emulator,artifact,0,id,us-east-1:ami-90014b9b5c7880d92\n",
    "1795704203,emulator,artifact,0,string,AMIs were created:\\nus-east-1: ami-90014b9b5c7880d92\\n\n",
    "1795704203,emulator,artifact,0,files-count,0\n",
    "1795704203,emulator,artifact,0,end\n",
    "1795704203,,ui,say,--> emulator: AMIs were created:\\nus-east-1: ami-90014b9b5c7880d92\\n\n",
]
MISSING_SOURCE_AMI = [
    "1795704207,,ui,say,==> emulator: Prevalidating AMI Name: carnivore-demoapp-staging-20240101000001\n",
    "1795704207,,ui,error,Build 'emulator' errored after 96 milliseconds 360 microseconds: Error querying AMI: "
    "InvalidAMIID.NotFound: The image id '[ami-12345678]' does not exist\\n\tstatus code: 400%!(PACKER_COMMA) "
    "request id: request-id\n",
    "1795704207,,error-count,1\n",
    "1795704207,,ui,error,\\n==> Some builds didn't complete successfully and had errors:\n",
    "1795704207,emulator,error,Error querying AMI: InvalidAMIID.NotFound: The image id '[ami-12345678]' does not "
    "exist\\n\tstatus code: 400%!(PACKER_COMMA) request id: request-id\n",
    "1795704207,,ui,say,\\n==> Builds finished but no artifacts were created.\n",
]
MISSING_VARIABLE = [
    "1795704207,,ui,error,Error: \\n\\n1 error occurred:\\n\t* required variable not set: NODE_ENV\\n\\n\\n\\n\n",
]


def test_artifact_line_gives_the_ami_id_and_ui_lines_are_said_one_line_each():
    said = []
    output = parse_machine_readable(SUCCESS, say=said.append)
    assert output.image_ids == ["ami-90014b9b5c7880d92"]
    assert output.errors == []
    assert said[0] == "==> emulator: Creating AMI primal-demoapp-20240101000000 from instance i-ca394dc083e941e0e"
    assert said[1] == "emulator: AMI: ami-90014b9b5c7880d92"
    assert said[-1] == "--> emulator: AMIs were created: us-east-1: ami-90014b9b5c7880d92"


def test_packer_comma_is_a_comma():
    said = []
    parse_machine_readable(SUCCESS, say=said.append)
    assert "==> emulator: No volumes to clean up, skipping" in said


def test_same_ami_twice_and_several_regions():
    twice = SUCCESS + ["1795704203,emulator,artifact,1,id,us-east-1:ami-90014b9b5c7880d92\n"]
    assert parse_machine_readable(twice).image_ids == ["ami-90014b9b5c7880d92"]
    regions = ["1,aws,artifact,0,id,us-east-1:ami-1%!(PACKER_COMMA)eu-west-1:ami-2\n"]
    assert parse_machine_readable(regions).image_ids == ["ami-1", "ami-2"]


def test_error_lines_are_collected_as_one_line_messages():
    output = parse_machine_readable(MISSING_SOURCE_AMI)
    assert output.image_ids == []
    assert output.errors == ["Error querying AMI: InvalidAMIID.NotFound: The image id '[ami-12345678]' does not "
                             "exist status code: 400, request id: request-id"]


def test_without_error_lines_the_ui_errors_explain_the_failure():
    assert parse_machine_readable(MISSING_VARIABLE).errors == [
        "Error: 1 error occurred: * required variable not set: NODE_ENV"]


def test_no_artifact_and_stray_lines():
    output = parse_machine_readable(["Failed to initialize build 'x'\n", "\n", "12,,ui,say,hello\n"])
    assert output == ([], [])


def test_missing_packer_binary(tmp_path):
    with pytest.raises(BakeError) as error:
        bake(str(tmp_path / "no-packer"), REPO / "deploy/templates/primal.json", {}, "emulator", tmp_path / "log")
    assert str(error.value) == "packer not found: install it (apt-get install packer) or set PACKER"


# --- real bakes against the emulator ------------------------------------------------------------

PACKER = os.environ.get("PACKER") or "packer"


@pytest.fixture
def endpoint(emulator):
    """The corrected emulator of tests/conftest.py, emptied."""
    emulator.reset()
    return emulator.url


@pytest.fixture
def aws_env():
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    return env


def ec2(endpoint):
    import boto3
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def common_variables(endpoint, stamp):
    group = ec2(endpoint).create_security_group(GroupName=f"demoapp-bake-{uuid.uuid4().hex}", Description="bake")
    return {"region": "us-east-1", "endpoint": endpoint, "instance_type": "t2.micro",
            "app_name": "demoapp", "stamp": stamp, "bake_group": group["GroupId"]}


def tags_of(resource):
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def test_bake_primal_then_carnivore_from_it(endpoint, aws_env, tmp_path, capsys):
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    primal_id = bake(PACKER, REPO / "deploy/templates/primal.json",
                     {**common_variables(endpoint, stamp), "base_ami": "ami-1e749f67", "fingerprint": "f00d",
                      "NODE_ENV": "dev01"},
                     "emulator", tmp_path / "packer-primal.log", env=aws_env)
    carnivore_id = bake(PACKER, REPO / "deploy/templates/carnivore.json",
                        {**common_variables(endpoint, stamp), "SOURCE_ID": primal_id, "NODE_ENV": "dev01",
                         "fingerprint": "beef"},
                        "emulator", tmp_path / "packer-carnivore.log", env=aws_env)

    images = {image["ImageId"]: image
              for image in ec2(endpoint).describe_images(ImageIds=[primal_id, carnivore_id])["Images"]}
    primal, carnivore = images[primal_id], images[carnivore_id]
    assert primal["Name"] == f"primal-demoapp-dev01-{stamp}"  # baked by dev01, for every environment
    assert tags_of(primal) == {"Name": f"primal-demoapp-dev01-{stamp}", "App": "demoapp", "Role": "primal",
                               "PrimalFingerprint": "f00d", "Description": "primal base image for demoapp (from "
                                                                           "ami-1e749f67)"}
    assert carnivore["Name"] == f"carnivore-demoapp-dev01-{stamp}"
    assert tags_of(carnivore) == {"Name": f"carnivore-demoapp-dev01-{stamp}", "App": "demoapp",
                                  "Role": "carnivore", "Environment": "dev01", "AppFingerprint": "beef",
                                  "Description": f"carnivore image of demoapp for dev01 (from {primal_id})"}
    snapshot_id = carnivore["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    snapshot, = ec2(endpoint).describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    assert tags_of(snapshot) == tags_of(carnivore)  # Packer 1.6.6 tags it with the image's tags too

    assert f"artifact,0,id,us-east-1:{carnivore_id}" in (tmp_path / "packer-carnivore.log").read_text()
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("packer: ")]
    assert f"packer: ==> emulator: Creating AMI carnivore-demoapp-dev01-{stamp}" in "\n".join(said)
    assert said[-1].startswith("packer: --> emulator: AMIs were created: us-east-1: ")
    assert sum("AMIs were created" in line for line in said) == 2  # primal's bake, then carnivore's
    assert 8 <= len(said) <= 2 * 8, said  # a few lines per bake: the log has them all
    assert all(re.search(r" \[\d+s\]$", line) for line in said)


def test_failing_bake_raises_one_line_bake_error(endpoint, aws_env, tmp_path):
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    log_file = tmp_path / "packer-carnivore.log"
    with pytest.raises(BakeError) as error:
        bake(PACKER, REPO / "deploy/templates/carnivore.json",
             {**common_variables(endpoint, stamp), "SOURCE_ID": "ami-12345678", "NODE_ENV": "dev01"},
             "emulator", log_file, env=aws_env)
    message = str(error.value)
    assert "\n" not in message
    assert "InvalidAMIID.NotFound" in message and "ami-12345678" in message
    assert str(log_file) in message
    assert ",error-count,1" in log_file.read_text()


@pytest.mark.parametrize("name", ["primal", "carnivore"])
def test_emulator_builder_is_the_aws_builder_without_ssh_or_provisioners(name):
    import json
    template = json.loads((REPO / f"deploy/templates/{name}.json").read_text())
    aws, emulator_builder = template["builders"]
    assert (aws["name"], aws["communicator"]) == ("aws", "ssh")
    assert (emulator_builder["name"], emulator_builder["communicator"]) == ("emulator", "none")
    # The build instance on AWS requires IMDSv2 (Packer 1.10+; Debian's 1.6.6 knows no metadata_options
    # and validates the emulator builder alone, -only=emulator).
    assert aws["metadata_options"] == {"http_endpoint": "enabled", "http_tokens": "required",
                                       "http_put_response_hop_limit": 1}
    without_ssh = {k: v for k, v in aws.items()
                   if not k.startswith("ssh_") and k not in ("name", "communicator", "metadata_options")}
    assert without_ssh == {k: v for k, v in emulator_builder.items()
                           if not k.startswith("ssh_") and k not in ("name", "communicator")}
    assert (aws["ssh_keypair_name"], emulator_builder["ssh_keypair_name"]) == ("{{user `key_name`}}",) * 2
    assert all(provisioner["only"] == ["aws"] for provisioner in template["provisioners"])
