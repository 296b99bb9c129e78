"""Scan definitions run on a cron schedule: their rows (`schedules` table), when each fires
next, the maintenance windows it may run in, and the lease that keeps two runs of one
definition apart.

- `next_fire(cron, tz, after)`: the next time a five-field cron expression fires, read in
  its IANA zone (croniter), returned in UTC. Daylight saving: a time skipped by the clock
  going forward fires once at the first valid minute after it; a time the clock repeats
  going back fires once (not twice) when the expression names its hours, as cron does.
- Maintenance windows: `{"days": "mon-fri", "start": "22:00", "end": "06:00"}` in the
  schedule's zone; `days` are the days a window OPENS on, and a window whose end is not
  after its start closes the next day (it crosses midnight). No window: any time. A run
  never starts outside every window, and the runner stops it when its window closes
  (`window_close`).
- The lease: `take_lease` is one conditional UPDATE (`lease_until` empty or past), so the
  service, a second service and `shinsa schedule run-now` agree on who runs a definition
  without any lock held across processes; the holder renews it while the run goes and
  releases it at the end. A holder that died leaves a lease that expires by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from croniter import croniter  # type: ignore[import-untyped]

from scanner.errors import ConfigError
from scanner.service import schema as t
from scanner.service.alerts.channels import parse_channel
from scanner.service.db import now as utcnow
from scanner.service.db import utc
from scanner.service.drift import KINDS
from scanner.service.drift_settings import DEFAULT_PERSIST, MAX_PERSIST

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: the scan options a definition may carry, and the `shinsa scan` option each becomes
OPTIONS: dict[str, str] = {
    "scan_delay": "--scan-delay",
    "max_rate": "--max-rate",
    "timeout": "--timeout",
    "concurrency": "--concurrency",
    "per_device": "--per-device",
    "max_scan_time": "--max-scan-time",
    "level": "--level",
    "lang": "--lang",
    "exclude": "--exclude",  # a list: one option per entry
    "checks": "--checks",
    "exclude_checks": "--exclude-checks",
    "allow": "--allow",
    "credentials": "--credentials",
    "allow_intrusive": "--allow-intrusive",  # a flag: true or false
    "no_browser": "--no-browser",
}
FLAGS = frozenset({"allow_intrusive", "no_browser"})
LISTS = frozenset({"exclude", "checks", "exclude_checks", "allow", "credentials"})
MAX_JITTER = 6 * 3600
#: a window may not be longer than a week; also bounds `window_close`'s walk
_MAX_WINDOW_HOPS = 16


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window: opens at `start` on each of `days` (0 = Monday), closes at
    `end` the same day, or the next day when `end` is not after `start`."""

    days: frozenset[int]
    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def spans(self, zone: ZoneInfo, around: date) -> list[tuple[datetime, datetime]]:
        """The (open, close) times, aware, of the windows opening the day before `around`,
        on it and the day after (the ones that can contain a moment of that day)."""
        out = []
        for offset in (-1, 0, 1):
            day = around + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = datetime.combine(day, self.start, tzinfo=zone)
            end_day = day + timedelta(days=1) if self.crosses_midnight else day
            out.append((opens, datetime.combine(end_day, self.end, tzinfo=zone)))
        return out

    def to_json(self) -> dict[str, str]:
        return {
            "days": days_text(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    def __str__(self) -> str:
        return f"{days_text(self.days)} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Definition:
    """What one run scans: as `shinsa scan TARGETS -p PORTS --profile P --format F`."""

    targets: tuple[str, ...]
    ports: str | None = None
    profile: str = "base"
    formats: tuple[str, ...] = ("json",)
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": list(self.targets),
            "ports": self.ports,
            "profile": self.profile,
            "formats": list(self.formats),
            "options": dict(self.options),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Definition:
        return cls(
            targets=tuple(str(x) for x in data.get("targets") or ()),
            ports=str(data["ports"]) if data.get("ports") else None,
            profile=str(data.get("profile") or "base"),
            formats=tuple(str(x) for x in data.get("formats") or ("json",)),
            options=dict(data.get("options") or {}),
        )

    def scan_arguments(self) -> list[str]:
        """The `shinsa scan` arguments of this definition (without --out and -q)."""
        argv = [*self.targets, "--profile", self.profile, "--format", ",".join(self.formats)]
        if self.ports:
            argv += ["-p", self.ports]
        for key, value in sorted(self.options.items()):
            option = OPTIONS[key]
            if key in FLAGS:
                argv += [option] if value else []
            elif key in LISTS:
                for item in value:
                    argv += [option, str(item)]
            else:
                argv += [option, str(value)]
        return argv


@dataclass(frozen=True, slots=True)
class Schedule:
    id: int
    name: str
    cron: str
    tz: str
    site: str
    definition: Definition
    alerts: tuple[str, ...]  # channel specs: webhook:URL, smtp:ADDR, syslog:URL
    drift_kinds: tuple[str, ...]  # () = every kind
    windows: tuple[Window, ...]  # () = any time
    jitter: int  # seconds: a run starts up to this much after its time
    paused: bool
    next_run: datetime | None
    last_run_id: str | None
    lease_owner: str | None
    lease_until: datetime | None
    created: datetime
    created_by: str
    baseline: str = "default"  # the baseline its drift is measured against (baselines.py)
    drift_persist: int = DEFAULT_PERSIST  # runs a pass -> inconclusive flip must last


# --- cron and time zones ----------------------------------------------------------------


def zone(tz: str) -> ZoneInfo:
    """The IANA zone `tz`; a ConfigError for a name that is not one."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {tz!r} (give an IANA name: Asia/Tokyo, UTC)") from exc


def check_cron(expr: str) -> str:
    """The expression, checked: five fields (minute hour day month weekday)."""
    fields = expr.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise ConfigError(
            f"cron expression {expr!r}: give five fields, minute hour day month weekday "
            "(e.g. '0 2 * * mon-fri')"
        )
    return " ".join(fields)


def next_fire(cron: str, tz: str, after: datetime) -> datetime:
    """The first time after `after` (aware) that `cron` fires in zone `tz`, in UTC."""
    expr = check_cron(cron)
    where = zone(tz)
    start = (utc(after) or after).astimezone(where)
    it = croniter(expr, start)
    # A time the clock repeats (the hour after DST ends) fires once when the expression
    # names its hours; every-hour expressions fire in both, as elapsed time goes on.
    named_hours = "*" not in expr.split()[1]
    for _ in range(4):  # at most one repeated wall time to step over
        fire: datetime = it.get_next(datetime)
        if named_hours and _repeats_earlier(fire, where):
            continue
        return fire.astimezone(UTC)
    raise ConfigError(f"cron expression {expr!r} in {tz}: no next time found")  # pragma: no cover


def _repeats_earlier(moment: datetime, where: ZoneInfo) -> bool:
    """Whether `moment`'s wall time already happened an hour earlier (DST ended)."""
    local = moment.astimezone(where)
    first = local.replace(fold=0)
    return first.utcoffset() != local.utcoffset() and local.replace(tzinfo=None) == first.replace(
        tzinfo=None
    )


# --- maintenance windows ----------------------------------------------------------------


def _day(name: str, text: str) -> int:
    key = name.strip()[:3]
    if len(name.strip()) < 3 or key not in DAYS:
        raise ConfigError(f"window days {text!r}: give mon-fri, sat,sun or daily")
    return DAYS.index(key)


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `fri-mon` (wraps), `daily` / `*` -> weekday numbers."""
    text = text.strip().lower()
    if text in ("*", "daily", "all", "every"):
        return frozenset(range(7))
    found: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.partition("-")
        a = _day(first, text)
        b = _day(last, text) if dash else a
        found.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(found)


def days_text(days: Iterable[int]) -> str:
    chosen = sorted(set(days))
    if len(chosen) == 7:
        return "daily"
    return ",".join(DAYS[d] for d in chosen)


def _clock(text: str, what: str) -> time:
    try:
        hour, minute = (int(x) for x in text.strip().split(":"))
        if hour == 24 and minute == 0:
            return time(0, 0)  # "24:00": midnight, the end of the day
        return time(hour, minute)
    except ValueError:
        raise ConfigError(f"window {what} {text!r}: give HH:MM (00:00-23:59)") from None


def window_from_json(data: Mapping[str, Any]) -> Window:
    start = _clock(str(data.get("start", "")), "start")
    end = _clock(str(data.get("end", "")), "end")
    if start == end and str(data.get("end")) != "24:00":
        raise ConfigError(f"window {start:%H:%M}-{end:%H:%M}: it opens and closes at once")
    return Window(parse_days(str(data.get("days") or "daily")), start, end)


def parse_window(text: str) -> Window:
    """The command line's `--window 'mon-fri 22:00-06:00'` (days may be left out: daily)."""
    words = text.split()
    if not words or len(words) > 2 or "-" not in words[-1]:
        raise ConfigError(f"--window {text!r}: give DAYS HH:MM-HH:MM, e.g. 'mon-fri 22:00-06:00'")
    start, _, end = words[-1].partition("-")
    return window_from_json(
        {"days": words[0] if len(words) == 2 else "daily", "start": start, "end": end}
    )


def in_window(windows: Sequence[Window], at: datetime, tz: str = "UTC") -> bool:
    """Whether `at` (aware) is inside one of `windows` read in zone `tz`; no window: yes."""
    if not windows:
        return True
    return _containing(windows, at, zone(tz)) is not None


def _containing(windows: Sequence[Window], at: datetime, where: ZoneInfo) -> datetime | None:
    """The latest close of a window holding `at`, or None."""
    local = at.astimezone(where)
    closes = [
        close
        for w in windows
        for opens, close in w.spans(where, local.date())
        if opens <= local < close
    ]
    return max(closes) if closes else None


def window_close(windows: Sequence[Window], at: datetime, tz: str = "UTC") -> datetime | None:
    """When the window holding `at` closes (windows that touch or overlap are one), in UTC;
    None when there are no windows (no limit) — and `at` itself when it is in none."""
    if not windows:
        return None
    where = zone(tz)
    close = at
    for _ in range(_MAX_WINDOW_HOPS):
        later = _containing(windows, close, where)
        if later is None:
            break
        close = later
    return close.astimezone(UTC)


# --- rows -----------------------------------------------------------------------------


def _row(row: Any) -> Schedule:
    return Schedule(
        id=int(row.id),
        name=row.name,
        cron=row.cron,
        tz=row.tz,
        site=row.site,
        definition=Definition.from_json(row.definition or {}),
        alerts=tuple(str(a) for a in row.alerts or ()),
        drift_kinds=tuple(str(k) for k in row.drift_kinds or ()),
        windows=tuple(window_from_json(w) for w in row.windows or ()),
        jitter=int(row.jitter or 0),
        paused=bool(row.paused),
        next_run=utc(row.next_run),
        last_run_id=row.last_run_id,
        lease_owner=row.lease_owner,
        lease_until=utc(row.lease_until),
        created=utc(row.created) or utcnow(),
        created_by=row.created_by,
        baseline=row.baseline,
        drift_persist=int(row.drift_persist),
    )


def check_definition(definition: Definition) -> Definition:
    """The definition with its files made absolute (the service runs elsewhere), checked
    as `shinsa scan` would check it, so that a bad one is refused when added, not at 2 am."""
    from reports import FORMATS
    from scanner.discovery.ports import parse_ports
    from scanner.discovery.targets import STDIN_SPECS, parse_targets
    from scanner.judging.profiles import load_profile
    from scanner.plugins import installed

    if not definition.targets:
        raise ConfigError("give at least one target")
    targets = []
    for spec in definition.targets:
        if spec in STDIN_SPECS:
            raise ConfigError("a scheduled scan cannot read targets from standard input")
        if spec.startswith("@"):
            spec = "@" + str(Path(spec[1:]).expanduser().resolve())
        targets.append(spec)
    parse_targets(targets)  # every address, range and inventory line, checked now
    if definition.ports:
        parse_ports(definition.ports)
    profile = definition.profile
    if profile.endswith((".yaml", ".yml")) or Path(profile).is_file():
        profile = str(Path(profile).expanduser().resolve())
    load_profile(profile, installed().checks())
    unknown = [f for f in definition.formats if f not in FORMATS]
    if unknown or not definition.formats:
        raise ConfigError(f"unknown report format(s) {', '.join(unknown) or '(none)'}")
    for key, value in definition.options.items():
        if key not in OPTIONS:
            raise ConfigError(f"unknown scan option {key!r}; known: {', '.join(OPTIONS)}")
        if key in LISTS and not isinstance(value, list | tuple):
            raise ConfigError(f"scan option {key!r} takes a list")
    return Definition(
        targets=tuple(targets),
        ports=definition.ports,
        profile=profile,
        formats=definition.formats,
        options=dict(definition.options),
    )


def check_alerts(channels: Iterable[str]) -> tuple[str, ...]:
    """Each channel spec checked by the alert channels' own parser."""
    out = []
    for spec in channels:
        parse_channel(spec)  # a ConfigError naming the spec
        out.append(spec)
    return tuple(out)


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(k.strip() for k in kinds if k.strip())
    unknown = [k for k in chosen if k not in KINDS]
    if unknown:
        raise ConfigError(f"unknown drift kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    return chosen


def add(
    engine: sa.Engine,
    *,
    name: str,
    cron: str,
    definition: Definition,
    tz: str = "UTC",
    site: str = "default",
    alerts: Sequence[str] = (),
    drift_kinds: Sequence[str] = (),
    windows: Sequence[Window] = (),
    jitter: int = 0,
    baseline: str = "default",
    drift_persist: int = DEFAULT_PERSIST,
    created_by: str = "cli",
    now: datetime | None = None,
    check: bool = True,
) -> Schedule:
    """Add a definition (every part checked; `check=False` only checks cron, zone and the
    name: for definitions whose targets are checked elsewhere); its first run is the
    cron's next time."""
    name = name.strip()
    if not name or len(name) > 128 or "/" in name or name.startswith("."):
        raise ConfigError(f"schedule name {name!r}: 1-128 characters, no '/', not starting '.'")
    expr = check_cron(cron)
    zone(tz)
    if not 0 <= jitter <= MAX_JITTER:
        raise ConfigError(f"jitter {jitter}: give 0-{MAX_JITTER} seconds")
    baseline = baseline.strip()
    if not baseline or len(baseline) > 128:
        raise ConfigError(f"baseline name {baseline!r}: 1-128 characters")
    if not 1 <= drift_persist <= MAX_PERSIST:
        raise ConfigError(f"drift persistence {drift_persist}: give 1-{MAX_PERSIST} runs")
    if check:
        definition = check_definition(definition)
        alerts = check_alerts(alerts)
        drift_kinds = check_kinds(drift_kinds)
    at = now or utcnow()
    with engine.begin() as conn:
        taken = conn.execute(sa.select(t.schedules.c.id).where(t.schedules.c.name == name))
        if taken.first() is not None:
            raise ConfigError(f"a schedule named {name!r} exists already")
        conn.execute(
            t.schedules.insert().values(
                name=name,
                cron=expr,
                tz=tz,
                site=site,
                definition=definition.to_json(),
                alerts=list(alerts),
                drift_kinds=list(drift_kinds),
                windows=[w.to_json() for w in windows],
                jitter=jitter,
                baseline=baseline,
                drift_persist=drift_persist,
                paused=False,
                next_run=next_fire(expr, tz, at),
                created=at,
                created_by=created_by,
            )
        )
    found = get(engine, name)
    if found is None:  # pragma: no cover - written in the transaction above
        raise RuntimeError(f"schedule {name!r} vanished after it was added")
    return found


def list_all(engine: sa.Engine) -> list[Schedule]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.schedules).order_by(t.schedules.c.name)).all()
    return [_row(r) for r in rows]


def get(engine: sa.Engine, name_or_id: str | int) -> Schedule | None:
    """A schedule by name, or by ID when given an int."""
    col = t.schedules.c.id if isinstance(name_or_id, int) else t.schedules.c.name
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.schedules).where(col == name_or_id)).first()
    return None if row is None else _row(row)


def require(engine: sa.Engine, name: str) -> Schedule:
    found = get(engine, name)
    if found is None:
        known = ", ".join(s.name for s in list_all(engine)[:10]) or "none"
        raise ConfigError(f"no schedule named {name!r} (known: {known})")
    return found


def pause(engine: sa.Engine, name: str) -> Schedule:
    require(engine, name)
    with engine.begin() as conn:
        conn.execute(t.schedules.update().where(t.schedules.c.name == name).values(paused=True))
    return require(engine, name)


def resume(engine: sa.Engine, name: str, *, now: datetime | None = None) -> Schedule:
    """Unpause; the next run is the cron's next time from now (the time paused is not
    made up for)."""
    found = require(engine, name)
    at = now or utcnow()
    with engine.begin() as conn:
        conn.execute(
            t.schedules.update()
            .where(t.schedules.c.name == name)
            .values(paused=False, next_run=next_fire(found.cron, found.tz, at))
        )
    return require(engine, name)


def remove(engine: sa.Engine, name: str) -> None:
    """Delete the definition; its runs stay (their schedule_id becomes NULL)."""
    found = require(engine, name)
    with engine.begin() as conn:
        # SQLite applies ON DELETE SET NULL only with foreign keys on; say it plainly
        conn.execute(
            t.runs.update().where(t.runs.c.schedule_id == found.id).values(schedule_id=None)
        )
        conn.execute(
            t.alerts.update().where(t.alerts.c.schedule_id == found.id).values(schedule_id=None)
        )
        conn.execute(t.schedules.delete().where(t.schedules.c.id == found.id))


def due(engine: sa.Engine, at: datetime) -> list[Schedule]:
    """Unpaused schedules whose next run has come."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.schedules)
            .where(
                t.schedules.c.paused == sa.false(),
                t.schedules.c.next_run.is_not(None),
                t.schedules.c.next_run <= at,
            )
            .order_by(t.schedules.c.next_run)
        ).all()
    return [_row(r) for r in rows]


def advance(engine: sa.Engine, schedule: Schedule, at: datetime) -> datetime:
    """Set the next run to the cron's first time after `at`: however many times were
    missed (the service was down a week), the definition runs once for them."""
    fire = next_fire(schedule.cron, schedule.tz, at)
    with engine.begin() as conn:
        conn.execute(
            t.schedules.update().where(t.schedules.c.id == schedule.id).values(next_run=fire)
        )
    return fire


def set_last_run(engine: sa.Engine, schedule_id: int, run_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.schedules.update().where(t.schedules.c.id == schedule_id).values(last_run_id=run_id)
        )


# --- the lease ------------------------------------------------------------------------


def take_lease(
    engine: sa.Engine, schedule_id: int, owner: str, *, seconds: float, now: datetime | None = None
) -> bool:
    """Take the definition's lease for `seconds` unless another holder's is still valid;
    one UPDATE, so two takers at once cannot both win."""
    at = now or utcnow()
    with engine.begin() as conn:
        done = conn.execute(
            t.schedules.update()
            .where(
                t.schedules.c.id == schedule_id,
                sa.or_(t.schedules.c.lease_until.is_(None), t.schedules.c.lease_until < at),
            )
            .values(lease_owner=owner, lease_until=at + timedelta(seconds=seconds))
        )
    return done.rowcount == 1


def renew_lease(
    engine: sa.Engine, schedule_id: int, owner: str, *, seconds: float, now: datetime | None = None
) -> bool:
    """Extend a lease `owner` holds; False when it is not (or no longer) theirs."""
    at = now or utcnow()
    with engine.begin() as conn:
        done = conn.execute(
            t.schedules.update()
            .where(t.schedules.c.id == schedule_id, t.schedules.c.lease_owner == owner)
            .values(lease_until=at + timedelta(seconds=seconds))
        )
    return done.rowcount == 1


def release_lease(engine: sa.Engine, schedule_id: int, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.schedules.update()
            .where(t.schedules.c.id == schedule_id, t.schedules.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )


def lease_holder(engine: sa.Engine, schedule_id: int, now: datetime | None = None) -> str | None:
    """Who holds the definition's lease now (None: nobody, or an expired holder)."""
    found = get(engine, schedule_id)
    at = now or utcnow()
    if found is None or found.lease_until is None or found.lease_until < at:
        return None
    return found.lease_owner
