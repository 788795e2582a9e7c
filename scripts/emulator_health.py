"""emulator-health: on the local AWS (`make emulator`, the demo's), script the health of this
environment's next release: HEALTH=fail, its instances never pass the load balancer's health
check (the deploy waits HEALTH_TIMEOUT, then rolls back); HEALTH=sour, they pass and turn bad a
few answers later (a deploy with SOAK_SECONDS fails its soak and goes back); HEALTH=ok, healthy
again. The emulator runs no app, so this is how a release fails there. Refused on AWS."""

import json
import os
import urllib.error
import urllib.request

from core.step import Step, StepError, run

# What each HEALTH makes of the next release's new instances.
SAID = {"fail": "never pass their health check: the next deploy rolls back after HEALTH_TIMEOUT",
        "sour": "pass their health check, then fail it: the next deploy with SOAK_SECONDS fails its soak",
        "ok": "are healthy"}


def emulator_health(step: Step) -> None:
    endpoint, health = os.environ.get("AWS_ENDPOINT_URL", ""), os.environ.get("HEALTH", "fail")
    if not endpoint:
        raise StepError("emulator-health scripts the local AWS only (`make emulator`): AWS_ENDPOINT_URL is not set")
    if health not in SAID:
        raise StepError(f"HEALTH={health!r}: use fail, sour or ok")
    prefix = step.settings.group_prefix
    request = urllib.request.Request(f"{endpoint.rstrip('/')}/emulator/health", method="POST",
                                     data=json.dumps({"group_prefix": prefix, "health": health}).encode())
    try:
        urllib.request.urlopen(request, timeout=5).read()
    except (urllib.error.URLError, OSError) as error:
        raise StepError(f"the local AWS at {endpoint} did not take it ({error}): is `make emulator` running "
                        "there?") from None
    step.say(f"new instances of {prefix}* {SAID[health]}")


if __name__ == "__main__":
    run("emulator-health", emulator_health, recorded=False)
