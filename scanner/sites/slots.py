"""A worker's devices at once: one count shared by the tasks its threads run.

A worker runs `--concurrency` tasks at once, each of a few devices (the scan's
`--site-batch`), every task in its own thread and event loop. Without a shared count a
worker would scan concurrency x batch devices at once; and with only the tasks counted,
a task whose last, slow device still runs would hold its whole share idle (bench/sites:
fixed batches left a third of the slots waiting on tails). So a device takes one of the
worker's `--concurrency` slots to be scanned, whichever task it is of, and gives it back
when it ends: the same sliding window as the in-process engine's `max_devices`.

The slots are handed over first come, first served across the threads' event loops: a
waiter's future is completed in its own loop (`call_soon_threadsafe`), and a waiter
cancelled (its task stopped) passes on a slot it was handed in the meantime.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class DeviceSlots:
    """At most `size` devices scanned at once by this process, whatever loop they are in."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a worker scans at least one device at once")
        self.size = size
        self._free = size
        self._lock = threading.Lock()
        self._waiting: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def busy(self) -> int:
        with self._lock:
            return self.size - self._free

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            waiter: asyncio.Future[None] = loop.create_future()
            entry = (loop, waiter)
            self._waiting.append(entry)
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                queued = entry in self._waiting
                if queued:
                    self._waiting.remove(entry)
            # handed a slot after all (its result set before the cancel reached it): pass
            # it on; one handed but not yet set finds the future cancelled and does so
            if not queued and waiter.done() and not waiter.cancelled():
                self._release()
            raise

    def _release(self) -> None:
        with self._lock:
            if not self._waiting:
                self._free += 1
                return
            loop, waiter = self._waiting.popleft()
        try:
            loop.call_soon_threadsafe(self._hand, waiter)
        except RuntimeError:  # the waiter's loop has closed: the next one gets it
            self._release()

    def _hand(self, waiter: asyncio.Future[None]) -> None:
        """In the waiter's loop: the slot is its, unless it stopped waiting."""
        if waiter.done():
            self._release()
        else:
            waiter.set_result(None)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One device's slot, held while it is scanned."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()


_by_size: dict[int, DeviceSlots] = {}
_made = threading.Lock()


def of_process(size: int) -> DeviceSlots:
    """This process's slots (one count for all the tasks its threads run)."""
    with _made:
        if size not in _by_size:
            _by_size[size] = DeviceSlots(size)
        return _by_size[size]
