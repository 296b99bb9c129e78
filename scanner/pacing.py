"""The scan's pace: `--max-rate` (probes per second over the whole scan) and `--scan-delay`
(the shortest gap between two probes to one device), for devices that fall over when
hammered (PLCs, old cameras).

A probe is one connection attempt or one datagram: every sender asks `Pacer` for its slot
right before the packet leaves (scanner/net.py for every connection, datagram and HTTP
request; the connect, SYN and UDP discovery senders). It is a token bucket that holds one
token: the rate never bursts above itself after a quiet spell, because a fragile device is
as fragile after one. Slots are taken under a lock, so the threads of discovery and the
event loop share one pace; a slot is taken when asked for, so two senders never get the
same one.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable


class Pacer:
    """Slots for probes: at most `max_rate` a second overall (None: no cap), and at least
    `scan_delay` seconds apart on one device (0: none)."""

    def __init__(
        self,
        max_rate: float | None = None,
        scan_delay: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rate is not None and not (math.isfinite(max_rate) and max_rate > 0):
            raise ConfigError(f"max_rate must be a positive number of probes a second: {max_rate}")
        if not (math.isfinite(scan_delay) and scan_delay >= 0):
            raise ConfigError(f"scan_delay must be 0 or more seconds, not {scan_delay}")
        self.max_rate = max_rate
        self.scan_delay = scan_delay
        self._gap = 1.0 / max_rate if max_rate else 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0  # when the bucket holds its token again
        self._device_next: dict[str, float] = {}  # per device, when its next probe may leave

    @property
    def active(self) -> bool:
        return self._gap > 0 or self.scan_delay > 0

    def _free_at(self, address: str) -> float:
        return max(self._next, self._device_next.get(address, 0.0))

    def _take(self, address: str, at: float) -> None:
        self._next = at + self._gap
        if self.scan_delay:
            self._device_next[address] = at + self.scan_delay

    def reserve(self, address: str) -> float:
        """Take the next slot for a probe to `address`: the seconds to wait before sending."""
        if not self.active:
            return 0.0
        with self._lock:
            now = self._clock()
            at = max(now, self._free_at(address))
            self._take(address, at)
            return at - now

    def try_take(self, address: str) -> float:
        """Take a slot only if one is free now: 0.0 when taken, else the seconds until the
        next one (nothing taken). For a sender with other work to do meanwhile."""
        if not self.active:
            return 0.0
        with self._lock:
            now = self._clock()
            free = self._free_at(address)
            if free > now:
                return free - now
            self._take(address, now)
            return 0.0

    def wait_blocking(self, address: str) -> None:
        """Sleep in this thread until a probe to `address` may leave (its slot taken)."""
        wait = self.reserve(address)
        if wait > 0:
            time.sleep(wait)

    async def wait(self, address: str) -> None:
        """Wait on the event loop until a probe to `address` may leave (its slot taken)."""
        import asyncio  # here: `shinsa discover` scans TCP without an event loop

        wait = self.reserve(address)
        if wait > 0:
            await asyncio.sleep(wait)


#: no pace: every probe leaves at once
UNPACED = Pacer()
