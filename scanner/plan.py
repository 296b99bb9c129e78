"""Which probe runs on which service: registry + services + profile → jobs.

Also the two gates a job passes before it runs: the intrusive gate (skipped unless allowed)
and resume (checks that already have a final result are not run again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.probe import DeviceProbe, Probe, ServiceProbe

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from scanner.model import Service


@dataclass(frozen=True, slots=True)
class Job:
    probe: Probe
    service: Service | None  # None for a DeviceProbe

    @property
    def service_key(self) -> str:
        return self.service.key if self.service else ""

    def check_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.probe.checks)

    def describe(self) -> str:
        where = f" on {self.service}" if self.service else ""
        return f"{type(self.probe).__name__}{where}"


def plan(
    registry: Sequence[type[Probe]],
    services: Sequence[Service],
    *,
    address: str,
    done: Collection[tuple[str, str, str]] = (),
) -> list[Job]:
    """Jobs for one device, minus those whose every check is already done (resume)."""
    jobs: list[Job] = []
    for probe_cls in registry:
        probe = probe_cls()
        if isinstance(probe, ServiceProbe):
            jobs += [Job(probe, s) for s in services if probe.applies_to(s)]
        elif isinstance(probe, DeviceProbe):
            jobs.append(Job(probe, None))
    # A probe without checks only publishes facts for others: it always runs again.
    return [
        j
        for j in jobs
        if not j.check_ids() or not all((address, j.service_key, c) in done for c in j.check_ids())
    ]
