"""`make deploy` end to end: the real packer bakes against the corrected emulator, the real Make
targets run, and health over time is scripted in the emulator."""

import base64
import json
import subprocess

import boto3
import pytest

from conftest import errors, ok

GROUP_PREFIX = "asg-app-dev01-"


def groups_of(project, node_env="dev01", app="app"):
    filters = [{"Name": "tag:App", "Values": [app]}, {"Name": "tag:Environment", "Values": [node_env]}]
    pages = project.client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate(Filters=filters)
    return [group for page in pages for group in page["AutoScalingGroups"]]


def application(project) -> bool:
    return project.settings.get("LOAD_BALANCER_KIND") == "application"


def in_service(project, lb="elb-app-dev01"):
    """The instances serving at the load balancer: InService at a classic one, healthy targets of
    an ALB's target group."""
    if application(project):
        target_group = "tg-" + lb.removeprefix("elb-")
        arn = project.client("elbv2").describe_target_groups(Names=[target_group])["TargetGroups"][0]["TargetGroupArn"]
        found = project.client("elbv2").describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        return sorted(t["Target"]["Id"] for t in found if t["TargetHealth"]["State"] == "healthy")
    states = project.client("elb").describe_instance_health(LoadBalancerName=lb)["InstanceStates"]
    return sorted(s["InstanceId"] for s in states if s["State"] == "InService")


def serving_word(project):
    return "healthy" if application(project) else "InService"


def serving_history(project, lb="elb-app-dev01"):
    """How many instances served after every change the emulator saw."""
    if application(project):
        return project.emulator.tg_healthy_history("tg-" + lb.removeprefix("elb-"))
    return project.emulator.lb_inservice_history(lb)


def images(project, role="carnivore"):
    found = project.client("ec2").describe_images(
        Owners=["self"], Filters=[{"Name": "tag:Role", "Values": [role]}])["Images"]
    return {image["ImageId"]: image for image in found}


def templates(project):
    return project.client("ec2").describe_launch_templates()["LaunchTemplates"]


def launch_settings(project):
    """Every launch template and configuration in the account, by name."""
    configurations = project.client("autoscaling").describe_launch_configurations()["LaunchConfigurations"]
    return sorted([t["LaunchTemplateName"] for t in templates(project)] +
                  [c["LaunchConfigurationName"] for c in configurations])


def launch_of(group):
    return group.get("LaunchConfigurationName") or group["LaunchTemplate"]["LaunchTemplateName"]


KINDS = [("template", "classic"), ("configuration", "classic"), ("template", "application")]


@pytest.fixture(params=KINDS, ids=["-".join(kinds) for kinds in KINDS])
def kinds(request):
    """Launch templates (the default) or configurations, and a classic load balancer (the default)
    or an application one: each of the four at least once. Only the tests whose path differs by
    kind take them (`ready`); the others run on the defaults (`set_up`)."""
    return request.param


@pytest.fixture
def ready(project, kinds):
    """An environment after `make setup`, of those kinds."""
    project.settings.update(LAUNCH_KIND=kinds[0], LOAD_BALANCER_KIND=kinds[1])
    ok(project.make("setup"))
    project.emulator.calls.clear()
    return project


def test_first_deploy_serves_from_one_healthy_group(ready):
    project = ready
    result = ok(project.make("deploy", DESIRED_CAPACITY="2"))
    assert f"deploy: ensuring new instance(s) are healthy at elb (2/2 are {serving_word(project)})" in result.stdout
    assert "packer templates: valid (primal and carnivore)" in result.stdout  # both baked

    [group] = groups_of(project)
    assert group["AutoScalingGroupName"].startswith(GROUP_PREFIX)
    assert (group["HealthCheckType"], group["HealthCheckGracePeriod"]) == ("ELB", 300)
    if application(project):
        [target_group] = project.client("elbv2").describe_target_groups(Names=["tg-app-dev01"])["TargetGroups"]
        assert group["TargetGroupARNs"] == [target_group["TargetGroupArn"]] and not group["LoadBalancerNames"]
    else:
        assert group["LoadBalancerNames"] == ["elb-app-dev01"] and not group.get("TargetGroupARNs")
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (1, 2, 2)
    tags = {t["Key"]: t["Value"] for t in group["Tags"]}
    [image_id] = images(project)
    assert tags == {"App": "app", "Environment": "dev01", "Name": "app-dev01", "Role": "web", "Image": image_id}
    if "LaunchTemplate" in group:
        assert group["LaunchTemplate"]["Version"] == "1"  # pinned, never $Latest
        data = project.client("ec2").describe_launch_template_versions(
            LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"],
            Versions=["1"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
        assert "CreateLaunchConfiguration" not in project.mutating_actions()  # the default makes none
    else:
        [data] = project.client("autoscaling").describe_launch_configurations(
            LaunchConfigurationNames=[group["LaunchConfigurationName"]])["LaunchConfigurations"]
        assert "CreateLaunchTemplate" not in project.mutating_actions()
    assert launch_of(group) == {"template": "lt-", "configuration": "lc-"}[project.settings["LAUNCH_KIND"]] + \
        group["AutoScalingGroupName"].removeprefix("asg-")
    assert (data["ImageId"], data["InstanceType"], data["KeyName"]) == (image_id, "t3.micro", "app-dev01")
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert in_service(project) == sorted(i["InstanceId"] for i in group["Instances"])
    # the AMI id came from the machine-readable artifact line
    log = (project.record("deploy") / "packer-carnivore.log").read_text()
    assert f"artifact,0,id,us-east-1:{image_id}" in log


def test_second_deploy_replaces_the_group_without_ever_dropping_to_zero(ready):
    project = ready
    ok(project.make("deploy", DESIRED_CAPACITY="2"))
    [old] = groups_of(project)
    project.emulator.calls.clear()
    before = len(serving_history(project))
    project.emulator.health.set(GROUP_PREFIX, group_polls=3, lb_polls=2)  # new instances take a while
    result = ok(project.make("deploy", DESIRED_CAPACITY="2"))
    assert "(0/2 are healthy)" in result.stdout and f"(0/2 are {serving_word(project)})" in result.stdout

    [new] = groups_of(project)
    assert new["AutoScalingGroupName"] != old["AutoScalingGroupName"]
    assert in_service(project) == sorted(i["InstanceId"] for i in new["Instances"])
    actions = [call.action for call in project.emulator.calls]
    deregister = "DeregisterTargets" if application(project) else "DeregisterInstancesFromLoadBalancer"
    assert actions.index("SuspendProcesses") < actions.index(deregister)  # the old group cannot replace them
    history = serving_history(project)[before:]
    assert len(history) > 10 and min(history) >= 2, history  # after every call of the deploy
    assert launch_settings(project) == [launch_of(new)]
    # the primal image was reused: only the app image was baked, and only its template validated
    assert "packer templates: valid (carnivore; primal is not baked)" in result.stdout
    assert project.mutating_actions().count("CreateImage") == 1
    assert len(images(project, "primal")) == 1


def test_outdated_groups_are_found_by_ownership_among_hundreds(set_up):
    project = set_up  # the groups are found by their tags, whatever launches them and whichever balancer
    autoscaling = project.client("autoscaling")
    (project.path / "deploy/env/dev.json").write_text('{"port": 80, "greeting": "dev"}\n')
    ok(project.make("setup", node_env="dev"))
    ok(project.make("deploy", node_env="dev01"))  # a neighbour whose names share the prefix asg-app-dev
    ok(project.make("deploy", node_env="dev"))
    template = {"LaunchTemplateName": "filler", "LaunchTemplateData": {"ImageId": "ami-1e749f67"}}
    template_id = project.client("ec2").create_launch_template(**template)["LaunchTemplate"]["LaunchTemplateId"]
    for number in range(260):  # other apps' groups, some named like this environment's
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"asg-app-dev-{number}", MinSize=0, MaxSize=0, DesiredCapacity=0,
            LaunchTemplate={"LaunchTemplateId": template_id}, AvailabilityZones=["us-east-1a"],
            Tags=[{"Key": "App", "Value": "shop"}, {"Key": "Environment", "Value": "dev"}])
    [neighbour] = groups_of(project, "dev01")
    [old] = groups_of(project, "dev")
    project.emulator.calls.clear()

    ok(project.make("deploy", node_env="dev"))
    describes = [c for c in project.emulator.calls if c.action == "DescribeAutoScalingGroups"]
    [new] = groups_of(project, "dev")
    assert new["AutoScalingGroupName"] != old["AutoScalingGroupName"]
    assert groups_of(project, "dev01") == [neighbour]  # untouched
    assert len(groups_of(project, "dev", app="shop")) == 260
    assert len(describes) <= 9, len(describes)  # a tag filter: no listing of the 260 (3 pages at least per look)


LAUNCH_KINDS = [("template", "classic"), ("configuration", "classic")]


@pytest.mark.parametrize("kinds", LAUNCH_KINDS, ids=["-".join(kinds) for kinds in LAUNCH_KINDS])
def test_cleanup_keeps_the_live_and_previous_images_and_deletes_older_ones_with_snapshots(ready):
    """An image in use is found through the groups' launch templates or configurations: both kinds."""
    project = ready
    baked = []
    for _ in range(3):
        ok(project.make("deploy"))
        baked.append(next(iter(set(images(project)) - set(baked))))
    first, second, live = baked
    assert set(images(project)) == {second, live}
    ec2 = project.client("ec2")
    snapshots = ec2.describe_snapshots(Filters=[{"Name": "tag:Role", "Values": ["carnivore"]}])["Snapshots"]
    assert len(snapshots) == 2  # the first image's snapshot went with it

    ok(project.make("deploy", KEEP_IMAGES="1", IMAGE_ID=second))  # roll back to `second` by id
    assert set(images(project)) == {second}  # the live image is kept even with KEEP_IMAGES=1
    [group] = groups_of(project)
    assert {t["Key"]: t["Value"] for t in group["Tags"]}["Image"] == second

    ok(project.make("deploy", CLEANUP="no"))
    assert second in images(project)


def test_a_deploy_whose_inputs_did_not_change_bakes_nothing_and_a_changed_input_bakes_again(set_up):
    project = set_up  # the example build's version is its build time: APP_VERSION pins it
    ok(project.make("deploy", APP_VERSION="1.0"))
    [baked] = images(project)
    project.emulator.calls.clear()
    again = ok(project.make("deploy", APP_VERSION="1.0")).stdout
    assert f": skipped, an image of the same inputs exists ({baked})" in again
    assert "CreateImage" not in project.mutating_actions() and list(images(project)) == [baked]
    [group] = groups_of(project)
    template = project.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"], Versions=["1"])["LaunchTemplateVersions"][0]
    assert template["LaunchTemplateData"]["ImageId"] == baked  # the new group runs the same image

    ok(project.make("deploy", APP_VERSION="1.1"))  # a new build: a new image
    assert len(images(project)) == 2 and "CreateImage" in project.mutating_actions()
    tags = {tag["Key"]: tag["Value"] for tag in images(project)[baked]["Tags"]}
    assert len(tags["AppFingerprint"]) == 32


def user_data_of(project, group) -> dict:
    """What the group's instances read at boot: their user data, as EC2 gives it to them."""
    [instance] = group["Instances"]
    found = project.client("ec2").describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
    return json.loads(base64.b64decode(found["UserData"]["Value"]))


def test_a_change_of_the_app_config_alone_launches_the_same_image_with_the_new_config(set_up):
    project = set_up
    ok(project.make("deploy", APP_VERSION="1.0"))
    [baked] = images(project)
    assert user_data_of(project, groups_of(project)[0]) == {"NODE_ENV": "dev01", "config": {
        "port": 80, "greeting": "Hello from dev01"}}
    (project.path / "deploy/env/dev01.json").write_text('{"port": 80, "greeting": "Hello again"}\n')
    again = ok(project.make("deploy", APP_VERSION="1.0")).stdout
    assert f"skipped, an image of the same inputs exists ({baked})" in again
    [group] = groups_of(project)
    data = project.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"], Versions=["1"])["LaunchTemplateVersions"][0][
        "LaunchTemplateData"]
    assert data["ImageId"] == baked  # the same image, with the new config
    assert json.loads(base64.b64decode(data["UserData"]))["config"]["greeting"] == "Hello again"
    assert user_data_of(project, group)["config"]["greeting"] == "Hello again"
    assert "Hello again" not in (project.record("deploy") / "aws.jsonl").read_text()  # never in a record


def test_a_failing_bake_changes_no_group(set_up):
    project = set_up
    ok(project.make("deploy"))
    [group] = groups_of(project)
    project.emulator.calls.clear()
    project.emulator.faults.add(service="ec2", action="RunInstances", code="InsufficientInstanceCapacity",
                                packer=True)  # AWS has no t3.micro to spare for the bake
    result = project.make("deploy", PRIMAL_ID="")
    assert result.returncode != 0
    assert "InsufficientInstanceCapacity" in result.stderr and "Traceback" not in result.stderr
    assert "(full log: deploy/log/dev01/" in result.stderr  # the history keeps it: no path of this machine
    history = ok(project.make("history")).stdout
    assert "InsufficientInstanceCapacity" in history and str(project.path) not in history
    assert groups_of(project) == [group]
    assert not [c for c in project.emulator.mutating_calls() if c.service == "autoscaling"]


def test_an_unhealthy_release_is_rolled_back_and_the_old_group_keeps_serving(ready):
    project = ready
    ok(project.make("deploy"))
    [old] = groups_of(project)
    serving = in_service(project)
    before = len(serving_history(project))
    project.emulator.health.set(GROUP_PREFIX, never=True)
    result = project.make("deploy", HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2")
    assert result.returncode != 0
    assert "did not become healthy" in result.stderr and "rolled back" in result.stderr
    assert ("unhealthy (Target.FailedHealthChecks: Health checks failed)" if application(project) else
            "OutOfService (Instance: Instance has failed at least the UnhealthyThreshold") in result.stdout
    assert groups_of(project) == [old]
    assert in_service(project) == serving
    assert launch_settings(project) == [launch_of(old)]
    assert len(images(project)) == 1  # the image baked for the failed release is gone
    assert min(serving_history(project)[before:]) >= 1


@pytest.mark.parametrize("kind", ["classic", "application"])
def test_instances_their_group_does_not_admit_the_load_balancer_from_fail_and_are_rolled_back(project, kind):
    project.settings.update(LOAD_BALANCER_KIND=kind)
    ok(project.make("setup"))
    ec2 = project.client("ec2")
    [group] = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["app-dev01-instances"]}])["SecurityGroups"]
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])

    result = project.make("deploy", HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2")
    assert result.returncode != 0
    assert "did not become healthy" in result.stderr and "rolled back" in result.stderr
    assert ("unhealthy (Target.FailedHealthChecks" if application(project) else
            "OutOfService (Instance: Instance has failed at least the UnhealthyThreshold") in result.stdout
    assert groups_of(project) == [] and launch_settings(project) == [] and images(project) == {}

    ok(project.make("setup"))  # puts the rule back
    ok(project.make("deploy"))
    assert len(in_service(project)) == 1


@pytest.mark.parametrize("settings, says", [
    ({"IMAGE_ID": "ami-0000000000000dead"}, "IMAGE_ID=ami-0000000000000dead is not an available image"),
    ({"PRIMAL_ID": "ami-0000000000000dead"}, "PRIMAL_ID=ami-0000000000000dead is not an available image"),
    ({"PACKER": "no-such-packer"}, "packer not found"),
    ({"DESIRED_CAPACITY": "5"}, "MIN_CAPACITY <= DESIRED_CAPACITY <= MAX_CAPACITY"),
])
def test_bad_deploy_input_changes_nothing(set_up, settings, says):
    result = set_up.make("deploy", **settings)
    assert result.returncode != 0 and says in result.stderr and "Traceback" not in result.stderr
    assert set_up.mutating_actions() == []
    assert set_up.lock_holder() is None


def test_deploy_before_setup_says_to_run_setup(project):
    result = project.make("deploy")
    assert result.returncode != 0
    assert "run `NODE_ENV=dev01 make setup` first" in result.stderr
    assert project.mutating_actions() == []


@pytest.mark.parametrize("target, says", [
    ("launch-asg", "make check-deploy"),
    ("wait-health", "make launch-asg"),
    ("cleanup-asgs", "make lookup-asg"),
    ("deployment-image", "make primal-image"),
])
def test_a_step_run_alone_names_the_step_it_needs(set_up, target, says):
    if target == "deployment-image":
        ok(set_up.make("check-deploy"))
    result = set_up.make(target)
    assert result.returncode != 0 and says in result.stderr
    assert set_up.mutating_actions() == []


def test_steps_run_alone_make_a_whole_deploy(ready):
    for target in ["check-deploy", "primal-image", "build-app", "copy-over", "deployment-image", "lookup-asg",
                   "launch-asg", "wait-health", "soak", "cleanup-asgs", "cleanup-image"]:
        ok(ready.make(target, **({"SOAK_SECONDS": "60"} if target == "soak" else {})))
    assert len(groups_of(ready)) == 1 and in_service(ready)
    assert "no soak: no old group to go back to." in ready.record("soak").joinpath("progress.log").read_text()


def test_a_vpc_of_your_own_is_used_through_subnets_and_security_group_ids(project):
    ec2 = project.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = sorted(ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{n}.0/24", AvailabilityZone=zone)["Subnet"]
                     ["SubnetId"] for n, zone in enumerate(["us-east-1a", "us-east-1b"]))
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    project.settings.update(SUBNETS=" ".join(subnets), SECURITY_GROUPS=web)
    ok(project.make("setup"))
    ok(project.make("deploy"))

    balancer = project.client("elb").describe_load_balancers(LoadBalancerNames=["elb-app-dev01"])
    assert sorted(balancer["LoadBalancerDescriptions"][0]["Subnets"]) == subnets
    [group] = groups_of(project)
    assert sorted(group["VPCZoneIdentifier"].split(",")) == subnets
    data = ec2.describe_launch_template_versions(LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"],
                                                 Versions=["1"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    own = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["app-dev01-instances"]},
                                                {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0]["GroupId"]
    assert data["SecurityGroupIds"] == [own, web]
    [instance] = ec2.describe_instances(InstanceIds=[group["Instances"][0]["InstanceId"]])["Reservations"][0][
        "Instances"]
    assert instance["SubnetId"] in subnets
    assert in_service(project)


def test_an_unknown_subnet_is_refused_before_anything_is_created(project):
    result = project.make("setup", SUBNETS="subnet-0000000000dead")
    assert result.returncode != 0 and "SUBNETS has subnet-0000000000dead, not in us-east-1" in result.stderr
    assert project.mutating_actions() == []


def test_build_command_runs_through_the_shell_into_its_environments_own_build_dir(set_up):
    command = 'test "$NODE_ENV" = dev01 && python3 app/build.py && echo shell-ran > "$BUILD_DIR/marker"'
    ok(set_up.make("deploy", BUILD_COMMAND=command))
    build = set_up.path / "tmp/dev01/build"
    assert (build / "marker").read_text() == "shell-ran\n"
    staged = set_up.path / "tmp/dev01/appserver"
    assert (staged / "app/dist/marker").exists() and (staged / "app/server.py").exists()
    assert not (staged / "deploy").exists()  # the app config reaches the instances as user data, not in the image
    failing = set_up.make("build-app", BUILD_COMMAND="true && no-such-build-tool")
    assert failing.returncode != 0 and "BUILD_COMMAND failed with exit 127 (command not found)" in failing.stderr


def test_two_environments_deploy_at_once_from_one_checkout_with_their_own_builds(project):
    (project.path / "deploy/env/dev02.json").write_text('{"port": 80, "greeting": "dev02"}\n')
    for node_env in ("dev01", "dev02"):
        ok(project.make("setup", node_env=node_env))
    runs = [subprocess.Popen(["make", "--no-print-directory", "deploy"], cwd=project.path, text=True,
                             env=project.env(node_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for node_env in ("dev01", "dev02")]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    for node_env in ("dev01", "dev02"):
        assert json.loads((project.path / f"tmp/{node_env}/appserver/app/dist/version.json").read_text())["version"]
        assert len(groups_of(project, node_env)) == 1


def test_aws_region_comes_before_aws_default_region_for_everything_packer_included(project):
    """The harness sets AWS_DEFAULT_REGION=us-east-1; AWS_REGION (as the AWS CLI v2) wins."""
    here = {"AWS_REGION": "eu-west-1", "AVAILABILITY_ZONES": "eu-west-1a eu-west-1b"}
    ok(project.make("setup", **here))
    ok(project.make("deploy", **here))
    west = lambda service: boto3.client(  # noqa: E731
        service, endpoint_url=project.emulator.url, region_name="eu-west-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")
    [balancer] = west("elb").describe_load_balancers()["LoadBalancerDescriptions"]
    assert balancer["LoadBalancerName"] == "elb-app-dev01"
    [group] = west("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert group["AutoScalingGroupName"].startswith(GROUP_PREFIX)
    assert {t["Value"] for image in west("ec2").describe_images(Owners=["self"])["Images"]
            for t in image["Tags"] if t["Key"] == "Role"} == {"primal", "carnivore"}
    assert west("dynamodb").list_tables()["TableNames"] == ["deploy-lock-app-dev01"]
    [alias] = [s for s in project.client("route53").list_resource_record_sets(
        HostedZoneId=project.client("route53").list_hosted_zones()["HostedZones"][0]["Id"])["ResourceRecordSets"]
        if s["Type"] == "A"]
    assert alias["AliasTarget"]["HostedZoneId"] == "Z32O12XQLNTSW2"  # eu-west-1's classic load balancers
    # and nothing in us-east-1
    assert project.client("elb").describe_load_balancers()["LoadBalancerDescriptions"] == []
    assert groups_of(project) == [] and images(project) == {} and images(project, "primal") == {}
    assert project.client("dynamodb").list_tables()["TableNames"] == []
    assert project.client("ec2").describe_security_groups(
        Filters=[{"Name": "tag-key", "Values": ["App"]}])["SecurityGroups"] == []


@pytest.mark.parametrize("broken, says", [
    (lambda text: text.replace('"amazon-ebs"', '"amazon-ebsx"'),  # as a packer without the plugin
     "run `packer plugins install github.com/hashicorp/amazon`"),
    (lambda text: text.replace('"communicator": "none",', '"communicator": "none", "no_such_option": 1,'),
     "packer validate of carnivore.json failed: "),
], ids=["no-amazon-builder", "template-error"])
def test_packer_validate_stops_a_broken_bake_before_anything_changes(set_up, broken, says):
    template = set_up.path / "deploy/templates/carnivore.json"
    original = template.read_text()
    template.write_text(broken(original))
    try:
        result = set_up.make("deploy")
    finally:
        template.write_text(original)
    assert result.returncode != 0
    [error] = errors(result)
    assert says in error and "nothing was baked" in error
    assert set_up.mutating_actions() == [] and images(set_up, "primal") == {}


def test_the_bake_runs_in_the_environment_s_bake_group_which_admits_ssh_from_one_range_alone(set_up):
    ec2 = set_up.client("ec2")
    ok(set_up.make("setup", BAKE_SSH_CIDR="203.0.113.7/32"))  # setup applies the range
    before = len(set_up.emulator.calls)
    ok(set_up.make("deploy", BAKE_SSH_USER="ubuntu", BAKE_SSH_CIDR="203.0.113.7/32"))
    made = [c.action for c in set_up.emulator.calls[before:]]
    assert "CreateImage" in made and "CreateSecurityGroup" not in made  # Packer made no group of its own
    [bake] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["app-dev01-bake"]}])[
        "SecurityGroups"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in bake["IpPermissions"]] == \
        [(22, ["203.0.113.7/32"])]
    built = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["packer-carnivore-*"]}])
    [instance] = [i for r in built["Reservations"] for i in r["Instances"]]
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [bake["GroupId"]]
    assert instance["KeyName"] == "app-dev01" and "CreateKeyPair" not in made  # the environment's own key pair
    assert {t["Key"]: t["Value"] for t in instance["Tags"]}["Environment"] == "dev01"
    refused = set_up.make("deploy", BAKE_SSH_CIDR="0.0.0.0/0")
    assert refused.returncode != 0 and "BAKE_SSH_CIDR=0.0.0.0/0 opens SSH to the whole internet" in refused.stderr


def test_a_build_that_fails_stops_the_deploy_before_any_bake(set_up):
    result = set_up.make("deploy", BUILD_COMMAND="false")
    assert result.returncode != 0 and "BUILD_COMMAND failed" in result.stderr
    assert "building primal image" not in result.stdout  # the build runs first: it fails in seconds
    assert "CreateImage" not in set_up.mutating_actions() and images(set_up, "primal") == {}


@pytest.mark.parametrize("setting", ["BASE_AMI", "PRIMAL_ID", "IMAGE_ID"])
def test_an_image_that_is_not_in_the_region_stops_the_deploy_before_anything_changes(set_up, setting):
    result = set_up.make("deploy", **{setting: "ami-0123456789abcdef0"})
    assert result.returncode != 0
    assert errors(result) == [f"deploy: error: {setting}=ami-0123456789abcdef0 is not an available image in "
                              f"us-east-1: fix {setting}"]
    assert set_up.mutating_actions() == []


def test_a_runner_without_the_environment_s_private_key_bakes_with_a_temporary_key_pair(set_up):
    (set_up.path / "deploy/keys/app-dev01").unlink()  # a CI runner: setup ran elsewhere
    before = len(set_up.emulator.calls)
    result = ok(set_up.make("deploy"))
    assert "no deploy/keys/app-dev01 on this machine: Packer will log in with a temporary key pair" in result.stdout
    made = [c.action for c in set_up.emulator.calls[before:]]
    assert made.count("CreateKeyPair") == made.count("DeleteKeyPair") == 2  # one per bake, each deleted
    assert [k["KeyName"] for k in set_up.client("ec2").describe_key_pairs()["KeyPairs"]] == ["app-dev01"]
