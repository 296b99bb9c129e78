"""The timing search of session expiry, pure: where a session's idle timeout lies, and which
idle times the next round checks.

A round keeps k sessions open and checks session i once after t_i s idle; `bracket` reads
the observations as lo < timeout ≤ hi, `next_times` picks the next round's t_i: before any
session ended, `top` and points spread below it; then points splitting (lo, hi) at the
resolution (with one session, a binary search). `consistent` tells a round whose sessions
ended by the logins of other sessions (dead after 2 s, alive after 5 s) from one that idled
out. `busy_interval`: how often a session kept busy makes a request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import JSONValue

#: Shortest gap between the requests that keep a session busy.
MIN_INTERVAL = 0.5
#: Longest gap between them: a busy session that waited longer between requests could end
#: by idling (its idle timeout unknown while both run side by side).
MAX_BUSY_GAP = 5.0


@dataclass(frozen=True, slots=True)
class Observation:
    """One check of one session: `idle` seconds after its last request, alive or not."""

    session: int
    planned: float
    idle: float
    alive: bool

    def row(self) -> dict[str, JSONValue]:
        return {
            "session": self.session,
            "idle": round(self.idle, 2),
            "alive": self.alive,
        }


def bracket(observations: Sequence[Observation]) -> tuple[float, float | None]:
    """(lo, hi): a session lived after `lo` s idle and ended by `hi` (None: none ended)."""
    dead = [o.idle for o in observations if not o.alive]
    hi = min(dead) if dead else None
    alive = [o.idle for o in observations if o.alive and (hi is None or o.idle < hi)]
    return max(alive, default=0.0), hi


def consistent(observations: Sequence[Observation]) -> bool:
    """False when a session lived longer than another that ended: logins end sessions."""
    lo = max((o.idle for o in observations if o.alive), default=0.0)
    return all(o.alive or o.idle > lo for o in observations)


def next_times(
    lo: float, hi: float | None, top: float, parallel: int, resolution: float
) -> list[float]:
    """The idle times the next round checks, one per session; [] when the bracket is
    narrow enough. Before any session ended: `top` (the verdict) and points spread below
    it; then points splitting (lo, hi) into pieces of at most `resolution` (a binary search
    with one session)."""
    if hi is None:
        if lo >= top:
            return []
        n = max(1, min(parallel, math.ceil((top - lo) / resolution - 1e-9)))
        step = (top - lo) / n
        return [round(lo + step * (i + 1), 3) for i in range(n)]
    if hi - lo <= resolution + 1e-9:
        return []
    n = max(1, min(parallel, math.ceil((hi - lo) / resolution - 1e-9) - 1))
    step = (hi - lo) / (n + 1)
    return [round(lo + step * (i + 1), 3) for i in range(n)]


def busy_interval(resolution: float, idle: float | None) -> float:
    """How often a busy session makes a request: within the resolution and `MAX_BUSY_GAP`,
    and well inside `idle` (the idle time a session was seen to survive, or the profile's
    limit while that is being measured): else idling, not the absolute limit, could end it."""
    gap = min(resolution, MAX_BUSY_GAP)
    if idle:
        gap = min(gap, idle / 2)
    return max(MIN_INTERVAL, gap)
