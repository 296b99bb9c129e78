"""create_app's wiring: the lifespan upgrades the database (SQLite and PostgreSQL), starts
the scheduler and the alert outbox and stops them at shutdown; plain HTTP uses the
non-Secure `shinsa` cookie and no HSTS."""

from __future__ import annotations

import asyncio
import types
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from scanner.service import app as app_module
from scanner.service import auth, schema
from scanner.service.app import create_app
from scanner.service.config import ServiceConfig

if TYPE_CHECKING:
    from pathlib import Path

    import pytest
    from fastapi import FastAPI

PASSWORD = "web-app-password"


def _client(app: FastAPI, scheme: str = "https") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://testserver", timeout=30
    )


async def test_lifespan_upgrades_the_database_and_login_works(db_url: str, tmp_path: Path) -> None:
    config = ServiceConfig(
        db_url=db_url, tls_cert=tmp_path / "c", tls_key=tmp_path / "k", data_dir=tmp_path
    )
    app = create_app(config)
    engine: sa.Engine = app.state.engine
    async with app.router.lifespan_context(app):
        with engine.begin() as conn:
            auth.add_user(conn, "pat", "admin", PASSWORD)
        async with _client(app) as client:
            r = await client.post("/login", data={"username": "pat", "password": PASSWORD})
            assert r.status_code == 303
            assert client.cookies["__Host-shinsa"]
        with engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(schema.sessions)).scalar() == 1
            )


async def test_background_tasks_start_and_stop(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {"runs": 0, "cancelled": False, "delivered": 0}
    started = asyncio.Event()

    async def run(eng: sa.Engine, config: ServiceConfig) -> None:
        seen["runs"] += 1
        seen["config"] = config
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise

    def deliver_due(eng: sa.Engine) -> int:
        seen["delivered"] += 1
        return 0

    monkeypatch.setattr(app_module, "scheduler", types.SimpleNamespace(run=run))
    monkeypatch.setattr(app_module, "outbox", types.SimpleNamespace(deliver_due=deliver_due))
    config = ServiceConfig(db_url="sqlite:///unused", data_dir=tmp_path)
    app = create_app(config, engine=engine)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(started.wait(), 10)
        for _ in range(100):
            if seen["delivered"]:
                break
            await asyncio.sleep(0.05)
    assert seen["runs"] == 1
    assert seen["config"] is config
    assert seen["delivered"] == 1  # at once, then every 15 s
    assert seen["cancelled"]


async def test_plain_http_cookie_and_no_hsts(engine: sa.Engine, tmp_path: Path) -> None:
    config = ServiceConfig(db_url="sqlite:///unused", listen="127.0.0.1:8080", data_dir=tmp_path)
    app = create_app(config, engine=engine)
    with engine.begin() as conn:
        auth.add_user(conn, "pat", "viewer", PASSWORD)
    async with _client(app, "http") as client:
        r = await client.post("/login", data={"username": "pat", "password": PASSWORD})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("shinsa=")
        assert "secure" not in cookie.lower()
        assert "httponly" in cookie.lower()
        assert "strict-transport-security" not in r.headers


def test_given_engine_openapi_and_no_cdn_docs(engine: sa.Engine, tmp_path: Path) -> None:
    app = create_app(ServiceConfig(db_url="sqlite:///unused", data_dir=tmp_path), engine=engine)
    assert app.state.engine is engine
    assert "/api/openapi.json" in {getattr(r, "path", "") for r in app.routes}
    assert not {"/docs", "/redoc"} & {getattr(r, "path", "") for r in app.routes}
