"""services.unexpected and services.cleartext-admin, judged from facts (no sockets)."""

from __future__ import annotations

import pytest

from probes.exposed_services import AllowedEntry, AllowedServices, ExposedServices
from scanner.errors import ConfigError
from scanner.facts import (
    HTTP_PAGES,
    LOGIN_FORMS,
    LOGIN_SURFACES,
    MQTT_INFO,
    UDP_ANSWERS,
    Facts,
    HttpPage,
    LoginForm,
    LoginSurface,
    MqttInfo,
    UdpAnswer,
)
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope

ADDR = "127.0.10.1"


def context(facts: Facts | None = None, allowed: tuple[str, ...] | None = None) -> ProbeContext:
    net = Network(Scope.of([ADDR])).device(ADDR)
    params = {"services.unexpected": AllowedServices(allowed)} if allowed is not None else {}
    return ProbeContext(Target(ADDR), net, facts or Facts(), params)


async def verdicts(service: Service, ctx: ProbeContext) -> dict[str, Verdict]:
    results = await ExposedServices().run(ctx, service)
    assert all(r.reason and ADDR in r.reason for r in results)
    return {r.check_id: r.verdict for r in results}


@pytest.mark.parametrize(
    ("service", "allowed", "expected"),
    [
        (Service("tcp", 22, "ssh"), ("*",), Verdict.PASS),
        (Service("tcp", 22, "ssh"), ("tcp/443 https", "tcp/22 ssh"), Verdict.PASS),
        (Service("tcp", 23, "telnet"), ("tcp/443 https", "tcp/22 ssh"), Verdict.FAIL),
        (Service("tcp", 2222, "ssh"), ("ssh",), Verdict.PASS),
        (Service("tcp", 8081, "unknown", note="no answer"), ("*",), Verdict.INCONCLUSIVE),
        (Service("tcp", 8081, "unknown"), ("tcp/8081",), Verdict.PASS),
        (Service("tcp", 8081, "unknown"), ("tcp/443 https",), Verdict.FAIL),
        (Service("udp", 161, "snmp"), ("tcp/161",), Verdict.FAIL),
        (Service("tcp", 8090, "http"), ("tcp/8000-8100 http",), Verdict.PASS),
    ],
)
async def test_unexpected_compares_with_the_allowed_list(service, allowed, expected):
    assert (await verdicts(service, context(allowed=allowed)))["services.unexpected"] is expected


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (Service("tcp", 23, "telnet"), Verdict.FAIL),
        (Service("tcp", 21, "ftp"), Verdict.FAIL),
        (Service("tcp", 5555, "adb"), Verdict.FAIL),
        (Service("udp", 1900, "ssdp"), Verdict.FAIL),
        (Service("tcp", 22, "ssh"), Verdict.PASS),
        (Service("tcp", 443, "https", tls=True), Verdict.PASS),
        (Service("tcp", 8883, "mqtts", tls=True), Verdict.PASS),
        (Service("tcp", 9999, "unknown", note="garbage"), Verdict.INCONCLUSIVE),
        (Service("tcp", 80, "http"), Verdict.INCONCLUSIVE),  # no page fetched: unknown
        (Service("tcp", 1883, "mqtt"), Verdict.INCONCLUSIVE),  # no CONNACK recorded
        (Service("udp", 161, "snmp"), Verdict.INCONCLUSIVE),  # no community answered
    ],
)
async def test_cleartext_admin_by_protocol(service, expected):
    assert (await verdicts(service, context()))["services.cleartext-admin"] is expected


async def test_plain_http_fails_with_a_login_form_and_passes_without():
    svc = Service("tcp", 80, "http")
    facts = Facts()
    facts.put(HTTP_PAGES, (HttpPage(svc, f"http://{ADDR}:80/", 200, title="Status"),))
    assert (await verdicts(svc, context(facts)))["services.cleartext-admin"] is Verdict.PASS
    facts.put(
        LOGIN_FORMS,
        (
            LoginForm(
                svc, f"http://{ADDR}/", f"http://{ADDR}/login", "POST", "username", "password"
            ),
        ),
    )
    assert (await verdicts(svc, context(facts)))["services.cleartext-admin"] is Verdict.FAIL


async def test_plain_http_with_a_scripted_login_and_no_form_fails():
    # Node-RED's editor: no <form> on any page; its script posts an OAuth2 password grant
    svc = Service("tcp", 1880, "http")
    facts = Facts()
    facts.put(HTTP_PAGES, (HttpPage(svc, f"http://{ADDR}:1880/", 200, title="Node-RED"),))
    facts.put(
        LOGIN_SURFACES,
        (
            LoginSurface(
                svc,
                f"http://{ADDR}:1880/",
                f"http://{ADDR}:1880/auth/token",
                "POST",
                "application/x-www-form-urlencoded",
                "username",
                "password",
            ),
        ),
    )
    results = await ExposedServices().run(context(facts), svc)
    cleartext = next(r for r in results if r.check_id == "services.cleartext-admin")
    assert cleartext.verdict is Verdict.FAIL
    assert "POST http://127.0.10.1:1880/auth/token" in cleartext.reason


async def test_plain_http_basic_challenge_fails():
    svc = Service("tcp", 80, "http")
    facts = Facts()
    facts.put(
        HTTP_PAGES, (HttpPage(svc, f"http://{ADDR}/", 401, auth_scheme="Basic", auth_realm="PLC"),)
    )
    assert (await verdicts(svc, context(facts)))["services.cleartext-admin"] is Verdict.FAIL


async def test_mqtt_without_tls_fails_whether_or_not_anonymous():
    svc = Service("tcp", 1883, "mqtt")
    for anonymous, code in ((True, 0), (False, 5)):
        facts = Facts()
        facts.put(MQTT_INFO, (MqttInfo(svc, code, anonymous),))
        results = await ExposedServices().run(context(facts), svc)
        clear = next(r for r in results if r.check_id == "services.cleartext-admin")
        assert clear.verdict is Verdict.FAIL
        assert ("without credentials" in clear.reason) is anonymous


async def test_snmp_answering_public_fails_with_evidence():
    svc = Service("udp", 161, "snmp")
    facts = Facts()
    facts.put(
        UDP_ANSWERS,
        (UdpAnswer(svc, "GET sysDescr.0 community public", "ACME Cam", snmp_community="public"),),
    )
    results = await ExposedServices().run(context(facts), svc)
    clear = next(r for r in results if r.check_id == "services.cleartext-admin")
    assert clear.verdict is Verdict.FAIL
    assert any(e.kind == "udp_exchange" for e in clear.evidence)


async def test_plain_http_without_a_page_is_inconclusive_and_says_why():
    svc = Service("tcp", 80, "http", note="page fetch failed: ReadTimeout: timed out")
    results = await ExposedServices().run(context(), svc)
    clear = next(r for r in results if r.check_id == "services.cleartext-admin")
    assert clear.verdict is Verdict.INCONCLUSIVE
    assert "ReadTimeout" in clear.reason


@pytest.mark.parametrize("text", ["22", "443", "8000-8100"])
def test_a_bare_port_number_is_refused_with_the_spelling_to_use(text: str):
    # Read as a protocol named "22", it matched nothing and allowed nothing, silently.
    with pytest.raises(ConfigError, match=rf"'tcp/{text}' or 'udp/{text}'"):
        AllowedEntry.parse(text)


def test_a_protocol_name_with_a_digit_inside_is_still_a_protocol():
    assert AllowedEntry.parse("http2").protocol == "http2"
