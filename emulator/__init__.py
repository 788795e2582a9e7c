"""A local AWS for the demo, the bench and the tests: moto in server mode, corrected to behave like
AWS where the tool's correctness depends on it.

- server.py       moto on a loopback port, a log of every call, scripted faults (throttling, 5xx, delays)
- corrections.py  one function per correction of moto (load balancer books, name rules, images, ...)
- health.py       health over time, scripted per group in polls (moto has no time and no health)
- iam.py          IAM: the calls of registered principals checked against their policies
- certificates.py ACM: certificates issued once their validation record resolves, used only when issued
- amis.json       the public images of every region (MOTO_AMIS_PATH)

    python -m emulator --port 0   # prints EMULATOR_URL=http://127.0.0.1:PORT, serves until SIGTERM
"""

import os
from pathlib import Path

# The public images of every region: the Ubuntu image the demo and the tests bake primal from (set
# before moto's EC2 loads; moto's own catalog of 1,301 sample images, each with a volume and a
# snapshot, costs a fifth of a second per region at every reset, and every DescribeImages walks it).
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(__file__).with_name("amis.json")))

from .health import HealthScript  # noqa: E402
from .server import Call, Emulator, Faults  # noqa: E402

__all__ = ["Call", "Emulator", "Faults", "HealthScript"]
