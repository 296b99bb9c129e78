"""`--max-rate` and `--scan-delay` kept by all of a site's workers together.

A local scan has one `Pacer` (scanner/pacing.py). A site with three workers would send three
times the rate with one each, and a fragile PLC does not care which worker is hammering it.
`SharedPacer` takes every slot from Redis instead: one Lua script, run atomically by the
server, reads the next free slot of the site (and of the device), takes it, and answers how
long to wait. Redis's own clock decides, so workers whose clocks differ still agree.

The rate is per site: each site's workers share one pace of `--max-rate` probes a second
(a run over two sites sends at most twice the rate, half in each segment).

When Redis does not answer (restarting), a slot is asked for again with back-off for up to
`OUTAGE_SECONDS`; then the error is raised, and the probe waiting for it ends in `error`,
never in a pass.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import redis

from scanner.errors import ShinsaError
from scanner.pacing import Pacer
from scanner.sites import keys

if TYPE_CHECKING:
    from collections.abc import Callable

OUTAGE_SECONDS = 60.0

# KEYS: the site's slot, the device's slot. ARGV: the site's gap and the device's delay in
# microseconds, 1 to take the slot even when it is in the future (0: only if free now), the
# keys' lifetime in ms. Answers the microseconds to wait (0: the slot is now).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local gap = tonumber(ARGV[1])
local delay = tonumber(ARGV[2])
local free = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
if delay > 0 then
  free = math.max(free, tonumber(redis.call('GET', KEYS[2]) or '0'))
end
if ARGV[3] == '0' and free > now then
  return free - now
end
if gap > 0 then redis.call('SET', KEYS[1], string.format('%.0f', free + gap), 'PX', ARGV[4]) end
if delay > 0 then
  redis.call('SET', KEYS[2], string.format('%.0f', free + delay), 'PX', ARGV[4])
end
if ARGV[3] == '0' then return 0 end
return free - now
"""


class SharedPacer(Pacer):
    """A Pacer whose slots are the site's, on the broker (module docstring)."""

    def __init__(
        self,
        client: redis.Redis,
        run_id: str,
        site: str,
        max_rate: float | None = None,
        scan_delay: float = 0.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(max_rate, scan_delay)
        self._client = client
        self._script = client.register_script(_TAKE)
        self._site_key = keys.pace_key(run_id, site)
        self._sleep = sleep
        self._gap_us = round(self._gap * 1_000_000)
        self._delay_us = round(scan_delay * 1_000_000)

    def reserve(self, address: str) -> float:
        if not self.active:
            return 0.0
        return self._ask(address, take_future=True)

    def try_take(self, address: str) -> float:
        if not self.active:
            return 0.0
        return self._ask(address, take_future=False)

    def _ask(self, address: str, *, take_future: bool) -> float:
        args = [self._gap_us, self._delay_us, 1 if take_future else 0, keys.RUN_KEY_TTL * 1000]
        device_key = f"{self._site_key}:{address}"
        waited = 0.0
        pause = 0.5
        while True:
            try:
                answer = self._script(keys=[self._site_key, device_key], args=args)
                return max(0.0, float(answer) / 1_000_000)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if waited >= OUTAGE_SECONDS:
                    raise ShinsaError(
                        f"the broker kept no pace for {waited:.0f} s ({exc}): probe not sent"
                    ) from None
                self._sleep(pause)
                waited += pause
                pause = min(pause * 2, 5.0)
