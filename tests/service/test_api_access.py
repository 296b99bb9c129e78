"""Taking access away through the REST API (scanner/service/api.py) on the real application
(httpx ASGITransport), with an API token of each role: only an admin lists and revokes
tokens and disables and enables users; a revoked token and a disabled user's session get
401 at once; 404 for an unknown name, 409 for the last enabled admin; every change and
every refusal in the audit log; the routes in the OpenAPI document with their models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa

from scanner.service import auth
from scanner.service import schema as t
from scanner.service.app import create_app
from scanner.service.config import ServiceConfig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

ROLES = ("viewer", "operator", "admin")
PASSWORD = "correct horse battery"  # a test account's


@pytest.fixture
async def api(
    engine: sa.Engine, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, httpx.AsyncClient], sa.Engine]]:
    """A client per token role, one anonymous, one logged in as the operator olga."""
    with engine.begin() as conn:
        tokens = {role: auth.add_token(conn, f"ci-{role}", role) for role in ROLES}
        auth.add_user(conn, "ada", "admin", PASSWORD)
        auth.add_user(conn, "olga", "operator", PASSWORD)
    url = engine.url.render_as_string(hide_password=False)
    config = ServiceConfig(db_url=url, data_dir=tmp_path / "data", listen="127.0.0.1:0")
    app = create_app(config, engine=engine)

    def client(token: str = "") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"authorization": f"Bearer {token}"} if token else {},
        )

    clients = {role: client(token) for role, token in tokens.items()}
    clients["anonymous"] = client()
    clients["olga"] = client()
    r = await clients["olga"].post("/login", data={"username": "olga", "password": PASSWORD})
    assert r.status_code == 303, r.text
    yield clients, engine
    for c in clients.values():
        await c.aclose()


def _audit(engine: sa.Engine, prefix: str) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                t.audit_log.c.actor, t.audit_log.c.action, t.audit_log.c.subject,
                t.audit_log.c.outcome,
            ).where(t.audit_log.c.action.startswith(prefix)).order_by(t.audit_log.c.id)
        ).all()  # fmt: skip
    return [(r.actor, r.action, r.subject, r.outcome) for r in rows]


async def test_only_an_admin_lists_and_revokes_tokens_and_disables_users(api: Any) -> None:
    clients, engine = api
    changes = (
        "/api/v1/tokens/ci-viewer/revoke",
        "/api/v1/users/olga/disable",
        "/api/v1/users/olga/enable",
    )
    for who in ("viewer", "operator", "olga"):
        assert (await clients[who].get("/api/v1/tokens")).status_code == 403, who
        for path in changes:
            r = await clients[who].post(path, headers={"x-csrf-token": "x"})
            assert r.status_code == 403, (who, path)
    for path in ("/api/v1/tokens", *changes):
        r = await clients["anonymous"].request("GET" if path.endswith("tokens") else "POST", path)
        assert r.status_code == 401, path
    with engine.connect() as conn:
        revoked = conn.execute(sa.select(t.api_tokens.c.name).where(t.api_tokens.c.revoked))
        assert revoked.all() == []
        disabled = conn.execute(sa.select(t.users.c.name).where(t.users.c.disabled))
        assert disabled.all() == []
    assert _audit(engine, "token.") == [("cli", "token.add", f"ci-{r}", "ok") for r in ROLES]
    assert _audit(engine, "user.d") == []


async def test_admin_lists_tokens_without_a_secret(api: Any) -> None:
    clients, engine = api
    r = await clients["admin"].get("/api/v1/tokens")
    assert r.status_code == 200
    listed = r.json()
    assert [(x["name"], x["role"], x["revoked"], x["created_by"]) for x in listed] == [
        ("ci-admin", "admin", False, "cli"),
        ("ci-operator", "operator", False, "cli"),
        ("ci-viewer", "viewer", False, "cli"),
    ]
    assert set(listed[0]) == {
        "name", "role", "prefix", "created", "created_by", "last_used", "revoked"
    }  # fmt: skip
    assert listed[0]["last_used"] is not None  # this very request
    assert listed[2]["last_used"] is None
    with engine.connect() as conn:
        hashes = conn.execute(sa.select(t.api_tokens.c.token_hash)).scalars().all()
    assert not any(h in r.text for h in hashes)
    assert all(len(x["prefix"]) == 10 and x["prefix"].startswith("shs_") for x in listed)


async def test_a_revoked_token_gets_401_at_once(api: Any) -> None:
    clients, engine = api
    viewer = clients["viewer"]
    assert (await viewer.get("/api/v1/fleet")).status_code == 200
    r = await clients["admin"].post("/api/v1/tokens/ci-viewer/revoke")
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["revoked"]) == ("ci-viewer", True)
    gone = await viewer.get("/api/v1/fleet")
    assert gone.status_code == 401
    assert (await clients["operator"].get("/api/v1/fleet")).status_code == 200
    r = await clients["admin"].post("/api/v1/tokens/nope/revoke")
    assert r.status_code == 404
    assert r.json() == {"detail": "no API token named 'nope'"}
    # a token may revoke itself: its own next request is refused
    assert (await clients["admin"].post("/api/v1/tokens/ci-admin/revoke")).status_code == 200
    assert (await clients["admin"].get("/api/v1/tokens")).status_code == 401
    assert _audit(engine, "token.revoke") == [
        ("token:ci-admin", "token.revoke", "ci-viewer", "ok"),
        ("token:ci-admin", "token.revoke", "nope", "fail"),
        ("token:ci-admin", "token.revoke", "ci-admin", "ok"),
    ]


async def test_a_disabled_users_session_gets_401_and_enabling_lets_them_back(
    api: Any,
) -> None:
    clients, engine = api
    olga, admin = clients["olga"], clients["admin"]
    assert (await olga.get("/api/v1/fleet")).status_code == 200
    r = await admin.post("/api/v1/users/olga/disable")
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["disabled"]) == ("olga", True)
    assert (await olga.get("/api/v1/fleet")).status_code == 401
    login = await olga.post("/login", data={"username": "olga", "password": PASSWORD})
    assert login.status_code == 401
    r = await admin.post("/api/v1/users/olga/enable")
    assert r.status_code == 200
    assert r.json()["disabled"] is False
    login = await olga.post("/login", data={"username": "olga", "password": PASSWORD})
    assert login.status_code == 303
    assert (await olga.get("/api/v1/fleet")).status_code == 200
    users = {u["name"]: u["disabled"] for u in (await admin.get("/api/v1/users")).json()}
    assert users == {"ada": False, "olga": False}
    assert _audit(engine, "user.") == [
        ("cli", "user.add", "ada", "ok"),
        ("cli", "user.add", "olga", "ok"),
        ("token:ci-admin", "user.disable", "olga", "ok"),
        ("token:ci-admin", "user.enable", "olga", "ok"),
    ]


async def test_the_last_admin_stays_and_unknown_users_are_404(api: Any) -> None:
    clients, engine = api
    admin = clients["admin"]
    r = await admin.post("/api/v1/users/ada/disable")
    assert r.status_code == 409
    assert "last enabled admin" in r.json()["detail"]
    r = await admin.post("/api/v1/users/nobody/disable")
    assert r.status_code == 404
    assert (await admin.post("/api/v1/users/nobody/enable")).status_code == 404
    with engine.connect() as conn:
        disabled = conn.execute(sa.select(t.users.c.name).where(t.users.c.disabled))
        assert disabled.all() == []
    assert _audit(engine, "user.") == [
        ("cli", "user.add", "ada", "ok"),
        ("cli", "user.add", "olga", "ok"),
        ("token:ci-admin", "user.disable", "ada", "fail"),
        ("token:ci-admin", "user.disable", "nobody", "fail"),
        ("token:ci-admin", "user.enable", "nobody", "fail"),
    ]


async def test_the_new_routes_are_in_the_openapi_document(api: Any) -> None:
    clients, _ = api
    doc = (await clients["anonymous"].get("/api/openapi.json")).json()
    paths = doc["paths"]

    def ok_schema(path: str, method: str) -> dict[str, Any]:
        op = paths[path][method]
        assert {"401", "403"} <= set(op["responses"]), path
        schema: dict[str, Any] = op["responses"]["200"]["content"]["application/json"]["schema"]
        return schema

    assert ok_schema("/api/v1/tokens", "get")["items"]["$ref"].endswith("/TokenRow")
    assert ok_schema("/api/v1/tokens/{name}/revoke", "post")["$ref"].endswith("/TokenRow")
    assert ok_schema("/api/v1/users/{name}/disable", "post")["$ref"].endswith("/UserRow")
    assert ok_schema("/api/v1/users/{name}/enable", "post")["$ref"].endswith("/UserRow")
    assert "409" in paths["/api/v1/users/{name}/disable"]["post"]["responses"]
    assert "404" in paths["/api/v1/tokens/{name}/revoke"]["post"]["responses"]
    fields = doc["components"]["schemas"]["TokenRow"]["properties"]
    assert "token_hash" not in fields
    assert "token" not in fields
