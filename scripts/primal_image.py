"""deploy: bake the `primal` base image with Packer, only when needed: PRIMAL_ID given, or an image
baked from the same inputs (template and the files it provisions, fingerprinted in the tag
PrimalFingerprint), means no bake."""


from core.images import require_image, reusable_primal
from core.packer import bake_image
from core.plan import Change, Planned, carry_out
from core.release import alone
from core.step import Step, run


def decide(step: Step) -> tuple[Change, str | None]:
    """Bake primal, or reuse PRIMAL_ID or an image of the same inputs; (the change, the image reused)."""
    settings = step.settings
    reuse = lambda image_id: lambda: step.remember(primal_id=image_id)  # noqa: E731
    if settings.primal_id:
        require_image(step, settings.primal_id, "PRIMAL_ID")
        return Change("reuse", f"primal image {settings.primal_id}", why="PRIMAL_ID",
                      do=reuse(settings.primal_id)), settings.primal_id
    inputs, image_id = reusable_primal(step, settings.base_ami)
    if image_id:
        return Change("reuse", f"primal image {image_id}", why="an image of the same inputs exists",
                      do=reuse(image_id)), image_id
    variables = {"base_ami": settings.base_ami, "fingerprint": inputs, "NODE_ENV": settings.node_env}
    return Change("bake", "primal image", f"from {settings.base_ami}", f"no primal image of these inputs "
                  f"(PrimalFingerprint {inputs})", pending="its image id",
                  do=lambda: bake_image(step, "primal", variables,
                                        remember=lambda image_id: step.remember(primal_id=image_id))), None


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
    carry_out([decide(step)[0]], step.say)


if __name__ == "__main__":
    run("deploy", alone(primal_image))
