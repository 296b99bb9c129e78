"""The running service (`shinsa serve` over TLS on 127.0.91.10, .1N for xdist worker gwN)
seen by a standard HTTP client: login, cookie flags, session rotation, CSRF, idle timeout,
lockout, roles, API tokens, the TLS versions and suites it accepts; and the CLI that refuses
plain HTTP on a network address, adds users and makes tokens."""

from __future__ import annotations

import re
import ssl
import time
import warnings
from typing import TYPE_CHECKING

import httpx
import pytest
import sqlalchemy as sa

from scanner.service import schema
from scanner.service.db import open_db
from tests.service.web_serving import add_token, serve, shinsa, worker_address

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.service.web_serving import Served

ADDRESS = worker_address(10)
PASSWORD = "web-access-password"
IDLE = 3  # seconds: --session-idle


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("web-access")
    users = (
        ("vera", "viewer", PASSWORD),
        ("adam", "admin", PASSWORD),
        ("lock-me", "viewer", PASSWORD),
    )
    with serve(
        folder,
        ADDRESS,
        "--session-idle",
        str(IDLE),
        "--login-failures",
        "3",
        "--login-lock",
        "60",
        users=users,
    ) as s:
        yield s


def _client(s: Served) -> httpx.Client:
    return httpx.Client(
        base_url=s.base_url, verify=ssl.create_default_context(cafile=s.ca), timeout=20
    )


def _login(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/login", data={"username": name, "password": password})


def _csrf(client: httpx.Client) -> str:
    page = client.get("/", follow_redirects=True)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def test_login_cookie_flags_and_headers(served: Served) -> None:
    with _client(served) as client:
        page = client.get("/login")
        assert page.status_code == 200
        assert "server" not in page.headers
        assert page.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert not page.headers.get_list("set-cookie")  # no cookie before the login
        r = _login(client, "vera")
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        flags = {p.strip().lower() for p in cookie.split(";")[1:]}
        assert cookie.startswith("__Host-shinsa=")
        assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags
        home = client.get("/")
        assert home.status_code == 200
        assert home.headers["cache-control"] == "no-store"
        assert "vera" in home.text


def test_session_rotates_at_login_and_old_id_dies(served: Served) -> None:
    with _client(served) as client:
        _login(client, "vera")
        first = client.cookies["__Host-shinsa"]
        _login(client, "vera")
        second = client.cookies["__Host-shinsa"]
        assert first != second
    with _client(served) as stale:
        stale.cookies.set("__Host-shinsa", first)
        r = stale.get("/")
        assert r.status_code == 303
        assert r.headers["location"] == "/login"


def test_csrf_refused_without_the_token(served: Served) -> None:
    with _client(served) as client:
        _login(client, "vera")
        token = _csrf(client)
        refused = client.post("/lang", data={"lang": "ja", "next": "/"})
        assert refused.status_code == 403
        ok = client.post("/lang", data={"lang": "ja", "next": "/", "csrf": token})
        assert ok.status_code == 303
        assert 'lang="ja"' in client.get("/").text
        client.post("/lang", data={"lang": "en", "next": "/", "csrf": token})


def test_idle_session_ends(served: Served) -> None:
    with _client(served) as client:
        _login(client, "vera")
        assert client.get("/").status_code == 200
        time.sleep(IDLE + 1.5)
        r = client.get("/")
        assert r.status_code == 303
        assert r.headers["location"] == "/login"


def test_lockout_after_three_failures(served: Served) -> None:
    with _client(served) as client:
        codes = [_login(client, "lock-me", "wrong-password").status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        locked = _login(client, "lock-me")
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) == 60
        assert "__Host-shinsa" not in client.cookies
        ghost = [_login(client, "no-such-user", "wrong-password").status_code for _ in range(4)]
        assert ghost == [401, 401, 429, 429]  # a name that does not exist locks alike


def test_roles_and_tokens(served: Served) -> None:
    viewer = add_token(served.db_url, "ci-viewer", "viewer")
    admin = add_token(served.db_url, "ci-admin", "admin")
    assert viewer.startswith("shs_")
    with _client(served) as client:
        assert client.get("/api/v1/fleet").status_code == 401
        ok = client.get("/api/v1/fleet", headers={"Authorization": f"Bearer {viewer}"})
        assert ok.status_code == 200
        low = client.get("/api/v1/users", headers={"Authorization": f"Bearer {viewer}"})
        assert low.status_code == 403
        high = client.get("/api/v1/users", headers={"Authorization": f"Bearer {admin}"})
        assert high.status_code == 200
        _login(client, "vera")
        assert client.get("/users").status_code == 403  # a viewer's session: not admin
    with _client(served) as client:
        _login(client, "adam")
        assert client.get("/users").status_code == 200
    engine = open_db(served.db_url)
    try:
        with engine.connect() as conn:
            hashes = conn.execute(sa.select(schema.api_tokens.c.token_hash)).scalars().all()
            actions = set(conn.execute(sa.select(schema.audit_log.c.action)).scalars())
    finally:
        engine.dispose()
    assert viewer not in hashes
    assert len(hashes) == 2
    assert {"login", "user.add", "token.add"} <= actions


def _handshake(s: Served, ctx: ssl.SSLContext) -> str:
    import socket

    with (
        socket.create_connection((s.address, s.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=s.address) as tls,
    ):
        cipher = tls.cipher()
        assert cipher is not None
        return f"{tls.version()} {cipher[0]}"


def test_tls_versions_and_suites(served: Served) -> None:
    modern = ssl.create_default_context(cafile=served.ca)
    assert _handshake(served, modern).startswith("TLSv1.3")
    tls12 = ssl.create_default_context(cafile=served.ca)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    version, suite = _handshake(served, tls12).split()
    assert version == "TLSv1.2"
    assert "GCM" in suite or "CHACHA20" in suite
    cbc = ssl.create_default_context(cafile=served.ca)
    cbc.maximum_version = ssl.TLSVersion.TLSv1_2
    cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256")
    with pytest.raises(ssl.SSLError):
        _handshake(served, cbc)
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cafile=served.ca)
    old.set_ciphers("ALL:@SECLEVEL=0")  # this client offers TLS 1.1: the server must refuse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 on purpose
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError, match=r"(?i)version|protocol"):
        _handshake(served, old)


def test_plain_http_on_a_network_address_is_refused_before_binding(tmp_path: Path) -> None:
    start = time.monotonic()
    done = shinsa("serve", "--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--listen", "0.0.0.0:8443")
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without TLS" in done.stderr
    assert "Uvicorn running" not in done.stderr
    assert time.monotonic() - start < 30
    assert not (tmp_path / "s.sqlite").exists()  # nothing was started, not even the DB


def test_cli_user_and_token(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    no_password = shinsa("user", "add", "x", "--role", "viewer", "--db", db)
    assert no_password.returncode == 2
    assert "SHINSA_PASSWORD" in no_password.stderr
    short = shinsa(
        "user", "add", "x", "--role", "viewer", "--db", db, env={"SHINSA_PASSWORD": "short"}
    )
    assert short.returncode == 2
    good = shinsa(
        "user", "add", "x", "--role", "operator", "--db", db, env={"SHINSA_PASSWORD": PASSWORD}
    )
    assert good.returncode == 0, good.stderr
    again = shinsa(
        "user", "add", "x", "--role", "viewer", "--db", db, env={"SHINSA_PASSWORD": PASSWORD}
    )
    assert again.returncode == 2
    assert "exists already" in again.stderr
    token = shinsa("token", "add", "t1", "--role", "viewer", "--db", db)
    assert token.returncode == 0
    value = token.stdout.strip()
    assert re.fullmatch(r"shs_[A-Za-z0-9_-]{43}", value)
    engine = open_db(db)
    try:
        with engine.connect() as conn:
            user = conn.execute(sa.select(schema.users)).mappings().one()
            row = conn.execute(sa.select(schema.api_tokens)).mappings().one()
    finally:
        engine.dispose()
    assert user["role"] == "operator"
    assert user["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(dict(user))
    assert value not in str(dict(row))
