"""bench: what setup and deploys cost on the AWS emulator; prints figures (a benchmark, not a test).

The demo environment (env/demo.env, NODE_ENV=demo) against the emulator (emulator/) running in
this process, which counts every call it serves (the real packer's included):
- the wall time of `make setup`, a first, a second and a third `make deploy` of the example app
  (the third with the second's inputs: APP_VERSION pins the example build's version), their bakes,
  and their API calls by action;
- the way back from a release that fails: from its soak, to the old instances kept warm (the time
  from registering them again until they serve, their two health checks), against `make rollback`,
  a new group from the previous image (the whole run; its instances need the same two checks, and
  boot at once here, where on AWS that takes minutes);
- the DescribeAutoScalingGroups calls of a deploy with 0, 100 and 500 unrelated groups in the
  account (another app's, desired 0): they must not grow with them;
- a chain of three environments of the demo app (bench-dev, bench-staging, bench-prod, each set
  up first) taking one release: bench-dev bakes it, bench-staging promotes bench-dev's
  (IMAGE_FROM), bench-prod bench-staging's; the bakes and the wall time of each deploy, against
  the original's two bakes per deploy.
make's output goes to deploy/log/demo/bench.log; like the demo, the bench first clears
deploy/log/demo and deploy/keys/demo-demo* (and the chain's bench-* environments'), which belong
to a throwaway emulator."""

import os
import re
import shutil
import sys
from collections import Counter

from dotenv import dotenv_values

from core.aws import tag_list
from core.local import create_hosted_zone, forget_earlier_demo, make, use_only_the_emulator
from core.settings import ROOT
from core.step import Step, StepError, run

sys.path.insert(0, str(ROOT))  # the emulator package is at the project's top
from emulator import Emulator  # noqa: E402

# (label, target, APP_VERSION): deploy 3 has the inputs of deploy 2, and bakes nothing
RUNS = (("setup", "setup", None), ("deploy 1", "deploy", None), ("deploy 2", "deploy", "2"),
        ("deploy 3", "deploy", "2"))
UNRELATED = (100, 500)  # groups in the account besides the demo's, for the last two deploys
OTHER_APP = {"App": "bench-other", "Environment": "demo"}
DESCRIBE_GROUPS = ("autoscaling", "DescribeAutoScalingGroups")
BAKE = ("ec2", "CreateImage")
LABEL_WIDTH = 66
CHAIN = (("bench-dev", None), ("bench-staging", "bench-dev"), ("bench-prod", "bench-staging"))
ORIGINAL_BAKES = 2  # the original bakes primal and the app image in every deploy of every environment
WARM_BACK = re.compile(r"warm instance\(s\) of .* serve again \[([\d.]+)s\]")


def bench(step: Step) -> None:
    forget_earlier_demo(step)
    forget_the_chain(step)
    step.settings.log_dir.mkdir(parents=True)
    emulator = Emulator().start()
    try:
        os.environ["AWS_ENDPOINT_URL"] = emulator.url
        create_hosted_zone(step)
        with open(step.settings.log_dir / "bench.log", "w") as log:
            runs = {label: measure(step, emulator, target, log, APP_VERSION=version)
                    for label, target, version in RUNS}
            scaling = {0: runs["deploy 2"]}
            way_back = ways_back(step, emulator, log)
            for count in UNRELATED:
                add_unrelated_groups(step, range(max(scaling), count))
                scaling[count] = measure(step, emulator, "deploy", log)
            promoted = chain(step, emulator, log)
    finally:
        emulator.stop()
        forget_the_chain(step)
    show(runs, scaling, way_back, promoted)


def chain(step: Step, emulator: Emulator, log) -> dict[str, tuple[float, Counter]]:
    """Each environment of the chain set up, then deploying the release the one before it runs."""
    demo = {key: value for key, value in dotenv_values(ROOT / "env/demo.env").items() if value}
    found = {}
    for node_env, source in CHAIN:
        shutil.copy(ROOT / "deploy/env/demo.json", ROOT / f"deploy/env/{node_env}.json")  # the demo's app config
        given = {**demo, "NODE_ENV": node_env, "APP_VERSION": "chain", "IMAGE_FROM": source}
        measure(step, emulator, "setup", log, **given)
        found[node_env] = measure(step, emulator, "deploy", log, **given)
    return found


def forget_the_chain(step: Step) -> None:
    """The chain's environments belong to the throwaway emulator: their logs, keys and app configs go
    with it."""
    for node_env, _ in CHAIN:
        shutil.rmtree(ROOT / "deploy/log" / node_env, ignore_errors=True)
        (ROOT / f"deploy/env/{node_env}.json").unlink(missing_ok=True)
        for path in (ROOT / "deploy/keys").glob(f"{step.settings.app_name}-{node_env}*"):
            path.unlink()


def ways_back(step: Step, emulator: Emulator, log) -> tuple[float, float]:
    """(seconds until the warm instances serve again after a failed soak, seconds of a make rollback)."""
    emulator.health.set(step.settings.group_prefix, good_polls=6)  # a release that turns bad in its soak
    try:
        make(step, "deploy", output=log, SOAK_SECONDS="600")
    except StepError:
        pass  # as it should
    else:
        raise StepError("the deploy whose release turns bad passed its soak: see deploy/log/demo/bench.log")
    log.flush()
    warm = WARM_BACK.findall((step.settings.log_dir / "bench.log").read_text())
    if not warm:
        raise StepError("the failed soak did not go back to the warm instances: see deploy/log/demo/bench.log")
    emulator.health.set(step.settings.group_prefix, lb_polls=2)  # a new instance's two checks
    seconds = make(step, "rollback", output=log)
    emulator.health.clear()
    return float(warm[-1]), seconds


def measure(step: Step, emulator: Emulator, target: str, log, **settings: str | None) -> tuple[float, Counter]:
    """Wall time of `make <target>` (with `settings` in its environment), and its API calls by (service, action)."""
    emulator.calls.clear()
    seconds = make(step, target, output=log, **settings)
    return seconds, Counter((call.service, call.action) for call in emulator.calls)


def add_unrelated_groups(step: Step, numbers: range) -> None:
    step.say(f"adding {len(numbers)} groups of another app...")
    autoscaling, ec2 = step.client("autoscaling"), step.client("ec2")
    template = ec2.create_launch_template(
        LaunchTemplateName=f"lt-bench-other-{numbers.start}", LaunchTemplateData={"ImageId": step.settings.base_ami},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": tag_list(OTHER_APP)}])["LaunchTemplate"]
    for number in numbers:
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"asg-bench-other-{number}", MinSize=0, MaxSize=0, DesiredCapacity=0,
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
            AvailabilityZones=list(step.settings.availability_zones), Tags=tag_list(OTHER_APP))


def show(runs: dict, scaling: dict, way_back: tuple[float, float], promoted: dict) -> None:
    actions = sorted(set().union(*(calls for _, calls in runs.values())))
    print(f"\nbench: on the emulator, NODE_ENV=demo (env/demo.env), the real packer\n"
          f"  {'':<{LABEL_WIDTH}}" + "".join(f"{label:>10}" for label in runs))
    row("wall time (s)", [f"{seconds:.1f}" for seconds, _ in runs.values()])
    row("bakes (Packer runs that made an image)", [calls[BAKE] for _, calls in runs.values()])
    row("API calls", [sum(calls.values()) for _, calls in runs.values()])
    for service, action in actions:
        row(f"  {service} {action}", [calls[service, action] or "" for _, calls in runs.values()])
    print("\nbench: the way back from a release that fails")
    row("its soak: the warm instances serve again (s)", [f"{way_back[0]:.1f}"])
    row("make rollback: a new group from the previous image, in all (s)", [f"{way_back[1]:.1f}"])
    print("\nbench: a deploy among unrelated groups (another app's, desired 0)")
    row("unrelated groups in the account", list(scaling))
    row("DescribeAutoScalingGroups calls", [calls[DESCRIBE_GROUPS] for _, calls in scaling.values()])
    row("API calls", [sum(calls.values()) for _, calls in scaling.values()])
    row("wall time (s)", [f"{seconds:.1f}" for seconds, _ in scaling.values()])
    print("\nbench: one release through three environments (the first bakes, the others promote: IMAGE_FROM)\n"
          f"  {'':<{LABEL_WIDTH}}" + "".join(f"{label.removeprefix('bench-'):>10}" for label in promoted) +
          f"{'in all':>10}")
    bakes = [calls[BAKE] for _, calls in promoted.values()]
    row("bakes", [*bakes, sum(bakes)])
    row("bakes of the original (primal and app, every deploy)", [ORIGINAL_BAKES] * len(promoted) +
        [ORIGINAL_BAKES * len(promoted)])
    seconds = [seconds for seconds, _ in promoted.values()]
    row("the tool's wall time of the deploy (s)", [f"{s:.1f}" for s in seconds] + [f"{sum(seconds):.1f}"])


def row(label: str, values: list) -> None:
    print(f"  {label:<{LABEL_WIDTH}}" + "".join(f"{value:>10}" for value in values))


if __name__ == "__main__":
    use_only_the_emulator()
    run("bench", bench, recorded=False)
