"""The scan's pace (scanner/pacing.py): --max-rate probes a second over the whole scan, one
token at most (no burst after a quiet spell), --scan-delay between two probes to one device."""

from __future__ import annotations

import threading

import pytest

from scanner.errors import ConfigError
from scanner.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_spaces_every_probe_whatever_the_device():
    clock = Clock()
    pacer = Pacer(max_rate=4, clock=clock)
    waits = [pacer.reserve(a) for a in ("127.0.10.1", "127.0.10.2", "127.0.10.1")]
    assert waits == [0.0, 0.25, 0.5]


def test_no_burst_after_a_quiet_spell():
    clock = Clock()
    pacer = Pacer(max_rate=2, clock=clock)
    assert pacer.reserve("127.0.10.1") == 0.0
    clock.now += 60  # a minute of silence saves no tokens
    assert pacer.reserve("127.0.10.1") == 0.0
    assert pacer.reserve("127.0.10.2") == 0.5


def test_the_scan_delay_spaces_probes_to_one_device_only():
    clock = Clock()
    pacer = Pacer(scan_delay=2.0, clock=clock)
    assert pacer.reserve("127.0.10.1") == 0.0
    assert pacer.reserve("127.0.10.2") == 0.0  # another device is not held back
    assert pacer.reserve("127.0.10.1") == 2.0
    assert pacer.reserve("127.0.10.1") == 4.0


def test_try_take_takes_a_free_slot_or_says_how_long_to_wait():
    clock = Clock()
    pacer = Pacer(max_rate=10, scan_delay=1.0, clock=clock)
    assert pacer.try_take("127.0.10.1") == 0.0
    assert pacer.try_take("127.0.10.2") == pytest.approx(0.1)
    assert pacer.try_take("127.0.10.2") == pytest.approx(0.1)  # nothing was taken
    clock.now += 0.1
    assert pacer.try_take("127.0.10.2") == 0.0
    assert pacer.try_take("127.0.10.1") == pytest.approx(0.9)


def test_threads_never_share_a_slot():
    pacer = Pacer(max_rate=1000, clock=Clock())  # time stands still: every wait is a slot
    slots: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            wait = pacer.reserve("127.0.10.1")
            with lock:
                slots.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 200 reservations: each its own millisecond, whatever thread took it
    assert sorted(round(w * 1000) for w in slots) == list(range(200))


def test_an_unpaced_pacer_never_waits():
    pacer = Pacer()
    assert not pacer.active
    assert [pacer.reserve("127.0.10.1") for _ in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("rate", "delay"), [(0, 0.0), (-1, 0.0), (float("nan"), 0.0), (None, -1)])
def test_a_rate_or_delay_that_is_no_number_is_refused(rate: float | None, delay: float):
    with pytest.raises(ConfigError):
        Pacer(rate, delay)
