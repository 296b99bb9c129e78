"""Everything a renderer needs, gathered once from the store and the profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner import __version__
from scanner.assess import Assessment, assess

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

    from scanner.model import Service
    from scanner.probe import Check
    from scanner.profiles import Profile
    from scanner.store import RunInfo, Store


@dataclass(frozen=True, slots=True)
class Device:
    address: str
    label: str
    finished: bool  # every planned check ran (False after an interrupted scan)
    services: tuple[Service, ...]


@dataclass(frozen=True, slots=True)
class ReportData:
    run: RunInfo
    scanner_version: str
    devices: tuple[Device, ...]
    assessment: Assessment
    checks: Mapping[str, Check]
    profile_changed: bool  # the profile's digest differs from the one the scan ran with


def collect(
    store: Store, run_id: str, profile: Profile, checks: Mapping[str, Check], *, today: date
) -> ReportData:
    run = store.run(run_id)
    devices = tuple(
        Device(addr, label, state == "done", tuple(store.services(run_id, addr)))
        for addr, label, state in store.targets(run_id)
    )
    assessment = assess(store.results(run_id), profile, [d.address for d in devices], today=today)
    return ReportData(
        run=run,
        scanner_version=__version__,
        devices=devices,
        assessment=assessment,
        checks=checks,
        profile_changed=run.profile_digest != profile.digest,
    )
