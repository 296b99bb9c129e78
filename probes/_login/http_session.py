"""One login with a known credential, kept open for the web session checks.

The default-credentials run proves a credential works; the session checks need what that
login left behind: the cookies set before and at the login, every URL along the way, the
page it landed on, and a client that still holds the session. The same surfaces and the
same relative oracle are used (a random control login first), so "logged in" means what
it means there.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import httpx

from probes._account import NO_CREDENTIAL_JA
from probes._login.http import (
    TOKEN_KEYS,
    AuthSurface,
    FormSurface,
    JsonSurface,
    RecordedSurface,
    attempt_login,
    discover_surface,
    judge_attempt,
    judge_control,
    scrub_detail,
)
from scanner.credentials import Attempt, Credential, Outcome
from scanner.facts import on_service
from scanner.redact import mask_url

if TYPE_CHECKING:
    from collections.abc import Sequence

    from probes._login.http import Seen, Surface
    from scanner.facts import HttpPage, LoginForm, LoginSurface
    from scanner.http_exchange import Answer, Chain
    from scanner.model import Service
    from scanner.net import DeviceNetwork

SessionKind = Literal["form", "auth", "json"]


@dataclass(frozen=True, slots=True)
class WebSession:
    """What a successful login showed; `client` (the caller's) now holds the session."""

    kind: SessionKind
    method: str  # the surface, e.g. "http form POST /login"
    before: tuple[str, ...]  # Set-Cookie lines of the login page, before the login
    at_login: tuple[str, ...]  # Set-Cookie lines along the login's answers
    urls: tuple[str, ...]  # the login request, every redirect target, the final URL
    landing: str  # the final URL after the login
    landing_by_get: bool  # the landing URL was reached by a GET (so it can be replayed)
    landing_body: bytes
    page_url: str  # the login page (form) or challenged path
    token: str = ""  # JSON login: the token the answer carried


@dataclass(frozen=True, slots=True)
class NoSession:
    """Why no session could be opened; `surface` says whether a login surface exists."""

    reason: str
    surface: bool
    reason_ja: str  # the same in Japanese (device and library details stay as they are)


async def open_session(
    dev: DeviceNetwork,
    client: httpx.AsyncClient,
    service: Service,
    credential: Credential | None,
    *,
    pages: Sequence[HttpPage] = (),
    forms: Sequence[LoginForm] = (),
    surfaces: Sequence[LoginSurface] = (),
) -> WebSession | NoSession:
    """Log in once with `credential` on `service`'s own login surface."""
    found = await discover_surface(dev, client, service, pages, forms, surfaces)
    if isinstance(found, str):
        none = found.startswith("no login surface")
        return NoSession(
            found,
            surface=not none,
            reason_ja=f"ログイン画面が見つからない（{found}）"
            if none
            else f"ログイン画面を特定できなかった（{found}）",
        )
    page_url = _surface_url(found, client)
    if not on_service(page_url, service):
        return NoSession(
            f"the login surface {mask_url(page_url)} belongs to another service of the device",
            surface=False,
            reason_ja=f"ログイン画面 {mask_url(page_url)} は機器の別のサービスのもの",
        )
    if credential is None:
        return NoSession(
            "no valid credential is known for this login (none of the default credentials "
            "worked; set test_account in the profile)",
            surface=True,
            reason_ja=NO_CREDENTIAL_JA,
        )
    control = Credential(f"shinsa-{secrets.token_hex(4)}", f"shinsa-{secrets.token_hex(8)}")
    seen_control, locked, outcome, detail, _ = await attempt_login(found, client, control)
    if seen_control is None:
        return NoSession(
            f"the random control login failed: {detail}",
            surface=True,
            reason_ja=f"無作為な対照ログインが失敗した: {detail}",
        )
    outcome, detail = judge_control(seen_control, locked, challenge=found.challenge)
    if outcome is not Outcome.REJECTED:
        return NoSession(
            f"a random login is not refused ({detail}): no oracle",
            surface=True,
            reason_ja=f"無作為なログインが拒否されない（{detail}）ため、成否を判定できない",
        )
    seen, _, outcome, detail, _ = await attempt_login(found, client, credential)
    if seen is not None:
        outcome, detail = judge_attempt(seen, seen_control, challenge=found.challenge)
    if outcome is not Outcome.ACCEPTED:
        why = scrub_detail(detail, credential)
        return NoSession(
            f"the login with {credential} was not accepted: {why}",
            surface=True,
            reason_ja=f"{credential} でのログインが受け付けられなかった: {why}",
        )
    chains = found.last
    login = chains[-1]
    before = chains[0].first.headers.get_list("set-cookie") if len(chains) > 1 else []
    at_login = [line for a in _answers(login) for line in a.headers.get_list("set-cookie")]
    urls = [str(a.url) for a in _answers(login)]
    if login.location:
        urls.append(str(login.first.url.join(login.first.headers.get("location", ""))))
    kind: SessionKind = "auth"
    token = ""
    if isinstance(found, FormSurface):
        kind = "form"
    elif isinstance(found, JsonSurface) or (
        isinstance(found, RecordedSurface) and not found.recorded.auth_header
    ):
        token = _token(login.first.body)
        kind = "json" if token or "json" in login.first.headers.get("content-type", "") else "form"
    else:
        # Basic/Digest: every later request carries the credential itself.
        digest = isinstance(found, AuthSurface) and found.digest
        auth_class = httpx.DigestAuth if digest else httpx.BasicAuth
        client.auth = auth_class(credential.username, credential.password)
    return WebSession(
        kind=kind,
        method=found.method,
        before=tuple(before),
        at_login=tuple(at_login),
        urls=tuple(dict.fromkeys(urls)),
        landing=str(login.final.url),
        landing_by_get=login.final is not login.first or kind == "auth",
        landing_body=login.final.body,
        page_url=page_url,
        token=token,
    )


def _surface_url(surface: object, client: httpx.AsyncClient) -> str:
    if isinstance(surface, FormSurface):
        return surface.form.page_url
    if isinstance(surface, JsonSurface):
        return surface.page_url
    if isinstance(surface, RecordedSurface):
        return surface.recorded.page_url
    if isinstance(surface, AuthSurface):
        return str(client.base_url.join(surface.path))
    return str(client.base_url)


def _answers(chain: Chain) -> list[Answer]:
    # The chain keeps the first and final answers; the redirects between them are only
    # in the cookie set, which is enough for the URLs we report.
    return [chain.first] if chain.final is chain.first else [chain.first, chain.final]


def _token(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # `[[[[…` past Python's depth
        return ""
    if not isinstance(doc, dict):
        return ""
    for key, value in doc.items():
        if str(key).lower() in TOKEN_KEYS and isinstance(value, str):
            return value
    return ""


class HttpLogin:
    """Repeated single logins on one web service against one control answer: the surface
    is found and the random control login sent once, so each later attempt costs exactly
    one login on the device (the lockout probe counts them)."""

    def __init__(
        self,
        dev: DeviceNetwork,
        client: httpx.AsyncClient,
        service: Service,
        pages: Sequence[HttpPage] = (),
        forms: Sequence[LoginForm] = (),
        surfaces: Sequence[LoginSurface] = (),
    ) -> None:
        self._dev, self._client, self._service = dev, client, service
        self._pages, self._forms, self._surfaces = pages, forms, surfaces
        self._surface: Surface | None = None
        self._control: Seen | None = None
        self.method = "http"

    async def prepare(self) -> str | None:
        """None when ready, else why no attempt can be judged on this service."""
        found = await discover_surface(
            self._dev, self._client, self._service, self._pages, self._forms, self._surfaces
        )
        if isinstance(found, str):
            return found
        if not on_service(_surface_url(found, self._client), self._service):
            return "the login surface belongs to another service of the device"
        control = Credential(f"shinsa-{secrets.token_hex(4)}", f"shinsa-{secrets.token_hex(8)}")
        seen, locked, _, detail, _ = await attempt_login(found, self._client, control)
        if seen is None:
            return f"the random control login failed: {detail}"
        outcome, detail = judge_control(seen, locked, challenge=found.challenge)
        if outcome is not Outcome.REJECTED:
            return f"a random login is not refused ({detail}): no oracle"
        self._surface, self._control, self.method = found, seen, found.method
        return None

    async def attempt(self, credential: Credential) -> Attempt:
        if self._surface is None or self._control is None:
            raise RuntimeError("prepare() first")
        seen, _, outcome, detail, latency = await attempt_login(
            self._surface, self._client, credential
        )
        if seen is not None:
            outcome, detail = judge_attempt(seen, self._control, challenge=self._surface.challenge)
        return Attempt(credential, outcome, scrub_detail(detail, credential), latency)
