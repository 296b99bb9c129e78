"""The service's web application: `create_app(config, *, engine=None) -> FastAPI`.

What it puts together:
- at start-up (lifespan): the database upgraded to the current schema; the scheduler
  (`scanner.service.scheduler.run`) and the alert outbox (`deliver_due` every 15 s) as
  background tasks; expired sessions swept;
- the frame's routes: /login, /logout, /lang; the dashboard (`scanner.service.pages`) and
  the REST API (`scanner.service.api`, OpenAPI at /api/openapi.json);
- /static (no CDN: every file is served from the package);
- on every answer, security headers: a strict CSP (no inline script or style anywhere),
  nosniff, no referrer, no framing, HSTS over TLS, `Cache-Control: no-store` (pages and
  API answers hold fleet data); no `Server` banner (`shinsa serve` turns uvicorn's off);
- unsafe requests from another origin (Origin / Sec-Fetch-Site) refused before any route:
  with SameSite=Strict cookies and per-session CSRF tokens, this also covers the login
  form, which has no session yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

import scanner
from scanner.service import api, audit, auth, migrate, pages, scheduler, schema
from scanner.service import templating as tpl
from scanner.service.alerts import outbox
from scanner.service.auth import Principal, require
from scanner.service.db import open_db
from scanner.service.ui_text import LANGS, text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping

    import sqlalchemy as sa

    from scanner.service.config import ServiceConfig

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("shinsa.service")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
OUTBOX_SECONDS = 15.0
SWEEP_SECONDS = 300.0


def upgrade(engine: sa.Engine) -> None:
    """The database at the current schema (its migrations)."""
    migrate.upgrade(engine)


# --- security headers ------------------------------------------------------------------------


class SecurityHeaders:
    """A pure ASGI middleware (server-sent events stream through it untouched)."""

    def __init__(self, app: ASGIApp, *, tls: bool) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _cross_origin(scope):
            response = JSONResponse({"detail": "cross-origin request refused"}, 403)
            await response(scope, receive, self._sender(scope, send))
            return
        await self.app(scope, receive, self._sender(scope, send))

    def _sender(self, scope: Scope, send: Send) -> Send:
        static = str(scope.get("path", "")).startswith("/static/")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"server", b"cache-control")
                ]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cache-control", b"no-cache" if static else b"no-store"),
                ]
                if self.tls:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = headers
            await send(message)

        return wrapped


def _cross_origin(scope: Scope) -> bool:
    """An unsafe request a browser sent from another site."""
    if scope.get("method", "GET") in auth.SAFE_METHODS:
        return False
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    fetch_site = headers.get(b"sec-fetch-site")
    if fetch_site is not None:
        # A browser that sends Fetch Metadata says where the request came from, and it is
        # the better witness: under Referrer-Policy no-referrer Chromium sends "Origin:
        # null" with a same-origin form post, which the Origin check would refuse.
        # "same-site" is refused too: another port or subdomain is another application.
        return fetch_site not in (b"same-origin", b"none")
    origin = headers.get(b"origin")
    if origin is None:
        return False
    host = headers.get(b"host", b"").decode("latin-1")
    parts = urlsplit(origin.decode("latin-1"))
    return bool(origin == b"null" or parts.netloc != host)


# --- the frame's routes ----------------------------------------------------------------------

frame = APIRouter(include_in_schema=False)


def _safe_next(value: object) -> str:
    """A local path to go back to (never another site: no open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _login_page(
    request: Request, *, lang: str, error: str = "", username: str = "", status_code: int = 200
) -> Response:
    context = {"lang": lang, "error": error, "username": username}
    return tpl.render(request, "login.html", context, None, status_code=status_code)


@frame.get("/login")
async def login_page(request: Request) -> Response:
    principal = await auth.current(request)
    if principal is not None:
        return RedirectResponse("/", status_code=303)
    lang = request.query_params.get("lang", "en")
    return _login_page(request, lang=lang if lang in LANGS else "en")


@frame.post("/login")
async def login_submit(request: Request) -> Response:
    config: ServiceConfig = request.app.state.config
    form = await request.form()
    name, password = form.get("username"), form.get("password")
    lang = request.query_params.get("lang", "en")
    lang = lang if lang in LANGS else "en"
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        return _login_page(request, lang=lang, error="login.failed", status_code=400)
    remote = auth.remote_of(request)
    engine: sa.Engine = request.app.state.engine
    result = await run_in_threadpool(auth.login, engine, name, password, config, remote=remote)
    if not result.ok:
        if result.locked:
            response = _login_page(
                request, lang=lang, error="login.locked", username=name, status_code=429
            )
            response.headers["retry-after"] = str(config.login_lock_seconds)
            return response
        return _login_page(request, lang=lang, error="login.failed", username=name, status_code=401)
    old = request.cookies.get(config.cookie_name)
    with engine.begin() as conn:
        session = auth.start_session(
            conn, result.user_id, remote=remote, replaces=old, keep=config.max_sessions
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        config.cookie_name,
        session.cookie,
        path="/",
        secure=config.tls,
        httponly=True,
        samesite="strict",
    )
    return response


@frame.get("/logout")
async def logout_link(request: Request) -> Response:
    """The logout link: a GET, so that it works as a link (and as scanners look for it).
    Not a CSRF hole: the SameSite=Strict cookie is not sent on a navigation from another
    site, and a browser's cross-site GET (Sec-Fetch-Site) is refused here too."""
    if request.headers.get("sec-fetch-site", "none") not in ("none", "same-origin"):
        return RedirectResponse("/", status_code=303)
    principal = await auth.current(request)
    if principal is None or principal.kind != "user":
        return RedirectResponse("/login", status_code=303)
    return _end(request, principal)


@frame.post("/logout")
async def logout(
    request: Request, principal: Annotated[Principal, Depends(require("viewer"))]
) -> Response:
    return _end(request, principal)


def _end(request: Request, principal: Principal) -> Response:
    config: ServiceConfig = request.app.state.config
    engine: sa.Engine = request.app.state.engine
    cookie = request.cookies.get(config.cookie_name, "")
    with engine.begin() as conn:
        auth.end_session(conn, cookie)
        audit.record(conn, actor=principal.actor, action="logout", remote=auth.remote_of(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        config.cookie_name, path="/", secure=config.tls, httponly=True, samesite="strict"
    )
    return response


@frame.post("/lang")
async def switch_lang(
    request: Request, principal: Annotated[Principal, Depends(require("viewer"))]
) -> Response:
    form = await request.form()
    lang, back = form.get("lang"), form.get("next")
    if lang not in LANGS:
        return JSONResponse({"detail": "lang: en or ja"}, 400)
    if principal.kind == "user":
        engine: sa.Engine = request.app.state.engine
        with engine.begin() as conn:
            conn.execute(
                schema.users.update().where(schema.users.c.name == principal.name).values(lang=lang)
            )
    return RedirectResponse(_safe_next(back), status_code=303)


# --- errors ----------------------------------------------------------------------------------


def _wants_json(request: Request) -> bool:
    """The REST API answers in JSON; every other path is a page."""
    return request.url.path.startswith("/api/")


async def _login_required(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"detail": "authentication required"},
            401,
            headers={"www-authenticate": 'Bearer realm="shinsa"'},
        )
    return RedirectResponse("/login", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    reason = exc.reason if isinstance(exc, auth.Forbidden) else "forbidden"
    principal = getattr(request.state, "principal", None)
    lang = principal.lang if isinstance(principal, Principal) else "en"
    message = text(lang, "error.forbidden", reason=reason)
    if _wants_json(request):
        return JSONResponse({"detail": message}, 403)
    return Response(message, status_code=403, media_type="text/plain; charset=utf-8")


# --- the application ----------------------------------------------------------------------


async def _every(
    seconds: float, job: Callable[[], object], what: str, *, first: float = 0.0
) -> None:
    """Run `job` in a thread every `seconds` until cancelled; an error is logged and the
    loop goes on (an alert channel down must not stop the next delivery)."""
    await asyncio.sleep(first)
    while True:
        try:
            await asyncio.to_thread(job)
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)


def create_app(config: ServiceConfig, *, engine: sa.Engine | None = None) -> FastAPI:
    own_engine = engine is None
    db = open_db(config.db_url) if engine is None else engine

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, db)
        tasks: list[asyncio.Task[Any]] = []
        tasks.append(asyncio.create_task(scheduler.run(db, config), name="scheduler"))
        tasks.append(
            asyncio.create_task(
                _every(OUTBOX_SECONDS, lambda: outbox.deliver_due(db), "alert delivery"),
                name="outbox",
            )
        )

        def sweep() -> None:
            with db.begin() as conn:
                auth.prune_sessions(conn, config)

        tasks.append(asyncio.create_task(_every(SWEEP_SECONDS, sweep, "session sweep")))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if own_engine:
                db.dispose()

    app = FastAPI(
        title="shinsa operation service",
        version=scanner.__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN and inline: CSP
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.engine = db
    app.add_middleware(SecurityHeaders, tls=config.tls)
    app.add_exception_handler(auth.LoginRequired, _login_required)
    app.add_exception_handler(auth.Forbidden, _forbidden)
    app.mount("/static", StaticFiles(directory=tpl.STATIC), name="static")
    app.include_router(frame)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
