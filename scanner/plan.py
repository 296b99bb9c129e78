"""Which probe runs on which service: registry + services + profile → jobs.

Also the gates a job passes before it runs: the intrusive gate (skipped unless allowed),
resume (checks that already have a final result are not run again) and the check selection
(`--checks`/`--exclude-checks`: a probe none of whose checks is selected is not planned,
unless a planned probe needs or uses a fact it provides).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.errors import ConfigError
from scanner.probe import DeviceProbe, Probe, ServiceProbe

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Sequence

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


def select_checks(
    known: Iterable[str], chosen: Sequence[str] = (), left_out: Sequence[str] = ()
) -> frozenset[str]:
    """The check IDs `--checks` (`chosen`: IDs or fnmatch globs, all when empty) selects
    and `--exclude-checks` (`left_out`) does not. ConfigError for a pattern that matches
    no check (a typo would otherwise select nothing, or exclude nothing, silently) and for
    a selection that leaves no check."""
    ids = sorted(known)

    def matching(pattern: str, option: str) -> set[str]:
        found = set(fnmatch.filter(ids, pattern))
        if not found:
            raise ConfigError(f"{option} {pattern!r} matches no check (see `shinsa checks`)")
        return found

    selected = set(ids) if not chosen else set().union(*(matching(p, "--checks") for p in chosen))
    for pattern in left_out:
        selected -= matching(pattern, "--exclude-checks")
    if not selected:
        raise ConfigError("--checks and --exclude-checks leave no check to run")
    return frozenset(selected)


def _selected_probes(probes: Sequence[Probe], selected: Collection[str] | None) -> list[Probe]:
    """The probes with a selected check, and those providing a fact that a probe kept
    needs or uses (transitively): a session check still logs in first. A probe without
    checks only publishes facts for others: kept when a kept probe wants one."""
    if selected is None:
        return list(probes)
    keep = [p for p in probes if any(c.id in selected for c in p.checks)]
    wanted = {k for p in keep for k in (*p.needs, *p.uses)}
    rest = [p for p in probes if p not in keep]
    grew = True
    while grew:
        grew = False
        for p in list(rest):
            if p.provides & wanted:
                keep.append(p)
                rest.remove(p)
                wanted |= {*p.needs, *p.uses}
                grew = True
    return [p for p in probes if p in keep]  # registry order


def plan(
    registry: Sequence[type[Probe]],
    services: Sequence[Service],
    *,
    address: str,
    done: Collection[tuple[str, str, str]] = (),
    selected: Collection[str] | None = None,
) -> list[Job]:
    """Jobs for one device, minus those whose every check is already done (resume) and
    those of probes the check selection leaves out (`selected`: None runs every check; a
    probe planned only as a provider still runs, and its unselected results are dropped
    by the engine)."""
    jobs: list[Job] = []
    for probe in _selected_probes([cls() for cls in registry], selected):
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
