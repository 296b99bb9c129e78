"""HTTP logins for the default-credentials probe: Basic, Digest, HTML forms and JSON APIs.

Which surface is tried follows what the service shows: a `WWW-Authenticate` challenge
(Basic, RFC 7617; Digest, RFC 7616), else a login form (fetched afresh for every attempt,
so one-time CSRF tokens and pre-login cookies are always current), else a JSON login
endpoint named in the page's script.

The success oracle is relative: before any real credential, one random login
(`shinsa-<hex>`) is tried and its answer kept. A real credential counts as accepted only
when its answer differs from that control's in a way that means "logged in" (see
`judge_attempt`). When the control itself looks logged in, no answer can be trusted: the run
stops with the control marked ACCEPTED and no attempts, and the probe says inconclusive.

Safety: every request goes through `DeviceNetwork.http` (scope, one device permit per
request, no automatic redirects); redirects are followed only while they stay on the
device; bodies are read to `MAX_BODY`; a password is never part of a detail, a note or an
exception we raise (details are built from statuses, paths and cookie names, and scrubbed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, quote_plus, urlsplit

import httpx

from probes._login.common import BACKOFF, PACE, Pace, Scheduler, run_workers, scrub
from probes._login.digest import DigestChallenge, best_digest, parse_challenges
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.errors import ScopeError
from scanner.fingerprint.http import login_forms
from scanner.http_exchange import (
    MAX_BODY,
    Answer,
    Chain,
    Throttled,
    exchange,
    follow,
    set_cookies,
    short_url,
)
from scanner.http_location import describe_failure
from scanner.model import bound_text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from scanner.facts import HttpPage, LoginForm, LoginSurface
    from scanner.model import Service
    from scanner.net import DeviceNetwork

#: A Retry-After longer than this is not waited for: the attempt is THROTTLED at once.
MAX_RETRY_AFTER = 10.0
#: Wait before the one retry after a 429/503 that names no Retry-After.
DEFAULT_THROTTLE_WAIT = 1.0
#: External scripts read while looking for a JSON login endpoint.
MAX_SCRIPTS = 4
MAX_DETAIL = 300

_DROPS = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)

_PASSWORD_INPUT = re.compile(rb"<input\b[^>]*\btype\s*=\s*[\"']?password\b", re.IGNORECASE)
_FAILURE = re.compile(
    rb"login failed|log-in failed|logon failed|sign-?in failed|authentication failed"
    rb"|(?:invalid|incorrect|wrong|bad) (?:user ?name|user|password|credentials|login)"
    rb"|access denied|not authori[sz]ed|login error|unauthori[sz]ed",
    re.IGNORECASE,
)
#: A refused request token says nothing about the password: every attempt would get it.
_CSRF_FAILURE = re.compile(
    rb"(?:invalid|missing|bad|expired)[ _-]*(?:csrf|xsrf|request token|form token)"
    rb"|(?:csrf|xsrf)[ _-]*(?:token )?(?:invalid|missing|mismatch|failed|verification)",
    re.IGNORECASE,
)
#: OAuth2 and common JSON APIs: error codes that name the credentials themselves. Others
#: (invalid_client, unsupported_grant_type, invalid_request) say the request was wrong.
_CREDENTIAL_ERRORS = frozenset(
    {
        "invalid_grant",
        "invalid_credentials",
        "invalid_password",
        "invalid_user",
        "access_denied",
        "unauthorized",
        "unauthorised",
        "authentication_failed",
        "auth_failed",
        "login_failed",
        "bad_credentials",
        "wrong_password",
    }
)
_LOCKED = re.compile(
    rb"(?<![a-z])locked(?![a-z])(?!\s+after)|too many (?:[a-z]+ ){0,2}(?:attempts|tries|failures)",
    re.IGNORECASE,
)
_JSON_ENDPOINT = re.compile(
    r"""(?:fetch|axios(?:\.post)?|\$\.post|\$\.ajax|\.open\(\s*["']POST["']\s*,)\s*\(?\s*"""
    r"""["'`]([^"'`\s<>]{1,512})["'`]|\burl\s*:\s*["'`]([^"'`\s<>]{1,512})["'`]""",
    re.IGNORECASE,
)
_LOGIN_WORDS = re.compile(r"log_?in|logon|sign_?in|auth|session", re.IGNORECASE)
_SCRIPT_SRC = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]{1,512})""", re.IGNORECASE)
_SUCCESS_KEYS = frozenset({"ok", "success", "succeeded", "authenticated", "logged_in", "loggedin"})
#: JSON keys whose value is a session token: a login answer carrying one is a login.
TOKEN_KEYS = frozenset({"token", "access_token", "accesstoken", "jwt", "sessionid", "session_id"})
_STATUS_KEYS = frozenset({"status", "result", "state"})
_ERROR_KEYS = frozenset({"error", "err", "errors", "error_code", "errcode"})


# --- what an answer looked like ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """The parts of an answer the oracle compares; no body, no credential."""

    status: int
    final_status: int
    location: str = ""
    offsite: str = ""
    login_location: bool = False  # the redirect points back at the login page
    cookies: frozenset[str] = frozenset()
    password_form: bool = False  # the final page still shows a password input
    failure: bool = False  # "login failed", "invalid password", ...
    locked: bool = False  # "locked", "too many attempts"
    json_ok: bool | None = None  # True: success/token; False: an error; None: no JSON verdict
    json_error: str = ""  # the JSON answer's error code or message, bounded
    csrf_failure: bool = False  # "invalid CSRF token" and the like: the request was refused
    latency: float = 0.0

    def describe(self) -> str:
        parts = [f"HTTP {self.status}"]
        if self.location:
            parts.append(f"to {self.location}")
        if self.offsite:
            parts.append(f"(redirect to {self.offsite} leaves the device; not followed)")
        elif self.final_status != self.status:
            parts.append(f"then HTTP {self.final_status}")
        if self.cookies:
            parts.append("cookie " + ",".join(sorted(self.cookies)))
        if self.password_form:
            parts.append("login form shown")
        if self.json_ok is not None:
            parts.append("JSON success" if self.json_ok else "JSON error")
        if self.locked:
            parts.append("lock message")
        elif self.failure:
            parts.append("failure message")
        return " ".join(parts)


def _seen(
    chain: Chain,
    latency: float,
    *,
    login_paths: frozenset[str] = frozenset(),
    before: frozenset[tuple[str, str]] = frozenset(),
    json_answer: bool = False,
) -> Seen:
    bodies = chain.bodies
    return Seen(
        status=chain.first.status,
        final_status=chain.final.status,
        location=chain.location,
        offsite=chain.offsite,
        login_location=bool(chain.location) and chain.location in login_paths,
        cookies=_new_cookies(chain, before),
        password_form=_PASSWORD_INPUT.search(chain.final.body) is not None,
        failure=any(_FAILURE.search(b) for b in bodies),
        locked=any(_LOCKED.search(b) for b in bodies),
        json_ok=_json_verdict(chain.first.body) if json_answer else None,
        json_error=_json_error(chain.first.body) if json_answer else "",
        csrf_failure=any(_CSRF_FAILURE.search(b) for b in bodies),
        latency=latency,
    )


def _new_cookies(chain: Chain, before: frozenset[tuple[str, str]]) -> frozenset[str]:
    """Names of cookies the login set: new names anywhere along the chain, and pre-login
    names the login answer itself set to a new value (a session ID rotated at login; pages
    after the redirect handing out a fresh pre-login value do not count)."""
    known = {name for name, _ in before}
    fresh = {name for name, _ in chain.cookies if name not in known}
    rotated = {name for name, _ in set_cookies(chain.first.headers) - before}
    return frozenset(fresh | rotated)


def _json_verdict(body: bytes) -> bool | None:
    try:
        doc = json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError):  # `[[[[…` past Python's depth
        return None
    verdicts = [_json_dict_verdict(doc)] if isinstance(doc, dict) else []
    if isinstance(doc, dict):
        for key in ("data", "result", "response"):
            inner = doc.get(key)
            if isinstance(inner, dict):
                verdicts.append(_json_dict_verdict(inner))
    if False in verdicts:
        return False
    return True if True in verdicts else None


def _json_error(body: bytes) -> str:
    """The error code or message of a JSON answer (OAuth2 `error`, `message`...), lower
    case and bounded; "" when there is none."""
    try:
        doc = json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError):  # `[[[[…` past Python's depth
        return ""
    if not isinstance(doc, dict):
        return ""
    for key in ("error", "error_code", "errcode", "code", "message", "msg", "detail"):
        value = doc.get(key)
        if isinstance(value, dict):
            value = value.get("code") or value.get("message")
        if isinstance(value, str) and value.strip():
            return bound_text(value.strip().lower(), 80)
    return ""


def rejection_signs(seen: Seen) -> tuple[str, ...]:
    """What in an answer is a recognised authentication failure, as opposed to "nothing
    here": 401/403, a failure message, a JSON error about the credentials, the login form
    shown again, a redirect back to the login page. A 404/405/400/501, a server error, a
    refused request token, a page without any login element or a redirect elsewhere are
    none of these (issue 10: a rejection must be proven)."""
    if seen.status in (404, 405, 501) or seen.status >= 500 or seen.csrf_failure:
        return ()
    signs: list[str] = []
    if seen.status in (401, 403):
        signs.append(f"HTTP {seen.status}")
    if seen.failure:
        signs.append("failure message")
    if seen.json_ok is False and (
        seen.status != 400
        or seen.json_error.replace(" ", "_") in _CREDENTIAL_ERRORS
        or _FAILURE.search(seen.json_error.encode()) is not None
    ):
        signs.append(f"JSON error {seen.json_error}" if seen.json_error else "JSON error")
    if seen.status < 400 and seen.final_status == 200 and seen.password_form:
        signs.append("login form shown again")
    if seen.login_location and not seen.offsite:
        signs.append("redirect back to the login page")
    return tuple(signs)


def _json_dict_verdict(doc: dict[str, object]) -> bool | None:
    success = failure = False
    for raw_key, value in list(doc.items())[:64]:
        key = str(raw_key).lower()
        if key in _SUCCESS_KEYS and isinstance(value, bool | int):
            success |= bool(value)
            failure |= not value
        elif key in TOKEN_KEYS and isinstance(value, str) and value:
            success = True
        elif key in _STATUS_KEYS and isinstance(value, str):
            word = value.lower()
            success |= word in ("ok", "success", "succeeded", "authenticated")
            failure |= word in ("error", "fail", "failed", "failure", "denied", "unauthorized")
        elif key in _ERROR_KEYS and value not in (None, "", 0, False, [], {}):
            failure = True
    if failure:
        return False
    return True if success else None


# --- the oracle ---------------------------------------------------------------------------


def _empty_field(
    cred: Credential, seen: Seen, outcome: Outcome, detail: str
) -> tuple[Outcome, str]:
    """An app that answers an empty user name or password with 400/422 (Node-RED's token
    endpoint: "invalid_request") refuses the request before any login: a login with that
    field empty cannot succeed on it, so the candidate is answered (REJECTED, saying why),
    not an error that would stop the list. The control, with both fields set, already got
    a recognised rejection, or no candidate would be tried."""
    empty = "user name" if not cred.username else "password" if not cred.password else ""
    if outcome is Outcome.ERROR and empty and seen.status in (400, 422):
        return (
            Outcome.REJECTED,
            f"HTTP {seen.status}: the app refuses an empty {empty} as an invalid request, so "
            "a login with none cannot succeed here",
        )
    return outcome, detail


def judge_attempt(seen: Seen, control: Seen, *, challenge: bool) -> tuple[Outcome, str]:
    """One real attempt against the control's answer. REJECTED only when the answer is a
    recognised authentication failure shaped like the control's; any other answer that is
    not a login is ERROR (it proves nothing about the credential)."""
    against = f"(random login: {control.describe()})"
    if challenge:  # Basic / Digest: the status is the oracle
        if 200 <= seen.status < 400:
            return Outcome.ACCEPTED, f"{seen.describe()} (random login: HTTP {control.status})"
        if seen.locked and not control.locked:
            return Outcome.LOCKED, seen.describe()
        if seen.status == 401:
            return Outcome.REJECTED, seen.describe()
        return Outcome.ERROR, f"{seen.describe()} {against}"
    if seen.locked and not control.locked:
        return Outcome.LOCKED, seen.describe()
    signals: list[str] = []
    if 200 <= seen.status < 400 and control.status in (401, 403) and not seen.password_form:
        # (The login form again, only with another status, is the app refusing to try:
        # DokuWiki answers an empty user name with 200 and the form, a wrong login with 403.)
        signals.append(f"HTTP {seen.status} where the random login got {control.status}")
    if (
        seen.location
        and seen.location != control.location
        and not seen.login_location
        and (seen.offsite or not seen.password_form)
    ):
        where = " (leaves the device; not followed)" if seen.offsite else ""
        signals.append(f"redirect to {seen.location}{where}")
    new_cookies = seen.cookies - control.cookies
    if new_cookies:
        signals.append("new cookie " + ",".join(sorted(new_cookies)))
    if control.password_form and not seen.password_form and 200 <= seen.final_status < 300:
        signals.append("login form gone")
    if seen.json_ok and not control.json_ok:
        signals.append("JSON success")
    ok = seen.status < 400 and seen.final_status < 400 and not seen.failure
    if signals and ok:
        return Outcome.ACCEPTED, f"{'; '.join(signals)} {against}"
    signs = rejection_signs(seen)
    same_shape = (
        seen.status == control.status
        or {seen.status, control.status} <= {401, 403}
        or (seen.password_form and control.password_form and seen.status < 500)
    )
    if signs and same_shape:
        return Outcome.REJECTED, f"{seen.describe()} ({', '.join(signs)})"
    return Outcome.ERROR, f"{seen.describe()}: not the control's rejection {against}"


def judge_control(seen: Seen, baseline_locked: bool, *, challenge: bool) -> tuple[Outcome, str]:
    """The random login on its own: does it look logged in, and is its refusal a recognised
    authentication failure? ERROR when it is not: the surface is then unconfirmed, and no
    answer to a real credential could be read as a rejection."""
    if challenge:
        if 200 <= seen.status < 400:
            return Outcome.ACCEPTED, f"{seen.describe()} to a random login: no oracle"
        if seen.status == 401:
            return Outcome.REJECTED, seen.describe()
        return Outcome.ERROR, f"{seen.describe()} where 401 was expected"
    if seen.locked and not baseline_locked:
        return Outcome.LOCKED, seen.describe()
    looks_in = (
        bool(seen.cookies)
        or bool(seen.json_ok)
        or (bool(seen.location) and not seen.login_location and not seen.password_form)
    )
    if looks_in and seen.status < 400 and seen.final_status < 400 and not seen.failure:
        return Outcome.ACCEPTED, f"{seen.describe()} to a random login: no oracle"
    signs = rejection_signs(seen)
    if signs:
        return Outcome.REJECTED, f"{seen.describe()} ({', '.join(signs)})"
    why = " (a refused request token)" if seen.csrf_failure else ""
    return Outcome.ERROR, f"{seen.describe()}{why}"


# --- the surfaces ---------------------------------------------------------------------------


class Surface(Protocol):
    """One way in to a web service (challenge, form, JSON, recorded request), as
    `discover_surface` found it; `attempt_login` drives it with the retry policy."""

    method: str
    challenge: bool
    last: tuple[Chain, ...]  # the last attempt's answers: (login page,) login chain

    async def attempt(self, client: httpx.AsyncClient, cred: Credential) -> tuple[Seen, bool]:
        """Try one credential; returns what was seen and whether a lock message was on the
        page before the credentials were sent."""
        ...


def _best_digest(headers: httpx.Headers) -> DigestChallenge | None:
    return best_digest(parse_challenges(headers.get_list("www-authenticate")))


@dataclass(slots=True)
class AuthSurface:
    """HTTP Basic or Digest on one path."""

    address: str
    path: str
    digest: bool
    method: str = ""
    challenge: bool = True
    # Per client: the Digest challenge in use (nonce and nonce count).
    _challenges: dict[int, DigestChallenge] = field(default_factory=dict)
    last: tuple[Chain, ...] = ()

    def __post_init__(self) -> None:
        self.method = "http digest" if self.digest else "http basic"

    async def attempt(self, client: httpx.AsyncClient, cred: Credential) -> tuple[Seen, bool]:
        client.cookies.clear()
        if not self.digest:
            if ":" in cred.username:
                raise _Unusable("a Basic username cannot contain ':'")
            token = base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
            start = time.monotonic()
            answer = await exchange(
                client, "GET", self.path, headers={"Authorization": f"Basic {token}"}
            )
            chain = await follow(client, answer, self.address)
            self.last = (chain,)
            return _seen(chain, _since(start)), False
        challenge = self._challenges.get(id(client))
        if challenge is None:
            challenge = await self._fetch_challenge(client)
        start = time.monotonic()
        for retry in range(2):
            header = challenge.authorization("GET", self.path, cred.username, cred.password)
            answer = await exchange(client, "GET", self.path, headers={"Authorization": header})
            fresh = _best_digest(answer.headers) if answer.status == 401 else None
            if fresh is not None:
                self._challenges[id(client)] = fresh
                # A stale nonce, or one we had used before that the server has since
                # replaced: this try said nothing about the login. A nonce used for the
                # first time (each 401 hands a new one, used by the next attempt) was
                # valid when sent, so its 401 is an answer; retrying it would double every
                # attempt, and every failure delay (lighttpd: 2 s each).
                reused = challenge.nc > 1 and fresh.nonce != challenge.nonce
                if not retry and (fresh.stale or reused):
                    challenge = fresh
                    continue
            break
        self.method = f"http digest {challenge.algorithm}"
        chain = await follow(client, answer, self.address)
        self.last = (chain,)
        return _seen(chain, _since(start)), False

    async def _fetch_challenge(self, client: httpx.AsyncClient) -> DigestChallenge:
        answer = await exchange(client, "GET", self.path)
        challenge = _best_digest(answer.headers) if answer.status == 401 else None
        if challenge is None:
            raise _Unusable(f"HTTP {answer.status} without a usable Digest challenge")
        self._challenges[id(client)] = challenge
        return challenge


class _Unusable(Exception):
    """The surface cannot be used as found (no challenge, form gone, ...); the message is
    built from device facts only, never from the credential."""


@dataclass(slots=True)
class FormSurface:
    """An HTML login form, fetched afresh before every attempt."""

    address: str
    service: Service
    form: LoginForm
    method: str = ""
    challenge: bool = False
    login_paths: frozenset[str] = frozenset()
    _last: tuple[tuple[str, bytes], tuple[LoginForm, ...]] | None = None
    last: tuple[Chain, ...] = ()

    def __post_init__(self) -> None:
        action = short_url(httpx.URL(self.form.action_url), self.address)
        self.method = f"http form {self.form.method} {action}"
        page = short_url(httpx.URL(self.form.page_url), self.address)
        self.login_paths = frozenset({action, page})

    def _forms(self, answer: Answer) -> tuple[LoginForm, ...]:
        # Parsing is the costliest step of an attempt; a page identical to the last one
        # (a static token) has the same forms.
        key = (str(answer.url), answer.body)
        if self._last is None or self._last[0] != key:
            body = answer.body.decode("utf-8", "replace")
            self._last = (key, login_forms(self.service, key[0], body))
        return self._last[1]

    async def attempt(self, client: httpx.AsyncClient, cred: Credential) -> tuple[Seen, bool]:
        client.cookies.clear()  # a fresh cookie jar for every attempt
        page = await follow(client, await exchange(client, "GET", self.form.page_url), self.address)
        fresh = self._forms(page.final)
        form = next(
            (f for f in fresh if f.password_field == self.form.password_field),
            fresh[0] if fresh else None,
        )
        baseline_locked = any(_LOCKED.search(b) for b in page.bodies)
        if form is None:
            if baseline_locked:
                chain = page
                return _seen(chain, 0.0, login_paths=self.login_paths), False
            raise _Unusable(f"no login form on {short_url(page.final.url, self.address)}")
        fields = dict(form.hidden_fields)
        if form.username_field:
            fields[form.username_field] = cred.username
        fields[form.password_field] = cred.password
        referer = str(page.final.url)
        origin = f"{page.final.url.scheme}://{page.final.url.netloc.decode('ascii', 'replace')}"
        headers = {"Referer": referer, "Origin": origin}
        start = time.monotonic()
        if form.method == "POST":
            answer = await exchange(client, "POST", form.action_url, headers=headers, data=fields)
        else:
            answer = await exchange(client, "GET", form.action_url, headers=headers, params=fields)
        chain = await follow(client, answer, self.address)
        self.last = (page, chain)
        seen = _seen(chain, _since(start), login_paths=self.login_paths, before=page.cookies)
        return seen, baseline_locked


@dataclass(slots=True)
class JsonSurface:
    """A JSON login endpoint named in the page's script."""

    address: str
    url: str
    page_url: str
    method: str = ""
    challenge: bool = False
    login_paths: frozenset[str] = frozenset()
    last: tuple[Chain, ...] = ()

    def __post_init__(self) -> None:
        self.method = f"http json POST {short_url(httpx.URL(self.url), self.address)}"
        self.login_paths = frozenset({short_url(httpx.URL(self.page_url), self.address)})

    async def attempt(self, client: httpx.AsyncClient, cred: Credential) -> tuple[Seen, bool]:
        client.cookies.clear()
        payload = json.dumps({"username": cred.username, "password": cred.password})
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/plain, */*",
            "Referer": self.page_url,
            "X-Requested-With": "XMLHttpRequest",
        }
        start = time.monotonic()
        answer = await exchange(client, "POST", self.url, headers=headers, content=payload.encode())
        chain = await follow(client, answer, self.address)
        self.last = (chain,)
        return _seen(chain, _since(start), login_paths=self.login_paths, json_answer=True), False


_CSRF_HEADER = re.compile(r"csrf|xsrf", re.IGNORECASE)


def _nested(fields: Sequence[tuple[str, str]]) -> dict[str, object]:
    """JSON from dotted field paths: ("auth.user", "x") -> {"auth": {"user": "x"}}."""
    doc: dict[str, object] = {}
    for path, value in fields:
        node = doc
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[leaf] = value
    return doc


@dataclass(slots=True)
class RecordedSurface:
    """The request a web application's own script made for a random control login
    (`LOGIN_SURFACES`, found in headless Chromium or read from its scripts): replayed with
    each credential in the same shape, after loading the login page afresh so that cookies
    the app sets on load (an XSRF cookie, a pre-login session) are current."""

    address: str
    recorded: LoginSurface
    method: str = ""
    challenge: bool = False
    login_paths: frozenset[str] = frozenset()
    last: tuple[Chain, ...] = ()

    def __post_init__(self) -> None:
        kind = (
            f"{self.recorded.auth_header.lower()} header"
            if self.recorded.auth_header
            else ("json" if "json" in self.recorded.content_type else "form")
        )
        path = short_url(httpx.URL(self.recorded.url), self.address)
        via = "" if self.recorded.source == "chromium" else f" (from {self.recorded.source})"
        self.method = f"http {kind} {self.recorded.method} {path}{via}"
        self.login_paths = frozenset({short_url(httpx.URL(self.recorded.page_url), self.address)})

    def _headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        headers = {"Referer": self.recorded.page_url, "Accept": "application/json, */*"}
        page = httpx.URL(self.recorded.page_url)
        headers["Origin"] = f"{page.scheme}://{page.netloc.decode('ascii', 'replace')}"
        for name, value in self.recorded.headers:
            if _CSRF_HEADER.search(name):
                # The recorded token belonged to the browser's session: the app's cookie
                # of the same kind (XSRF-TOKEN, csrftoken) carries this session's.
                fresh = next(
                    (c.value for c in client.cookies.jar if _CSRF_HEADER.search(c.name)), None
                )
                value = fresh or value
            headers[name] = value
        return headers

    async def attempt(self, client: httpx.AsyncClient, cred: Credential) -> tuple[Seen, bool]:
        client.cookies.clear()
        page = await follow(
            client, await exchange(client, "GET", self.recorded.page_url), self.address
        )
        baseline_locked = any(_LOCKED.search(b) for b in page.bodies)
        rec = self.recorded
        headers = self._headers(client)
        fields = list(rec.extra_fields)
        if rec.username_field:
            fields.append((rec.username_field, cred.username))
        if rec.password_field:
            fields.append((rec.password_field, cred.password))
        if rec.auth_header:
            token = base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
            headers["Authorization"] = f"{rec.auth_header} {token}"
        content: bytes | None = None
        data: dict[str, str] | None = None
        if "json" in rec.content_type:
            headers["Content-Type"] = rec.content_type
            content = json.dumps(_nested(fields)).encode()
        elif fields:
            data = dict(fields)  # form-encoded, as a browser sends a form or URLSearchParams
        start = time.monotonic()
        if rec.method == "GET":
            answer = await exchange(client, "GET", rec.url, headers=headers, params=data)
        else:
            answer = await exchange(
                client, rec.method, rec.url, headers=headers, data=data, content=content
            )
        chain = await follow(client, answer, self.address)
        self.last = (page, chain)
        json_answer = "json" in answer.headers.get("content-type", "") or bool(content)
        seen = _seen(
            chain,
            _since(start),
            login_paths=self.login_paths,
            before=page.cookies,
            json_answer=json_answer,
        )
        return seen, baseline_locked


def _since(start: float) -> float:
    return time.monotonic() - start


# --- finding the surface ------------------------------------------------------------------


async def discover_surface(
    dev: DeviceNetwork,
    client: httpx.AsyncClient,
    service: Service,
    pages: Sequence[HttpPage],
    forms: Sequence[LoginForm],
    surfaces: Sequence[LoginSurface] = (),
) -> Surface | str:
    """The surface to use, or a note saying why there is none: an HTTP challenge, a plain
    HTML form, the request the app's own script made (recorded), and only then an endpoint
    read from the page's scripts."""
    mine = [p for p in pages if _same_service(p.service, service)]
    recorded = [r for r in surfaces if _same_service(r.service, service)]
    unsupported = ""
    for page in mine:
        scheme = page.auth_scheme.lower()
        if scheme in ("basic", "digest"):
            return AuthSurface(dev.address, _path(page.url), scheme == "digest")
        if scheme:
            unsupported = page.auth_scheme
    my_forms = [f for f in forms if _same_service(f.service, service)]
    if my_forms and not _script_driven(my_forms[0]):
        return FormSurface(dev.address, service, my_forms[0])
    if recorded:
        return RecordedSurface(dev.address, recorded[0])
    # Nothing known: read `/` (and where it redirects on the device) ourselves.
    try:
        chain = await follow(client, await exchange(client, "GET", "/"), dev.address)
    except Throttled as exc:
        return f"GET / answered HTTP {exc.status}: throttled before any login"
    except ScopeError:
        return "GET / left the device; not followed"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return f"{GET_FAILED}: {describe_failure(exc)}"
    final = chain.final
    for answer in (chain.first, final):
        for header in answer.headers.get_list("www-authenticate"):
            scheme = header.strip().split(" ", 1)[0].split(",", 1)[0].lower()
            if answer.status == 401 and scheme in ("basic", "digest"):
                return AuthSurface(dev.address, _path(str(answer.url)), scheme == "digest")
            if answer.status == 401 and scheme:
                unsupported = bound_text(header.split(" ", 1)[0], 32)
    body = final.body.decode("utf-8", "replace")
    found = login_forms(service, str(final.url), body) or tuple(my_forms)
    if found and not _script_driven(found[0]):
        return FormSurface(dev.address, service, found[0])
    endpoint = _json_endpoint(body, final.url, dev.address)
    if endpoint is None:
        endpoint = await _json_endpoint_in_scripts(client, body, final.url, dev.address)
    if endpoint is not None:
        return JsonSurface(dev.address, endpoint, str(final.url))
    submittable = [f for f in found if f.password_field]
    if submittable:
        return FormSurface(dev.address, service, submittable[0])
    if found:
        return UNREADABLE_FORM
    if unsupported:
        return f"HTTP authentication scheme {unsupported} is not supported"
    unread = final.incomplete
    if chain.malformed:
        unread = f"it redirected to a malformed location {chain.malformed}; not followed"
    if unread:
        # A login may sit past the cut, inside a stream we could not decode, or wherever a
        # malformed redirect meant to go.
        return (
            f"{CUT_PAGE} ({short_url(final.url, dev.address)}: {unread}), so whether it "
            "shows a login is unknown"
        )
    return f"no login surface found (GET / answered HTTP {chain.first.status})"


#: The page could not be read whole (a decompression bomb, a corrupt gzip stream): whether
#: a login is there is unknown, never "no login surface".
CUT_PAGE = "the device's start page could not be read whole"
#: GET / itself failed: nothing was seen, which is not "no login surface" either.
GET_FAILED = "GET / failed"
#: A login exists, but how it is sent is unknown: never "no login surface".
UNREADABLE_FORM = (
    "the login form's password field has no name, so the page's script sends it some other "
    "way, and no login request could be recorded or read from its scripts"
)


def _script_driven(form: LoginForm) -> bool:
    """A form with neither action nor method (a GET back to its own page), or whose
    password input has no name (a browser would not submit it), is only a container for a
    script that logs in some other way (often JSON to an API): the script's request, when
    it was recorded or found, is the real login surface."""
    if not form.password_field:
        return True
    return form.method == "GET" and form.action_url.split("?")[0] == form.page_url.split("?")[0]


def _same_service(a: Service, b: Service) -> bool:
    return a.port == b.port and a.transport == b.transport


def _path(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "/"
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _json_endpoint(text: str, base: httpx.URL, address: str) -> str | None:
    for match in _JSON_ENDPOINT.finditer(text[:MAX_BODY]):
        raw = match.group(1) or match.group(2) or ""
        if not _LOGIN_WORDS.search(raw) or raw.lower().endswith((".js", ".css", ".html")):
            continue
        try:
            target = base.join(raw)
        except (httpx.InvalidURL, ValueError):
            continue
        if target.host == address.lower() and target.scheme in ("http", "https"):
            return str(target.copy_with(fragment=None))
    return None


async def _json_endpoint_in_scripts(
    client: httpx.AsyncClient, text: str, base: httpx.URL, address: str
) -> str | None:
    for src in itertools.islice(_SCRIPT_SRC.findall(text[:MAX_BODY]), MAX_SCRIPTS):
        try:
            target = base.join(src)
        except (httpx.InvalidURL, ValueError):
            continue
        if target.host != address.lower():
            continue  # a CDN: never contacted
        try:
            answer = await exchange(client, "GET", target)
        except (Throttled, ScopeError, httpx.HTTPError, OSError):
            continue
        if answer.status == 200:
            found = _json_endpoint(answer.body.decode("utf-8", "replace"), base, address)
            if found is not None:
                return found
    return None


# --- running attempts -----------------------------------------------------------------------


async def attempt_login(
    surface: Surface, client: httpx.AsyncClient, cred: Credential
) -> tuple[Seen | None, bool, Outcome, str, float]:
    """One credential with the retry policy. Returns (seen, baseline_locked, outcome, detail,
    latency); `seen` is None when the answer could not be judged (outcome set already)."""
    waited = False
    drops = 0
    start = time.monotonic()
    while True:
        try:
            seen, baseline_locked = await surface.attempt(client, cred)
            return seen, baseline_locked, Outcome.ERROR, "", seen.latency
        except Throttled as exc:
            delay = DEFAULT_THROTTLE_WAIT if exc.delay is None else exc.delay
            if waited or delay > MAX_RETRY_AFTER:
                after = "" if exc.delay is None else f", Retry-After {exc.delay:g} s"
                again = " again after waiting" if waited else ""
                detail = f"HTTP {exc.status}{after}{again}"
                return None, False, Outcome.THROTTLED, detail, _since(start)
            waited = True
            await asyncio.sleep(delay)
        except _DROPS as exc:
            if drops >= len(BACKOFF):
                detail = f"connection dropped {drops + 1} times ({type(exc).__name__})"
                return None, False, Outcome.THROTTLED, detail, _since(start)
            await asyncio.sleep(BACKOFF[drops])
            drops += 1
        except ScopeError:
            return None, False, Outcome.ERROR, "request would leave the device; not sent", 0.0
        except _Unusable as exc:
            return None, False, Outcome.ERROR, str(exc), _since(start)
        except httpx.TimeoutException as exc:
            return None, False, Outcome.ERROR, f"timeout ({type(exc).__name__})", _since(start)
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            return None, False, Outcome.ERROR, type(exc).__name__, _since(start)


def scrub_detail(text: str, cred: Credential) -> str:
    """The last guard: whatever a device echoed, the password never leaves in a detail."""
    text = scrub(bound_text(scrub(text, cred), MAX_DETAIL), cred)
    if cred.password:
        for form in (quote(cred.password, safe=""), quote_plus(cred.password)):
            text = text.replace(form, "••••")
    return text


async def try_logins(
    dev: DeviceNetwork,
    service: Service,
    credentials: Sequence[Credential],
    pace: Pace = PACE,
    *,
    pages: Sequence[HttpPage] = (),
    forms: Sequence[LoginForm] = (),
    surfaces: Sequence[LoginSurface] = (),
) -> LoginRun:
    """Try `credentials` on one HTTP(S) service, after one random control login.

    Stops at the first ACCEPTED, LOCKED or persistent THROTTLED attempt. Up to
    `connections` keep-alive connections (never more than the device's permit budget) run
    attempts concurrently, each with its own client and cookie jar.
    Never raises for device behaviour: failures are outcomes and notes.
    """
    timeout, connections = pace.timeout, pace.connections
    workers = max(1, min(connections, dev.limits.per_device, len(credentials) or 1))
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_client(dev, service, timeout)) for _ in range(workers)
        ]
        found = await discover_surface(dev, clients[0], service, pages, forms, surfaces)
        if isinstance(found, str):
            unread = found == UNREADABLE_FORM or found.startswith((CUT_PAGE, GET_FAILED))
            unconfirmed = found if unread else ""
            return LoginRun(method="http", note=found, unconfirmed=unconfirmed)
        surface = found

        control_cred = Credential(
            f"shinsa-{secrets.token_hex(4)}", f"shinsa-{secrets.token_hex(8)}", "random control"
        )
        seen, base_locked, outcome, detail, latency = await attempt_login(
            surface, clients[0], control_cred
        )
        if seen is not None:
            outcome, detail = judge_control(seen, base_locked, challenge=surface.challenge)
        control = Attempt(control_cred, outcome, scrub_detail(detail, control_cred), latency)
        if seen is None or outcome is not Outcome.REJECTED:
            note = {
                Outcome.ACCEPTED: "a random login looks accepted: no success oracle, "
                "so no credential was tried",
                Outcome.LOCKED: "the device reports a lock already: no credential was tried",
                Outcome.THROTTLED: "the device throttles: no credential was tried",
            }.get(outcome, "the random control login failed: no credential was tried")
            unconfirmed = ""
            if seen is not None and outcome is Outcome.ERROR:
                unconfirmed = (
                    f"the random control login on {surface.method} got {control.detail}, "
                    "which is not a recognised authentication failure: the login surface "
                    "is unconfirmed"
                )
            return LoginRun(
                method=surface.method, control=control, note=note, unconfirmed=unconfirmed
            )

        scheduler = Scheduler(credentials)
        scheduler.control = control
        control_seen: Seen = seen
        pool = list(clients)

        # One shared iterator rather than Scheduler.take(), which rescans the list per call.
        queue = iter(enumerate(credentials))

        async def worker() -> None:
            client = pool.pop()
            for index, cred in queue:
                if scheduler.stopped.is_set():
                    return
                got, _, outcome, detail, latency = await attempt_login(surface, client, cred)
                if got is not None:
                    outcome, detail = judge_attempt(got, control_seen, challenge=surface.challenge)
                    outcome, detail = _empty_field(cred, got, outcome, detail)
                scheduler.record(index, Attempt(cred, outcome, scrub_detail(detail, cred), latency))

        await run_workers(scheduler, worker, len(clients))
    return scheduler.run(surface.method)


@contextlib.asynccontextmanager
async def _client(
    dev: DeviceNetwork, service: Service, timeout: float
) -> AsyncIterator[httpx.AsyncClient]:
    async with dev.http(service, timeout=timeout) as client:
        yield client
