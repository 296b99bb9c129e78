"""HTTP logins replayed in the shape a web application's own script used (LOGIN_SURFACES):
JSON with nested fields and fixed extra fields, OAuth2 password grant, form-encoded, an
Authorization header sent by script, and an XSRF token taken from the app's cookie.

Addresses: 127.0.75.0/24.
"""

from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qs

import pytest

from probes._login import http as login_http
from scanner.credentials import Credential, Outcome
from scanner.facts import LoginSurface
from scanner.net import DeviceNetwork, Limits, Network
from scanner.scope import Scope
from tests.unit.login.test_http_login import Req, Resp, serving

_ADDRESSES = itertools.cycle(range(10, 250))
SCOPE = Scope.of(["127.0.75.0/24"])
RIGHT = Credential("admin", "S3cret!pw", "test")
WRONG = Credential("admin", "wrong-pw", "test")
JSON = [("Content-Type", "application/json")]
SPA = "<html><body><div id='app'></div><script src='/app.js'></script></body></html>"


@pytest.fixture
def address() -> str:
    return f"127.0.75.{next(_ADDRESSES)}"


def device(address: str) -> DeviceNetwork:
    return Network(SCOPE, Limits(per_device=2)).device(address)


def surface(srv_url: str, **kw: object) -> LoginSurface:
    from scanner.model import Service

    base = {
        "service": Service("tcp", int(srv_url.rsplit(":", 1)[1]), "http"),
        "page_url": f"{srv_url}/",
        "url": f"{srv_url}/auth/token",
        "method": "POST",
        "content_type": "application/json",
        "username_field": "username",
        "password_field": "password",
    }
    base.update(kw)
    return LoginSurface(**base)  # type: ignore[arg-type]


async def test_oauth2_password_grant_form_encoded(address: str) -> None:
    """Node-RED's shape: form-encoded grant_type/client_id/scope with the credentials;
    a wrong login gets 403 {"error": "unauthorized"}, the right one an access token."""
    bodies: list[dict[str, list[str]]] = []

    def handle(req: Req) -> Resp:
        if req.method == "GET":
            return Resp(200, SPA)
        form = parse_qs(req.body.decode())
        bodies.append(form)
        fixed = form.get("client_id") == ["node-red-admin"] and form.get("grant_type") == [
            "password"
        ]
        if fixed and form.get("username") == ["admin"] and form.get("password") == ["S3cret!pw"]:
            return Resp(200, '{"access_token": "abc", "token_type": "Bearer"}', JSON)
        return Resp(403, '{"error": "unauthorized"}', JSON)

    async with serving(handle, address) as srv:
        url = f"http://{address}:{srv.port}"
        rec = surface(
            url,
            content_type="application/x-www-form-urlencoded",
            extra_fields=(
                ("client_id", "node-red-admin"),
                ("grant_type", "password"),
                ("scope", "*"),
            ),
        )
        run = await login_http.try_logins(
            device(address), srv.service, [WRONG, RIGHT], surfaces=[rec]
        )
    assert run.method == "http form POST /auth/token"
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED, Outcome.ACCEPTED]
    assert all(b["scope"] == ["*"] for b in bodies)


async def test_nested_json_and_xsrf_cookie(address: str) -> None:
    """The app sets an XSRF cookie on the page and expects it back in a header; the
    recorded header value is the browser's, so the replay must use this session's."""
    issued = itertools.count()

    def handle(req: Req) -> Resp:
        if req.method == "GET":
            return Resp(200, SPA, [("Set-Cookie", f"XSRF-TOKEN=t{next(issued)}; Path=/")])
        if req.headers.get("x-xsrf-token") != req.cookie("XSRF-TOKEN"):
            return Resp(403, "<p>Invalid CSRF token</p>")
        doc = json.loads(req.body)
        if doc.get("remember") != "1" or "pass" not in doc.get("auth", {}):
            return Resp(400, '{"error": "invalid_request"}', JSON)
        if doc["auth"].get("user") == "admin" and doc["auth"]["pass"] == "S3cret!pw":
            return Resp(200, '{"success": true}', JSON)
        return Resp(401, '{"success": false, "message": "Invalid password"}', JSON)

    async with serving(handle, address) as srv:
        url = f"http://{address}:{srv.port}"
        rec = surface(
            url,
            url=f"{url}/api/login",
            username_field="auth.user",
            password_field="auth.pass",
            extra_fields=(("remember", "1"),),
            headers=(("X-XSRF-TOKEN", "browser-token"),),
        )
        run = await login_http.try_logins(
            device(address), srv.service, [WRONG, RIGHT], surfaces=[rec]
        )
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED, run.control
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED, Outcome.ACCEPTED]


async def test_authorization_header_sent_by_script(address: str) -> None:
    """Cockpit's shape: the script sends Basic credentials to an endpoint that answers
    401 without a WWW-Authenticate challenge (so no browser dialog)."""

    def handle(req: Req) -> Resp:
        if req.method == "GET" and req.path == "/":
            return Resp(200, SPA)
        if req.headers.get("authorization") == "Basic YWRtaW46UzNjcmV0IXB3":
            return Resp(200, '{"user": "admin"}', JSON)
        return Resp(401, '{"problem": "authentication-failed"}', JSON)

    async with serving(handle, address) as srv:
        url = f"http://{address}:{srv.port}"
        rec = surface(
            url,
            url=f"{url}/login",
            method="GET",
            content_type="",
            username_field="",
            password_field="",
            auth_header="Basic",
        )
        run = await login_http.try_logins(
            device(address), srv.service, [WRONG, RIGHT], surfaces=[rec]
        )
    assert run.method.startswith("http basic header GET /login")
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED, Outcome.ACCEPTED]


async def test_a_recorded_endpoint_that_is_gone_is_unconfirmed(address: str) -> None:
    async with serving(
        lambda req: Resp(200, SPA) if req.method == "GET" else Resp(404, ""), address
    ) as srv:
        rec = surface(f"http://{address}:{srv.port}")
        run = await login_http.try_logins(device(address), srv.service, [RIGHT], surfaces=[rec])
    assert run.attempts == ()
    assert "not a recognised authentication failure" in run.unconfirmed
