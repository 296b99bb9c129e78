"""The REST API (`/api/v1`): JSON for everything the dashboard shows and does, for CI
systems and SIEMs. Its OpenAPI document is served at /api/openapi.json (scanner/service/
app.py); every route here declares its response model so the document is complete.

Reads come from scanner/service/views.py (the dashboard's own read models); changes call
the modules that own them (schedules.py, runner.py, baselines.py, auth.py) and each is
written to the audit log. Authentication: `Authorization: Bearer shs_...` (or a session
with its CSRF token); roles: viewer reads, operator manages schedules and baselines, admin
reads users and the audit log, makes, lists and revokes tokens, disables and enables users.

Errors are JSON `{"detail": ...}`: 404 for an unknown ID or name, 409 for a name taken, a
run of the definition already going, or a user that may not be disabled (yourself, the
last enabled admin), 422 for a definition refused (cron, time zone, targets, profile,
alert channel).

Annotations are evaluated at run time (no `from __future__ import annotations`): FastAPI
and pydantic read them.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from scanner.errors import ConfigError
from scanner.service import auth, runner, views
from scanner.service import baselines as baseline_store
from scanner.service import schedules as sched
from scanner.service.auth import Principal, require
from scanner.service.drift_settings import DEFAULT_PERSIST

router = APIRouter(prefix="/api/v1", tags=["shinsa"])

Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Site = Annotated[str | None, Query(max_length=128, description="one site (default: all)")]

MAX_LIMIT = 1000
Changed = TypeVar("Changed")


@dataclass(frozen=True, slots=True)
class Problem:
    """An error answer."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no valid token or session"},
    403: {"model": Problem, "description": "the role is too low (or no CSRF token)"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": Problem, "description": "unknown ID or name"},
}


@dataclass(frozen=True, slots=True)
class ScheduleIn:
    """A scan definition to add (as `shinsa schedule add`): every part is checked by
    scanner.service.schedules (cron, zone, targets, ports, profile, channels, windows)."""

    name: str
    cron: str  # five fields: "0 2 * * mon-fri"
    targets: list[str]
    tz: str = "UTC"  # an IANA zone: "Asia/Tokyo"
    site: str = "default"
    ports: str | None = None
    profile: str = "base"
    formats: list[str] = field(default_factory=lambda: ["json"])
    options: dict[str, Any] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)  # webhook:URL, smtp:ADDR, syslog:URL
    drift_kinds: list[str] = field(default_factory=list)  # [] = every kind
    windows: list[str] = field(default_factory=list)  # "mon-fri 22:00-06:00"
    jitter: int = 0  # seconds
    baseline: str = "default"  # the baseline its drift is measured against
    drift_persist: int = DEFAULT_PERSIST  # runs a pass -> inconclusive flip must last


@dataclass(frozen=True, slots=True)
class ScheduleOut:
    """A scan definition as stored."""

    id: int
    name: str
    cron: str
    tz: str
    site: str
    targets: list[str]
    ports: str | None
    profile: str
    formats: list[str]
    options: dict[str, Any]
    alerts: list[str]
    drift_kinds: list[str]
    windows: list[str]
    jitter: int
    baseline: str
    drift_persist: int
    paused: bool
    next_run: str | None  # ISO 8601, UTC
    last_run_id: str | None
    running: bool  # a run of it holds the lease now
    created: str
    created_by: str


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    schedule: str


@dataclass(frozen=True, slots=True)
class BaselineIn:
    run_id: str  # a run ID, or "latest"
    device: str | None = None  # one device's address in that run (None: the whole run)
    name: str = "default"


@dataclass(frozen=True, slots=True)
class BaselineOut:
    id: int
    name: str
    site: str
    run_id: str
    device_id: int | None
    address: str
    deactivated: int


@dataclass(frozen=True, slots=True)
class TokenIn:
    name: str
    role: Literal["viewer", "operator", "admin"]


@dataclass(frozen=True, slots=True)
class TokenOut:
    name: str
    role: str
    token: str  # shown this once; the service keeps only its SHA-256


def _text(value: str | None, what: str, most: int) -> None:
    """A 422 for an empty or too long field (the database's column sizes)."""
    if value is not None and not 1 <= len(value) <= most:
        raise HTTPException(422, f"{what}: 1 to {most} characters")


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _limit(value: int) -> int:
    return max(1, min(value, MAX_LIMIT))


def _schedule_out(s: sched.Schedule, engine: sa.Engine) -> ScheduleOut:
    d = s.definition
    return ScheduleOut(
        id=s.id,
        name=s.name,
        cron=s.cron,
        tz=s.tz,
        site=s.site,
        targets=list(d.targets),
        ports=d.ports,
        profile=d.profile,
        formats=list(d.formats),
        options=dict(d.options),
        alerts=list(s.alerts),
        drift_kinds=list(s.drift_kinds),
        windows=[str(w) for w in s.windows],
        jitter=s.jitter,
        baseline=s.baseline,
        drift_persist=s.drift_persist,
        paused=s.paused,
        next_run=s.next_run.isoformat() if s.next_run else None,
        last_run_id=s.last_run_id,
        running=sched.lease_holder(engine, s.id) is not None,
        created=s.created.isoformat(),
        created_by=s.created_by,
    )


# --- reads --------------------------------------------------------------------------------


@router.get("/fleet", response_model=views.Fleet, responses=ERRORS)
async def get_fleet(request: Request, principal: Viewer, site: Site = None) -> Any:
    """Devices by the worst severity of their latest run, requirement statuses, latest runs."""
    return await run_in_threadpool(functools.partial(views.fleet, _engine(request), site=site))


@router.get("/devices", response_model=list[views.DeviceRow], responses=ERRORS)
async def get_devices(request: Request, principal: Viewer, site: Site = None) -> Any:
    """Every device as its latest run left it, worst first."""
    fleet = await run_in_threadpool(functools.partial(views.fleet, _engine(request), site=site))
    return list(fleet.devices)


@router.get("/devices/{device_id}", response_model=views.DevicePage, responses=NOT_FOUND)
async def get_device(
    request: Request,
    device_id: int,
    principal: Viewer,
    history: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 60,
) -> Any:
    """A device: identity, timeline, current findings, drift of its latest run."""
    page = await run_in_threadpool(
        functools.partial(views.device, _engine(request), device_id, history=history)
    )
    if page is None:
        raise HTTPException(404, f"no device {device_id}")
    return page


@router.get("/runs", response_model=list[views.RunRow], responses=ERRORS)
async def get_runs(
    request: Request,
    principal: Viewer,
    site: Site = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Any:
    """The newest runs, newest first."""
    return await run_in_threadpool(
        functools.partial(views.runs, _engine(request), limit=_limit(limit), site=site)
    )


@router.get("/runs/{run_id}", response_model=views.RunPage, responses=NOT_FOUND)
async def get_run(request: Request, run_id: str, principal: Viewer) -> Any:
    """A run: status and progress, its devices, drift and alerts."""
    page = await run_in_threadpool(views.run, _engine(request), run_id)
    if page is None:
        raise HTTPException(404, f"no run {run_id}")
    return page


@router.get("/runs/{run_id}/drift", response_model=list[views.DriftRow], responses=NOT_FOUND)
async def get_run_drift(request: Request, run_id: str, principal: Viewer) -> Any:
    """What changed in a run, against the baseline and the previous run."""
    rows = await run_in_threadpool(views.drift_of_run, _engine(request), run_id)
    if rows is None:
        raise HTTPException(404, f"no run {run_id}")
    return list(rows)


@router.get("/trend", response_model=list[views.TrendPoint], responses=ERRORS)
async def get_trend(
    request: Request,
    principal: Viewer,
    site: Site = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 60,
) -> Any:
    """Failed checks by severity and results by verdict per run, oldest first."""
    return await run_in_threadpool(
        functools.partial(views.trend, _engine(request), site=site, limit=_limit(limit))
    )


@router.get("/inventory", response_model=list[views.InventoryRow], responses=ERRORS)
async def get_inventory(request: Request, principal: Viewer, site: Site = None) -> Any:
    """Vendor, model, firmware, MAC, services, first and last seen of every device."""
    return await run_in_threadpool(functools.partial(views.inventory, _engine(request), site=site))


@router.get("/alerts", response_model=list[views.AlertRow], responses=ERRORS)
async def get_alerts(
    request: Request,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Any:
    """The alert outbox, newest first: sent, pending a retry, failed."""
    return await run_in_threadpool(
        functools.partial(views.alerts, _engine(request), limit=_limit(limit))
    )


@router.get("/users", response_model=list[views.UserRow], responses=ERRORS)
async def get_users(request: Request, principal: Admin) -> Any:
    """Local users (admin)."""
    return await run_in_threadpool(views.users, _engine(request))


@router.get("/audit", response_model=list[views.AuditRow], responses=ERRORS)
async def get_audit(
    request: Request,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
) -> Any:
    """The audit log, newest first (admin)."""
    return await run_in_threadpool(
        functools.partial(views.audit, _engine(request), limit=_limit(limit))
    )


# --- schedules ----------------------------------------------------------------------------


@router.get("/schedules", response_model=list[ScheduleOut], responses=ERRORS)
async def get_schedules(request: Request, principal: Viewer) -> Any:
    """Every scan definition, by name."""
    engine = _engine(request)

    def read() -> list[ScheduleOut]:
        return [_schedule_out(s, engine) for s in sched.list_all(engine)]

    return await run_in_threadpool(read)


@router.get("/schedules/{name}", response_model=ScheduleOut, responses=NOT_FOUND)
async def get_schedule(request: Request, name: str, principal: Viewer) -> Any:
    engine = _engine(request)
    found = await run_in_threadpool(sched.get, engine, name)
    if found is None:
        raise HTTPException(404, f"no schedule named {name!r}")
    return _schedule_out(found, engine)


@router.post(
    "/schedules",
    response_model=ScheduleOut,
    status_code=201,
    responses={
        **ERRORS,
        409: {"model": Problem, "description": "a schedule of that name exists"},
        422: {"model": Problem, "description": "the definition is refused"},
    },
)
async def add_schedule(request: Request, body: ScheduleIn, principal: Operator) -> Any:
    """Add a scan definition (operator); checked as `shinsa schedule add` checks it."""
    engine = _engine(request)
    sized = (
        (body.name, "name", 128),
        (body.cron, "cron", 128),
        (body.tz, "tz", 64),
        (body.site, "site", 128),
        (body.profile, "profile", 255),
        (body.ports, "ports", 4096),
    )
    for value, what, most in sized:
        _text(value, what, most)
    if not 1 <= len(body.targets) <= 10_000 or body.jitter < 0:
        raise HTTPException(422, "give 1 to 10,000 targets and a jitter of 0 or more")

    def add() -> sched.Schedule:
        if sched.get(engine, body.name.strip()) is not None:
            raise HTTPException(409, f"a schedule named {body.name.strip()!r} exists already")
        try:
            windows = [sched.parse_window(w) for w in body.windows]
            return sched.add(
                engine,
                name=body.name,
                cron=body.cron,
                tz=body.tz,
                site=body.site,
                definition=sched.Definition(
                    targets=tuple(body.targets),
                    ports=body.ports,
                    profile=body.profile,
                    formats=tuple(body.formats),
                    options=body.options,
                ),
                alerts=body.alerts,
                drift_kinds=body.drift_kinds,
                windows=windows,
                jitter=body.jitter,
                baseline=body.baseline,
                drift_persist=body.drift_persist,
                created_by=principal.actor,
            )
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        except sa.exc.IntegrityError:  # added by someone else meanwhile
            raise HTTPException(409, f"a schedule named {body.name!r} exists already") from None

    try:
        added = await run_in_threadpool(add)
    except HTTPException as exc:
        detail = {"status": exc.status_code, "reason": str(exc.detail)[:500]}
        auth.audit_request(
            request, principal, "schedule.add", body.name, outcome="refused", detail=detail
        )
        raise
    auth.audit_request(
        request,
        principal,
        "schedule.add",
        added.name,
        detail={"cron": added.cron, "tz": added.tz, "site": added.site},
    )
    return _schedule_out(added, engine)


async def _change(request: Request, principal: Principal, name: str, action: str) -> Any:
    engine = _engine(request)
    if await run_in_threadpool(sched.get, engine, name) is None:
        raise HTTPException(404, f"no schedule named {name!r}")
    do = {"pause": sched.pause, "resume": sched.resume}[action]
    try:
        changed = await run_in_threadpool(do, engine, name)
    except ConfigError as exc:  # removed meanwhile
        raise HTTPException(404, str(exc)) from None
    auth.audit_request(request, principal, f"schedule.{action}", name)
    return _schedule_out(changed, engine)


@router.post("/schedules/{name}/pause", response_model=ScheduleOut, responses=NOT_FOUND)
async def pause_schedule(request: Request, name: str, principal: Operator) -> Any:
    """Pause a definition (operator): it does not fire until resumed."""
    return await _change(request, principal, name, "pause")


@router.post("/schedules/{name}/resume", response_model=ScheduleOut, responses=NOT_FOUND)
async def resume_schedule(request: Request, name: str, principal: Operator) -> Any:
    """Resume a definition (operator): its next run is the cron's next time from now."""
    return await _change(request, principal, name, "resume")


@router.delete("/schedules/{name}", status_code=204, responses=NOT_FOUND)
async def remove_schedule(request: Request, name: str, principal: Operator) -> None:
    """Remove a definition (operator); its runs stay."""
    engine = _engine(request)
    try:
        await run_in_threadpool(sched.remove, engine, name)
    except ConfigError:
        raise HTTPException(404, f"no schedule named {name!r}") from None
    auth.audit_request(request, principal, "schedule.remove", name)


@router.post(
    "/schedules/{name}/run-now",
    response_model=RunStarted,
    status_code=202,
    responses={
        **NOT_FOUND,
        409: {"model": Problem, "description": "a run of the definition is going"},
        503: {"model": Problem, "description": "the runner is not installed"},
    },
)
async def run_schedule_now(request: Request, name: str, principal: Operator) -> Any:
    """Start a run of a definition now (operator), in a process of its own; the answer
    carries its run ID (follow it at /api/v1/runs/{run_id})."""
    engine = _engine(request)
    found = await run_in_threadpool(sched.get, engine, name)
    if found is None:
        raise HTTPException(404, f"no schedule named {name!r}")
    config = request.app.state.config
    prep = await run_in_threadpool(
        functools.partial(
            runner.prepare,
            engine,
            found,
            config.data_dir,
            trigger="run-now",
            owner=runner.lease_owner("api"),
        )
    )
    if prep is None:
        auth.audit_request(request, principal, "schedule.run-now", name, outcome="refused")
        raise HTTPException(409, f"a run of {name!r} is going already")
    await run_in_threadpool(runner.start_detached, engine, config.db_url, prep)
    auth.audit_request(request, principal, "schedule.run-now", name, detail={"run_id": prep.run_id})
    return RunStarted(run_id=str(prep.run_id), schedule=name)


# --- baselines and tokens -------------------------------------------------------------------


@router.post(
    "/baselines",
    response_model=BaselineOut,
    status_code=201,
    responses={**NOT_FOUND, 422: {"model": Problem, "description": "cannot be accepted"}},
)
async def accept_baseline(request: Request, body: BaselineIn, principal: Operator) -> Any:
    """Accept a run, or one device's state in it, as a baseline (operator; audited)."""
    engine = _engine(request)
    _text(body.run_id, "run_id", 64)
    _text(body.device, "device", 64)
    _text(body.name, "name", 128)
    try:
        await run_in_threadpool(baseline_store.resolve_run, engine, body.run_id)
    except ConfigError as exc:
        raise HTTPException(404, str(exc)) from None
    try:
        accepted = await run_in_threadpool(
            functools.partial(
                baseline_store.accept,
                engine,
                body.run_id,
                device=body.device,
                by=principal.actor,  # baselines.accept writes the audit row
                name=body.name,
            )
        )
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None
    return BaselineOut(
        id=accepted.id,
        name=accepted.name,
        site=accepted.site,
        run_id=accepted.run_id,
        device_id=accepted.device_id,
        address=accepted.address,
        deactivated=accepted.deactivated,
    )


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=201,
    responses={**ERRORS, 409: {"model": Problem, "description": "the name is taken"}},
)
async def add_token(request: Request, body: TokenIn, principal: Admin) -> Any:
    """Make an API token (admin); its value is in this answer only (audited)."""
    engine = _engine(request)
    _text(body.name, "name", 128)

    def make() -> str:
        with engine.begin() as conn:
            return auth.add_token(conn, body.name, body.role, actor=principal.actor)

    try:
        token = await run_in_threadpool(make)
    except sa.exc.IntegrityError:
        raise HTTPException(409, f"a token named {body.name!r} exists already") from None
    return TokenOut(name=body.name, role=body.role, token=token)


@router.get("/tokens", response_model=list[auth.TokenRow], responses=ERRORS)
async def get_tokens(request: Request, principal: Admin) -> Any:
    """Every API token, revoked ones too, by name (admin): its prefix, never its value or
    hash."""

    def read() -> list[auth.TokenRow]:
        with _engine(request).connect() as conn:
            return auth.list_tokens(conn)

    return await run_in_threadpool(read)


def _access_change(
    request: Request,
    principal: Principal,
    action: str,
    name: str,
    change: Callable[[sa.Connection], Changed],
) -> Changed:
    """Run `change(conn)` audited (a refusal too): 404 for an unknown name, 409 for a
    refused change."""
    try:
        with auth.audited(
            _engine(request),
            action,
            name,
            actor=principal.actor,
            remote=auth.remote_of(request),
        ) as conn:
            return change(conn)
    except auth.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except auth.Refused as exc:
        raise HTTPException(409, str(exc)) from None


@router.post("/tokens/{name}/revoke", response_model=auth.TokenRow, responses=NOT_FOUND)
async def revoke_token(request: Request, name: str, principal: Admin) -> Any:
    """Revoke an API token for good (admin; audited): its next request gets 401. Revoking
    a revoked token changes nothing."""

    remote = auth.remote_of(request)

    def revoke(conn: sa.Connection) -> auth.TokenRow:
        return auth.revoke_token(conn, name, actor=principal.actor, remote=remote)

    return await run_in_threadpool(_access_change, request, principal, "token.revoke", name, revoke)


def _user_out(engine: sa.Engine, name: str) -> views.UserRow:
    return next(u for u in views.users(engine) if u.name == name)


USER_REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": Problem, "description": "yourself, or the last enabled admin"},
}


@router.post("/users/{name}/disable", response_model=views.UserRow, responses=USER_REFUSED)
async def disable_user(request: Request, name: str, principal: Admin) -> Any:
    """Disable a user (admin; audited): they cannot log in, and their sessions end at once.
    Refused (409) for your own account and for the last enabled admin."""
    remote = auth.remote_of(request)

    def disable(conn: sa.Connection) -> str:
        return auth.disable_user(conn, name, actor=principal.actor, remote=remote)

    await run_in_threadpool(_access_change, request, principal, "user.disable", name, disable)
    return await run_in_threadpool(_user_out, _engine(request), name)


@router.post("/users/{name}/enable", response_model=views.UserRow, responses=NOT_FOUND)
async def enable_user(request: Request, name: str, principal: Admin) -> Any:
    """Let a disabled user log in again (admin; audited)."""
    remote = auth.remote_of(request)

    def enable(conn: sa.Connection) -> str:
        return auth.enable_user(conn, name, actor=principal.actor, remote=remote)

    await run_in_threadpool(_access_change, request, principal, "user.enable", name, enable)
    return await run_in_threadpool(_user_out, _engine(request), name)
