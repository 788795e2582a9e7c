"""`make status`, `make destroy` and `make demo` end to end, through make: status reads and changes
nothing, destroy removes exactly one environment once confirmed, and the demo runs through on its
own emulator and leaves no process behind."""

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import errors, ok
from test_deploy import groups_of, images, in_service

OTHER_APP = [{"Key": "App", "Value": "shop"}, {"Key": "Environment", "Value": "dev01"}]


def owned(project, describe: str, key: str, node_env: str = "dev01", **params) -> list:
    """What `describe` lists with the tags of app `app` and environment `node_env`."""
    filters = [{"Name": "tag:App", "Values": ["app"]}, {"Name": "tag:Environment", "Values": [node_env]}]
    return getattr(project.client("ec2"), describe)(Filters=filters, **params)[key]


def load_balancers(project) -> list[str]:
    found = project.client("elb").describe_load_balancers()["LoadBalancerDescriptions"]
    return sorted(balancer["LoadBalancerName"] for balancer in found)


def records(project, kind: str = "A") -> list[str]:
    """The names of the example.com zone's records of that type (CNAME: certificate validations)."""
    zone = project.client("route53").list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]["Id"]
    sets = project.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return sorted(s["Name"] for s in sets if s["Type"] == kind)


def certificate_names(project) -> list[str]:
    return sorted(c["DomainName"] for c in project.client("acm").list_certificates()["CertificateSummaryList"])


def key_pairs(project) -> list[str]:
    return sorted(pair["KeyName"] for pair in project.client("ec2").describe_key_pairs()["KeyPairs"])


def tables(project) -> list[str]:
    return project.client("dynamodb").list_tables()["TableNames"]


def security_groups(project) -> list[str]:
    """The security groups the tool made (tagged with an app), of every environment."""
    found = project.client("ec2").describe_security_groups(Filters=[{"Name": "tag-key", "Values": ["App"]}])
    return sorted(group["GroupName"] for group in found["SecurityGroups"])


def test_status_shows_the_live_group_its_image_and_in_service_count_and_changes_nothing(set_up):
    project = set_up
    ok(project.make("deploy", DESIRED_CAPACITY="2"))
    [group] = groups_of(project)
    [image_id] = images(project)
    log_dir = project.path / "deploy/log/dev01"
    deploy_log = {path: path.read_text() for path in log_dir.rglob("*") if path.is_file()}
    project.emulator.calls.clear()

    output = ok(project.make("status")).stdout
    assert "elb-app-dev01 (classic): 2/2 instance(s) InService" in output
    assert "dev01.example.com. -> elb-app-dev01.us-east-1.elb.amazonaws.com." in output
    assert re.search(rf"group +{group['AutoScalingGroupName']} since .+ UTC, image {image_id}, 2 desired "
                     r"\(min 1, max 2\)\n", output)
    for instance in group["Instances"]:
        assert re.search(rf"{instance['InstanceId']} +InService/Healthy in us-east-1\w, InService at the load balancer",
                         output)
    assert re.search(rf"image +{image_id} released \d{{14}}, live\n", output)
    assert re.search(r"certificate +arn:aws:acm:us-east-1:\d{12}:certificate/[\w-]+: ISSUED, dev01\.example\.com, "
                     r"expires \d{4}-\d\d-\d\d\n", output)
    lb_group = re.search(r"security group lb +(sg-\w+): tcp 443 from 0\.0\.0\.0/0, tcp 443 from ::/0, "
                         r"tcp 80 from 0\.0\.0\.0/0, tcp 80 from ::/0\n", output)
    assert lb_group, output
    assert re.search(rf"security group instances +sg-\w+: tcp 80 from {lb_group.group(1)}\n", output)
    assert re.search(rf"live release +\d{{14}} deploy: live, image {image_id} \(baked\), "
                     rf"by \S+@\S+ at [\d-]+ [\d:]+ UTC\n", output), output
    assert "last run" not in output  # the live release is the last run
    assert re.search(r"deploy lock +free\n", output)
    assert re.search(r"last record here +deploy/log/dev01/\d{8}T\d{6}Z-deploy/\n", output)
    assert project.mutating_actions() == []
    assert [c.action for c in project.emulator.calls].count("DescribeInstanceHealth") == 1
    assert {path: path.read_text() for path in log_dir.rglob("*") if path.is_file()} == deploy_log  # no record


def test_status_before_setup_says_to_run_setup(project):
    result = project.make("status")
    assert result.returncode != 0
    assert errors(result) == ["status: error: no load balancer elb-app-dev01: run `NODE_ENV=dev01 make setup` first"]
    assert project.mutating_actions() == []


def test_status_after_a_setup_that_stopped_before_the_lock_table_shows_the_rest(project):
    for step in ("preflight", "request-certificate", "create-security-groups", "create-load-balancer"):
        ok(project.make(step))
    output = ok(project.make("status")).stdout
    assert "elb-app-dev01 (classic): 0/0 instance(s) InService" in output
    assert re.search(r"live release +unknown: no lock table deploy-lock-app-dev01 \(it keeps the release history\): "
                     r"run `NODE_ENV=dev01 make setup` first\n", output), output


@pytest.mark.parametrize("confirm", [None, "no"])
def test_destroy_without_confirmation_changes_nothing(set_up, confirm):
    project = set_up
    ok(project.make("deploy"))
    project.emulator.calls.clear()
    result = project.make("destroy", **({"CONFIRM": confirm} if confirm else {}))
    assert result.returncode != 0
    [error] = errors(result)
    assert error.startswith("destroy: error: not confirmed, nothing removed")
    assert "destroy:   group(s) asg-app-dev01-" in result.stdout  # what would go is listed
    assert project.mutating_actions() == []
    assert (project.path / "deploy/keys/app-dev01").exists()


def test_destroy_removes_everything_of_one_environment_and_nothing_else(set_up):
    project = set_up
    ok(project.make("deploy"))
    ok(project.make("deploy"))
    (project.path / "deploy/env/dev.json").write_text('{"port": 80, "greeting": "dev"}\n')
    ok(project.make("setup", node_env="dev"))  # a neighbour whose names share the prefix of dev01's
    ok(project.make("deploy", node_env="dev"))
    ec2, autoscaling = project.client("ec2"), project.client("autoscaling")
    template = ec2.create_launch_template(  # another app's dev01, with a group named like this app's
        LaunchTemplateName="lt-shop-dev01", LaunchTemplateData={"ImageId": "ami-1e749f67"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": OTHER_APP}])["LaunchTemplate"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg-app-dev01-shop", MinSize=0, MaxSize=0, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]}, AvailabilityZones=["us-east-1a"],
        Tags=OTHER_APP)
    [neighbour], serving = groups_of(project, "dev"), in_service(project, "elb-app-dev")
    primal = images(project, "primal")
    [halfway, _] = owned(project, "describe_images", "Images", Owners=["self"])
    ec2.deregister_image(ImageId=halfway["ImageId"])  # an image removal that stopped before its snapshot
    project.emulator.calls.clear()

    result = ok(project.make("destroy", CONFIRM="yes"))
    assert re.search(r"^destroy: deleting asg-app-dev01-\d{14} and its instances\.\.\.$", result.stdout, re.M)
    assert "destroy: deleting load balancer elb-app-dev01..." in result.stdout
    assert f"destroy: deleting snapshot {halfway['BlockDeviceMappings'][0]['Ebs']['SnapshotId']}..." in result.stdout

    assert groups_of(project) == []
    assert owned(project, "describe_launch_templates", "LaunchTemplates") == []
    assert owned(project, "describe_images", "Images", Owners=["self"]) == []
    assert owned(project, "describe_snapshots", "Snapshots") == []
    assert load_balancers(project) == ["elb-app-dev"]
    assert records(project) == ["dev.example.com."]
    assert key_pairs(project) == ["app-dev"]
    assert sorted(path.name for path in (project.path / "deploy/keys").iterdir()) == ["app-dev", "app-dev.pub"]
    assert tables(project) == ["deploy-lock-app-dev"]
    assert security_groups(project) == ["app-dev-bake", "app-dev-instances", "app-dev-lb"]
    assert certificate_names(project) == ["dev.example.com"]  # the tool's own, with its validation record
    assert records(project, "CNAME") == ["_d930b28be6c5927595552b219965053e.dev.example.com."]
    # the neighbour environment, the other app and the shared primal image are untouched
    assert groups_of(project, "dev") == [neighbour] and in_service(project, "elb-app-dev") == serving
    assert len(owned(project, "describe_images", "Images", node_env="dev", Owners=["self"])) == 1
    assert [g["AutoScalingGroupName"] for g in groups_of(project, "dev01", app="shop")] == ["asg-app-dev01-shop"]
    assert sorted(t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"]) == sorted(
        [neighbour["LaunchTemplate"]["LaunchTemplateName"], "lt-shop-dev01"])
    assert images(project, "primal") == primal

    project.emulator.calls.clear()
    again = ok(project.make("destroy"))  # nothing left: no confirmation needed, nothing done
    assert "destroy: nothing of environment dev01 of app app is left." in again.stdout
    assert project.mutating_actions() == []


def processes_of(path: Path) -> list[str]:
    """Processes running in the project copy (its emulator, python -m emulator, runs there too)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd, command = proc.joinpath("cwd").resolve(), proc.joinpath("cmdline").read_bytes()
        except OSError:  # it ended, or is not ours to see
            continue
        if cwd == path:
            found.append(command.replace(b"\0", b" ").decode(errors="replace"))
    return found


def assert_stopped(project, output: str) -> None:
    [port] = re.findall(r"^demo: emulator at http://127\.0\.0\.1:(\d+)$", output, re.M)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
    assert processes_of(project.path) == []


def test_demo_runs_through_on_its_own_emulator_and_leaves_no_process_behind(project):
    result = ok(project.make("demo"))  # the project's env points AWS at the test emulator: the demo ignores it
    output = result.stdout
    assert output.count("status: environment demo of app demo") == 2
    assert "demo: record demo.demo.example. -> elb-demo-demo.us-east-1.elb.amazonaws.com." in output
    assert re.search(r"^demo: live group asg-demo-demo-\d{14} \(1 instance\(s\)\), image ami-[0-9a-f]+$", output, re.M)
    assert "demo: the site: https://demo.demo.example/ (certificate ISSUED" in output
    assert re.search(r"^history: releases of demo, the newest first:\n  \d{14} deploy: live, .+\n"
                     r"  \d{14} deploy: retired", output, re.M)
    assert len(re.findall(r"^packer: ", output, re.M)) <= 2 * 8  # two bakes of a few lines; the records have them all
    assert output.splitlines()[-7:][0] == "demo: what next:" and "make emulator" in output.splitlines()[-5]
    assert "make emulator-health HEALTH=fail deploy" in output.splitlines()[-2]
    assert project.emulator.calls == []
    assert sorted(path.name for path in (project.path / "deploy/log").iterdir()) == ["demo"]
    assert_stopped(project, output)


def test_make_emulator_serves_a_local_aws_that_make_drives_as_it_says(project):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NODE_ENV", "MAKE"))}
    server = subprocess.Popen(["make", "--no-print-directory", "emulator", f"EMULATOR_PORT={port}"], cwd=project.path,
                              env=clean, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                              start_new_session=True)
    try:
        said = [server.stdout.readline().strip() for _ in range(4)]
        assert said[0] == f"EMULATOR_URL=http://127.0.0.1:{port}"
        assert said[1].startswith("# The local AWS is up, with the hosted zone demo.example; Ctrl-C stops it")
        exports = dict(pair.split("=", 1) for pair in said[2].removeprefix("export ").split())
        assert said[3] == "NODE_ENV=demo make setup deploy status"
        user = {**clean, **exports, "NODE_ENV": "demo", "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
        result = ok(subprocess.run(["make", "--no-print-directory", "setup", "status"], cwd=project.path, env=user,
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300))
        assert "setup: done." in result.stdout and "status: environment demo of app demo" in result.stdout
        assert project.emulator.calls == []  # the tests' emulator saw none of it
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make and the emulator both get it, and make sends it again
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize("interrupt", ["SIGTERM to make", "Ctrl-C"])
def test_an_interrupted_demo_leaves_no_process_behind(project, interrupt):
    demo = subprocess.Popen(["make", "--no-print-directory", "demo"], cwd=project.path, env=project.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    for line in demo.stdout:  # interrupt while packer bakes
        seen.append(line)
        if line.startswith("deploy: building primal image with packer"):
            break
    if interrupt == "Ctrl-C":  # the terminal signals its foreground process group
        os.killpg(demo.pid, signal.SIGINT)
    else:
        demo.send_signal(signal.SIGTERM)
    rest, _ = demo.communicate(timeout=60)
    assert demo.returncode != 0
    assert "demo: interrupted" in rest
    assert_stopped(project, "".join(seen) + rest)


def test_destroy_removes_an_application_load_balancer_and_its_target_group(project):
    project.settings["LOAD_BALANCER_KIND"] = "application"
    ok(project.make("setup"))
    ok(project.make("deploy"))
    assert "(application): 1/1 instance(s) healthy" in ok(project.make("status")).stdout
    ok(project.make("destroy", CONFIRM="yes"))
    elbv2 = project.client("elbv2")
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    assert groups_of(project) == [] and records(project) == []
    # the app's last environment: its shared primal image went too, with its snapshot
    assert images(project, "primal") == {}
    assert project.client("ec2").describe_snapshots(
        Filters=[{"Name": "tag:App", "Values": ["app"]}])["Snapshots"] == []


def test_an_application_environment_is_what_exists_whatever_the_kind_setting_leaves_unset(project):
    ok(project.make("setup", LOAD_BALANCER_KIND="application"))
    ok(project.make("deploy", LOAD_BALANCER_KIND="application"))
    assert "elb-app-dev01 (application): 1/1 instance(s) healthy" in ok(project.make("status")).stdout
    project.emulator.calls.clear()
    for target in ("status", "setup", "deploy"):  # a setting that contradicts what exists: refused
        result = project.make(target, LOAD_BALANCER_KIND="classic")
        assert result.returncode != 0
        assert errors(result) == [
            f"{target}: error: elb-app-dev01 is an application load balancer, but LOAD_BALANCER_KIND=classic: "
            "leave LOAD_BALANCER_KIND empty (or set it to application)"]
    assert project.mutating_actions() == []
    ok(project.make("setup"))  # kind unset: the ALB's setup, no second (classic) load balancer
    ok(project.make("deploy"))
    assert project.client("elb").describe_load_balancers()["LoadBalancerDescriptions"] == []
    ok(project.make("destroy", CONFIRM="yes"))
    assert project.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert project.client("elbv2").describe_target_groups()["TargetGroups"] == []
    assert groups_of(project) == []


def test_a_new_environment_without_its_app_config_is_told_at_setup_and_stopped_before_any_bake(project):
    setup = ok(project.make("setup", node_env="qa7"))
    assert ("setup: note: the first deploy will stop here: qa7 has no app config: create deploy/env/qa7.json: "
            "start from deploy/env/") in setup.stdout
    project.emulator.calls.clear()
    result = project.make("deploy", node_env="qa7")
    assert result.returncode != 0
    assert errors(result)[0].startswith("deploy: error: qa7 has no app config: create deploy/env/qa7.json: start from")
    assert project.mutating_actions() == [] and images(project, "primal") == {}
    assert [call for call in project.emulator.calls if call.service == "dynamodb"] == []  # not even the lock


def test_steps_run_out_of_order_say_which_step_to_run_first(set_up):
    ok(set_up.make("deploy"))
    again = set_up.make("launch-asg")  # the release is launched already
    assert again.returncode != 0
    assert "is already launched as asg-app-dev01-" in errors(again)[0]
    assert "run `NODE_ENV=dev01 make check-deploy` first" in errors(again)[0]
    unlock = set_up.make("unlock", node_env="qa7")  # never set up
    assert errors(unlock) == ["unlock: error: no lock table deploy-lock-app-qa7: run `NODE_ENV=qa7 make setup` first"]


def test_a_deploy_started_while_destroy_removes_is_refused(set_up):
    project = set_up
    ok(project.make("deploy"))
    project.emulator.faults.add(action="DeleteAutoScalingGroup", code=None, delay=3)  # a slow removal
    destroy = subprocess.Popen(["make", "--no-print-directory", "destroy"], cwd=project.path, text=True,
                               env=project.env(CONFIRM="yes"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for line in destroy.stdout:
        if "and its instances..." in line:  # removing, holding the lock
            break
    deploy = project.make("deploy")
    rest = destroy.communicate(timeout=120)[0]
    assert destroy.returncode == 0, rest
    assert deploy.returncode != 0 and "dev01 is locked: held by" in deploy.stderr
    assert groups_of(project) == [] and tables(project) == []
    assert "building" not in deploy.stdout  # refused before anything


def test_primal_images_past_keep_primal_images_are_removed(set_up):
    project = set_up
    provision = project.path / "deploy/primal/provision.sh"
    original = provision.read_text()
    try:
        for n in range(3):  # three primal bakes: their inputs change each time
            provision.write_text(original + f"\n# revision {n}\n")
            ok(project.make("deploy", KEEP_PRIMAL_IMAGES="2"))
    finally:
        provision.write_text(original)
    primal = images(project, "primal")
    assert len(primal) == 2
    snapshots = project.client("ec2").describe_snapshots(Filters=[{"Name": "tag:Role", "Values": ["primal"]}])
    assert len(snapshots["Snapshots"]) == 2


@pytest.mark.parametrize("target, lines", [("deploy", 3), ("settings", 1), ("status", 1), ("history", 1)])
def test_a_reader_that_goes_away_fails_no_run(set_up, target, lines):
    """`make deploy | head -3`: the release goes live and make exits 0; a read-only target says no
    traceback. A lost output stream is not a failed run."""
    run = set_up.start(target)
    read = [run.stdout.readline() for _ in range(lines)]
    run.stdout.close()  # as `head` does once it has its lines
    stderr = run.stderr.read()
    assert run.wait(timeout=120) == 0, stderr
    assert all(read) and "Traceback" not in stderr and "Broken pipe" not in stderr, stderr
    if target == "deploy":
        assert len(groups_of(set_up)) == 1


def test_a_release_can_be_made_to_fail_on_the_local_aws_as_the_readme_says(project):
    """The emulator runs no app: `make emulator-health` is how a user makes a release fail its
    health check (HEALTH=fail), or its soak (sour), then healthy again (ok)."""
    ok(project.make("setup"))
    ok(project.make("deploy"))
    said = ok(project.make("emulator-health", HEALTH="fail")).stdout
    assert "new instances of asg-app-dev01-* never pass their health check" in said
    failed = project.make("deploy", HEALTH_TIMEOUT="1", POLL_INTERVAL="0.2")
    assert failed.returncode != 0 and "rolled back" in failed.stderr
    ok(project.make("emulator-health", HEALTH="sour"))
    soured = project.make("deploy", SOAK_SECONDS="600", POLL_INTERVAL="0.1")
    assert soured.returncode != 0 and "failed its soak" in soured.stderr
    ok(project.make("emulator-health", HEALTH="ok"))
    ok(project.make("deploy"))
    refused = project.make("emulator-health", AWS_ENDPOINT_URL="")
    assert refused.returncode != 0 and "scripts the local AWS only" in refused.stderr


def test_a_classic_environment_given_the_other_kind_is_refused_in_english(project):
    ok(project.make("setup"))
    result = project.make("status", LOAD_BALANCER_KIND="application")
    assert errors(result) == ["status: error: elb-app-dev01 is a classic load balancer, but "
                              "LOAD_BALANCER_KIND=application: leave LOAD_BALANCER_KIND empty (or set it to classic)"]


def test_make_emulator_on_a_taken_port_says_which_setting_moves_it(project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = project.make("emulator", EMULATOR_PORT=str(port))
    assert result.returncode != 0
    [error] = errors(result)
    assert error == (f"emulator: cannot serve on 127.0.0.1:{port} (Address already in use): choose another port, "
                     f"e.g. `make emulator EMULATOR_PORT={port + 1}`")


def test_an_unreachable_endpoint_is_said_at_the_first_failed_connection(project):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nothing listens there
    run = project.start("status", AWS_ENDPOINT_URL=nowhere)
    first = run.stdout.readline()  # before botocore's last retry, as the old code said it only then
    assert first.startswith(f"status: {nowhere} does not answer (Could not connect to the endpoint URL"), first
    assert first.rstrip().endswith("trying again for a few seconds..."), first
    os.killpg(run.pid, signal.SIGTERM)  # its last retry's one-line error is the old behaviour: not waited for
    run.communicate(timeout=60)
