"""Drift: what changed on a device between an accepted state (the baseline) or the previous
run and this run. Computed after each run from the service's database, stored in the
`drift` table, sent by the alert channels (scanner/service/alerts/).

`Drift.to_json` is the stable shape every alert channel and `shinsa drift --json` carry.

What a run is compared with:

- **the baseline** (scanner/service/baselines.py): per device, its own active baseline, else
  the site's whole-run one. Drift against the baseline is a standing difference: it is
  reported after every run until the device is back to its accepted state or a newer state
  is accepted.
- **the previous run**: the latest run of the same site that started before this one and
  did not crash (nor is still going), of the same schedule when this run has one. Drift
  against it is news: reported once, in the run where it appeared. A device whose baseline
  IS the previous run is compared only once (against the baseline), so an alert does not
  say the same thing twice.

The per-device comparison of services, verdicts, requirement statuses and certificate days
is `shinsa diff`'s (scanner/cli/diff.py), run on the rows the importer wrote. On top of it:

- `new_failure`: a check whose verdict is now `fail` and was anything else or absent (on a
  port that opened, only new failures are listed, as `shinsa diff` does); its severity is
  the check's. `fixed`: `fail` -> `pass`.
- `status_regression`: a requirement status got worse in this order, best first:
  satisfied = not_applicable < partially_assessed < not_assessed < error < not_satisfied
  (a requirement with no status in a run is not_assessed there, as in `shinsa diff`).
- Transient flips are not drift until they persist: a check going `pass` -> `inconclusive`
  or `error`, and a requirement regressing to partially_assessed, not_assessed or error (a
  verdict became inconclusive: the device answered slowly, a probe timed out) are reported
  only once they held for `persist` consecutive runs of the chain (this run included).
  Against the previous run, that is reported once, in the run where it reaches `persist`
  runs, with `before` the state of the last run before the flip (its ID in against_run_id);
  against the baseline, every run while it lasts. A persisting flip of a check is reported
  as `status_regression` with the check as its subject ({"check_id", "service"} in detail).
  A run of a schedule counts its schedule's `drift_persist` (`shinsa schedule add
  --drift-persist N`) instead of `persist`.
- `cert_expiring`: a certificate on a service (days_left of the TLS checks' evidence) has
  fewer days left than the profile's `tls.cert.validity` `min_days_left` (the device's own
  profile where it has one; 0 when the profile sets none: expired; profiles/operation.yaml
  sets 30), and did not before (or the service had no certificate then).
- `device_unreachable`: a device of the compared state that answered then (scanned to the
  end, some port open) and now is `failed` (not scanned to the end), answers on no port,
  or was targeted at its address by this run and not found there. A device this run did
  not target is not unreachable: it was not asked.
- `new_device`: answers in this run, not in the compared state (against the baseline only
  when a whole-run baseline exists: a device-only baseline says nothing about the others;
  an address of a scanned range where nothing answers is no device).
- `identity_changed`: the importer found another device at a known address and recorded
  the old device's ID in run_devices.summary["identity_changed_from"]; the old device is
  then neither unreachable nor is the new one a new device.

A device that did not answer in this run, or in the compared state, is not compared check
by check (its missing results are not fixes, its missing ports not closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scanner.codec import result_from_dict, service_from_dict
from scanner.errors import ConfigError
from scanner.judging.device_changes import compare_device
from scanner.model import Status, Verdict
from scanner.probe import Severity
from scanner.service import baselines, drift_settings
from scanner.service import schema as t

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from scanner.model import Result, Service

#: every kind of drift, in the order a report lists them (worst news first)
KINDS = (
    "device_unreachable",  # the device did not answer (or was not scanned to the end)
    "identity_changed",  # same address, another device (host key, certificate, UDN differ)
    "new_device",  # a device the baseline (or the previous run) did not have
    "service_opened",  # a port that was closed answers
    "new_failure",  # a check that passed (or was not run) now fails
    "status_regression",  # a requirement's status got worse (satisfied -> not_satisfied...)
    "cert_expiring",  # a certificate has fewer days left than the profile's threshold
    "service_closed",  # a port that answered is closed
    "fixed",  # a check that failed now passes
)

#: requirement statuses, best first; equal ranks are no change (see the module docstring)
STATUS_RANK = {
    Status.SATISFIED: 0,
    Status.NOT_APPLICABLE: 0,
    Status.PARTIALLY_ASSESSED: 1,
    Status.NOT_ASSESSED: 2,
    Status.ERROR: 3,
    Status.NOT_SATISFIED: 4,
}
#: statuses and verdicts a transient failure to measure gives: drift only when persisting
SOFT_STATUSES = frozenset({Status.PARTIALLY_ASSESSED, Status.NOT_ASSESSED, Status.ERROR})
SOFT_VERDICTS = frozenset({Verdict.INCONCLUSIVE, Verdict.ERROR})
DEFAULT_PERSIST = drift_settings.DEFAULT_PERSIST
#: runs never taken as the previous run: still going, or crashed (what a crashed run lacks
#: is not a change of the devices)
NOT_COMPARED = (*baselines.UNFINISHED, "crashed")
CERT_CHECK = "tls.cert.validity"
_SUBJECT_MAX = 255  # the drift table's subject column


@dataclass(frozen=True, slots=True)
class Drift:
    device_id: int
    address: str
    against: str  # "baseline" | "previous"
    kind: str  # one of KINDS
    subject: str  # "tcp/23 telnet", a check ID, "iec62443-4-2 CR 1.1", a certificate
    before: str = ""
    after: str = ""
    severity: str = ""  # the failed check's severity, where one applies
    against_run_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "address": self.address,
            "against": self.against,
            "against_run_id": self.against_run_id,
            "kind": self.kind,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "severity": self.severity,
            "detail": self.detail,
        }


@dataclass(slots=True)
class DeviceState:
    """One device as one run found it (the rows the importer wrote)."""

    run_id: str
    device_id: int
    address: str
    label: str
    state: str  # done | failed | pending
    reason: str  # why it was not scanned to the end ("" when it was)
    summary: dict[str, Any]
    services: list[Service] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    verdicts: dict[tuple[str, str], Verdict] = field(default_factory=dict)  # (svc, check)
    severities: dict[tuple[str, str], str] = field(default_factory=dict)  # (svc, check)
    statuses: dict[tuple[str, str], Status] = field(default_factory=dict)  # (fw, req)

    @property
    def done(self) -> bool:
        return self.state == "done"

    @property
    def answered(self) -> bool:
        """Scanned to the end and something answered: a target with no open port at all
        (switched off, unplugged, or never there) answered nothing."""
        return self.done and bool(self.services)

    @property
    def condition(self) -> str:
        return "no answer" if self.done and not self.services else self.state

    def verdict(self, service: str, check_id: str) -> Verdict | None:
        return self.verdicts.get((service, check_id))

    def status(self, key: tuple[str, str]) -> Status:
        return self.statuses.get(key, Status.NOT_ASSESSED)


@dataclass(frozen=True, slots=True)
class _Run:
    id: str
    site: str
    schedule_id: int | None
    started: Any
    request: dict[str, Any]
    profile_id: str


def compute(
    engine: sa.Engine, run_id: str, *, persist: int = DEFAULT_PERSIST, baseline: str = "default"
) -> list[Drift]:
    """The drift of run `run_id` against baseline `baseline` of its site and against the
    previous run (see the module docstring), in a stable order: against the baseline
    first, then by KINDS, address and subject."""
    if persist < 1:
        raise ConfigError("drift persistence must be at least 1 run")
    with engine.connect() as conn:
        run = _run(conn, run_id)
        persist = _persist(conn, run, persist)
        chain = _chain(conn, run, persist)  # earlier runs, newest first
        current = _load(conn, run.id)
        history = [_load(conn, r) for r in chain]
        targeted = _targeted(run.request)
        thresholds = _Thresholds(run)
        found: list[Drift] = []

        accepted = baselines.active(conn, site=run.site, name=baseline)
        base_states, base_run = _baseline_states(conn, accepted)
        if accepted:
            # this run is (part of) the baseline: those devices are as accepted
            itself = {d for d, s in base_states.items() if s.run_id == run.id}
            if _whole(accepted) == run.id:
                itself |= {d for d in current if d not in base_run}
            found += _compare(
                {d: s for d, s in current.items() if d not in itself},
                {d: s for d, s in base_states.items() if d not in itself},
                "baseline",
                targeted=targeted,
                history=history,
                persist=persist,
                thresholds=thresholds,
                new_devices=None in accepted,
            )
        if chain:
            previous = chain[0]
            # a device whose baseline is the previous run is compared with it once only
            same = {
                d for d in {*current, *history[0]} if base_run.get(d, _whole(accepted)) == previous
            }
            found += _compare(
                {d: s for d, s in current.items() if d not in same},
                {d: s for d, s in history[0].items() if d not in same},
                "previous",
                targeted=targeted,
                history=history,
                persist=persist,
                thresholds=thresholds,
                new_devices=True,
            )
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(
        found,
        key=lambda d: (d.against != "baseline", order[d.kind], d.address, d.device_id, d.subject),
    )


def compute_and_store(
    engine: sa.Engine, run_id: str, *, persist: int = DEFAULT_PERSIST, baseline: str = "default"
) -> list[Drift]:
    """`compute`, and the run's rows of the `drift` table replaced by its answer (in one
    transaction: computing it again gives the same rows, never twice as many)."""
    drifts = compute(engine, run_id, persist=persist, baseline=baseline)
    with engine.begin() as conn:
        conn.execute(t.drift.delete().where(t.drift.c.run_id == run_id))
        if drifts:
            conn.execute(
                t.drift.insert(),
                [
                    {
                        "run_id": run_id,
                        "device_id": d.device_id,
                        "against": d.against,
                        "against_run_id": d.against_run_id or None,
                        "kind": d.kind,
                        "subject": d.subject[:_SUBJECT_MAX],
                        "before": d.before[:_SUBJECT_MAX],
                        "after": d.after[:_SUBJECT_MAX],
                        "severity": d.severity,
                        "detail": {"address": d.address, **d.detail},
                    }
                    for d in drifts
                ],
            )
    return drifts


def stored(engine: sa.Engine, run_id: str) -> list[Drift]:
    """The drift rows stored for a run, as Drift records (in the order they were stored)."""
    d = t.drift
    with engine.connect() as conn:
        rows = conn.execute(sa.select(d).where(d.c.run_id == run_id).order_by(d.c.id)).all()
    out = []
    for r in rows:
        detail = dict(r.detail) if isinstance(r.detail, dict) else {}
        address = str(detail.pop("address", ""))
        out.append(
            Drift(
                device_id=int(r.device_id),
                address=address,
                against=r.against,
                kind=r.kind,
                subject=r.subject,
                before=r.before,
                after=r.after,
                severity=r.severity,
                against_run_id=r.against_run_id or "",
                detail=detail,
            )
        )
    return out


# --- what is compared ---------------------------------------------------------------------


def _run(conn: sa.Connection, run_id: str) -> _Run:
    r = t.runs
    row = conn.execute(
        sa.select(
            r.c.id, r.c.site, r.c.schedule_id, r.c.started, r.c.request, r.c.profile_id
        ).where(r.c.id == run_id)
    ).first()
    if row is None:
        raise ConfigError(f"run {run_id!r} is not in the database")
    request = row.request if isinstance(row.request, dict) else {}
    return _Run(row.id, row.site, row.schedule_id, row.started, request, row.profile_id)


def _persist(conn: sa.Connection, run: _Run, persist: int) -> int:
    """The run's schedule's `drift_persist` when it belongs to one, else `persist`."""
    if run.schedule_id is None:
        return persist
    value = conn.execute(
        sa.select(t.schedules.c.drift_persist).where(t.schedules.c.id == run.schedule_id)
    ).scalar()
    return int(value) if isinstance(value, int) and value >= 1 else persist


def _chain(conn: sa.Connection, run: _Run, persist: int) -> list[str]:
    """The `persist` finished runs before this one of its site (and schedule), newest
    first: [0] is the previous run, the rest tell whether a flip persisted."""
    r = t.runs
    where = (
        (r.c.site == run.site)
        & (r.c.id != run.id)
        & r.c.status.not_in(NOT_COMPARED)
        & ((r.c.started < run.started) | ((r.c.started == run.started) & (r.c.id < run.id)))
    )
    if run.schedule_id is not None:
        where = where & (r.c.schedule_id == run.schedule_id)
    rows = conn.execute(
        sa.select(r.c.id).where(where).order_by(r.c.started.desc(), r.c.id.desc()).limit(persist)
    ).scalars()
    return [str(x) for x in rows]


def _load(conn: sa.Connection, run_id: str, only: int | None = None) -> dict[int, DeviceState]:
    """Every device of a run (or only device `only`) with its services, results and
    statuses, read in one query per table."""

    def rows(table: sa.Table) -> Iterable[Any]:
        where = table.c.run_id == run_id
        if only is not None:
            where = where & (table.c.device_id == only)
        return conn.execute(sa.select(table).where(where))

    states: dict[int, DeviceState] = {}
    for r in rows(t.run_devices):
        summary = r.summary if isinstance(r.summary, dict) else {}
        states[int(r.device_id)] = DeviceState(
            run_id, int(r.device_id), r.address, r.label, r.state, r.reason, summary
        )
    for r in rows(t.services):
        if (s := states.get(int(r.device_id))) is not None:
            s.services.append(service_from_dict(r.data))
    for r in rows(t.results):
        if (s := states.get(int(r.device_id))) is not None:
            result = result_from_dict(r.data)
            s.results.append(result)
            s.verdicts[(result.service_key, result.check_id)] = result.verdict
            if r.severity:
                s.severities[(r.service_key, r.check_id)] = r.severity
    for r in rows(t.requirement_status):
        if (s := states.get(int(r.device_id))) is not None:
            s.statuses[(r.framework, r.requirement)] = Status(r.status)
    return states


def _whole(accepted: Mapping[int | None, baselines.Baseline]) -> str:
    whole = accepted.get(None)
    return whole.run_id if whole is not None else ""


def _baseline_states(
    conn: sa.Connection, accepted: Mapping[int | None, baselines.Baseline]
) -> tuple[dict[int, DeviceState], dict[int, str]]:
    """The accepted state of every device a baseline covers (device -> state), and
    device -> the run of its own baseline."""
    states: dict[int, DeviceState] = {}
    whole = accepted.get(None)
    if whole is not None:
        states.update(_load(conn, whole.run_id))
    own: dict[int, str] = {}
    for device_id, b in accepted.items():
        if device_id is None:
            continue
        own[device_id] = b.run_id
        states.pop(device_id, None)
        states.update(_load(conn, b.run_id, device_id))
    return states, own


def _targeted(request: Mapping[str, Any]) -> frozenset[str]:
    """The addresses the run's request targeted (the request as `shinsa scan` stores it)."""
    targets = request.get("targets")
    if not isinstance(targets, list):
        return frozenset()
    return frozenset(
        str(x[0]) for x in targets if isinstance(x, list | tuple) and x and isinstance(x[0], str)
    )


class _Thresholds:
    """The certificate threshold (min_days_left of tls.cert.validity) per device, from the
    run's profile or the device's own; profiles are loaded once, when first needed."""

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._loaded: tuple[int, dict[str, int]] | None = None

    def days(self, address: str) -> int:
        if self._loaded is None:
            self._loaded = self._load()
        default, own = self._loaded
        return own.get(address, default)

    def _load(self) -> tuple[int, dict[str, int]]:
        # the judging stack (probes, frameworks) only when a certificate needs it
        from scanner.judging.profiles import load_profile
        from scanner.judging.report_data import own_profiles
        from scanner.plugins import installed
        from scanner.service.importer import stored_level

        checks = installed().checks()
        request = self._run.request
        level = stored_level(request)
        try:
            profile = load_profile(
                str(request.get("profile") or self._run.profile_id or "base"), checks, level=level
            )
            own = own_profiles(request, checks, level)
        except ConfigError:  # the profile file is gone or changed: the check's default
            return 0, {}
        return _min_days(profile.params), {a: _min_days(p.params) for a, p in own.items()}


def _min_days(params: Mapping[str, Any]) -> int:
    value = getattr(params.get(CERT_CHECK), "min_days_left", 0)
    return value if isinstance(value, int) else 0


# --- the comparison -------------------------------------------------------------------------


def _compare(
    current: Mapping[int, DeviceState],
    before: Mapping[int, DeviceState],
    against: str,
    *,
    targeted: frozenset[str],
    history: list[dict[int, DeviceState]],
    persist: int,
    thresholds: _Thresholds,
    new_devices: bool,
) -> list[Drift]:
    found: list[Drift] = []
    replaced: set[int] = set()
    for device_id, now in current.items():
        old = before.get(device_id)
        if old is not None:
            found += _device(now, old, against, history, persist, thresholds)
            continue
        was = now.summary.get("identity_changed_from")
        if isinstance(was, int) and not isinstance(was, bool) and was in before:
            replaced.add(was)
            prior = before[was]
            found.append(
                Drift(
                    device_id,
                    now.address,
                    against,
                    "identity_changed",
                    now.address,
                    before=str(was),
                    after=str(device_id),
                    against_run_id=prior.run_id,
                    detail={"device_id_before": was, "identity": now.summary.get("identity", {})},
                )
            )
        elif new_devices and now.answered:  # an empty address of a scanned range is no device
            found.append(
                Drift(
                    device_id,
                    now.address,
                    against,
                    "new_device",
                    now.address,
                    after=now.label or now.address,
                    against_run_id=_any_run(before),
                    detail={
                        "label": now.label,
                        "services": now.summary.get("services", []),
                        "worst_severity": _worst(now),
                    },
                )
            )
    for device_id, old in before.items():
        if device_id in current or device_id in replaced or not old.answered:
            continue
        if old.address in targeted:  # asked for, not found
            found.append(
                Drift(
                    device_id,
                    old.address,
                    against,
                    "device_unreachable",
                    old.address,
                    before=f"{len(old.services)} services",
                    after="absent",
                    against_run_id=old.run_id,
                    detail={"reason": "not found at its address in this run"},
                )
            )
    return found


def _any_run(states: Mapping[int, DeviceState]) -> str:
    return next((s.run_id for s in states.values()), "")


def _worst(state: DeviceState) -> str:
    severities = state.summary.get("severities")
    if not isinstance(severities, dict) or not severities:
        return ""
    present = [s for s in Severity if severities.get(s.value)]
    return max(present, key=lambda s: s.rank).value if present else ""


def _device(
    now: DeviceState,
    old: DeviceState,
    against: str,
    history: list[dict[int, DeviceState]],
    persist: int,
    thresholds: _Thresholds,
) -> list[Drift]:
    """The drift of one device present in both states."""

    def drift(kind: str, subject: str, **kw: Any) -> Drift:
        return Drift(
            now.device_id, now.address, against, kind, subject, against_run_id=old.run_id, **kw
        )

    if not now.answered:
        if old.answered:
            reason = now.reason or (
                "no port answered" if now.done else f"the device was {now.state} in this run"
            )
            return [
                drift(
                    "device_unreachable",
                    now.address,
                    before=f"{len(old.services)} services",
                    after=now.condition,
                    detail={"reason": reason},
                )
            ]
        return []
    if not old.answered:  # nothing measured to compare with
        return []
    titles = {key: key[1] for key in sorted(old.statuses.keys() | now.statuses.keys())}
    changes = compare_device(
        now.address,
        now.label,
        (old.services, now.services),
        (old.results, now.results),
        (old.statuses, now.statuses),
        titles,
    )
    out = [drift("service_opened", _svc(s)) for s in changes.opened]
    out += [drift("service_closed", _svc(s)) for s in changes.closed]
    for c in changes.checks:
        subject = f"{c.check_id} on {c.service}" if c.service else c.check_id
        detail = {"check_id": c.check_id, "service": c.service}
        if c.after is Verdict.FAIL:
            out.append(
                drift(
                    "new_failure",
                    subject,
                    before=_v(c.before),
                    after=_v(c.after),
                    severity=now.severities.get((c.service, c.check_id), ""),
                    detail=detail,
                )
            )
        elif c.before is Verdict.FAIL and c.after is Verdict.PASS:
            out.append(drift("fixed", subject, before="fail", after="pass", detail=detail))
    for s in changes.requirements:
        if s.after not in SOFT_STATUSES and STATUS_RANK[s.after] > STATUS_RANK[s.before]:
            out.append(
                drift(
                    "status_regression",
                    f"{s.framework} {s.requirement}",
                    before=s.before.value,
                    after=s.after.value,
                    detail={"framework": s.framework, "requirement": s.requirement},
                )
            )
    out += _soft(now, old, against, history, persist)
    threshold = thresholds.days(now.address)
    for cert in changes.certificates:
        if cert.after is None or cert.after >= threshold:
            continue
        if cert.before is not None and cert.before < threshold:
            continue  # already under it then
        out.append(
            drift(
                "cert_expiring",
                cert.service,
                before="" if cert.before is None else str(cert.before),
                after=str(cert.after),
                severity=now.severities.get((cert.service, CERT_CHECK), ""),
                detail={"days_left": cert.after, "threshold": threshold},
            )
        )
    return out


def _svc(s: Service) -> str:
    return f"{s.key} {s.protocol}"


def _v(verdict: Verdict | None) -> str:
    return verdict.value if verdict else ""


# --- transient flips ------------------------------------------------------------------------


def _soft(
    now: DeviceState,
    old: DeviceState,
    against: str,
    history: list[dict[int, DeviceState]],
    persist: int,
) -> list[Drift]:
    """Flips to inconclusive/error (checks) and to soft statuses (requirements) that held
    for `persist` runs: `now` and the persist-1 runs before it (see the module docstring)."""
    recent = [now, *(h.get(now.device_id) for h in history[: persist - 1])]
    if any(s is None or not s.answered for s in recent):
        return []  # the device's chain has a gap: nothing persisted
    states = [s for s in recent if s is not None]
    # what the flip is measured from: the baseline's state, or the run before the flip
    if against == "baseline":
        base: DeviceState | None = old
    else:
        base = history[persist - 1].get(now.device_id) if len(history) >= persist else None
    if base is None or not base.answered:
        return []
    out: list[Drift] = []

    def drift(subject: str, before: str, after: str, detail: dict[str, Any]) -> Drift:
        return Drift(
            now.device_id,
            now.address,
            against,
            "status_regression",
            subject,
            before=before,
            after=after,
            against_run_id=base.run_id,
            detail={**detail, "persisted_runs": persist},
        )

    checks = {(r.service_key, r.check_id) for r in now.results if r.verdict in SOFT_VERDICTS}
    for svc, check_id in sorted(checks):
        if base.verdict(svc, check_id) is not Verdict.PASS:
            continue
        if all(s.verdict(svc, check_id) in SOFT_VERDICTS for s in states):
            subject = f"{check_id} on {svc}" if svc else check_id
            after = _v(now.verdict(svc, check_id))
            out.append(drift(subject, "pass", after, {"check_id": check_id, "service": svc}))
    for key in sorted(now.statuses.keys() | base.statuses.keys()):
        was = base.status(key)
        if was in SOFT_STATUSES and against != "baseline":
            continue  # the run before the flip must have measured it
        worse = all(
            s.status(key) in SOFT_STATUSES and STATUS_RANK[s.status(key)] > STATUS_RANK[was]
            for s in states
        )
        if worse:
            out.append(
                drift(
                    f"{key[0]} {key[1]}",
                    was.value,
                    now.status(key).value,
                    {"framework": key[0], "requirement": key[1]},
                )
            )
    return out
