"""Taking access away (scanner/service/auth.py) in process (httpx over ASGI, no sockets):
a disabled user cannot log in and their live session stops at once, enabling lets them
back, a revoked token gets 401 from its next request, nobody disables themselves or the
last enabled admin, token lists never hold a hash, and every change (a refusal too) is in
the audit log."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa

from scanner.service import auth, schema
from scanner.service.app import create_app
from scanner.service.config import ServiceConfig
from scanner.service.db import open_db

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi import FastAPI

PASSWORD = "correct horse battery"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_db(f"sqlite:///{tmp_path / 'access.sqlite'}")
    schema.metadata.create_all(eng)
    with eng.begin() as conn:
        for name, role in (("ada", "admin"), ("olga", "operator"), ("vera", "viewer")):
            auth.add_user(conn, name, role, PASSWORD)
    yield eng
    eng.dispose()


def _app(engine: sa.Engine, tmp_path: Path) -> FastAPI:
    config = ServiceConfig(
        db_url="sqlite:///unused", data_dir=tmp_path / "data", listen="127.0.0.1:0"
    )
    return create_app(config, engine=engine)


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"accept": "text/html"},
        timeout=30,
    )


async def _login(client: httpx.AsyncClient, name: str) -> httpx.Response:
    return await client.post("/login", data={"username": name, "password": PASSWORD})


def _audit(engine: sa.Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(schema.audit_log)
                .where(schema.audit_log.c.action == action)
                .order_by(schema.audit_log.c.id)
            )
        )


def _disabled(engine: sa.Engine, name: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.select(schema.users.c.disabled).where(schema.users.c.name == name)
            ).scalar_one()
        )


async def test_a_disabled_user_is_out_at_once_and_enabled_is_back(
    engine: sa.Engine, tmp_path: Path
) -> None:
    app = _app(engine, tmp_path)
    async with _client(app) as client:
        assert (await _login(client, "olga")).status_code == 303
        assert (await client.get("/")).status_code == 200  # a live session
        with engine.begin() as conn:
            name = auth.disable_user(conn, "olga", actor="user:ada", remote="127.0.0.9")
        assert name == "olga"
        with engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(schema.sessions))
            assert left.scalar() == 0  # the session row is gone, not merely refused
        gone = await client.get("/")
        assert gone.status_code == 303
        assert gone.headers["location"] == "/login"
        api = await client.get("/api/v1/fleet", headers={"accept": "application/json"})
        assert api.status_code == 401
        refused = await _login(client, "olga")  # the right password, but disabled
        assert refused.status_code == 401
        with engine.connect() as conn:  # no new session was started
            left = conn.execute(sa.select(sa.func.count()).select_from(schema.sessions))
            assert left.scalar() == 0
    with engine.begin() as conn:
        assert auth.enable_user(conn, "olga", actor="cli") == "olga"
    assert not _disabled(engine, "olga")
    async with _client(app) as client:
        assert (await _login(client, "olga")).status_code == 303
        assert (await client.get("/")).status_code == 200
    [disable] = _audit(engine, "user.disable")
    assert (disable.actor, disable.subject, disable.outcome) == ("user:ada", "olga", "ok")
    assert disable.remote == "127.0.0.9"
    assert disable.detail == {"sessions_ended": 1, "already": False}
    [enable] = _audit(engine, "user.enable")
    assert (enable.actor, enable.subject, enable.outcome) == ("cli", "olga", "ok")


def test_a_user_is_found_by_id_or_name(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        vera_id = conn.execute(
            sa.select(schema.users.c.id).where(schema.users.c.name == "vera")
        ).scalar_one()
    with engine.begin() as conn:
        assert auth.disable_user(conn, vera_id, actor="cli") == "vera"
    assert _disabled(engine, "vera")
    with engine.begin() as conn, pytest.raises(auth.NotFound, match="no user with ID 999"):
        auth.disable_user(conn, 999, actor="cli")
    with engine.begin() as conn, pytest.raises(auth.NotFound, match="no user named 'nobody'"):
        auth.enable_user(conn, "nobody", actor="cli")


def test_nobody_disables_themselves_or_the_last_admin(engine: sa.Engine) -> None:
    with pytest.raises(auth.Refused, match="your own account"):  # noqa: SIM117
        with auth.audited(engine, "user.disable", "ada", actor="user:ada") as conn:
            auth.disable_user(conn, "ada", actor="user:ada")
    with pytest.raises(auth.Refused, match="last enabled admin"):  # noqa: SIM117
        with auth.audited(engine, "user.disable", "ada", actor="cli") as conn:
            auth.disable_user(conn, "ada", actor="cli")
    assert not _disabled(engine, "ada")
    # a second admin: now either may go, but not both
    with engine.begin() as conn:
        auth.add_user(conn, "abe", "admin", PASSWORD)
        auth.disable_user(conn, "ada", actor="user:abe")
    with pytest.raises(auth.Refused, match="abe is the last enabled admin"):  # noqa: SIM117
        with auth.audited(engine, "user.disable", "abe", actor="cli") as conn:
            auth.disable_user(conn, "abe", actor="cli")
    assert not _disabled(engine, "abe")
    # a disabled admin does not count: enabling one lets the other go
    with engine.begin() as conn:
        auth.enable_user(conn, "ada", actor="user:abe")
        auth.disable_user(conn, "abe", actor="user:ada")
    assert _disabled(engine, "abe")
    rows = [(r.actor, r.subject, r.outcome) for r in _audit(engine, "user.disable")]
    assert rows == [
        ("user:ada", "ada", "fail"),
        ("cli", "ada", "fail"),
        ("user:abe", "ada", "ok"),
        ("cli", "abe", "fail"),
        ("user:ada", "abe", "ok"),
    ]
    failure = _audit(engine, "user.disable")[0]
    assert "your own account" in failure.detail["error"]


def test_a_refused_change_leaves_nothing_but_its_audit_row(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        before = conn.execute(sa.select(schema.users.c.name, schema.users.c.disabled)).all()
    with pytest.raises(auth.NotFound):  # noqa: SIM117
        with auth.audited(engine, "token.revoke", "nope", actor="cli", remote="r") as conn:
            auth.revoke_token(conn, "nope", actor="cli")
    with engine.connect() as conn:
        after = conn.execute(sa.select(schema.users.c.name, schema.users.c.disabled)).all()
    assert before == after
    [row] = _audit(engine, "token.revoke")
    assert (row.actor, row.subject, row.outcome, row.remote) == ("cli", "nope", "fail", "r")
    assert row.detail == {"error": "no API token named 'nope'"}


async def test_a_revoked_token_gets_401_from_its_next_request(
    engine: sa.Engine, tmp_path: Path
) -> None:
    app = _app(engine, tmp_path)
    with engine.begin() as conn:
        token = auth.add_token(conn, "siem", "viewer", actor="user:ada")
        other = auth.add_token(conn, "ci", "operator")
    headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
    async with _client(app) as client:
        assert (await client.get("/api/v1/fleet", headers=headers)).status_code == 200
        with engine.begin() as conn:
            revoked = auth.revoke_token(conn, "siem", actor="user:ada")
        assert revoked.revoked
        assert revoked.last_used is not None  # the request above
        assert (await client.get("/api/v1/fleet", headers=headers)).status_code == 401
        still = {"authorization": f"Bearer {other}", "accept": "application/json"}
        assert (await client.get("/api/v1/fleet", headers=still)).status_code == 200
    with engine.begin() as conn:  # again: no error, and the record says it was already
        auth.revoke_token(conn, "siem", actor="cli")
    rows = [(r.actor, r.subject, r.outcome, r.detail) for r in _audit(engine, "token.revoke")]
    assert rows == [
        ("user:ada", "siem", "ok", {"already": False}),
        ("cli", "siem", "ok", {"already": True}),
    ]


def test_token_list_says_everything_but_the_secret(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        siem = auth.add_token(conn, "siem", "viewer", actor="user:ada")
        auth.add_token(conn, "ci", "operator")
        auth.revoke_token(conn, "ci", actor="cli")
    with engine.connect() as conn:
        tokens = auth.list_tokens(conn)
        hashes = conn.execute(sa.select(schema.api_tokens.c.token_hash)).scalars().all()
    assert [(x.name, x.role, x.revoked, x.created_by) for x in tokens] == [
        ("ci", "operator", True, "cli"),
        ("siem", "viewer", False, "user:ada"),
    ]
    assert tokens[1].prefix == siem[:10]
    assert tokens[1].created.tzinfo is not None
    assert tokens[1].last_used is None
    shown = repr(tokens)
    assert siem not in shown
    assert not any(h in shown for h in hashes)
    assert not any(f.startswith(("token_hash", "hash")) for f in auth.TokenRow.__slots__)


def test_a_token_name_is_1_to_128_characters(engine: sa.Engine) -> None:
    for name in ("", "x" * 129):
        with engine.begin() as conn, pytest.raises(ValueError, match="1 to 128"):
            auth.add_token(conn, name, "viewer")
    with engine.begin() as conn:
        assert re.fullmatch(r"shs_[\w-]{43}", auth.add_token(conn, "x" * 128, "viewer"))
