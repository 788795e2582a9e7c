"""deploy: bake the `primal` base image with Packer, only when needed: PRIMAL_ID given, or an image
baked from the same inputs (template and the files it provisions, fingerprinted in the tag
PrimalFingerprint), means no bake."""

import hashlib

from core.aws import tag_filters
from core.images import app_images, require_image
from core.packer import bake_image
from core.plan import Change, Planned
from core.release import alone
from core.settings import ROOT
from core.step import Step, run

TEMPLATE = ROOT / "deploy/templates/primal.json"


def decide(step: Step) -> tuple[Change, str | None]:
    """Bake primal, or reuse PRIMAL_ID or an image of the same inputs; (the change, the image reused)."""
    settings = step.settings
    if settings.primal_id:
        require_image(step, settings.primal_id, "PRIMAL_ID")
        return Change("reuse", f"primal image {settings.primal_id}", why="PRIMAL_ID"), settings.primal_id
    fingerprint = inputs_fingerprint(settings.base_ami)
    reusable = primal_images(step, fingerprint)
    if reusable:
        image_id = reusable[0]["ImageId"]
        return Change("reuse", f"primal image {image_id}", why="an image of the same inputs exists"), image_id
    return Change("bake", "primal image", f"from {settings.base_ami}", f"no primal image of these inputs "
                  f"(PrimalFingerprint {fingerprint})", pending="its image id"), None


def plan(step: Step, planned: Planned) -> list[Change]:
    if not step.settings.bakes:
        return []  # the app image is given: no base image needed
    change, reused = decide(step)
    planned.primal = reused or "the primal image baked above"
    return [change]


def primal_image(step: Step) -> None:
    settings = step.settings
    if not settings.bakes:
        step.say(f"{settings.image_given}: no primal image needed.")
        return
    change, reused = decide(step)
    step.say(f"-> {change.line()}")
    if reused:
        step.remember(primal_id=reused)
        return
    variables = {"base_ami": settings.base_ami, "fingerprint": inputs_fingerprint(settings.base_ami),
                 "NODE_ENV": settings.node_env}
    bake_image(step, "primal", variables,
               remember=lambda image_id: step.remember(primal_id=image_id))


def inputs_fingerprint(base_ami: str) -> str:
    """A digest of the base image and every file the primal bake reads, by path and content."""
    digest = hashlib.sha256(base_ami.encode() + b"\0")
    files = [TEMPLATE] + sorted(p for p in (ROOT / "deploy/primal").rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def primal_images(step: Step, fingerprint: str) -> list[dict]:
    return app_images(step, "primal", *tag_filters({"PrimalFingerprint": fingerprint}),
                      {"Name": "state", "Values": ["available"]})


if __name__ == "__main__":
    run("deploy", alone(primal_image))
