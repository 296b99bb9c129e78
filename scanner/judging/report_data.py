"""Everything a renderer needs, gathered once from the store and the profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner import __version__
from scanner.judging import manual
from scanner.judging.assess import Assessment, assess

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date

    from scanner.judging.manual import EvidenceFile
    from scanner.judging.profiles import Profile
    from scanner.model import Service
    from scanner.probe import Check
    from scanner.store import RunInfo, Store


@dataclass(frozen=True, slots=True)
class Device:
    address: str
    label: str
    finished: bool  # every planned check ran (False after an interrupted scan)
    services: tuple[Service, ...]
    unfinished_reason: str = ""  # why the device failed (a deadline, a crash), if it did
    unfinished_reason_ja: str = ""  # the same in Japanese ("" from a store made before it)


@dataclass(frozen=True, slots=True)
class ReportData:
    run: RunInfo
    scanner_version: str
    devices: tuple[Device, ...]
    assessment: Assessment
    checks: Mapping[str, Check]
    profile_changed: bool  # the profile's digest differs from the one the scan ran with
    evidence: tuple[EvidenceFile, ...] = ()  # manual evidence files, kept with the run or given


def collect(
    store: Store,
    run_id: str,
    profile: Profile,
    checks: Mapping[str, Check],
    *,
    today: date,
    evidence: Sequence[EvidenceFile] = (),
) -> ReportData:
    """The run as stored, judged by `profile`, with the manual evidence kept with the run
    and `evidence` given for this rendering only."""
    run = store.run(run_id)
    failures, failures_ja = store.failures(run_id), store.failures_ja(run_id)
    devices = tuple(
        Device(
            addr,
            label,
            state == "done",
            tuple(store.services(run_id, addr)),
            failures.get(addr, ""),
            failures_ja.get(addr, ""),
        )
        for addr, label, state in store.targets(run_id)
    )
    files = manual.merge([*manual.stored(store, run_id), *evidence])
    assessment = assess(
        store.results(run_id),
        profile,
        [d.address for d in devices],
        today=today,
        manual=manual.statements(files),
        labels={d.address: d.label for d in devices},
    )
    return ReportData(
        run=run,
        scanner_version=__version__,
        devices=devices,
        assessment=assessment,
        checks=checks,
        profile_changed=run.profile_digest != profile.digest,
        evidence=files,
    )
