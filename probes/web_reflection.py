"""Reflected XSS in the device's web UI, tested without harm.

Inputs tested (all by GET, so nothing on the device changes): every text field of every
GET form on the pages fingerprinting reached (a form with a password input is a login and
is never sent), every query parameter of the links on those pages, and the path of a page
that does not exist (error pages often echo it). Each input gets a unique marker that
carries a tag of its own, `shz<hex>'"<shz<hex>x>`; the page fails when that tag comes back
as markup in an HTML answer: unescaped, it would have been an element had it been a script.
A marker that comes back escaped, or not at all, passes. Links and forms are taken only
from this service's own pages, at most `MAX_INPUTS` inputs per service.

IEC 62443-4-2 CR 3.5 (input validation); NIST SP 800-171 3.14.1 (flaw remediation,
supporting).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx

from probes._web import read_page
from scanner.errors import ScopeError
from scanner.facts import HTTP_PAGES, on_service
from scanner.http_exchange import Throttled, exchange, follow
from scanner.http_location import describe_failure
from scanner.model import Evidence, JSONValue, Result, Verdict, bound_text
from scanner.probe import Check, Remedy, ServiceProbe, Severity

if TYPE_CHECKING:
    from probes._web import GetForm, Link
    from scanner.model import Service
    from scanner.probe import ProbeContext, ServiceResults

REFLECTED_XSS = Check(
    id="web.xss.reflected",
    title="The web UI echoes input unescaped (reflected XSS)",
    title_ja="Web画面が入力をエスケープせずに出力する（反射型XSS）",
    method=(
        "Sends a unique harmless marker carrying its own tag through every GET form field, "
        "every query parameter of the links on the pages reached, and the path of a missing "
        "page; fails when the tag comes back as markup in an HTML answer."
    ),
    method_ja=(
        "独自のタグを含む一意で無害な目印を、GETフォームのすべての入力欄、"
        "たどり着いたページ上のリンクのすべてのクエリパラメータ、"
        "存在しないページのパスに入れて送る。そのタグがHTML応答の中にマークアップとして返ってくれば"
        "不合格とする（クロスサイトスクリプティング対策の確認）。"
    ),
    severity=Severity.HIGH,
    severity_reason=(
        "A crafted link runs the attacker's script in a logged-in administrator's browser, "
        "with the administrator's rights."
    ),
    severity_reason_ja=(
        "細工したリンクにより、ログイン中の管理者のブラウザで攻撃者のスクリプトが管理者の権限で"
        "実行される。"
    ),
    kind="xss_reflection",
    remediation=Remedy(
        en=(
            "Escape every value the web UI echoes back for its context (HTML, attribute, script, "
            "URL)."
        ),
        ja=(
            "Web画面が出力する値は文脈（HTML、属性、スクリプト、URL）"
            "に応じてエスケープする（XSS対策）。"
        ),
    ),
    references=("CWE-79",),
)
MAX_INPUTS = 20
MAX_PAGES = 5
_HTML = re.compile(r"html|xml", re.IGNORECASE)


def _marker() -> tuple[str, str]:
    """(payload, the tag whose unescaped return is the finding)."""
    token = secrets.token_hex(4)
    tag = f"<shz{token}x>"
    return f"shz{token}'\"{tag}", tag


def _with(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(n, value if n == name else v) for n, v in parse_qsl(parts.query, True)]
    if name not in {n for n, _ in query}:
        query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _inputs(service: Service, pages: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """(url, parameter name) pairs to test, GET forms first, each once."""
    found: dict[tuple[str, str], None] = {}
    for base, body in pages:
        links, forms = read_page(base, body)
        for form in forms:
            _add_form(found, service, form)
        for link in links:
            _add_link(found, service, link)
    return list(found)[:MAX_INPUTS]


def _add_form(found: dict[tuple[str, str], None], service: Service, form: GetForm) -> None:
    if not on_service(form.action, service):
        return
    query = urlencode(form.fields)
    url = urlunsplit(urlsplit(form.action)._replace(query=query))
    for name, _ in form.fields:
        found.setdefault((url, name), None)


def _add_link(found: dict[tuple[str, str], None], service: Service, link: Link) -> None:
    if not on_service(link.url, service):
        return
    try:
        names = [n for n, _ in parse_qsl(urlsplit(link.url).query, True)]
    except ValueError:
        return
    for name in names:
        found.setdefault((link.url, name), None)


class WebReflection(ServiceProbe):
    """Reflection tests on one web service's own pages."""

    checks = (REFLECTED_XSS,)
    protocols = frozenset({"http", "https"})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        return [judge(ctx.about(service), await observe(ctx, service))]


@dataclass(frozen=True, slots=True)
class Reflections:
    """What the reflection tests of one service saw: the inputs tested, those whose marker
    came back as markup, the inputs that reached no handler and the pages not read whole."""

    read: bool  # a page of the service could be read, so there were inputs to test
    unread: str = ""  # why no page could be read
    tested: tuple[str, ...] = ()
    reflected: tuple[dict[str, JSONValue], ...] = ()
    errors: tuple[str, ...] = ()
    cut: tuple[str, ...] = ()


async def observe(ctx: ProbeContext, service: Service) -> Reflections:
    """Read the service's own pages, then send each input its marker."""
    address = ctx.net.address
    seen = [p for p in ctx.facts.get(HTTP_PAGES) or () if p.service.key == service.key]
    starts = [p.url for p in seen if on_service(p.url, service)] or ["/"]
    async with ctx.net.http(service) as client:
        pages: list[tuple[str, bytes]] = []
        cut: list[str] = []  # pages not read whole: inputs past the cut are unknown
        unread: list[str] = []  # why a start page could not be read
        for url in list(dict.fromkeys(starts))[:MAX_PAGES]:
            answer = await _get(client, url, address)
            if isinstance(answer, tuple):
                pages.append(answer[:2])
                if answer[2]:
                    cut.append(f"{urlsplit(answer[0]).path or '/'}: {answer[2]}")
            else:
                unread.append(answer)
        if not pages:
            return Reflections(read=False, unread=unread[0] if unread else "")
        root = str(client.base_url)
        missing = f"{root}/shinsa-missing-{secrets.token_hex(3)}"
        inputs = [*_inputs(service, pages), (missing, "")]
        tested: list[str] = []
        reflected: list[dict[str, JSONValue]] = []
        errors: list[str] = []
        for url, name in inputs:
            payload, tag = _marker()
            # The path form is percent-encoded as a browser sends it; a device that decodes
            # and echoes it unescaped reflects the tag.
            target = _with(url, name, payload) if name else f"{url}/{quote(payload, '')}"
            label = f"{urlsplit(url).path or '/'} " + (f"?{name}" if name else "(path)")
            raw = await _get_raw(client, target)
            if isinstance(raw, str):
                errors.append(f"{label}: {raw}")
                continue
            body, content_type, status, incomplete = raw
            if status in (401, 403, 407):
                # The device wants a login first: the input never reached a handler.
                errors.append(f"{label}: HTTP {status} before any handler")
                continue
            at = body.find(tag)
            if at >= 0 and (not content_type or _HTML.search(content_type)):
                tested.append(label)
                around = body[max(0, at - 60) : at + len(tag) + 20]
                reflected.append({"input": label, "context": bound_text(around, 200)})
            elif incomplete:
                # The marker may come back past the cut: this input is not tested.
                errors.append(f"{label}: the answer could not be read whole ({incomplete})")
            else:
                tested.append(label)
    return Reflections(True, "", tuple(tested), tuple(reflected), tuple(errors), tuple(cut))


def judge(about: ServiceResults, seen: Reflections) -> Result:
    """The verdict on what the reflection tests saw (pure)."""
    where, where_ja = about.where, about.where_ja
    if not seen.read:
        why = f" ({seen.unread})" if seen.unread else ""
        why_ja = f"（{seen.unread}）" if seen.unread else ""
        return about.result(
            REFLECTED_XSS,
            Verdict.INCONCLUSIVE,
            f"{where}: no page of this service could be read{why}.",
            reason_ja=f"{where_ja}: このサービスのページを1つも読み取れなかった{why_ja}。",
        )
    details: dict[str, JSONValue] = {
        "tested": list(seen.tested),
        "reflected_unescaped": list(seen.reflected),
        "errors": list(seen.errors[:5]),
        "pages_cut": list(seen.cut[:5]),
    }
    evidence = Evidence(
        "http_reflection",
        f"{len(seen.tested)} input(s) tested",
        details,
        summary_ja=f"{len(seen.tested)} 個の入力を検査",
    )
    if seen.reflected:
        names = ", ".join(str(r["input"]) for r in seen.reflected[:3])
        return about.result(
            REFLECTED_XSS,
            Verdict.FAIL,
            f"{where}: the marker's tag came back unescaped in HTML from {names}.",
            evidence,
            reason_ja=(
                f"{where_ja}: 目印のタグが {names} からエスケープされずに HTML として返ってきた"
                "（反射型 XSS）。"
            ),
        )
    if not seen.tested:
        return about.result(
            REFLECTED_XSS,
            Verdict.INCONCLUSIVE,
            f"{where}: no input reached a page handler ({'; '.join(seen.errors[:2])}).",
            evidence,
            reason_ja=(
                f"{where_ja}: どの入力もページの処理部に届かなかった（"
                f"{'; '.join(seen.errors[:2])}）。"
            ),
        )
    if seen.cut:
        return about.result(
            REFLECTED_XSS,
            Verdict.INCONCLUSIVE,
            f"{where}: {len(seen.tested)} input(s) tested showed no reflection, but a page "
            f"could not be read whole ({seen.cut[0]}), so its other inputs are unknown.",
            evidence,
            reason_ja=(
                f"{where_ja}: 検査した {len(seen.tested)} 個の入力に反射はなかったが、"
                f"ページを最後まで読み取れなかった（{seen.cut[0]}）ため、その他の入力は不明。"
            ),
        )
    return about.result(
        REFLECTED_XSS,
        Verdict.PASS,
        f"{where}: {len(seen.tested)} input(s) tested; none echoed the marker's tag as markup.",
        evidence,
        reason_ja=(
            f"{where_ja}: {len(seen.tested)} 個の入力を検査し、"
            "目印のタグをマークアップとして返したものはなかった。"
        ),
    )


async def _get(client: httpx.AsyncClient, url: str, address: str) -> tuple[str, bytes, str] | str:
    """(final URL, body, why the body is not whole or ""), or what went wrong."""
    try:
        chain = await follow(client, await exchange(client, "GET", url), address)
    except Throttled as exc:
        return f"HTTP {exc.status} (throttled)"
    except ScopeError:
        return "would leave the device"
    except (httpx.HTTPError, OSError) as exc:
        return describe_failure(exc)  # what the device did, not the library's words
    if chain.malformed:
        # The page is behind a redirect no client can follow: its inputs are unknown, and
        # the empty redirect answer is no page to judge (it would read as "no reflection").
        return f"{urlsplit(url).path or '/'} redirected to a malformed location {chain.malformed}"
    return str(chain.final.url), chain.final.body, chain.final.incomplete


async def _get_raw(client: httpx.AsyncClient, url: str) -> tuple[str, str, int, str] | str:
    """The body (decoded, bounded), Content-Type, status and why the body is not whole
    (or "") of one GET, redirects not followed: a reflection is judged on the answer to
    the input itself."""
    try:
        answer = await exchange(client, "GET", url)
    except Throttled as exc:
        return f"HTTP {exc.status} (throttled)"
    except ScopeError:
        return "would leave the device"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return describe_failure(exc)  # what the device did, not the library's words
    body = answer.body.decode("utf-8", "replace")
    return body, answer.headers.get("content-type", ""), answer.status, answer.incomplete
