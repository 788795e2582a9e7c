"""The one polling loop, with a fake clock: it stops when done and gives up at the timeout."""

import pytest

from core.poll import TimedOut, wait_until


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_returns_when_the_check_holds():
    clock, answers, lines = FakeClock(), iter([False, False, True]), []
    waited = wait_until(lambda: (next(answers), "1/1 healthy"), timeout=60, interval=5,
                        say=lines.append, clock=clock, sleep=clock.sleep)
    assert waited == 10 and len(lines) == 3 and lines[-1] == "1/1 healthy [10s]"


def test_gives_up_at_the_timeout_without_sleeping_past_it():
    clock, lines = FakeClock(), []
    with pytest.raises(TimedOut, match="0/2 healthy after 60s"):
        wait_until(lambda: (False, "0/2 healthy"), timeout=60, interval=10,
                   say=lines.append, clock=clock, sleep=clock.sleep)
    assert clock.now == 60 and len(lines) == 7
