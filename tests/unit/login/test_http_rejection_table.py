"""A rejection must be proven (issue 10): the judgement table of the HTTP login oracle.

Each row is one way a web login surface answers the random control login. Only recognised
authentication failures confirm the surface; every "nothing here" shape leaves it
unconfirmed, so that no credential is tried and the check can only be inconclusive (never
a pass on a guessed endpoint that answers 404 to everything).

Addresses: 127.0.75.0/24.
"""

from __future__ import annotations

import itertools
import json

import pytest

from probes._login import http as login_http
from scanner.credentials import Credential, Outcome
from scanner.net import DeviceNetwork, Limits, Network
from scanner.scope import Scope
from tests.unit.login.test_http_login import Handler, Req, Resp, login_page, page, serving

_ADDRESSES = itertools.cycle(range(10, 250))
SCOPE = Scope.of(["127.0.75.0/24"])
RIGHT = Credential("admin", "S3cret!pw", "test")
WRONG = Credential("admin", "wrong-pw", "test")
JSON = [("Content-Type", "application/json")]


@pytest.fixture
def address() -> str:
    return f"127.0.75.{next(_ADDRESSES)}"


def device(address: str) -> DeviceNetwork:
    return Network(SCOPE, Limits(per_device=2)).device(address)


def form_app(post: Resp) -> Handler:
    """A login form on / whose POST always answers `post` (RIGHT included)."""

    def handle(req: Req) -> Resp:
        return Resp(200, login_page()) if req.method == "GET" else post

    return handle


def script_app(post: Resp) -> Handler:
    """A page without a form whose script posts JSON to /api/login."""

    def handle(req: Req) -> Resp:
        if req.method == "GET":
            return Resp(200, "<script>fetch('/api/login', {method: 'POST'})</script>")
        return post

    return handle


NOT_REJECTIONS = {
    "404 to the login request": Resp(404, page("Not Found", "<h1>404</h1>")),
    "405 to the login request": Resp(405, page("Method Not Allowed", "")),
    "400 without a credential error": Resp(400, page("Bad Request", "<p>bad request</p>")),
    "501 to the login request": Resp(501, page("Not Implemented", "")),
    "500 server error": Resp(500, page("Error", "<p>internal error</p>")),
    "an error page with no login element": Resp(200, page("Oops", "<p>Something broke</p>")),
    "a refused request token": Resp(403, page("Forbidden", "<p>Invalid CSRF token</p>")),
    "a 400 JSON error about the request": Resp(400, '{"error": "invalid_client"}', JSON),
}

REJECTIONS = {
    "401": (Resp(401, page("Unauthorized", "")), "HTTP 401"),
    "403": (Resp(403, page("Forbidden", "")), "HTTP 403"),
    "a failure message": (Resp(200, page("Login", "<p>Invalid password</p>")), "failure message"),
    "the login form again": (Resp(200, login_page()), "login form shown again"),
    "a redirect back to the login page": (
        Resp(302, "", [("Location", "/")]),
        "redirect back to the login page",
    ),
}


@pytest.mark.parametrize("shape", sorted(NOT_REJECTIONS))
async def test_form_surface_not_confirmed(address: str, shape: str) -> None:
    async with serving(form_app(NOT_REJECTIONS[shape]), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert run.control is not None
    assert run.control.outcome is not Outcome.REJECTED
    assert run.attempts == ()  # nothing tried: no answer could be read as a rejection
    if run.control.outcome is Outcome.ERROR:
        assert "not a recognised authentication failure" in run.unconfirmed


@pytest.mark.parametrize("shape", sorted(NOT_REJECTIONS))
async def test_script_surface_not_confirmed(address: str, shape: str) -> None:
    async with serving(script_app(NOT_REJECTIONS[shape]), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert run.control is not None
    assert run.control.outcome is Outcome.ERROR
    assert run.unconfirmed
    assert run.attempts == ()


@pytest.mark.parametrize("shape", sorted(REJECTIONS))
async def test_recognised_rejection_confirms_the_form(address: str, shape: str) -> None:
    answer, sign = REJECTIONS[shape]
    async with serving(form_app(answer), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG])
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED, run.control.detail
    assert sign in run.control.detail
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED]
    assert run.unconfirmed == ""


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, "invalid_grant"), (401, "unauthorized"), (403, "bad credentials"), (200, "x")],
)
async def test_json_credential_errors_are_rejections(address: str, status: int, error: str) -> None:
    body = json.dumps({"error": error, "error_description": "Invalid username or password"})
    async with serving(script_app(Resp(status, body, JSON)), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG])
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED, run.control.detail
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED]


async def test_an_attempt_unlike_the_control_is_no_rejection(address: str) -> None:
    """The control got 401; a later attempt got 404 (the endpoint vanished, a proxy
    answered): that attempt proves nothing about its credential."""
    posts = 0

    def handle(req: Req) -> Resp:
        nonlocal posts
        if req.method == "GET":
            return Resp(200, login_page())
        posts += 1
        return Resp(401, page("Unauthorized", "")) if posts == 1 else Resp(404, "")

    async with serving(handle, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG])
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert [a.outcome for a in run.attempts] == [Outcome.ERROR]
    assert "not the control's rejection" in run.attempts[0].detail


async def test_a_form_whose_password_has_no_name_is_never_submitted(address: str) -> None:
    """OctoPrint's page: a <form> whose inputs have no names, sent by script. Submitting it
    as a form sends `?=password` and gets the page again, which would read as a rejection of
    every candidate: there is no surface until the script's request is known."""
    unnamed = page(
        "Login",
        "<form action='/login/'><input type='text'><input type='password'></form>",
    )

    async with serving(lambda req: Resp(200, unnamed), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert run.attempts == ()
    assert run.control is None
    assert "has no name" in run.note
    assert run.unconfirmed == run.note  # a login exists: inconclusive, never not_applicable
    assert all("?" not in r.path and not r.query for r in srv.requests)


async def test_the_login_form_again_with_another_status_is_no_login(address: str) -> None:
    """DokuWiki: a wrong login gets 403 and the form; an empty user name gets 200 and the
    form (the app never tried it). The second is no success and no proof of anything new,
    but it is the login refused: REJECTED, never ACCEPTED."""

    def handle(req: Req) -> Resp:
        if req.method == "GET":
            return Resp(200, login_page())
        if not req.form().get("username"):
            return Resp(200, login_page())
        return Resp(403, login_page(message="Sorry, username or password was wrong."))

    async with serving(handle, address) as srv:
        run = await login_http.try_logins(
            device(address), srv.service, [Credential("", "password"), WRONG]
        )
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED, Outcome.REJECTED]
