"""The one polling loop, for the waits botocore has no waiter for (Auto Scaling has none).

Bounded by a timeout; the clock and sleep are passed in so tests never wait for real.
"""

import time
from collections.abc import Callable


class TimedOut(Exception):
    """The condition did not hold within the timeout; the message is the last progress seen."""


def wait_until(check: Callable[[], tuple[bool, str]], *, timeout: float, interval: float,
               say: Callable[[str], None], clock=time.monotonic, sleep=time.sleep,
               bound: str = "HEALTH_TIMEOUT") -> float:
    """Call check() every `interval` seconds until it returns (True, progress); return the seconds
    waited. Each call's progress line is shown with the elapsed time. Raises TimedOut, which names
    the `bound` (the setting, or the reason, behind the timeout)."""
    started = clock()
    while True:
        done, progress = check()
        elapsed = clock() - started
        say(f"{progress} [{elapsed:.0f}s]")
        if done:
            return elapsed
        if elapsed + interval > timeout:
            raise TimedOut(f"{progress} after {elapsed:.0f}s ({bound}={timeout:g}s)")
        sleep(interval)
