"""A local AWS for the demo, the bench and the tests: moto in server mode, corrected to behave like
AWS where the tool's correctness depends on it.

- server.py       moto on a loopback port, a log of every call, scripted faults (throttling, 5xx, delays)
- corrections.py  one function per correction of moto (load balancer books, name rules, images, ...)
- health.py       health over time, scripted per group in polls (moto has no time and no health)
- iam.py          IAM: the calls of registered principals checked against their policies
- certificates.py ACM: certificates issued once their validation record resolves, used only when issued

    python -m emulator --port 0   # prints EMULATOR_URL=http://127.0.0.1:PORT, serves until SIGTERM
"""

from .health import HealthScript
from .server import Call, Emulator, Faults

__all__ = ["Call", "Emulator", "Faults", "HealthScript"]
