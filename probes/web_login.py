"""Login transport and URL hygiene of a device's web interface, from what fingerprinting
fetched (GET / and the device's own redirects).

The source guidebook's design table asks that every page with an input form be served over
HTTPS and that no user ID or password travel in URL parameters; IEC 62443-4-2 CR 4.1 and
NIST SP 800-171 3.13.8 ask for authenticators protected in transit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urljoin, urlsplit

from probes._web import SECRET_PARAM
from scanner.errors import ConfigError
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, LOGIN_SURFACES, on_service
from scanner.model import Evidence, Result, Verdict
from scanner.probe import Check, Params, Remedy, ServiceProbe, Severity
from scanner.redact import mask_url

if TYPE_CHECKING:
    from scanner.facts import HttpPage, LoginForm, LoginSurface
    from scanner.model import JSONValue, Service
    from scanner.probe import ProbeContext


@dataclass(frozen=True, slots=True)
class HstsParams(Params):
    """`web.hsts` parameters."""

    min_max_age: int = 15_552_000  # 180 days, the floor most browser preload lists use

    def __post_init__(self) -> None:
        if self.min_max_age < 0:
            raise ConfigError("min_max_age must be ≥ 0 seconds")


LOGIN_TRANSPORT = Check(
    id="web.login.cleartext",
    title="Login pages or their form targets are served over plain HTTP",
    title_ja="ログイン画面またはその送信先が平文のHTTPで提供されている",
    method=(
        "Looks at every login form (password input) and HTTP Basic/Digest challenge that "
        "GET / and the device's own redirects led to: a form page or form action with an "
        "http:// URL, or a challenge answered over plain HTTP, is a failure."
    ),
    method_ja=(
        "GET /と機器自身のリダイレクトでたどり着いたすべてのログインフォーム（パスワード入力欄）"
        "とHTTP Basic/Digest認証要求を調べる。フォームのページまたは送信先（form action）"
        "のURLがhttp://であるか、認証要求に平文のHTTPで応答している場合は不合格とする。"
    ),
    severity=Severity.HIGH,
    severity_reason="Every password typed crosses the network readable by anyone on the path.",
    severity_reason_ja=(
        "入力されたパスワードはすべて、通信経路上の誰にでも読める平文のままネットワークを流れる。"
    ),
    kind="https_login",
    remediation=Remedy(
        en="Serve every page with a login form, and the address it posts to, over HTTPS only.",
        ja="入力フォームのある画面とその送信先はHTTPSのみで提供する。",
    ),
    references=("CWE-319", "CWE-523"),
)
HSTS = Check(
    id="web.hsts",
    title="HTTPS responses lack Strict-Transport-Security with a long max-age",
    title_ja="HTTPS応答に十分なmax-ageのStrict-Transport-Security（HSTS）ヘッダがない",
    method=(
        "Reads the Strict-Transport-Security header of the HTTPS pages fetched and compares "
        "its max-age with the profile's minimum (min_max_age, default 180 days)."
    ),
    method_ja=(
        "取得したHTTPSページの応答からStrict-Transport-Securityヘッダを読み取り、"
        "その有効期間max-ageをプロファイルが定める最小値（min_max_age、既定では180日）と比較する。"
        "ヘッダがないか、max-ageが最小値に満たなければ不合格とする。"
    ),
    params=HstsParams,
    severity=Severity.LOW,
    severity_reason=(
        "An active attacker can turn a browser's first plain request into a cleartext "
        "session; the HTTPS service itself stays sound."
    ),
    severity_reason_ja=(
        "能動的な攻撃者は、ブラウザの最初の平文の要求を平文のセッションに変えられる。"
        "HTTPSのサービス自体の安全性は保たれる。"
    ),
    kind="https_login",
    remediation=Remedy(
        en=(
            "Send Strict-Transport-Security on every HTTPS response with a max-age of at least "
            "the profile's minimum (min_max_age: 180 days, 15552000 seconds, by default)."
        ),
        ja=(
            "すべてのHTTPS応答でStrict-Transport-Securityヘッダを送り、max-ageを"
            "プロファイルの最小値（min_max_age、既定では180日＝15552000秒）以上にする。"
        ),
    ),
    references=("CWE-319", "RFC 6797"),
)
SECRETS_IN_URL = Check(
    id="web.secrets-in-url",
    title="Passwords, tokens or session IDs travel in URLs",
    title_ja="パスワード、トークン、セッションIDがURLに含まれて送られる",
    method=(
        "Flags login forms submitted with GET (the password lands in the query string) and "
        "any URL seen before a login — pages, redirects, form actions — whose query names a "
        "password, token or session ID parameter (URLs after a login: session.id-in-url)."
    ),
    method_ja=(
        "GETで送信されるログインフォーム（パスワードがクエリ文字列に入る）と、"
        "ログイン前に見たURL（ページ、リダイレクト、フォームの送信先）のうち、クエリにパスワード、"
        "トークン、セッションIDのパラメータを含むものを検出する（ログイン後のURLはsession.id-in-url"
        "で扱う）。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "URLs are kept in logs, browser history and Referer headers, where others may read "
        "the secret later."
    ),
    severity_reason_ja=(
        "URLはログ、ブラウザの履歴、Refererヘッダに残り、後で他者に秘密情報を読まれるおそれがある。"
    ),
    kind="secrets_in_url",
    remediation=Remedy(
        en=(
            "Send passwords, tokens and session IDs in the request body or a header, never in a "
            "URL."
        ),
        ja=(
            "パスワード、トークン、セッションIDはURLパラメータに含めず、"
            "リクエスト本文やヘッダで送る。"
        ),
    ),
    references=("CWE-598",),
)

HTTPS_REDIRECT = Check(
    id="web.https-redirect",
    title="Plain HTTP does not send the login to HTTPS on the same device",
    title_ja="平文のHTTPでのアクセスが同じ機器のHTTPSのログインへリダイレクトされない",
    method=(
        "On a plain-HTTP service: GET / answered with a redirect to an https:// URL on the "
        "same device passes; a redirect elsewhere fails; a login form or authentication "
        "challenge served over plain HTTP with no redirect fails. A plain-HTTP service "
        "with neither a redirect nor a login is not applicable."
    ),
    method_ja=(
        "平文のHTTPサービスで、GET /への応答が同じ機器のhttps:// URLへのリダイレクトなら合格、"
        "他へのリダイレクトなら不合格、リダイレクトせずに平文のHTTPでログインフォームや認証要求を"
        "返せば不合格とする。リダイレクトもログインもない平文のHTTPサービスは該当なしとする。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "Users who type the device's plain address are not brought to HTTPS: they log in "
        "in cleartext or are sent to another host."
    ),
    severity_reason_ja=(
        "機器のアドレスをそのまま入力した利用者がHTTPSに誘導されず、"
        "平文でログインするか別のホストへ送られる。"
    ),
    kind="https_login",
    remediation=Remedy(
        en="Redirect every plain-HTTP request for the login to HTTPS on the same device.",
        ja="ログインへの平文HTTPの要求は、すべて同じ機器のHTTPSへリダイレクトする。",
    ),
    references=("CWE-319", "CWE-523"),
)


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def _secret_params(url: str) -> list[str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    return [
        name for name, _ in parse_qsl(query, keep_blank_values=True) if SECRET_PARAM.match(name)
    ]


def _same_host(host: str | None, address: str) -> bool:
    return host is not None and host.strip("[]").lower() == address.lower()


def _max_age(header: str) -> int | None:
    # ASCII digits only (RFC 6797 §6.1.1: max-age is 1*DIGIT): `\d` would also read
    # "٣١٥٣٦٠٠٠" as a year of HSTS, which no browser honours.
    m = re.search(r"max-age\s*=\s*\"?([0-9]+)", header, re.IGNORECASE | re.ASCII)
    return int(m.group(1)) if m else None


class WebLoginHygiene(ServiceProbe):
    """Judges what fingerprinting saw of one web service; sends nothing itself."""

    checks = (LOGIN_TRANSPORT, HSTS, SECRETS_IN_URL, HTTPS_REDIRECT)
    protocols = frozenset({"http", "https"})
    uses = frozenset({LOGIN_SURFACES})  # JavaScript logins take passwords without a <form>

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        pages = [p for p in ctx.facts.get(HTTP_PAGES) or () if p.service.key == service.key]
        forms = [f for f in ctx.facts.get(LOGIN_FORMS) or () if f.service.key == service.key]
        scripted = [r for r in ctx.facts.get(LOGIN_SURFACES) or () if r.service.key == service.key]
        where = ctx.about(service).where
        return [
            self._transport(ctx, service, where, pages, forms, scripted),
            self._hsts(ctx, service, where, pages),
            self._secrets(ctx, service, where, pages, forms),
            self._redirect(ctx, service, where, pages, forms, scripted),
        ]

    def _redirect(
        self,
        ctx: ProbeContext,
        service: Service,
        where: str,
        pages: list[HttpPage],
        forms: list[LoginForm],
        scripted: list[LoginSurface],
    ) -> Result:
        about = ctx.about(service)
        where_ja = about.where_ja
        if service.tls or service.protocol == "https":
            return about.result(
                HTTPS_REDIRECT,
                Verdict.NOT_APPLICABLE,
                f"{where} is HTTPS already.",
                reason_ja=f"{where_ja} はすでに HTTPS である。",
            )
        if not pages:
            return self._no_pages(ctx, HTTPS_REDIRECT, service, where)
        first = pages[0]
        evidence = Evidence(
            "http_exchange",
            f"GET / answered HTTP {first.status}",
            {
                "url": mask_url(first.url),
                "status": first.status,
                "location": mask_url(first.location),
            },
            summary_ja=f"GET / への応答は HTTP {first.status}",
        )
        if first.status in (301, 302, 303, 307, 308) and first.location:
            target = urljoin(first.url, first.location)
            parts = urlsplit(target)
            if parts.scheme.lower() == "https" and _same_host(parts.hostname, ctx.target.address):
                return about.result(
                    HTTPS_REDIRECT,
                    Verdict.PASS,
                    f"{where} redirects GET / to {mask_url(target)}.",
                    evidence,
                    reason_ja=f"{where_ja} は GET / を {mask_url(target)} へリダイレクトする。",
                )
            if parts.scheme.lower() == "https":
                return about.result(
                    HTTPS_REDIRECT,
                    Verdict.FAIL,
                    f"{where} redirects GET / to HTTPS on another host "
                    f"({mask_url(target)}): a user cannot tell it is still the device.",
                    evidence,
                    reason_ja=(
                        f"{where_ja} は GET / を別のホストの HTTPS（{mask_url(target)}）"
                        "へリダイレクトする。利用者はそれがまだ機器であると判断できない。"
                    ),
                )
        own_forms = [f for f in forms if on_service(f.page_url, service)]
        own_scripted = [r for r in scripted if on_service(r.page_url, service)]
        challenge = any(p.auth_scheme and on_service(p.url, service) for p in pages)
        if own_forms or own_scripted or challenge:
            what = (
                "a login form"
                if own_forms
                else ("a scripted login" if own_scripted else "an authentication challenge")
            )
            what_ja = (
                "ログインフォーム"
                if own_forms
                else ("スクリプトによるログイン" if own_scripted else "認証チャレンジ")
            )
            return about.result(
                HTTPS_REDIRECT,
                Verdict.FAIL,
                f"{where} serves {what} over plain HTTP instead of redirecting to HTTPS.",
                evidence,
                reason_ja=(
                    f"{where_ja} は HTTPS へリダイレクトせず、平文の HTTP で"
                    f"{what_ja}を提供している。"
                ),
            )
        cut = next((p for p in pages if p.incomplete), None)
        if cut is not None:
            return about.result(
                HTTPS_REDIRECT,
                Verdict.INCONCLUSIVE,
                f"{where} does not redirect to HTTPS and showed no login on the part read, but "
                f"{mask_url(cut.url)} could not be read whole ({cut.incomplete}).",
                evidence,
                reason_ja=(
                    f"{where_ja} は HTTPS へリダイレクトせず、"
                    f"読み取った範囲にログインはなかったが、{mask_url(cut.url)} "
                    f"を最後まで読み取れなかった（{cut.incomplete}）。"
                ),
            )
        return about.result(
            HTTPS_REDIRECT,
            Verdict.NOT_APPLICABLE,
            f"{where} neither redirects to HTTPS nor shows a login.",
            evidence,
            reason_ja=f"{where_ja} は HTTPS へリダイレクトせず、ログインも表示しない。",
        )

    @staticmethod
    def _no_pages(ctx: ProbeContext, check: Check, service: Service, where: str) -> Result:
        why = f" ({service.note})" if service.note else ""
        why_ja = f"（{service.note}）" if service.note else ""
        where_ja = ctx.about(service).where_ja
        return ctx.about(service).result(
            check,
            Verdict.INCONCLUSIVE,
            f"{where} did not answer GET / in a usable way{why}.",
            reason_ja=f"{where_ja} は GET / に使える形で応答しなかった{why_ja}。",
        )

    def _transport(
        self,
        ctx: ProbeContext,
        service: Service,
        where: str,
        pages: list[HttpPage],
        forms: list[LoginForm],
        scripted: list[LoginSurface],
    ) -> Result:
        about = ctx.about(service)
        where_ja = about.where_ja
        if not pages:
            return self._no_pages(ctx, LOGIN_TRANSPORT, service, where)
        details: dict[str, JSONValue] = {
            "forms": [
                {
                    "page": mask_url(f.page_url),
                    "action": mask_url(f.action_url),
                    "method": f.method,
                }
                for f in forms
            ],
            "challenges": [
                {"url": mask_url(p.url), "scheme": p.auth_scheme} for p in pages if p.auth_scheme
            ],
            "scripted": [
                {
                    "page": mask_url(r.page_url),
                    "request": f"{r.method} {mask_url(r.url)}",
                    "found_by": r.source,
                }
                for r in scripted
            ],
        }
        challenges = sum(1 for p in pages if p.auth_scheme)
        evidence = Evidence(
            "login_surfaces",
            f"{len(forms)} form(s), {challenges} challenge(s), {len(scripted)} scripted login(s)",
            details,
            summary_ja=(
                f"フォーム {len(forms)} 件、認証チャレンジ {challenges} 件、"
                f"スクリプトによるログイン {len(scripted)} 件"
            ),
        )
        plain_pages = [f for f in forms if _scheme(f.page_url) == "http"]
        plain_actions = [
            f for f in forms if _scheme(f.action_url) == "http" and _scheme(f.page_url) == "https"
        ]
        plain_challenges = [p for p in pages if p.auth_scheme and _scheme(p.url) == "http"]
        plain_scripted = [r for r in scripted if "http" in (_scheme(r.page_url), _scheme(r.url))]
        if plain_pages:
            f = plain_pages[0]
            reason = f"{where} serves a login form over plain HTTP ({mask_url(f.page_url)})."
            reason_ja = (
                f"{where_ja} は平文の HTTP でログインフォームを提供している"
                f"（{mask_url(f.page_url)}）。"
            )
        elif plain_actions:
            f = plain_actions[0]
            reason = (
                f"{where} serves its login form over HTTPS but posts it to plain HTTP "
                f"({mask_url(f.action_url)})."
            )
            reason_ja = (
                f"{where_ja} はログインフォームを HTTPS で提供しているが、送信先は平文の HTTP"
                f"（{mask_url(f.action_url)}）。"
            )
        elif plain_challenges:
            p = plain_challenges[0]
            reason = (
                f"{where} asks for {p.auth_scheme} credentials over plain HTTP ({mask_url(p.url)})."
            )
            reason_ja = (
                f"{where_ja} は平文の HTTP で {p.auth_scheme} 認証の資格情報を求める"
                f"（{mask_url(p.url)}）。"
            )
        elif plain_scripted:
            r = plain_scripted[0]
            reason = (
                f"{where} takes passwords over plain HTTP: its login page "
                f"({mask_url(r.page_url)}) sends them with {r.method} "
                f"{mask_url(r.url)} from a script."
            )
            reason_ja = (
                f"{where_ja} は平文の HTTP でパスワードを受け取る。ログインページ"
                f"（{mask_url(r.page_url)}）はスクリプトから {r.method} {mask_url(r.url)} "
                "でパスワードを送る。"
            )
        else:
            reason = reason_ja = ""
        if reason:
            return about.result(
                LOGIN_TRANSPORT, Verdict.FAIL, reason, evidence, reason_ja=reason_ja
            )
        if forms or scripted or any(p.auth_scheme for p in pages):
            return about.result(
                LOGIN_TRANSPORT,
                Verdict.PASS,
                f"{where} serves and submits every login it showed over HTTPS.",
                evidence,
                reason_ja=f"{where_ja} は表示したすべてのログインを HTTPS で提供・送信している。",
            )
        cut = next((p for p in pages if p.incomplete), None)
        if cut is not None:
            return about.result(
                LOGIN_TRANSPORT,
                Verdict.INCONCLUSIVE,
                f"{where} showed no login on the part read, but {mask_url(cut.url)} could "
                f"not be read whole ({cut.incomplete}).",
                evidence,
                reason_ja=(
                    f"{where_ja} は読み取った範囲にログインを示さなかったが、{mask_url(cut.url)} "
                    f"を最後まで読み取れなかった（{cut.incomplete}）。"
                ),
            )
        return about.result(
            LOGIN_TRANSPORT,
            Verdict.NOT_APPLICABLE,
            f"{where} showed no login form or authentication challenge on the pages fetched.",
            evidence,
            reason_ja=(
                f"{where_ja} は取得したページにログインフォームも認証チャレンジも示さなかった。"
            ),
        )

    def _hsts(
        self, ctx: ProbeContext, service: Service, where: str, pages: list[HttpPage]
    ) -> Result:
        about = ctx.about(service)
        where_ja = about.where_ja
        secure = [p for p in pages if _scheme(p.url) == "https"]
        if not secure:
            if service.protocol == "https" or service.tls:
                return self._no_pages(ctx, HSTS, service, where)
            return about.result(
                HSTS,
                Verdict.NOT_APPLICABLE,
                f"{where} is plain HTTP and led to no HTTPS page.",
                reason_ja=f"{where_ja} は平文の HTTP で、HTTPS のページへは導かなかった。",
            )
        minimum = ctx.params(HSTS, HstsParams).min_max_age
        page = secure[0]
        seen = Evidence(
            "http_header",
            f"Strict-Transport-Security: {page.hsts or '(absent)'}",
            {"url": mask_url(page.url), "header": page.hsts, "min_max_age": minimum},
            summary_ja=f"Strict-Transport-Security ヘッダ: {page.hsts or '（なし）'}",
        )
        age = _max_age(page.hsts) if page.hsts else None
        if age is None:
            return about.result(
                HSTS,
                Verdict.FAIL,
                f"{where} sends no Strict-Transport-Security header on {mask_url(page.url)}.",
                seen,
                reason_ja=(
                    f"{where_ja} は {mask_url(page.url)} で Strict-Transport-Security "
                    "ヘッダを送らない。"
                ),
            )
        if age < minimum:
            return about.result(
                HSTS,
                Verdict.FAIL,
                f"{where} sends Strict-Transport-Security with max-age {age} s, "
                f"below the profile's {minimum} s.",
                seen,
                reason_ja=(
                    f"{where_ja} は max-age {age} 秒の Strict-Transport-Security を送るが、"
                    f"プロファイルの {minimum} 秒を下回る。"
                ),
            )
        return about.result(
            HSTS,
            Verdict.PASS,
            f"{where} sends Strict-Transport-Security with max-age {age} s.",
            seen,
            reason_ja=f"{where_ja} は max-age {age} 秒の Strict-Transport-Security を送る。",
        )

    def _secrets(
        self,
        ctx: ProbeContext,
        service: Service,
        where: str,
        pages: list[HttpPage],
        forms: list[LoginForm],
    ) -> Result:
        about = ctx.about(service)
        where_ja = about.where_ja
        if not pages:
            return self._no_pages(ctx, SECRETS_IN_URL, service, where)
        urls = [u for p in pages for u in (p.url, p.location) if u]
        urls += [f.action_url for f in forms]
        found = [(u, names) for u in urls if (names := _secret_params(u))]
        get_forms = [f for f in forms if f.method == "GET" and f.password_field]
        # A GET form that targets its own page usually has no action or method at all: a
        # script submits it some other way (JSON to an API). Without running the script
        # nobody can tell, so it is not a finding on its own.
        to_elsewhere = [f for f in get_forms if f.action_url != f.page_url]
        seen: list[JSONValue] = [mask_url(u) for u in urls[:20]]
        secret: list[JSONValue] = [{"url": mask_url(u), "names": list(n)} for u, n in found]
        targets: list[JSONValue] = [mask_url(f.action_url) for f in get_forms]
        details: dict[str, JSONValue] = {
            "urls_seen": seen,
            "secret_parameters": secret,
            "get_login_forms": targets,
        }
        evidence = Evidence(
            "urls",
            f"{len(urls)} URL(s) seen",
            details,
            summary_ja=f"確認した URL {len(urls)} 件",
        )
        if to_elsewhere:
            f = to_elsewhere[0]
            return about.result(
                SECRETS_IN_URL,
                Verdict.FAIL,
                f"{where} submits its login form with GET: the password field "
                f"{f.password_field!r} travels in the URL "
                f"({mask_url(f.action_url)}).",
                evidence,
                reason_ja=(
                    f"{where_ja} はログインフォームを GET で送信する。パスワード欄 "
                    f"{f.password_field!r} が URL に載る（{mask_url(f.action_url)}）。"
                ),
            )
        if found:
            url, names = found[0]
            return about.result(
                SECRETS_IN_URL,
                Verdict.FAIL,
                f"{where} puts {', '.join(names)} in a URL ({mask_url(url)}).",
                evidence,
                reason_ja=(
                    f"{where_ja} は {', '.join(names)} を URL に載せている（{mask_url(url)}）。"
                ),
            )
        if get_forms:
            return about.result(
                SECRETS_IN_URL,
                Verdict.INCONCLUSIVE,
                f"{where} has a login form without method or action: a script may submit it "
                "safely, or the browser would put the password in the URL.",
                evidence,
                reason_ja=(
                    f"{where_ja} には method も action もないログインフォームがある。"
                    "スクリプトが安全に送信するかもしれないし、ブラウザがパスワードを URL "
                    "に載せるかもしれない。"
                ),
            )
        cut = next((p for p in pages if p.incomplete), None)
        if cut is not None and not forms:
            # A GET login form may sit past the cut.
            return about.result(
                SECRETS_IN_URL,
                Verdict.INCONCLUSIVE,
                f"{where}: none of the {len(urls)} URL(s) seen carries a secret, but "
                f"{mask_url(cut.url)} could not be read whole ({cut.incomplete}).",
                evidence,
                reason_ja=(
                    f"{where_ja}: 確認した URL {len(urls)} 件のどれにも秘密情報はないが、"
                    f"{mask_url(cut.url)} を最後まで読み取れなかった（{cut.incomplete}）。"
                ),
            )
        return about.result(
            SECRETS_IN_URL,
            Verdict.PASS,
            f"{where}: none of the {len(urls)} URL(s) seen carries a password, "
            "token or session ID, and no login form submits with GET.",
            evidence,
            reason_ja=(
                f"{where_ja}: 確認した URL {len(urls)} "
                "件のどれにもパスワード・トークン・セッション ID はなく、GET "
                "で送信するログインフォームもない。"
            ),
        )
