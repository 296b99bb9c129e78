"""A site worker's devices at once (scanner/sites/slots.py): one count for the tasks of all
its threads, each in its own event loop; and the engine holding a slot per device.

The engine's scan runs against 127.0.37.10-13, where nothing listens (port 9)."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

from probes.registry import REGISTRY, all_checks
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, scan
from scanner.judging.profiles import load_profile
from scanner.model import Target
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.sites.slots import DeviceSlots
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


class _Peak:
    """How many hold a slot at once, at most, across threads."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.entered = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.entered += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def test_threads_loops_share_the_slots_never_more_at_once_and_every_one_served():
    slots = DeviceSlots(3)
    peak = _Peak()

    async def device() -> None:
        async with slots.slot():
            peak.enter()
            await asyncio.sleep(0.02)
            peak.leave()

    async def task() -> None:
        await asyncio.gather(*(device() for _ in range(6)))

    threads = [threading.Thread(target=asyncio.run, args=(task(),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert peak.entered == 24  # every device of every task was scanned
    assert peak.peak == 3  # never more than the slots, and the slots were all used
    assert slots.busy == 0


def test_a_waiter_stopped_while_waiting_or_just_handed_a_slot_loses_none():
    slots = DeviceSlots(1)

    async def main() -> None:
        async with slots.slot():
            # stopped while waiting: it leaves the queue
            waiting = asyncio.create_task(slots._acquire())
            await asyncio.sleep(0.01)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            # handed the slot (the release below), and stopped before it ran: it passes it on
            handed = asyncio.create_task(slots._acquire())
            await asyncio.sleep(0.01)
        handed.cancel()  # the slot was handed over as the block above ended
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert slots.busy == 0
        async with asyncio.timeout(1):  # and the slot is free for the next
            async with slots.slot():
                assert slots.busy == 1

    asyncio.run(main())
    assert slots.busy == 0


def test_a_slot_released_from_another_thread_wakes_the_waiting_loop():
    slots = DeviceSlots(1)
    held = threading.Event()
    release = threading.Event()

    async def holder() -> None:
        async with slots.slot():
            held.set()
            await asyncio.to_thread(release.wait, 10)

    async def waiter() -> float:
        started = time.monotonic()
        async with asyncio.timeout(10), slots.slot():
            return time.monotonic() - started

    first = threading.Thread(target=asyncio.run, args=(holder(),))
    first.start()
    assert held.wait(10)
    threading.Timer(0.2, release.set).start()
    waited = asyncio.run(waiter())
    first.join(timeout=10)
    assert 0.15 < waited < 5  # it waited for the other thread's release, and no longer


def test_the_engine_holds_a_slot_per_device_beyond_its_own_max_devices(tmp_path: Path):
    addresses = [f"127.0.37.{n}" for n in range(10, 14)]
    peak = _Peak()
    shared = DeviceSlots(1)

    @asynccontextmanager
    async def counted() -> AsyncIterator[None]:
        async with shared.slot():
            peak.enter()
            try:
                yield
            finally:
                peak.leave()

    request = ScanRequest(
        targets=tuple(Target(a) for a in addresses),
        scope=Scope.of(addresses),
        ports=PortSet(tcp=(9,)),
        profile=load_profile("base", all_checks()),
        registry=REGISTRY,
        device_slot=counted,
    )
    with Store(tmp_path / "s.sqlite") as store:
        store.start_run(
            "r",
            profile_id="base",
            profile_digest="x",
            scanner_version="t",
            request={},
            targets=[(a, "") for a in addresses],
        )
        asyncio.run(asyncio.wait_for(scan(request, store, "r", Reporter()), 60))
        assert {state for _, _, state in store.targets("r")} == {"done"}
    assert request.max_devices > 1
    assert (peak.entered, peak.peak) == (4, 1)
