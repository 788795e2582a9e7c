"""Bake once, promote: `NODE_ENV=production IMAGE_FROM=staging make deploy` launches the image live
in staging, once it passed its soak there, without building or baking; the image reaches each
environment's config through the launch template's user data; what one environment runs or can
roll back to is kept by the others' cleanup and destroy."""

import base64
import json

from conftest import errors, ok
from test_deploy import groups_of, images
from test_plan import done, planned, stampless


def image_of(project, node_env: str) -> str:
    [group] = groups_of(project, node_env)
    data = project.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"], Versions=["1"])["LaunchTemplateVersions"][0][
        "LaunchTemplateData"]
    assert json.loads(base64.b64decode(data["UserData"]))["NODE_ENV"] == node_env  # its own config
    return data["ImageId"]


def refused(project, why: str) -> None:
    project.emulator.calls.clear()
    result = project.make("deploy", "production", IMAGE_FROM="staging")
    assert result.returncode != 0 and errors(result) == [f"deploy: error: IMAGE_FROM=staging: {why}"], result.stderr
    assert project.mutating_actions() == []


def test_production_takes_the_image_that_passed_staging_and_staging_keeps_what_production_needs(project):
    (project.path / "env/staging.env").write_text("SOAK_SECONDS=1\n")
    for node_env in ("staging", "production"):
        ok(project.make("setup", node_env))
    refused(project, "staging has no live release to promote (it has no release yet)")

    ok(project.make("deploy", "staging"))  # the first release: nothing to soak against
    first = groups_of(project, "staging")[0]["AutoScalingGroupName"].removeprefix("asg-app-staging-")
    refused(project, f"staging's live release {first} ({image_of(project, 'staging')}) has not passed a soak, and "
                     "staging soaks (SOAK_SECONDS=1): deploy it there again, with the release before it serving, "
                     "to soak it")
    project.emulator.health.set("asg-app-staging-", good_polls=6)  # the next release fails its soak
    assert project.make("deploy", "staging", SOAK_SECONDS="600").returncode != 0
    project.emulator.health.clear()
    failed = ok(project.make("history", "staging")).stdout.splitlines()[1].split()[0]
    refused(project, f"staging's live release {first} ({image_of(project, 'staging')}) has not passed a soak, and "
                     f"staging soaks (SOAK_SECONDS=1) (its newest release, {failed}, is rolled back): deploy it "
                     "there again, with the release before it serving, to soak it")

    ok(project.make("deploy", "staging"))  # soaks, and passes
    passed = image_of(project, "staging")
    ahead = project.make("plan", "production", IMAGE_FROM="staging", TARGET="deploy").stdout
    assert f"1. reuse app image {passed} (live in staging release " in ahead and "bake" not in ahead
    project.emulator.calls.clear()
    promoted = ok(project.make("deploy", "production", IMAGE_FROM="staging")).stdout
    assert planned(promoted, "deploy") == done(promoted, "deploy")
    assert stampless(done(promoted, "deploy")) == stampless(planned(ahead, "plan"))
    assert "CreateImage" not in project.mutating_actions()  # no bake, no build
    assert "IMAGE_FROM=staging: nothing to build." in promoted
    assert image_of(project, "production") == passed
    assert "deploy: promoting the image of staging release " in promoted
    assert f"image {passed} (staging release " in ok(project.make("history", "production")).stdout
    assert f"image {passed} (staging release " in ok(project.make("status", "production")).stdout

    for _ in range(2):  # staging moves on, keeping one image of its own: not the one production runs
        ok(project.make("deploy", "staging", KEEP_IMAGES="1"))
    assert passed in images(project) and image_of(project, "staging") != passed
    destroyed = ok(project.make("destroy", "staging", CONFIRM="yes")).stdout
    assert f"leaving image {passed} alone: another environment of app runs it" in destroyed
    assert list(images(project)) == [passed] and image_of(project, "production") == passed

    ok(project.make("deploy", "production", APP_VERSION="2"))  # production's own bake, then back
    assert image_of(project, "production") != passed
    ok(project.make("rollback", "production"))
    assert image_of(project, "production") == passed  # a promoted release is rolled back to like any


def test_two_environments_taking_the_same_inputs_share_one_bake(project):
    (project.path / "deploy/env/dev02.json").write_text('{"port": 80, "greeting": "dev02"}\n')
    for node_env in ("dev01", "dev02"):
        ok(project.make("setup", node_env))
    ok(project.make("deploy", "dev01", APP_VERSION="7"))
    [baked] = images(project)
    project.emulator.calls.clear()
    second = ok(project.make("deploy", "dev02", APP_VERSION="7")).stdout
    assert f"skipped, an image of the same inputs exists ({baked})" in second
    assert "CreateImage" not in project.mutating_actions() and list(images(project)) == [baked]
    assert image_of(project, "dev02") == image_of(project, "dev01") == baked  # each with its own config
    assert f"image {baked} (same inputs as an earlier bake)" in ok(project.make("history", "dev02")).stdout
