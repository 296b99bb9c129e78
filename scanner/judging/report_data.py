"""Everything a renderer needs, gathered once from the store and the profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner import __version__
from scanner.judging import manual
from scanner.judging.assess import Assessment, assess
from scanner.judging.profiles import device_profiles
from scanner.judging.report_meta import NO_META, ReportMeta, from_json

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date

    from scanner.judging.manual import EvidenceFile
    from scanner.judging.profiles import Profile
    from scanner.model import JSONValue, Service
    from scanner.probe import Check
    from scanner.store import RunInfo, Store


@dataclass(frozen=True, slots=True)
class Device:
    address: str
    label: str
    finished: bool  # every planned check ran (False after an interrupted scan)
    services: tuple[Service, ...]
    unfinished_reason: str = ""  # why the device failed (a deadline, a crash), if it did
    profile: str = ""  # the ID of the profile it is judged by (its own, or the run's)
    unfinished_reason_ja: str = ""  # the same in Japanese ("" from a store made before it)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What a renderer leaves out by default, asked for on the command line."""

    sarif_all: bool = False  # every verdict in SARIF, not only the failures (--sarif-all)
    junit_all: bool = False  # not-assessed requirements as skipped JUnit cases (--junit-all)


@dataclass(frozen=True, slots=True)
class ReportData:
    run: RunInfo
    scanner_version: str
    devices: tuple[Device, ...]
    assessment: Assessment
    checks: Mapping[str, Check]
    profile_changed: bool  # the profile's digest differs from the one the scan ran with
    evidence: tuple[EvidenceFile, ...] = ()  # manual evidence files, kept with the run or given
    #: the title block: the profile's `report:` section under the scan's command line under
    #: this rendering's (`collect`)
    meta: ReportMeta = NO_META
    scan_zone: str = ""  # the IANA zone the scan ran in, as it recorded it ("" = not known)
    options: RenderOptions = RenderOptions()


def collect(
    store: Store,
    run_id: str,
    profile: Profile,
    checks: Mapping[str, Check],
    *,
    today: date,
    evidence: Sequence[EvidenceFile] = (),
    profiles: Mapping[str, Profile] | None = None,
    meta: ReportMeta = NO_META,
) -> ReportData:
    """The run as stored, judged by `profile` (and a device with a profile of its own by
    that one: `profiles`, address -> profile, see `own_profiles`), with the manual evidence
    kept with the run and `evidence` given for this rendering only; the title block is
    `meta` over what the scan's command line stored over the profile's `report:` section."""
    run = store.run(run_id)
    failures, failures_ja = store.failures(run_id), store.failures_ja(run_id)
    own = profiles or {}
    devices = tuple(
        Device(
            addr,
            label,
            state == "done",
            tuple(store.services(run_id, addr)),
            failures.get(addr, ""),
            own.get(addr, profile).id,
            failures_ja.get(addr, ""),
        )
        for addr, label, state in store.targets(run_id)
    )
    files = manual.merge([*manual.stored(store, run_id), *evidence])
    selection = stored_selection(run.request)
    assessment = assess(
        store.results(run_id),
        profile,
        [d.address for d in devices],
        today=today,
        manual=manual.statements(files),
        labels={d.address: d.label for d in devices},
        left_out=frozenset() if selection is None else frozenset(checks) - selection,
        profiles=own,
    )
    return ReportData(
        run=run,
        scanner_version=__version__,
        devices=devices,
        assessment=assessment,
        checks=checks,
        profile_changed=run.profile_digest != profile.digest,
        evidence=files,
        meta=meta.over(from_json(run.request.get("report")).over(profile.report)),
        scan_zone=str(run.request.get("tz") or ""),
    )


def stored_selection(request: Mapping[str, JSONValue]) -> frozenset[str] | None:
    """The checks a stored run selected (--checks/--exclude-checks); None: every check."""
    chosen = request.get("selected_checks")
    if not isinstance(chosen, list):
        return None
    return frozenset(str(c) for c in chosen)


def stored_profiles(
    request: Mapping[str, JSONValue], checks: Mapping[str, Check], level: int | None = None
) -> dict[str, Profile]:
    """The devices' own profiles of a stored run (reference -> profile), loaded again at
    `level`, else the run's --level."""
    refs = [str(t[2]) for t in _stored_targets(request) if len(t) > 2 and t[2]]
    stored = request.get("level")
    if level is None and isinstance(stored, int):
        level = stored
    return device_profiles(refs, checks, level=level)


def own_profiles(
    request: Mapping[str, JSONValue], checks: Mapping[str, Check], level: int | None = None
) -> dict[str, Profile]:
    """address -> profile, for the devices of a stored run that named their own."""
    loaded = stored_profiles(request, checks, level)
    return {str(t[0]): loaded[str(t[2])] for t in _stored_targets(request) if len(t) > 2 and t[2]}


def _stored_targets(request: Mapping[str, JSONValue]) -> list[list[JSONValue]]:
    targets = request.get("targets")
    if not isinstance(targets, list):
        return []
    return [t for t in targets if isinstance(t, list) and t]
