"""web.login.cleartext, web.hsts and web.secrets-in-url, judged from page facts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from probes.web_login import HstsParams, WebLoginHygiene
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, Facts, HttpPage, LoginForm
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import Params, ProbeContext
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ADDR = "127.0.10.1"
HTTP = Service("tcp", 80, "http")
HTTPS = Service("tcp", 443, "https", tls=True)


def run_on(
    service: Service,
    pages: Sequence[HttpPage] = (),
    forms: Sequence[LoginForm] = (),
    params: Mapping[str, Params] | None = None,
) -> tuple[ProbeContext, Service]:
    facts = Facts()
    if pages:
        facts.put(HTTP_PAGES, tuple(pages))
    if forms:
        facts.put(LOGIN_FORMS, tuple(forms))
    net = Network(Scope.of([ADDR])).device(ADDR)
    ctx = ProbeContext(Target(ADDR), net, facts, params or {})
    return ctx, service


async def verdicts(service, pages=(), forms=(), params=None) -> dict[str, tuple[Verdict, str]]:
    ctx, svc = run_on(service, pages, forms, params)
    return {r.check_id: (r.verdict, r.reason) for r in await WebLoginHygiene().run(ctx, svc)}


def form(svc: Service, page: str, action: str, method: str = "POST") -> LoginForm:
    return LoginForm(svc, page, action, method, "username", "password")


async def test_a_login_form_over_plain_http_fails_and_over_https_passes():
    page = HttpPage(HTTP, f"http://{ADDR}/", 200)
    got = await verdicts(HTTP, [page], [form(HTTP, f"http://{ADDR}/", f"http://{ADDR}/login")])
    assert got["web.login.cleartext"][0] is Verdict.FAIL
    secure = HttpPage(HTTPS, f"https://{ADDR}/", 200)
    got = await verdicts(
        HTTPS, [secure], [form(HTTPS, f"https://{ADDR}/", f"https://{ADDR}/login")]
    )
    assert got["web.login.cleartext"][0] is Verdict.PASS


async def test_an_https_page_posting_to_http_fails():
    secure = HttpPage(HTTPS, f"https://{ADDR}/", 200)
    got = await verdicts(HTTPS, [secure], [form(HTTPS, f"https://{ADDR}/", f"http://{ADDR}/login")])
    verdict, reason = got["web.login.cleartext"]
    assert verdict is Verdict.FAIL
    assert "posts it to plain HTTP" in reason


async def test_a_basic_challenge_on_plain_http_fails_and_no_login_is_not_applicable():
    got = await verdicts(HTTP, [HttpPage(HTTP, f"http://{ADDR}/", 401, auth_scheme="Basic")])
    assert got["web.login.cleartext"][0] is Verdict.FAIL
    got = await verdicts(HTTP, [HttpPage(HTTP, f"http://{ADDR}/", 200, title="Status")])
    assert got["web.login.cleartext"][0] is Verdict.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", Verdict.FAIL),
        ("max-age=300", Verdict.FAIL),
        ("max-age=31536000; includeSubDomains", Verdict.PASS),
        ('max-age="31536000"', Verdict.PASS),
    ],
)
async def test_hsts_needs_a_long_max_age(header, expected):
    page = HttpPage(HTTPS, f"https://{ADDR}/", 200, hsts=header)
    assert (await verdicts(HTTPS, [page]))["web.hsts"][0] is expected


async def test_hsts_minimum_comes_from_the_profile_and_plain_http_is_not_applicable():
    page = HttpPage(HTTPS, f"https://{ADDR}/", 200, hsts="max-age=300")
    params = {"web.hsts": HstsParams(min_max_age=60)}
    assert (await verdicts(HTTPS, [page], params=params))["web.hsts"][0] is Verdict.PASS
    plain = HttpPage(HTTP, f"http://{ADDR}/", 200)
    assert (await verdicts(HTTP, [plain]))["web.hsts"][0] is Verdict.NOT_APPLICABLE


async def test_no_page_is_inconclusive_never_pass():
    got = await verdicts(HTTPS)
    assert got.pop("web.https-redirect")[0] is Verdict.NOT_APPLICABLE  # HTTPS already
    assert {v for v, _ in got.values()} == {Verdict.INCONCLUSIVE}
    assert (await verdicts(HTTP))["web.https-redirect"][0] is Verdict.INCONCLUSIVE


async def test_plain_http_must_send_the_login_to_https_on_the_same_device():
    to_device = HttpPage(HTTP, f"http://{ADDR}/", 301, location=f"https://{ADDR}:8443/")
    assert (await verdicts(HTTP, [to_device]))["web.https-redirect"][0] is Verdict.PASS
    away = HttpPage(HTTP, f"http://{ADDR}/", 302, location="https://login.example.com/")
    verdict, reason = (await verdicts(HTTP, [away]))["web.https-redirect"]
    assert verdict is Verdict.FAIL
    assert "another host" in reason
    page = HttpPage(HTTP, f"http://{ADDR}/", 200)
    login = form(HTTP, f"http://{ADDR}/", f"http://{ADDR}/login")
    assert (await verdicts(HTTP, [page], [login]))["web.https-redirect"][0] is Verdict.FAIL
    realm = HttpPage(HTTP, f"http://{ADDR}/", 401, auth_scheme="Basic")
    assert (await verdicts(HTTP, [realm]))["web.https-redirect"][0] is Verdict.FAIL
    assert (await verdicts(HTTP, [page]))["web.https-redirect"][0] is Verdict.NOT_APPLICABLE


async def test_secrets_in_urls_and_get_forms():
    leak = HttpPage(HTTP, f"http://{ADDR}/", 302, location=f"http://{ADDR}/home?sid=abc123")
    verdict, reason = (await verdicts(HTTP, [leak]))["web.secrets-in-url"]
    assert verdict is Verdict.FAIL
    assert "sid" in reason
    assert "abc123" not in reason  # values are never shown
    get_form = form(HTTP, f"http://{ADDR}/", f"http://{ADDR}/cgi-bin/login", method="GET")
    page = HttpPage(HTTP, f"http://{ADDR}/", 200)
    assert (await verdicts(HTTP, [page], [get_form]))["web.secrets-in-url"][0] is Verdict.FAIL
    script_form = form(HTTP, f"http://{ADDR}/", f"http://{ADDR}/", method="GET")
    got = (await verdicts(HTTP, [page], [script_form]))["web.secrets-in-url"][0]
    assert got is Verdict.INCONCLUSIVE
    clean = HttpPage(HTTP, f"http://{ADDR}/?lang=en", 200)
    assert (await verdicts(HTTP, [clean]))["web.secrets-in-url"][0] is Verdict.PASS
