"""Taking access away on the dashboard's users page (scanner/service/pages.py,
templates/users.html) through the real application (httpx ASGITransport, logged-in
sessions): disable and enable buttons, the API tokens table with revoke buttons, a new
token's value shown exactly once; an admin only, the CSRF token on every form, each change
and each refusal audited, the words in English and Japanese, names escaped."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa

from scanner.service import auth
from scanner.service import schema as t
from scanner.service.app import create_app
from scanner.service.config import ServiceConfig
from scanner.service.dashboard_text import TEXT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

PASSWORD = "correct horse battery"  # a test account's
HOSTILE_TOKEN = '<img src=x onerror=alert(3)>"'


@pytest.fixture
async def make_client(engine: sa.Engine, tmp_path: Path) -> AsyncIterator[Any]:
    with engine.begin() as conn:
        for name, role in (("ada", "admin"), ("oscar", "operator"), ("vera", "viewer")):
            auth.add_user(conn, name, role, PASSWORD)
        auth.add_token(conn, HOSTILE_TOKEN, "viewer")
    url = engine.url.render_as_string(hide_password=False)
    config = ServiceConfig(db_url=url, data_dir=tmp_path / "data", listen="127.0.0.1:0")
    app = create_app(config, engine=engine)
    clients: list[httpx.AsyncClient] = []

    async def make(name: str, lang: str = "en") -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"accept": "text/html"},
        )
        clients.append(client)
        r = await client.post("/login", data={"username": name, "password": PASSWORD})
        assert r.status_code == 303, r.text
        if lang != "en":
            token = await csrf_of(client)
            r = await client.post("/lang", data={"csrf": token, "lang": lang, "next": "/"})
            assert r.status_code == 303
        return client

    yield make
    for client in clients:
        await client.aclose()


async def csrf_of(client: httpx.AsyncClient, path: str = "/") -> str:
    r = await client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert found, r.text[:500]
    return found.group(1)


def user_id(engine: sa.Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(t.users.c.id).where(t.users.c.name == name)).scalar_one())


def audit_rows(engine: sa.Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(t.audit_log)
                .where(t.audit_log.c.action == action)
                .order_by(t.audit_log.c.id)
            )
        )


def disabled(engine: sa.Engine, name: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(sa.select(t.users.c.disabled).where(t.users.c.name == name)).scalar_one()
        )


async def test_admin_disables_a_user_whose_session_ends_at_once_then_enables(
    make_client: Any, engine: sa.Engine
) -> None:
    oscar = await make_client("oscar")
    assert (await oscar.get("/schedules")).status_code == 200
    ada = await make_client("ada")
    page = (await ada.get("/users")).text
    oid = user_id(engine, "oscar")
    assert f'action="/users/{oid}/disable"' in page
    assert f'action="/users/{user_id(engine, "ada")}/disable"' not in page  # not oneself
    token = await csrf_of(ada, "/users")
    r = await ada.post(f"/users/{oid}/disable", data={"csrf": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/users"
    assert disabled(engine, "oscar")
    gone = await oscar.get("/schedules")  # the live session is over
    assert gone.status_code == 303
    assert gone.headers["location"] == "/login"
    login = await oscar.post("/login", data={"username": "oscar", "password": PASSWORD})
    assert login.status_code == 401
    page = (await ada.get("/users")).text
    assert f'action="/users/{oid}/enable"' in page
    assert f'action="/users/{oid}/disable"' not in page
    r = await ada.post(f"/users/{oid}/enable", data={"csrf": token})
    assert r.status_code == 303
    assert not disabled(engine, "oscar")
    login = await oscar.post("/login", data={"username": "oscar", "password": PASSWORD})
    assert login.status_code == 303
    [off] = audit_rows(engine, "user.disable")
    assert (off.actor, off.subject, off.outcome) == ("user:ada", "oscar", "ok")
    assert off.detail["sessions_ended"] == 1
    [on] = audit_rows(engine, "user.enable")
    assert (on.actor, on.subject, on.outcome) == ("user:ada", "oscar", "ok")


async def test_oneself_and_an_unknown_user_are_refused_in_the_pages_language(
    make_client: Any, engine: sa.Engine
) -> None:
    ada = await make_client("ada", "ja")
    token = await csrf_of(ada, "/users")
    r = await ada.post(f"/users/{user_id(engine, 'ada')}/disable", data={"csrf": token})
    assert r.status_code == 409
    assert "自分自身のアカウント（ada）は無効化できません" in r.text
    r = await ada.post("/users/999/disable", data={"csrf": token})
    assert r.status_code == 404
    assert "該当するユーザーがありません" in r.text
    r = await ada.post("/users/999/enable", data={"csrf": token})
    assert r.status_code == 404
    assert not disabled(engine, "ada")
    assert (await ada.get("/users")).status_code == 200  # still in
    rows = [(a.actor, a.subject, a.outcome) for a in audit_rows(engine, "user.disable")]
    assert rows == [("user:ada", "ada", "fail"), ("user:ada", "999", "fail")]
    [row] = audit_rows(engine, "user.enable")
    assert (row.subject, row.outcome) == ("999", "fail")


async def test_a_new_tokens_value_is_shown_exactly_once_and_revoking_ends_it(
    make_client: Any, engine: sa.Engine
) -> None:
    ada = await make_client("ada")
    token = await csrf_of(ada, "/users")
    r = await ada.post("/tokens", data={"csrf": token, "name": "siem", "role": "viewer"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    values = re.findall(r"shs_[A-Za-z0-9_-]{43}", r.text)
    assert len(values) == 1  # shown once, on this answer only
    value = values[0]
    assert "API token siem issued" in r.text
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(t.api_tokens.c.token_hash).where(t.api_tokens.c.name == "siem")
        ).scalar_one()
    assert stored == auth.digest(value)
    later = (await ada.get("/users")).text
    assert value not in later
    assert value[:10] in later  # the prefix tells it apart
    assert "siem" in later
    # a bearer token outranks the session cookie the client also sends
    api = {"authorization": f"Bearer {value}", "accept": "application/json"}
    assert (await ada.get("/api/v1/fleet", headers=api)).status_code == 200
    r = await ada.post("/tokens/revoke", data={"csrf": token, "name": "siem"})
    assert r.status_code == 303
    assert (await ada.get("/api/v1/fleet", headers=api)).status_code == 401
    later = (await ada.get("/users")).text
    assert "revoked" in later
    # the same name again, an empty one, an unknown one to revoke
    r = await ada.post("/tokens", data={"csrf": token, "name": "siem", "role": "viewer"})
    assert r.status_code == 409
    assert "An API token named siem exists already" in r.text
    assert not re.search(r"shs_[A-Za-z0-9_-]{43}", r.text)
    r = await ada.post("/tokens", data={"csrf": token, "name": " ", "role": "viewer"})
    assert r.status_code == 400
    r = await ada.post("/tokens", data={"csrf": token, "name": "x", "role": "root"})
    assert r.status_code == 400
    r = await ada.post("/tokens/revoke", data={"csrf": token, "name": "nope"})
    assert r.status_code == 404
    assert "No API token named nope" in r.text
    adds = [(a.actor, a.subject, a.outcome) for a in audit_rows(engine, "token.add")]
    assert adds[1:] == [
        ("user:ada", "siem", "ok"),
        ("user:ada", "siem", "fail"),
        ("user:ada", "", "fail"),
        ("user:ada", "x", "fail"),
    ]
    revokes = [(a.actor, a.subject, a.outcome) for a in audit_rows(engine, "token.revoke")]
    assert revokes == [("user:ada", "siem", "ok"), ("user:ada", "nope", "fail")]
    assert value not in str([dict(a._mapping) for a in audit_rows(engine, "token.add")])


async def test_a_token_name_is_escaped_and_revoked_by_its_exact_name(
    make_client: Any, engine: sa.Engine
) -> None:
    ada = await make_client("ada")
    page = (await ada.get("/users")).text
    assert HOSTILE_TOKEN not in page
    assert "&lt;img src=x onerror=alert(3)&gt;&#34;" in page
    token = await csrf_of(ada, "/users")
    r = await ada.post("/tokens/revoke", data={"csrf": token, "name": HOSTILE_TOKEN})
    assert r.status_code == 303
    with engine.connect() as conn:
        assert conn.execute(
            sa.select(t.api_tokens.c.revoked).where(t.api_tokens.c.name == HOSTILE_TOKEN)
        ).scalar_one()
    page = (await ada.get("/users")).text
    assert 'action="/tokens/revoke"' not in page  # nothing left to revoke


async def test_only_an_admin_with_the_csrf_token_changes_access(
    make_client: Any, engine: sa.Engine
) -> None:
    vid = user_id(engine, "vera")
    posts: tuple[tuple[str, dict[str, str]], ...] = (
        (f"/users/{vid}/disable", {}),
        (f"/users/{vid}/enable", {}),
        ("/tokens", {"name": "mine", "role": "admin"}),
        ("/tokens/revoke", {"name": HOSTILE_TOKEN}),
    )
    for who in ("vera", "oscar"):
        client = await make_client(who)
        assert (await client.get("/users")).status_code == 403, who
        token = await csrf_of(client)
        for path, form in posts:
            r = await client.post(path, data={"csrf": token, **form})
            assert r.status_code == 403, (who, path)
    ada = await make_client("ada")
    token = await csrf_of(ada, "/users")
    for path, form in posts:
        assert (await ada.post(path, data=form)).status_code == 403, path  # no csrf
        wrong = {"csrf": "x" * 43, **form}
        assert (await ada.post(path, data=wrong)).status_code == 403, path
    assert not disabled(engine, "vera")
    with engine.connect() as conn:
        tokens = conn.execute(sa.select(t.api_tokens.c.name, t.api_tokens.c.revoked)).all()
    assert [tuple(row) for row in tokens] == [(HOSTILE_TOKEN, False)]
    assert token  # the admin's own token was never sent above


async def test_the_japanese_page_speaks_of_disabling_and_revoking(
    make_client: Any, engine: sa.Engine
) -> None:
    with engine.begin() as conn:
        auth.disable_user(conn, "vera", actor="cli")
        auth.add_token(conn, "ci", "operator", actor="user:ada")
        auth.revoke_token(conn, "ci", actor="user:ada")
    ada = await make_client("ada", "ja")
    page = (await ada.get("/users")).text
    for words in ("無効化", "有効化", "失効", "失効済み", "APIトークン", "APIトークンの発行",
                  "発行者", "最終使用日時", "未使用", "ユーザー無効化", "APIトークン失効",
                  "ログイン中のセッションは直ちに終了"):  # fmt: skip
        assert words in page, words
    text = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"\b(?:users|col|action|role)\.[a-z_]+", text)
    for tag in re.findall(r"<[a-zA-Z][^<>]*>", page):  # attribute names, not values
        assert not re.search(r"\s(?:style|on[a-z]+)=", re.sub(r'"[^"]*"', '""', tag)), tag
    assert "<script" not in page
    assert "<style" not in page
    token = await csrf_of(ada, "/users")
    r = await ada.post("/tokens", data={"csrf": token, "name": "siem", "role": "viewer"})
    assert "APIトークン siem を発行しました" in r.text
    assert "閲覧者" in r.text
    for key in ("users.token_created", "users.refused_self", "users.refused_last_admin",
                "users.tokens_note", "action.token.revoke", "action.user.enable"):  # fmt: skip
        assert set(TEXT[key]) == {"en", "ja"}, key
