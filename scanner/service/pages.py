"""The dashboard: server-rendered HTML pages in English and Japanese.

Reading: every page reads through `scanner.service.views` (the same read models as the REST
API, so both say the same thing). Changing: through the owners' functions only
(`schedules`, `runner`, `baselines`, `auth`), each POST a plain HTML form with the session's
CSRF token (checked by `require`), audited with `audit.record` (or by the function called,
which records in its own transaction), answered with a redirect (303) so that reloading
the page never repeats it; but a new API token's answer is the page showing its value,
the one time it is shown.

Roles: every page is for viewers; schedule changes, run-now and accepting a baseline need
an operator; /users (users, API tokens, the audit log) needs an admin. No page sends
script but static/run-progress.js (the CSP allows nothing inline), and every device string
reaches the page through jinja2's autoescape.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.exc import IntegrityError

from scanner.errors import ConfigError
from scanner.service import (
    auth,
    baselines,
    charts,
    clock,
    progress_stream,
    runner,
    views,
)
from scanner.service import schedules as sched
from scanner.service.auth import Principal, require
from scanner.service.templating import page_zone, render
from scanner.service.ui_text import text

if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from scanner.service.config import ServiceConfig

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]

#: runs on the trend chart and in lists
TREND_RUNS = 60
LIST_RUNS = 100
LIST_ALERTS = 200
LIST_AUDIT = 50
#: a form field's longest accepted value (a target list may be long; nothing else is)
FIELD_MAX = 4000


# --- helpers -------------------------------------------------------------------------------


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _page(
    request: Request, principal: Principal, name: str, status_code: int = 200, **context: Any
) -> Response:
    context.setdefault("may_operate", principal.may("operator"))
    context.setdefault("may_admin", principal.may("admin"))
    return render(request, name, context, principal, status_code=status_code)


def _not_found(request: Request, principal: Principal, key: str) -> Response:
    return _page(request, principal, "not_found.html", status_code=404, message_key=key)


async def _form(request: Request) -> dict[str, str]:
    """The posted form's text fields, each cut to FIELD_MAX (files are ignored)."""
    form = await request.form()
    return {k: v[:FIELD_MAX] for k, v in form.items() if isinstance(v, str)}


def _done(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@functools.cache
def framework_titles() -> dict[str, tuple[str, str]]:
    """Framework ID -> (title, Japanese title), read once from the installed frameworks."""
    from scanner.judging.profiles import framework_paths, load_framework
    from scanner.plugins import installed

    checks = installed().checks()
    titles: dict[str, tuple[str, str]] = {}
    for path in framework_paths():
        try:
            fw = load_framework(path, checks)
        except ConfigError:  # a broken plugin framework: its ID is shown alone
            continue
        titles[fw.id] = (fw.title, fw.title_ja)
    return titles


def framework_title(framework: str, lang: str) -> str:
    title, title_ja = framework_titles().get(framework, ("", ""))
    return (title_ja if lang == "ja" and title_ja else title) or framework


def trend_chart(points: list[views.TrendPoint], lang: str, tz: ZoneInfo) -> Any:
    """The fleet's trend as SVG Markup, in `lang`, its times in `tz`."""
    series = {s: text(lang, f"sev.{s}") for s in charts.SEVERITIES}

    def bar_title(bar: charts.Bar) -> str:
        parts = [
            text(lang, "chart.bar_part", severity=series[s], n=bar.counts.get(s, 0))
            for s in charts.SEVERITIES
            if bar.counts.get(s, 0)
        ]
        return text(
            lang,
            "chart.bar",
            started=clock.shown(bar.started, tz),
            run=bar.run_id,
            total=sum(bar.counts.get(s, 0) for s in charts.SEVERITIES),
            detail=", ".join(parts) or "0",
        )

    words = charts.ChartText(
        title=text(lang, "chart.title"),
        desc=text(lang, "chart.desc", n=len(points)),
        y_label=text(lang, "chart.y"),
        x_label=text(lang, "chart.x", tz=clock.label(tz)),
        empty=text(lang, "chart.empty"),
        series=series,
        bar_title=bar_title,
    )
    # the bars' date labels are drawn in the page's zone
    bars = [charts.Bar(p.run_id, clock.local(p.started, tz), p.severities) for p in points]
    return charts.trend_svg(bars, words)


def status_bars(statuses: dict[str, dict[str, int]], lang: str) -> list[dict[str, Any]]:
    """One row per framework: its title, counts by status, total, and the SVG bar."""
    names = {s: text(lang, f"status.{s}") for s in charts.STATUSES}
    rows = []
    for framework in sorted(statuses):
        counts = statuses[framework]
        title = framework_title(framework, lang)
        rows.append(
            {
                "id": framework,
                "title": title,
                "counts": counts,
                "total": sum(counts.values()),
                "bar": charts.status_bar(counts, names, label=title),
            }
        )
    return rows


# --- pages ---------------------------------------------------------------------------------


@router.get("/")
async def fleet_page(request: Request, principal: Viewer) -> Response:
    site = request.query_params.get("site") or None
    engine = _engine(request)
    fleet = await run_in_threadpool(views.fleet, engine, site=site)
    points = await run_in_threadpool(views.trend, engine, site=site, limit=TREND_RUNS)
    return _page(
        request,
        principal,
        "fleet.html",
        fleet=fleet,
        chart=trend_chart(points, principal.lang, page_zone(request, principal.lang)),
        frameworks=status_bars(fleet.statuses, principal.lang),
        statuses=charts.STATUSES,
        severities=views.SEVERITIES,
        groups=views.GROUPS,
        site=site or "",
    )


@router.get("/devices")
async def devices_page(request: Request, principal: Viewer) -> Response:
    site = request.query_params.get("site") or None
    fleet = await run_in_threadpool(views.fleet, _engine(request), site=site)
    return _page(
        request,
        principal,
        "devices.html",
        fleet=fleet,
        severities=views.SEVERITIES,
        site=site or "",
    )


@router.get("/devices/{device_id}")
async def device_page(request: Request, device_id: int, principal: Viewer) -> Response:
    page = await run_in_threadpool(views.device, _engine(request), device_id)
    if page is None:
        return _not_found(request, principal, "device.not_found")
    return _page(request, principal, "device.html", page=page, severities=views.SEVERITIES)


@router.get("/runs")
async def runs_page(request: Request, principal: Viewer) -> Response:
    site = request.query_params.get("site") or None
    rows = await run_in_threadpool(views.runs, _engine(request), limit=LIST_RUNS, site=site)
    return _page(request, principal, "runs.html", runs=rows, severities=views.SEVERITIES)


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, principal: Viewer) -> Response:
    page = await run_in_threadpool(views.run, _engine(request), run_id)
    if page is None:
        return _not_found(request, principal, "run.not_found")
    final = page.run.status in progress_stream.FINAL
    return _page(
        request,
        principal,
        "run.html",
        page=page,
        final=final,
        accepted=request.query_params.get("accepted") == "1",
        severities=views.SEVERITIES,
        verdicts=views.VERDICTS,
    )


@router.get("/runs/{run_id}/events")
async def run_events(request: Request, run_id: str, principal: Viewer) -> Response:
    engine = _engine(request)
    first = await run_in_threadpool(progress_stream.read, engine, run_id)
    if first.status == "unknown":
        return _not_found(request, principal, "run.not_found")
    lang = principal.lang

    def describe(progress: progress_stream.Progress) -> str:
        status = (
            text(lang, f"run_status.{progress.status}")
            if progress.status != "unknown"
            else text(lang, "progress.unknown")
        )
        return text(
            lang, "run.progress_text", status=status, done=progress.done, total=progress.total
        )

    events = progress_stream.stream(
        engine, run_id, describe=describe, is_disconnected=request.is_disconnected
    )
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"x-accel-buffering": "no"},
    )


@router.post("/runs/{run_id}/baseline")
async def accept_baseline(request: Request, run_id: str, principal: Operator) -> Response:
    form = await _form(request)
    device = form.get("device") or None
    engine = _engine(request)
    try:
        # baselines.accept records `baseline.accept` in its own transaction
        await run_in_threadpool(
            functools.partial(baselines.accept, engine, run_id, device=device, by=principal.actor)
        )
    except ConfigError as exc:
        auth.audit_request(
            request,
            principal,
            "baseline.accept",
            run_id,
            outcome="fail",
            detail={"error": str(exc)},
        )
        page = await run_in_threadpool(views.run, engine, run_id)
        if page is None:
            return _not_found(request, principal, "run.not_found")
        return _page(
            request,
            principal,
            "run.html",
            status_code=409,
            page=page,
            final=page.run.status in progress_stream.FINAL,
            accepted=False,
            error=str(exc),
            severities=views.SEVERITIES,
            verdicts=views.VERDICTS,
        )
    return _done(f"/runs/{run_id}?accepted=1")


# --- schedules -----------------------------------------------------------------------------


def _schedules_page(
    request: Request,
    principal: Principal,
    rows: list[sched.Schedule],
    *,
    status_code: int = 200,
    error: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    return _page(
        request,
        principal,
        "schedules.html",
        status_code=status_code,
        schedules=rows,
        error=error,
        # a new schedule's zone: the one this page shows times in (Japan time in Japanese)
        values=values
        or {"tz": page_zone(request, principal.lang).key, "profile": "base", "site": "default"},
    )


@router.get("/schedules")
async def schedules_page(request: Request, principal: Viewer) -> Response:
    rows = await run_in_threadpool(sched.list_all, _engine(request))
    return _schedules_page(request, principal, rows)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _whole(value: str, field: str) -> int:
    """A form's whole-number field; a ConfigError naming the field for anything else."""
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigError(f"{field}: {value.strip()!r} is not a whole number") from None


def _seconds(value: str, field: str) -> float:
    """A form's number of seconds: finite and not negative, else a ConfigError."""
    try:
        number = float(value.strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise ConfigError(f"{field}: {value.strip()!r} is not a number of seconds")
    return number


@router.post("/schedules")
async def add_schedule(request: Request, principal: Operator) -> Response:
    form = await _form(request)
    engine = _engine(request)
    name = form.get("name", "").strip()
    try:
        options: dict[str, object] = {}
        if form.get("scan_delay", "").strip():
            options["scan_delay"] = _seconds(form["scan_delay"], "scan_delay")
        definition = sched.Definition(
            targets=tuple(form.get("targets", "").split()),
            ports=form.get("ports", "").strip() or None,
            profile=form.get("profile", "").strip() or "base",
            formats=tuple(f.strip() for f in form.get("formats", "").split(",") if f.strip())
            or ("json",),
            options=options,
        )
        added = await run_in_threadpool(
            functools.partial(
                sched.add,
                engine,
                name=name,
                cron=form.get("cron", "").strip(),
                definition=definition,
                tz=form.get("tz", "").strip() or "UTC",
                site=form.get("site", "").strip() or "default",
                alerts=_lines(form.get("alerts", "")),
                drift_kinds=form.get("drift_kinds", "").split(","),
                windows=[sched.parse_window(w) for w in _lines(form.get("windows", ""))],
                jitter=_whole(form.get("jitter", "") or "0", "jitter"),
                baseline=form.get("baseline", "").strip() or "default",
                drift_persist=_whole(form.get("drift_persist", "") or "2", "drift_persist"),
                created_by=principal.actor,
            )
        )
    except ConfigError as exc:
        auth.audit_request(
            request, principal, "schedule.add", name, outcome="fail", detail={"error": str(exc)}
        )
        rows = await run_in_threadpool(sched.list_all, engine)
        return _schedules_page(
            request, principal, rows, status_code=400, error=str(exc), values=form
        )
    auth.audit_request(
        request,
        principal,
        "schedule.add",
        added.name,
        detail={
            "cron": added.cron,
            "tz": added.tz,
            "site": added.site,
            "definition": added.definition.to_json(),
            "alerts": len(added.alerts),
        },
    )
    return _done("/schedules")


async def _schedule_action(
    request: Request, principal: Principal, schedule_id: int, action: str
) -> Response:
    engine = _engine(request)
    found = await run_in_threadpool(sched.get, engine, schedule_id)
    if found is None:
        auth.audit_request(
            request, principal, f"schedule.{action}", str(schedule_id), outcome="fail"
        )
        return _not_found(request, principal, "schedules.none")
    run_id = ""
    try:
        if action == "pause":
            await run_in_threadpool(sched.pause, engine, found.name)
        elif action == "resume":
            await run_in_threadpool(sched.resume, engine, found.name)
        elif action == "remove":
            await run_in_threadpool(sched.remove, engine, found.name)
        else:
            run_id = await _run_now(request, found, principal.lang)
    except ConfigError as exc:
        auth.audit_request(
            request,
            principal,
            f"schedule.{action}",
            found.name,
            outcome="fail",
            detail={"error": str(exc)},
        )
        rows = await run_in_threadpool(sched.list_all, engine)
        return _schedules_page(request, principal, rows, status_code=409, error=str(exc))
    detail = {"run_id": run_id} if run_id else None
    auth.audit_request(request, principal, f"schedule.{action}", found.name, detail=detail)
    # run-now: straight to the run's page, where its progress shows live
    return _done(f"/runs/{run_id}" if run_id else "/schedules")


async def _run_now(request: Request, schedule: sched.Schedule, lang: str) -> str:
    """Start a run of `schedule` now: the runner takes the definition's lease and writes
    the run's row here (so the redirect's run page exists), then executes it in a process
    of its own (a dashboard request does not wait for a scan). ConfigError when a run of
    the definition is already going."""
    config: ServiceConfig = request.app.state.config
    engine = _engine(request)
    prep = await run_in_threadpool(
        functools.partial(
            runner.prepare,
            engine,
            schedule,
            config.data_dir,
            trigger="run-now",
            owner=runner.lease_owner("service"),
        )
    )
    if prep is None:
        raise ConfigError(text(lang, "schedules.busy", name=schedule.name))
    await run_in_threadpool(runner.start_detached, engine, config.db_url, prep)
    return str(prep.run_id)


@router.post("/schedules/{schedule_id}/pause")
async def pause_schedule(request: Request, schedule_id: int, principal: Operator) -> Response:
    return await _schedule_action(request, principal, schedule_id, "pause")


@router.post("/schedules/{schedule_id}/resume")
async def resume_schedule(request: Request, schedule_id: int, principal: Operator) -> Response:
    return await _schedule_action(request, principal, schedule_id, "resume")


@router.post("/schedules/{schedule_id}/remove")
async def remove_schedule(request: Request, schedule_id: int, principal: Operator) -> Response:
    return await _schedule_action(request, principal, schedule_id, "remove")


@router.post("/schedules/{schedule_id}/run-now")
async def run_schedule_now(request: Request, schedule_id: int, principal: Operator) -> Response:
    return await _schedule_action(request, principal, schedule_id, "run-now")


# --- alerts, inventory ---------------------------------------------------------------------


@router.get("/alerts")
async def alerts_page(request: Request, principal: Viewer) -> Response:
    rows = await run_in_threadpool(views.alerts, _engine(request), limit=LIST_ALERTS)
    return _page(request, principal, "alerts.html", alerts=rows)


@router.get("/inventory")
async def inventory_page(request: Request, principal: Viewer) -> Response:
    site = request.query_params.get("site") or None
    rows = await run_in_threadpool(views.inventory, _engine(request), site=site)
    return _page(request, principal, "inventory.html", rows=rows)


# --- users and tokens ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: its value is on this one answer page, and nowhere after it."""

    name: str
    role: str
    value: str


def _tokens(engine: sa.Engine) -> list[auth.TokenRow]:
    with engine.connect() as conn:
        return auth.list_tokens(conn)


async def _users_page(
    request: Request,
    principal: Principal,
    *,
    status_code: int = 200,
    error: str = "",
    new_token: NewToken | None = None,
) -> Response:
    engine = _engine(request)
    rows = await run_in_threadpool(views.users, engine)
    tokens = await run_in_threadpool(_tokens, engine)
    log = await run_in_threadpool(views.audit, engine, limit=LIST_AUDIT)
    return _page(
        request,
        principal,
        "users.html",
        status_code=status_code,
        users=rows,
        tokens=tokens,
        audit_log=log,
        roles=auth.ROLES,
        error=error,
        new_token=new_token,
    )


@router.get("/users")
async def users_page(request: Request, principal: Admin) -> Response:
    return await _users_page(request, principal)


@router.post("/users")
async def add_user(request: Request, principal: Admin) -> Response:
    form = await _form(request)
    name, role, password = (
        form.get("name", "").strip(),
        form.get("role", ""),
        form.get("password", ""),
    )

    def add() -> None:
        with _engine(request).begin() as conn:  # auth.add_user records `user.add`
            auth.add_user(conn, name, role, password, actor=principal.actor)

    try:
        await run_in_threadpool(add)
    except (ValueError, ConfigError) as exc:
        auth.audit_request(
            request, principal, "user.add", name, outcome="fail", detail={"error": str(exc)}
        )
        return await _users_page(request, principal, status_code=400, error=str(exc))
    except IntegrityError:  # a duplicate name: the users table's unique constraint
        auth.audit_request(
            request, principal, "user.add", name, outcome="fail", detail={"error": "exists"}
        )
        return await _users_page(
            request, principal, status_code=409, error=f"user {name!r} exists already"
        )
    return _done("/users")


async def _access_change(
    request: Request,
    principal: Principal,
    action: str,
    subject: str,
    change: Callable[[sa.Connection], object],
    not_found: str,
) -> Response:
    """`change` audited by auth (a refusal in a transaction of its own), then back to
    /users; a refusal is the users page again with the reason in the page's language."""
    engine, remote = _engine(request), auth.remote_of(request)

    def run() -> None:
        with auth.audited(engine, action, subject, actor=principal.actor, remote=remote) as conn:
            change(conn)

    lang = principal.lang
    try:
        await run_in_threadpool(run)
    except auth.NotFound:
        error = text(lang, not_found, name=subject)
        return await _users_page(request, principal, status_code=404, error=error)
    except auth.Refused as exc:
        error = text(lang, f"users.refused_{exc.why}", name=exc.name)
        return await _users_page(request, principal, status_code=409, error=error)
    return _done("/users")


@router.post("/users/{user_id}/disable")
async def disable_user(request: Request, user_id: int, principal: Admin) -> Response:
    """Disable a user: they cannot log in, and their sessions end at once."""

    def disable(conn: sa.Connection) -> str:
        return auth.disable_user(
            conn, user_id, actor=principal.actor, remote=auth.remote_of(request)
        )

    return await _access_change(
        request, principal, "user.disable", str(user_id), disable, "users.not_found"
    )


@router.post("/users/{user_id}/enable")
async def enable_user(request: Request, user_id: int, principal: Admin) -> Response:
    def enable(conn: sa.Connection) -> str:
        return auth.enable_user(
            conn, user_id, actor=principal.actor, remote=auth.remote_of(request)
        )

    return await _access_change(
        request, principal, "user.enable", str(user_id), enable, "users.not_found"
    )


@router.post("/tokens")
async def add_token(request: Request, principal: Admin) -> Response:
    """Make an API token: the answer is the users page with its value, shown this once
    (the page is not cached: every answer is `Cache-Control: no-store`)."""
    form = await _form(request)
    name, role = form.get("name", "").strip(), form.get("role", "")

    def make() -> str:
        with _engine(request).begin() as conn:  # auth.add_token records `token.add`
            return auth.add_token(conn, name, role, actor=principal.actor)

    try:
        value = await run_in_threadpool(make)
    except ValueError as exc:
        auth.audit_request(
            request, principal, "token.add", name, outcome="fail", detail={"error": str(exc)}
        )
        return await _users_page(request, principal, status_code=400, error=str(exc))
    except IntegrityError:  # the api_tokens table's unique name
        auth.audit_request(
            request, principal, "token.add", name, outcome="fail", detail={"error": "exists"}
        )
        error = text(principal.lang, "users.token_exists", name=name)
        return await _users_page(request, principal, status_code=409, error=error)
    return await _users_page(request, principal, new_token=NewToken(name, role, value))


@router.post("/tokens/revoke")
async def revoke_token(request: Request, principal: Admin) -> Response:
    """Revoke the API token named by the form's `name` (a field, not a path segment: a
    token's name may hold any character)."""
    name = (await _form(request)).get("name", "")

    def revoke(conn: sa.Connection) -> auth.TokenRow:
        return auth.revoke_token(conn, name, actor=principal.actor, remote=auth.remote_of(request))

    return await _access_change(
        request, principal, "token.revoke", name, revoke, "users.token_not_found"
    )
