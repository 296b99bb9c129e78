"""The service's authentication in process (httpx over ASGI, no sockets): Argon2id hashes,
sessions (cookie flags, hashed keys, rotation at login, idle and absolute expiry), CSRF,
lockout without user enumeration, API tokens, roles, security headers, the audit log."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import httpx
import pytest
import sqlalchemy as sa
from fastapi import Depends
from fastapi.responses import JSONResponse

from scanner.errors import ConfigError
from scanner.service import auth, schema
from scanner.service.app import CSP, create_app
from scanner.service.auth import Principal, require
from scanner.service.config import ServiceConfig, check_transport
from scanner.service.db import now, open_db
from scanner.service.ui_text import text

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi import FastAPI

PASSWORD = "correct horse battery"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_db(f"sqlite:///{tmp_path / 'auth.sqlite'}")
    schema.metadata.create_all(eng)
    yield eng
    eng.dispose()


def _config(tmp_path: Path, **kw: object) -> ServiceConfig:
    values: dict[str, object] = {
        "db_url": "sqlite:///unused",
        "tls_cert": tmp_path / "c.pem",
        "tls_key": tmp_path / "k.pem",
        "login_max_failures": 3,
    }
    values.update(kw)
    return ServiceConfig(**values)  # type: ignore[arg-type]


async def _operator_only(
    principal: Annotated[Principal, Depends(require("operator"))],
) -> JSONResponse:
    return JSONResponse({"name": principal.name, "kind": principal.kind})


def _app(engine: sa.Engine, config: ServiceConfig) -> FastAPI:
    app = create_app(config, engine=engine)
    app.add_api_route(
        "/api/v1/test-op", _operator_only, methods=["GET", "POST"], include_in_schema=False
    )
    with engine.begin() as conn:
        auth.add_user(conn, "alice", "viewer", PASSWORD)
        auth.add_user(conn, "olga", "operator", PASSWORD)
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver", timeout=30
    )


async def _login(
    client: httpx.AsyncClient, name: str = "alice", pw: str = PASSWORD
) -> httpx.Response:
    return await client.post("/login", data={"username": name, "password": pw})


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_argon2id_hash_verifies_only_the_password() -> None:
    stored = auth.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert auth.verify_password(stored, PASSWORD)
    assert not auth.verify_password(stored, PASSWORD + "x")
    assert not auth.verify_password("not a hash", PASSWORD)


async def test_login_sets_a_host_cookie_and_keeps_only_its_hash(
    engine: sa.Engine, tmp_path: Path
) -> None:
    app = _app(engine, _config(tmp_path))
    async with _client(app) as client:
        r = await _login(client)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-shinsa=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path=/", "samesite=strict"} <= flags
        assert not any(f.startswith("domain") for f in flags)
        value = client.cookies["__Host-shinsa"]
        home = await client.get("/login")  # signed in: sent on
        assert home.status_code == 303
    with engine.connect() as conn:
        keys = conn.execute(sa.select(schema.sessions.c.id_hash)).scalars().all()
    assert keys == [hashlib.sha256(value.encode()).hexdigest()]


async def test_login_gives_a_new_session_and_removes_the_old(
    engine: sa.Engine, tmp_path: Path
) -> None:
    app = _app(engine, _config(tmp_path))
    async with _client(app) as client:
        await _login(client)
        first = client.cookies["__Host-shinsa"]
        await _login(client)
        second = client.cookies["__Host-shinsa"]
    assert first != second
    with engine.connect() as conn:
        keys = set(conn.execute(sa.select(schema.sessions.c.id_hash)).scalars())
    assert keys == {auth.digest(second)}


async def test_unsafe_request_needs_the_session_csrf_token(
    engine: sa.Engine, tmp_path: Path
) -> None:
    app = _app(engine, _config(tmp_path))
    async with _client(app) as client:
        await _login(client, "olga")
        page = await client.get("/login", follow_redirects=True)
        token = _csrf(page.text)
        refused = await client.post("/api/v1/test-op")
        assert refused.status_code == 403
        wrong = await client.post("/api/v1/test-op", headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        by_header = await client.post("/api/v1/test-op", headers={"X-CSRF-Token": token})
        assert by_header.status_code == 200
        by_form = await client.post("/lang", data={"lang": "ja", "next": "/x", "csrf": token})
        assert by_form.status_code == 303
        assert by_form.headers["location"] == "/x"
        offsite = await client.post(
            "/lang", data={"lang": "ja", "next": "//evil.example", "csrf": token}
        )
        assert offsite.headers["location"] == "/"
    with engine.connect() as conn:
        lang = conn.execute(
            sa.select(schema.users.c.lang).where(schema.users.c.name == "olga")
        ).scalar_one()
    assert lang == "ja"


async def test_cross_origin_post_is_refused_before_any_route(
    engine: sa.Engine, tmp_path: Path
) -> None:
    app = _app(engine, _config(tmp_path))
    async with _client(app) as client:
        r = await client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403
        assert "__Host-shinsa" not in client.cookies
        # Fetch Metadata outranks Origin: Chromium posts a same-origin form with "Origin:
        # null" under Referrer-Policy no-referrer, and a same-site page is still another app
        for fetch_site, origin, refused in (
            ("cross-site", None, True),
            ("same-site", None, True),
            ("same-origin", "null", False),
            ("none", None, False),
            (None, "null", True),
        ):
            headers = {"Origin": origin} if origin else {}
            if fetch_site:
                headers["Sec-Fetch-Site"] = fetch_site
            r = await client.post(
                "/login", data={"username": "x", "password": "y"}, headers=headers
            )
            assert (r.status_code == 403) is refused, (fetch_site, origin, r.status_code)


def test_a_user_keeps_at_most_max_sessions_and_the_oldest_go(
    engine: sa.Engine, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    with engine.begin() as conn:
        uid = auth.add_user(conn, "cara", "viewer", PASSWORD)
        other = auth.add_user(conn, "dan", "viewer", PASSWORD)
        theirs = auth.start_session(conn, other, remote="t", keep=3)
        mine = [auth.start_session(conn, uid, remote="t", keep=3) for _ in range(5)]
    with engine.begin() as conn:
        alive = [bool(auth.session_principal(conn, s.cookie, config)) for s in mine]
        assert alive == [False, False, True, True, True]  # the newest three
        assert auth.session_principal(conn, theirs.cookie, config)  # another user's: kept
        unlimited = [auth.start_session(conn, other, remote="t") for _ in range(4)]
        assert all(auth.session_principal(conn, s.cookie, config) for s in unlimited)


def test_idle_and_absolute_expiry(engine: sa.Engine, tmp_path: Path) -> None:
    config = _config(tmp_path, session_idle=60, session_lifetime=600)
    with engine.begin() as conn:
        uid = auth.add_user(conn, "bob", "viewer", PASSWORD)
        idle = auth.start_session(conn, uid, remote="t")
        busy = auth.start_session(conn, uid, remote="t")
    start = now()
    with engine.begin() as conn:
        assert auth.session_principal(conn, idle.cookie, config, at=start + timedelta(seconds=30))
        # 59 s after its last use: alive; 61 s: gone, and its row deleted
        assert auth.session_principal(conn, idle.cookie, config, at=start + timedelta(seconds=89))
        assert not auth.session_principal(
            conn, idle.cookie, config, at=start + timedelta(seconds=151)
        )
        for second in range(50, 600, 50):  # used every 50 s: never idle
            assert auth.session_principal(
                conn, busy.cookie, config, at=start + timedelta(seconds=second)
            )
        assert not auth.session_principal(
            conn, busy.cookie, config, at=start + timedelta(seconds=601)
        )
        left = conn.execute(sa.select(sa.func.count()).select_from(schema.sessions)).scalar()
    assert left == 0


async def test_lockout_locks_real_and_unknown_names_alike(
    engine: sa.Engine, tmp_path: Path
) -> None:
    app = _app(engine, _config(tmp_path, login_max_failures=3, login_lock_seconds=60))
    async with _client(app) as client:
        answers: dict[str, list[int]] = {}
        bodies: dict[str, str] = {}
        for name in ("alice", "nobody-" + tmp_path.name):
            codes = []
            for _ in range(4):
                r = await _login(client, name, "wrong password")
                codes.append(r.status_code)
                bodies[name] = r.text.replace(name, "NAME")
            answers[name] = codes
        assert answers["alice"] == [401, 401, 429, 429]
        assert next(iter(answers.values())) == list(answers.values())[1]
        assert len(set(bodies.values())) == 1  # the same page: no enumeration
        # locked: even the right password is refused
        locked = await _login(client, "alice", PASSWORD)
        assert locked.status_code == 429
        assert "__Host-shinsa" not in client.cookies
        # another name is not locked by alice's failures
        assert (await _login(client, "olga")).status_code == 303
    with engine.begin() as conn:  # the lock runs out
        conn.execute(
            schema.users.update()
            .where(schema.users.c.name == "alice")
            .values(locked_until=now() - timedelta(seconds=1))
        )
    async with _client(app) as client:
        assert (await _login(client)).status_code == 303
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.audit_log.c.actor, schema.audit_log.c.outcome).where(
                schema.audit_log.c.action == "login"
            )
        ).all()
    outcomes = [o for a, o in rows if a == "user:alice"]
    assert outcomes.count("fail") == 3
    assert outcomes.count("locked") == 2
    assert outcomes[-1] == "ok"


async def test_tokens_roles_and_401(engine: sa.Engine, tmp_path: Path) -> None:
    app = _app(engine, _config(tmp_path))
    with engine.begin() as conn:
        viewer = auth.add_token(conn, "ci-read", "viewer")
        operator = auth.add_token(conn, "ci-op", "operator")
        stored = conn.execute(sa.select(schema.api_tokens)).mappings().all()
    assert viewer.startswith("shs_")
    assert len(viewer) >= 40
    assert all(viewer not in str(dict(row)) for row in stored)
    assert {row["token_hash"] for row in stored} == {auth.digest(viewer), auth.digest(operator)}
    async with _client(app) as client:
        none = await client.get("/api/v1/test-op")
        assert none.status_code == 401
        assert none.headers["www-authenticate"].startswith("Bearer")
        page = await client.get("/")
        assert page.status_code == 303
        assert page.headers["location"] == "/login"
        low = await client.get("/api/v1/test-op", headers={"Authorization": f"Bearer {viewer}"})
        assert low.status_code == 403
        ok = await client.post(  # a token is not a browser's: no CSRF token needed
            "/api/v1/test-op", headers={"Authorization": f"Bearer {operator}"}
        )
        assert ok.status_code == 200
        assert ok.json() == {"name": "ci-op", "kind": "token"}
        bad = await client.get("/api/v1/test-op", headers={"Authorization": "Bearer shs_nope"})
        assert bad.status_code == 401


async def test_security_headers_on_every_answer(engine: sa.Engine, tmp_path: Path) -> None:
    app = _app(engine, _config(tmp_path))
    async with _client(app) as client:
        for path in ("/login", "/static/shinsa.css", "/api/openapi.json", "/nowhere"):
            r = await client.get(path)
            assert r.headers["content-security-policy"] == CSP, path
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["strict-transport-security"].startswith("max-age=31536000")
            assert "server" not in r.headers
        login = await client.get("/login")
        assert login.headers["cache-control"] == "no-store"
        assert "<script" not in login.text
        assert "style=" not in login.text
        assert "<style" not in login.text


async def test_logout_ends_the_session_and_is_audited(engine: sa.Engine, tmp_path: Path) -> None:
    app = _app(engine, _config(tmp_path))
    async with _client(app) as client:
        await _login(client)
        old = client.cookies["__Host-shinsa"]
        r = await client.get("/logout")
        assert r.status_code == 303
        client.cookies.set("__Host-shinsa", old)
        again = await client.get("/")
        assert again.status_code == 303
        assert again.headers["location"] == "/login"
    with engine.connect() as conn:
        actions = conn.execute(sa.select(schema.audit_log.c.action)).scalars().all()
    assert "logout" in actions


def test_plain_http_only_on_loopback(tmp_path: Path) -> None:
    plain = ServiceConfig(db_url="sqlite:///x", listen="0.0.0.0:8443")
    with pytest.raises(ConfigError, match="without TLS"):
        check_transport(plain)
    assert "warning" in check_transport(
        ServiceConfig(db_url="sqlite:///x", listen="0.0.0.0:8443", insecure_http=True)
    )
    local = ServiceConfig(db_url="sqlite:///x", listen="127.0.0.1:8080")
    assert local.cookie_name == "shinsa"
    assert "Secure" in check_transport(local)
    assert _config(tmp_path).cookie_name == "__Host-shinsa"
    assert check_transport(_config(tmp_path)) == ""


def test_text_falls_back_to_english_then_the_key() -> None:
    assert text("ja", "login.title") == "ログイン"
    assert text("en", "signed_in_as", name="a", role="b") == "Signed in as a (b)"
    assert text("xx", "login.title") == "Log in"
    assert text("ja", "no.such.key") == "no.such.key"


async def test_login_page_speaks_the_chosen_language(engine: sa.Engine, tmp_path: Path) -> None:
    app = _app(engine, _config(tmp_path))
    async with _client(app) as client:
        page = await client.get("/login?lang=ja")
        assert 'lang="ja"' in page.text
        assert 'action="/login?lang=ja"' in page.text
        failed = await client.post("/login?lang=ja", data={"username": "alice", "password": "x"})
        assert failed.status_code == 401
        assert text("ja", "login.failed") in failed.text
        odd = await client.get("/login?lang=<script>")
        assert 'lang="en"' in odd.text
        assert "<script>" not in odd.text
