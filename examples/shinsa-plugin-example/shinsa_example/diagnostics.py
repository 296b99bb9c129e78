"""Example probe: a maintenance page served without a login, and secrets shown on it.

Embedded web servers often ship a diagnostic page for the factory and for support (here at
`/diag`, titled "Diagnostics"): network settings, logs, sometimes the stored Wi-Fi
passphrase or the SNMP community. Two checks decide it from one request:

- `example.diag-page`: the page is not readable without a login;
- `example.diag-secrets`: a page that is readable shows no stored secret.

What every probe keeps to (scanner/probe.py, ARCHITECTURE.md):

- every byte goes through `ctx.net` (the scope, the device's permits, timeouts, bounded
  reads): a probe opens no socket of its own;
- `run()` returns exactly one result per check in `checks`, each with the service;
- a failed request (refused, reset, no answer in time, not HTTP) is `error`, never `pass`;
  an answer that decides nothing is `inconclusive`; a check with nothing to look at is
  `not_applicable`;
- a reason names the device, the service and what it did; a secret the device shows is
  named by its field, never quoted (results are stored and reported).

The judging is a pure function (`judge`), unit-tested without a network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from scanner.http_decoding import read_body
from scanner.http_location import describe_failure
from scanner.model import Evidence, Result, Service, Verdict
from scanner.probe import Check, ProbeContext, Remedy, ServiceProbe, Severity

DIAG_PATH = "/diag"
READ_LIMIT = 64 * 1024  # a diagnostic page is small; more is not read (the bound is ours)
#: the page is recognised by its title, not by a 200 alone: many devices answer 200 with
#: their login page for any path
PAGE_MARK = re.compile(rb"(?i)<title>[^<]{0,80}diagnostic")
#: a stored secret shown with its value: the field name, ':' or '=', a character of value
SECRET_FIELD = re.compile(
    rb"(?i)\b(password|passwd|passphrase|psk|secret|community)\s*[:=]\s*[^\s<&]"
)
#: answers showing the request reached the device's handler and the page is not open
REFUSED = frozenset({401, 403, 404})

DIAG_PAGE = Check(
    id="example.diag-page",
    title="A diagnostic page is readable without a login",
    title_ja="診断ページがログインなしで閲覧できる",
    method=(
        f"GET {DIAG_PATH} without credentials: a 200 page titled '...Diagnostic...' is the "
        "page, readable (fail); 401, 403 or 404 shows it is not (pass); any other answer "
        "decides nothing (inconclusive)"
    ),
    method_ja=(
        f"認証情報なしでGET {DIAG_PATH}を送る。題名に'Diagnostic'を含む200応答のページは"
        "診断ページが閲覧できる状態（不合格）、401・403・404の応答は閲覧できない状態（合格）とし、"
        "その他の応答では判定しない（判定不能）"
    ),
    # Everything a report says about the check lives here, beside its title and method.
    severity=Severity.MEDIUM,
    severity_reason=(
        "Anyone on the network reads the device's settings and logs; what the page shows "
        "decides how much worse (example.diag-secrets)."
    ),
    severity_reason_ja=(
        "ネットワーク上の誰もが機器の設定とログを読める。"
        "ページに何が表示されるかで深刻さが変わる（example.diag-secrets）。"
    ),
    remediation=Remedy(
        en="Require a login for the diagnostic page, or remove it from production firmware.",
        ja="診断ページにログインを必須にするか、製品ファームウェアから削除する。",
    ),
    references=("CWE-200", "CWE-489"),
)
DIAG_SECRETS = Check(
    id="example.diag-secrets",
    title="A readable diagnostic page shows a stored password, passphrase or community",
    title_ja="ログインなしで閲覧できる診断ページに、保存されたパスワード等が表示される",
    method=(
        f"On the page GET {DIAG_PATH} returned without credentials: a field named password, "
        "passwd, passphrase, psk, secret or community with a value (fail); the page read "
        "whole without one (pass); no page readable without a login (not applicable)"
    ),
    method_ja=(
        f"認証情報なしのGET {DIAG_PATH}で返されたページに、password、passwd、passphrase、psk、"
        "secret、communityという名前の項目が値付きであれば不合格、ページ全体を読んでそれがなければ"
        "合格、ログインなしで閲覧できるページがなければ該当なしとする"
    ),
    severity=Severity.HIGH,
    severity_reason=(
        "Anyone on the network reads a password or community string that opens the device or "
        "its network."
    ),
    severity_reason_ja=(
        "ネットワーク上の誰もが、機器やそのネットワークに入るためのパスワードやコミュニティ名を読める。"
    ),
    remediation=Remedy(
        en="Never show stored secrets on a page; show only whether one is set.",
        ja="保存されたパスワード等の秘密情報をページに表示せず、設定済みかどうかのみを示す。",
    ),
    references=("CWE-200", "CWE-522"),
)


@dataclass(frozen=True, slots=True)
class Judgement:
    """The two verdicts of one answer, each with the reason's end."""

    page: Verdict
    page_why: str
    secrets: Verdict
    secrets_why: str


def judge(status: int, body: bytes, *, whole: bool) -> Judgement:
    """Both checks from the answer to GET /diag: its status, its body as read, and whether
    that body is the whole page (`whole`; a page cut at the read bound may hide a secret
    further on)."""
    if status in REFUSED:
        return Judgement(
            Verdict.PASS,
            f"HTTP {status}: the device does not serve the page without a login",
            Verdict.NOT_APPLICABLE,
            f"HTTP {status}: no diagnostic page is readable without a login to look at",
        )
    if status != 200 or PAGE_MARK.search(body) is None:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"HTTP {status} without a diagnostic page's title: neither the page nor a "
            "refusal (401, 403, 404)",
            Verdict.INCONCLUSIVE,
            f"HTTP {status}: whether a diagnostic page is readable is not known",
        )
    page_why = "HTTP 200: a diagnostic page is served without a login"
    found = SECRET_FIELD.search(body)
    if found is not None:
        field_name = found.group(1).decode("ascii").lower()
        return Judgement(
            Verdict.FAIL,
            page_why,
            Verdict.FAIL,
            f"the page shows a value for a field named '{field_name}' (the value is not kept)",
        )
    if not whole:
        return Judgement(
            Verdict.FAIL,
            page_why,
            Verdict.INCONCLUSIVE,
            "the page was not read to its end and the part read shows no secret",
        )
    return Judgement(
        Verdict.FAIL,
        page_why,
        Verdict.PASS,
        "the page, read whole, shows no password, passphrase, psk, secret or community",
    )


class DiagnosticPage(ServiceProbe):
    """`example.diag-page` and `example.diag-secrets` on every HTTP(S) service."""

    checks = (DIAG_PAGE, DIAG_SECRETS)
    protocols = frozenset({"http", "https"})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        where = f"{ctx.target.address} {service}: GET {DIAG_PATH}"
        try:
            # ctx.net.http: the device's own client (scope, permits, timeouts, no redirects
            # followed); the body is streamed and read to READ_LIMIT at most.
            async with ctx.net.http(service) as client:
                response = await client.send(client.build_request("GET", DIAG_PATH), stream=True)
                try:
                    body = await read_body(response, READ_LIMIT)
                finally:
                    await response.aclose()
        except (httpx.HTTPError, OSError) as exc:
            # describe_failure says what the device did, never the library's message (it
            # may quote device bytes)
            why = f"{where}: {describe_failure(exc)}; nothing to judge."
            return [ctx.result(c, Verdict.ERROR, why, service=service) for c in self.checks]
        status = response.status_code
        verdicts = judge(status, body.data, whole=body.whole)
        # the evidence holds the status and the size, never the page: it may hold a secret
        evidence = Evidence(
            "http_exchange",
            f"GET {DIAG_PATH}: HTTP {status}, {len(body.data)} byte(s)",
            {"path": DIAG_PATH, "status": status, "bytes": len(body.data)},
        )
        return [
            ctx.result(
                DIAG_PAGE,
                verdicts.page,
                f"{where}: {verdicts.page_why}.",
                evidence,
                service=service,
            ),
            ctx.result(
                DIAG_SECRETS,
                verdicts.secrets,
                f"{where}: {verdicts.secrets_why}.",
                evidence,
                service=service,
            ),
        ]


#: what the `shinsa.probes` entry point names (a list: a plugin may add more probes)
PROBES = [DiagnosticPage]
