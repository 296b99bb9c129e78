"""The example's checks against a throwaway device on 127.0.79.x: every verdict they can
give, one result per declared check, and no secret in what is kept."""

from __future__ import annotations

import pytest
from example_device import PROBE_ADDRESS, SILENT, Answer, device, page
from shinsa_example import data
from shinsa_example.diagnostics import DIAG_PATH, DiagnosticPage, judge

from scanner import declarative
from scanner.facts import Facts
from scanner.model import Result, Service, Target, Verdict
from scanner.net import Limits, Network
from scanner.probe import ProbeContext, ServiceProbe
from scanner.scope import Scope

PASS, FAIL, INCONCLUSIVE = Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE
ERROR, NOT_APPLICABLE = Verdict.ERROR, Verdict.NOT_APPLICABLE
DIAG = page("Diagnostics", "uptime 3d; wifi ssid: lab; wifi psk: hunter22-secret")
DIAG_CLEAN = page("Device Diagnostics", "uptime 3d; log level: info")


async def run(probe: ServiceProbe, pages: dict[str, Answer]) -> list[Result]:
    async with device(PROBE_ADDRESS, pages) as port:
        limits = Limits(connect_timeout=2.0, read_timeout=0.5)
        net = Network(Scope.of([PROBE_ADDRESS]), limits).device(PROBE_ADDRESS)
        ctx = ProbeContext(Target(PROBE_ADDRESS), net, Facts())
        return await probe.run(ctx, Service("tcp", port, "http"))


@pytest.mark.parametrize(
    ("answer", "page_verdict", "secrets_verdict"),
    [
        ((200, DIAG), FAIL, FAIL),  # readable, and shows the Wi-Fi passphrase
        ((200, DIAG_CLEAN), FAIL, PASS),  # readable, read whole, no secret on it
        ((404, b""), PASS, NOT_APPLICABLE),  # not served: no page to look at
        ((401, b"login first"), PASS, NOT_APPLICABLE),
        ((200, page("Login", "user / password")), INCONCLUSIVE, INCONCLUSIVE),  # not the page
        ((302, b""), INCONCLUSIVE, INCONCLUSIVE),  # a redirect decides nothing
        (None, ERROR, ERROR),  # the device closes the connection without an answer
        (SILENT, ERROR, ERROR),  # no answer within the read timeout
    ],
)
async def test_diagnostic_page_verdicts(
    answer: Answer, page_verdict: Verdict, secrets_verdict: Verdict
) -> None:
    results = await run(DiagnosticPage(), {DIAG_PATH: answer})
    assert [r.check_id for r in results] == [c.id for c in DiagnosticPage.checks]
    assert [r.verdict for r in results] == [page_verdict, secrets_verdict], [
        r.reason for r in results
    ]
    for r in results:
        assert r.target == PROBE_ADDRESS
        assert r.service is not None
        assert r.service.protocol == "http"
        assert r.reason.startswith(f"{PROBE_ADDRESS} tcp/")


async def test_a_secret_on_the_page_is_named_never_quoted() -> None:
    results = await run(DiagnosticPage(), {DIAG_PATH: (200, DIAG)})
    secrets = results[1]
    assert secrets.verdict is FAIL
    assert "'psk'" in secrets.reason
    kept = repr(results)  # reasons and evidence, as stored
    assert "hunter22" not in kept


async def test_nothing_listening_is_an_error_never_a_pass() -> None:
    async with device(PROBE_ADDRESS, {}) as port:
        pass  # closed again: nothing listens on the port now
    net = Network(Scope.of([PROBE_ADDRESS]), Limits(connect_timeout=1.0)).device(PROBE_ADDRESS)
    ctx = ProbeContext(Target(PROBE_ADDRESS), net, Facts())
    results = await DiagnosticPage().run(ctx, Service("tcp", port, "http"))
    assert [r.verdict for r in results] == [ERROR, ERROR]
    assert all("refused or failed" in r.reason for r in results), [r.reason for r in results]


def test_judge_a_page_cut_at_the_read_bound_is_not_a_pass_for_secrets() -> None:
    verdicts = judge(200, DIAG_CLEAN, whole=False)
    assert (verdicts.page, verdicts.secrets) == (FAIL, INCONCLUSIVE)
    assert judge(200, DIAG_CLEAN, whole=True).secrets is PASS


def test_judge_a_secret_field_without_a_value_is_not_a_secret_shown() -> None:
    empty = page("Diagnostics", "admin password: <input type=password name=pw>")
    assert judge(200, empty, whole=True).secrets is PASS
    assert judge(200, page("Diagnostics", "community=public"), whole=True).secrets is FAIL


SERVER_STATUS = page("Apache Status", "<h1>Apache Server Status for device</h1>")


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ((200, SERVER_STATUS), FAIL),
        ((403, b"Forbidden"), PASS),
        ((404, b""), PASS),
        ((200, page("Login", "sign in")), INCONCLUSIVE),  # a catch-all page proves nothing
        (None, ERROR),
        (SILENT, ERROR),
    ],
)
async def test_declarative_server_status_verdicts(answer: Answer, verdict: Verdict) -> None:
    probe = declarative.load_probe(data.profiles() / "checks" / "server-status.yaml")
    [result] = await run(probe(), {"/server-status": answer})
    assert result.check_id == "example.server-status"
    assert result.verdict is verdict, result.reason
