"""Web session hygiene and access control, judged after one real login.

The login uses the profile's `test_account` when set (its password from an environment
variable), else a credential the default-credentials probe found on this service. With
neither, every check is inconclusive and says so: a session cannot be judged from outside.

| check                 | fails when                                                         |
|-----------------------|--------------------------------------------------------------------|
| session.cookie-flags  | a cookie set at the login lacks HttpOnly, lacks Secure on HTTPS,   |
|                       | or has no SameSite (or SameSite=None without Secure)               |
| session.fixation      | a session-like cookie the device set before the login keeps its    |
|                       | value after the login (the pre-login ID now opens the session)     |
| session.logout        | after following the page's logout link, the old session cookie     |
|                       | still opens a page that needs the session                          |
| session.id-in-url     | a URL of the login's redirects, its landing page or that page's    |
|                       | links carries the session ID or a session/token parameter          |
| web.access-control    | a page reached only after the login answers with the same content  |
|                       | when requested without the session                                 |

"Needs the session" is measured, not assumed: a page counts only when it shows its content
with the session and something else (the login form, a redirect, 401/403) without it.
HTTP Basic/Digest has no cookie session and no logout (the browser resends the credential),
so those checks are not applicable there; a JSON token login has no page the probe can know
needs the token. IEC 62443-4-2 CR 3.8, CR 2.1; NIST SP 800-171 3.13.15, 3.1.1, 3.1.2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from probes._account import known_credential
from probes._login.http_session import NoSession, WebSession, open_session
from probes._web import SECRET_PARAM, fetch_page, parse_set_cookie, read_page, same_page
from scanner.facts import (
    HTTP_PAGES,
    LOGIN_FORMS,
    LOGIN_SURFACES,
    VALID_CREDENTIALS,
    on_service,
)
from scanner.model import Evidence, Verdict
from scanner.probe import Check, Phase, Remedy, ServiceProbe, Severity
from scanner.redact import mask_url

if TYPE_CHECKING:
    import httpx

    from probes._web import Link, SetCookie
    from scanner.facts import LoginSurface
    from scanner.model import JSONValue, Result, Service
    from scanner.probe import ProbeContext, ServiceResults

COOKIE_FLAGS = Check(
    id="session.cookie-flags",
    title="Session cookies lack Secure (on HTTPS), HttpOnly or SameSite",
    title_ja="セッションCookieにSecure（HTTPS時）、HttpOnly、SameSite属性がない",
    method=(
        "Logs in once with a known credential and reads every Set-Cookie of the login's "
        "answers: HttpOnly missing, Secure missing on HTTPS, or SameSite missing (or None "
        "without Secure) is a failure."
    ),
    method_ja=(
        "既知の認証情報で一度ログインし、ログインの応答に含まれるすべてのSet-Cookieを読み取る。"
        "HttpOnly属性がない、HTTPSでSecure属性がない、SameSite属性がない（またはSecureなしのNone）"
        "場合は不合格とする。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "The session cookie can leak over plain HTTP, to a script or to another site's "
        "requests; each needs a second flaw or a user's visit."
    ),
    severity_reason_ja=(
        "セッションCookieが平文のHTTP、スクリプト、他サイトからの要求に漏れ得る。"
        "いずれも別の欠陥か利用者の訪問を要する。"
    ),
    kind="session_integrity",
    remediation=Remedy(
        en="Set HttpOnly, SameSite and (on HTTPS) Secure on every session cookie.",
        ja="すべてのセッションCookieにHttpOnly、SameSite、（HTTPSでは）Secure属性を付ける。",
    ),
    references=("CWE-614", "CWE-1004", "CWE-1275", "RFC 6265"),
)
FIXATION = Check(
    id="session.fixation",
    title="The session ID does not change at login",
    title_ja="ログイン時にセッションIDが変わらない（セッション固定）",
    method=(
        "Compares the session-like cookies the login page set before the login with the "
        "cookies after it: a pre-login value that still stands after the login fails."
    ),
    method_ja=(
        "ログイン画面がログイン前に設定したセッションらしいCookieと、ログイン後のCookieを比較する。"
        "ログイン前の値がログイン後もそのまま残っていれば不合格とする（セッション固定）。"
    ),
    severity=Severity.HIGH,
    severity_reason=(
        "An attacker who plants a session ID before the login holds the user's session as "
        "soon as the user logs in."
    ),
    severity_reason_ja=(
        "ログイン前にセッションIDを仕込んだ攻撃者は、利用者がログインした時点でそのセッションを"
        "手にする。"
    ),
    kind="session_integrity",
    remediation=Remedy(
        en="Issue a new session ID at every login and discard the one used before it.",
        ja="ログインのたびに新しいセッションIDを発行し、ログイン前のセッションIDを破棄する。",
    ),
    references=("CWE-384",),
)
LOGOUT = Check(
    id="session.logout",
    title="Logging out does not end the session on the device",
    title_ja="ログアウトしても機器側でセッションが破棄されない",
    method=(
        "Follows the logout link of the page after the login, then replays the old "
        "session cookie on a page that needs the session: content instead of the login "
        "page fails."
    ),
    method_ja=(
        "ログイン後のページにあるログアウトのリンクをたどった後、古いセッションCookieを、"
        "セッションが必要なページに再送する。ログイン画面ではなくページの内容が返れば不合格とする。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "A session token copied before the logout stays usable after it; it must be obtained first."
    ),
    severity_reason_ja=(
        "ログアウト前に複製されたセッションのトークンがログアウト後も使える。"
        "ただし先にトークンを入手する必要がある。"
    ),
    kind="session_expiry",
    remediation=Remedy(
        en="Invalidate the session on the device when the user logs out, not only in the browser.",
        ja="ログアウト時にブラウザ側だけでなく機器側でもセッションを破棄する。",
    ),
    references=("CWE-613",),
)
ID_IN_URL = Check(
    id="session.id-in-url",
    title="Session IDs travel in URLs",
    title_ja="セッションIDがURLに含まれている",
    method=(
        "Looks for the session cookie's value, or a session/token parameter, in every URL "
        "of the login's redirects, the landing page and its links."
    ),
    method_ja=(
        "ログイン時のリダイレクト、ログイン後の最初のページとそのリンクのすべてのURLについて、"
        "セッションCookieの値、またはセッションやトークンのパラメータが含まれていないかを調べる。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "URLs are kept in logs, browser history and Referer headers, where others may pick "
        "up a live session."
    ),
    severity_reason_ja=(
        "URLはログ、ブラウザの履歴、Refererヘッダに残り、他者に有効なセッションを"
        "拾われるおそれがある。"
    ),
    kind="session_integrity",
    remediation=Remedy(
        en="Carry the session ID only in a cookie, never in a URL or query parameter.",
        ja="セッションIDはCookieでのみ受け渡し、URLやクエリパラメータに含めない。",
    ),
    references=("CWE-598",),
)
ACCESS_CONTROL = Check(
    id="web.access-control",
    title="Pages behind the login answer without a valid session",
    title_ja="ログインが必要なページが有効なセッションなしで表示される",
    method=(
        "Fetches the landing page and the pages it links to (same service, GET, at most "
        "10) with the session, then again without it: a page that shows the same content "
        "without the session fails."
    ),
    method_ja=(
        "ログイン後の最初のページと、そこからリンクされたページ（同じサービス、GET、最大10ページ）"
        "をセッション付きで取得し、次にセッションなしで再び取得する。"
        "セッションなしでも同じ内容を表示するページがあれば不合格とする（アクセス制御）。"
    ),
    severity=Severity.CRITICAL,
    severity_reason=("Anyone on the network reads the protected pages without logging in at all."),
    severity_reason_ja="ネットワーク上の誰もが、ログインすらせずに保護されたページを読める。",
    kind="anonymous_access",
    remediation=Remedy(
        en=(
            "Check the session on every request to a protected page and answer without content "
            "when it is missing or invalid."
        ),
        ja=(
            "保護対象ページへのすべての要求でセッションを確認し、"
            "無効な場合は内容を返さない（アクセス制御）。"
        ),
    ),
    references=("CWE-306", "CWE-862"),
)

MAX_PAGES = 10
_LOGOUT_LINK = re.compile(r"log\s*-?_?(out|off)|sign\s*-?_?out|abmelden|ログアウト", re.IGNORECASE)
_SESSION_NAME = re.compile(r"sess|sid|token|auth|login|user|jwt", re.IGNORECASE)


def _result(
    ctx: ProbeContext,
    check: Check,
    verdict: Verdict,
    reason: str,
    *,
    service: Service,
    reason_ja: str,
    details: dict[str, JSONValue] | None = None,
) -> Result:
    evidence = (_evidence(check, details),) if details else ()
    return ctx.about(service).result(check, verdict, reason, *evidence, reason_ja=reason_ja)


def _evidence(check: Check, details: dict[str, JSONValue]) -> Evidence:
    """What the session checks saw after the login (the check's own details)."""
    return Evidence(
        "http_session",
        check.title,
        details,
        summary_ja=f"ログイン後のセッションの観察（{check.id}）",
    )


class WebSessionChecks(ServiceProbe):
    """One login per web service, then the five session and access checks."""

    checks = (COOKIE_FLAGS, FIXATION, LOGOUT, ID_IN_URL, ACCESS_CONTROL)
    protocols = frozenset({"http", "https"})
    uses = frozenset({VALID_CREDENTIALS, LOGIN_SURFACES})
    # ordering only: before session expiry and auth.lockout, which log in again
    phase = Phase.SESSION

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        where, where_ja = ctx.about(service).where, ctx.about(service).where_ja
        credential = known_credential(ctx, service)
        pages = ctx.facts.get(HTTP_PAGES) or ()
        forms = ctx.facts.get(LOGIN_FORMS) or ()
        async with ctx.net.http(service) as client:
            opened = await open_session(
                ctx.net,
                client,
                service,
                credential,
                pages=pages,
                forms=forms,
                surfaces=_surfaces(ctx),
            )
            if isinstance(opened, NoSession):
                verdict = Verdict.INCONCLUSIVE if opened.surface else Verdict.NOT_APPLICABLE
                return [
                    _result(
                        ctx,
                        c,
                        verdict,
                        f"{where}: {opened.reason}.",
                        service=service,
                        reason_ja=f"{where_ja}: {opened.reason_ja or opened.reason}。",
                    )
                    for c in self.checks
                ]
            return await _judge_session(ctx, service, where, client, opened)


def _surfaces(ctx: ProbeContext) -> tuple[LoginSurface, ...]:
    return ctx.facts.get(LOGIN_SURFACES) or ()


async def _judge_session(
    ctx: ProbeContext,
    service: Service,
    where: str,
    client: httpx.AsyncClient,
    session: WebSession,
) -> list[Result]:
    about = ctx.about(service)
    at_login = [c for c in map(parse_set_cookie, session.at_login) if c and not c.deletion]
    before = [c for c in map(parse_set_cookie, session.before) if c and not c.deletion]
    secrets = {c.value for c in at_login} | {c.value for c in client.cookies.jar if c.value}
    secrets |= {session.token} if session.token else set()
    login = f"{where}, after a login via {session.method}"
    login_ja = f"{about.where_ja}（{session.method} でログインした後）"
    results = [
        _cookie_flags(ctx, service, login, login_ja, session, at_login),
        _fixation(ctx, service, login, login_ja, session, before, at_login),
    ]
    links, _ = read_page(session.landing, session.landing_body)
    results.append(_id_in_url(ctx, service, login, login_ja, session, links, secrets))
    candidates = [session.landing] if session.landing_by_get else []
    if session.kind == "auth":
        candidates.append(session.page_url)
    candidates += [
        link.url
        for link in links
        if on_service(link.url, service) and not _LOGOUT_LINK.search(link.url + " " + link.text)
    ]
    candidates = list(dict.fromkeys(_without_secrets(u, secrets) for u in candidates))
    candidates = candidates[:MAX_PAGES]
    access = await _access_control(ctx, service, session, client, candidates)
    results.append(judge_access_control(about, login, login_ja, access))
    logout = await _logout(ctx, service, session, client, links, access.protected)
    results.append(judge_logout(about, login, login_ja, logout))
    return results


def _cookie_flags(
    ctx: ProbeContext,
    service: Service,
    login: str,
    login_ja: str,
    session: WebSession,
    cookies: list[SetCookie],
) -> Result:
    details: dict[str, JSONValue] = {"cookies": [c.describe() for c in cookies]}
    if not cookies:
        if session.kind == "form":
            return _result(
                ctx,
                COOKIE_FLAGS,
                Verdict.INCONCLUSIVE,
                f"{login}: the login set no cookie, so the session is kept some other way.",
                service=service,
                details=details,
                reason_ja=(
                    f"{login_ja}: ログインで Cookie が設定されなかったため、"
                    "セッションは別の方法で保持されている。"
                ),
            )
        how = "HTTP authentication" if session.kind == "auth" else "a token in the JSON answer"
        how_ja = "HTTP 認証" if session.kind == "auth" else "JSON 応答のトークン"
        return _result(
            ctx,
            COOKIE_FLAGS,
            Verdict.NOT_APPLICABLE,
            f"{login}: no session cookie; the session is {how}.",
            service=service,
            details=details,
            reason_ja=f"{login_ja}: セッション Cookie はない。セッションは {how_ja} による。",
        )
    https = urlsplit(session.landing).scheme == "https"
    problems, problems_ja = [], []
    for c in cookies:
        missing = []
        if "httponly" not in c.attributes:
            missing.append("HttpOnly")
        if https and "secure" not in c.attributes:
            missing.append("Secure")
        same_site = c.attributes.get("samesite", "").lower()
        if not same_site:
            missing.append("SameSite")
        elif same_site == "none" and "secure" not in c.attributes:
            missing.append("Secure (SameSite=None needs it)")
        if missing:
            problems.append(f"{c.name} lacks {', '.join(dict.fromkeys(missing))}")
            problems_ja.append(f"{c.name} に {', '.join(dict.fromkeys(missing))} がない")
    details["problems"] = list(problems)
    if problems:
        return _result(
            ctx,
            COOKIE_FLAGS,
            Verdict.FAIL,
            f"{login}: {'; '.join(problems)}.",
            service=service,
            details=details,
            reason_ja=f"{login_ja}: {'、'.join(problems_ja)}。",
        )
    return _result(
        ctx,
        COOKIE_FLAGS,
        Verdict.PASS,
        f"{login}: every cookie set at the login carries "
        f"{'Secure, ' if https else ''}HttpOnly and SameSite.",
        service=service,
        details=details,
        reason_ja=(
            f"{login_ja}: ログイン時に設定されたすべての Cookie に "
            f"{'Secure、' if https else ''}HttpOnly と SameSite がある。"
        ),
    )


def _fixation(
    ctx: ProbeContext,
    service: Service,
    login: str,
    login_ja: str,
    session: WebSession,
    before: list[SetCookie],
    at_login: list[SetCookie],
) -> Result:
    if session.kind == "auth":
        return _result(
            ctx,
            FIXATION,
            Verdict.NOT_APPLICABLE,
            f"{login}: HTTP authentication has no session ID to fix.",
            service=service,
            reason_ja=f"{login_ja}: HTTP 認証には固定化されるセッション ID がない。",
        )
    if session.kind == "json" and not at_login and not before:
        return _result(
            ctx,
            FIXATION,
            Verdict.NOT_APPLICABLE,
            f"{login}: no session cookie; the session is a token in the JSON answer.",
            service=service,
            reason_ja=(
                f"{login_ja}: セッション Cookie はない。セッションは JSON 応答のトークンによる。"
            ),
        )
    rotated = {c.name for c in at_login}
    suspects = [c for c in before if _SESSION_NAME.search(c.name) or c.name in rotated]
    details: dict[str, JSONValue] = {
        "before_login": [c.describe() for c in before],
        "at_login": [c.describe() for c in at_login],
    }
    after = {c.name: c.value for c in at_login}
    kept = [c.name for c in suspects if after.get(c.name, c.value) == c.value]
    if kept:
        return _result(
            ctx,
            FIXATION,
            Verdict.FAIL,
            f"{login}: the cookie {', '.join(kept)} has the same value after the login as "
            "the login page gave before it: whoever planted that ID shares the session.",
            service=service,
            details=details,
            reason_ja=(
                f"{login_ja}: Cookie {', '.join(kept)} "
                "がログイン前にログインページが与えた値のままである。その ID "
                "を仕込んだ者がセッションを共有できる（セッション固定）。"
            ),
        )
    if suspects:
        return _result(
            ctx,
            FIXATION,
            Verdict.PASS,
            f"{login}: the session cookie {', '.join(c.name for c in suspects)} got a new "
            "value at the login.",
            service=service,
            details=details,
            reason_ja=(
                f"{login_ja}: セッション Cookie {', '.join(c.name for c in suspects)} "
                "はログイン時に新しい値になった。"
            ),
        )
    if not at_login:
        return _result(
            ctx,
            FIXATION,
            Verdict.INCONCLUSIVE,
            f"{login}: no session cookie was seen before or at the login.",
            service=service,
            details=details,
            reason_ja=(
                f"{login_ja}: ログイン前にもログイン時にもセッション Cookie が見られなかった。"
            ),
        )
    return _result(
        ctx,
        FIXATION,
        Verdict.PASS,
        f"{login}: no session ID existed before the login; the login set a new one "
        f"({', '.join(c.name for c in at_login)}).",
        service=service,
        details=details,
        reason_ja=(
            f"{login_ja}: ログイン前にセッション ID はなく、ログインで新しいものが設定された（"
            f"{', '.join(c.name for c in at_login)}）。"
        ),
    )


def _id_in_url(
    ctx: ProbeContext,
    service: Service,
    login: str,
    login_ja: str,
    session: WebSession,
    links: list[Link],
    secrets: set[str],
) -> Result:
    urls = list(session.urls) + [link.url for link in links]
    leaks = []
    for url in dict.fromkeys(urls):
        try:
            query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        except ValueError:
            continue
        names = [n for n, v in query if (v and v in secrets) or SECRET_PARAM.match(n)]
        if names or any(s and len(s) >= 8 and s in urlsplit(url).path for s in secrets):
            leaks.append(mask_url(url))
    details: dict[str, JSONValue] = {"urls_checked": len(urls), "leaks": list(leaks[:10])}
    if leaks:
        return _result(
            ctx,
            ID_IN_URL,
            Verdict.FAIL,
            f"{login}: the session ID travels in a URL: {', '.join(leaks[:3])}.",
            service=service,
            details=details,
            reason_ja=f"{login_ja}: セッション ID が URL に載っている: {', '.join(leaks[:3])}。",
        )
    return _result(
        ctx,
        ID_IN_URL,
        Verdict.PASS,
        f"{login}: none of the {len(urls)} URLs seen carries the session ID.",
        service=service,
        details=details,
        reason_ja=(
            f"{login_ja}: 確認した URL {len(urls)} 件のどれにもセッション ID は載っていない。"
        ),
    )


def _without_secrets(url: str, secrets: set[str]) -> str:
    """The URL with session parameters removed: a replay "without the session" must not
    carry it in the query either."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url
    kept = [(n, v) for n, v in query if v not in secrets and not SECRET_PARAM.match(n)]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _anonymous(ctx: ProbeContext, service: Service) -> httpx.AsyncClient:
    client = ctx.net.http(service)
    return client


@dataclass(frozen=True, slots=True)
class AccessSeen:
    """Pages replayed without the session: those that answered the same (open), those
    shown to need it (protected: url and the body the session got), and why some were not
    compared."""

    tried: tuple[str, ...]
    open_pages: tuple[str, ...] = ()
    protected: tuple[tuple[str, bytes], ...] = ()
    notes: tuple[str, ...] = ()


async def _access_control(
    ctx: ProbeContext,
    service: Service,
    session: WebSession,
    client: httpx.AsyncClient,
    candidates: list[str],
) -> AccessSeen:
    """Each candidate page with the session, then, when it showed content, without."""
    address = ctx.net.address
    bearer = {"Authorization": f"Bearer {session.token}"} if session.token else {}
    open_pages: list[str] = []
    protected: list[tuple[str, bytes]] = []
    notes: list[str] = []
    async with _anonymous(ctx, service) as anonymous:
        for url in candidates:
            with_session = await fetch_page(client, url, address, bearer)
            if isinstance(with_session, str) or not with_session.content:
                continue  # not a page the session shows: nothing to compare
            without = await fetch_page(anonymous, url, address, {})
            if isinstance(without, str):
                notes.append(f"{mask_url(url)}: {without}")
                continue
            if without.content and same_page(with_session.body, without.body):
                open_pages.append(mask_url(url))
            else:
                protected.append((url, with_session.body))
    return AccessSeen(tuple(candidates), tuple(open_pages), tuple(protected), tuple(notes))


def judge_access_control(
    about: ServiceResults, login: str, login_ja: str, seen: AccessSeen
) -> Result:
    """web.access-control from the replays (pure)."""
    details: dict[str, JSONValue] = {
        "pages_tried": [mask_url(u) for u in seen.tried],
        "open_without_session": list(seen.open_pages),
        "protected": [mask_url(u) for u, _ in seen.protected],
        "notes": list(seen.notes[:5]),
    }
    evidence = _evidence(ACCESS_CONTROL, details)
    if seen.open_pages:
        return about.result(
            ACCESS_CONTROL,
            Verdict.FAIL,
            f"{login}: {', '.join(seen.open_pages[:3])} answered with the same content without "
            "the session.",
            evidence,
            reason_ja=(
                f"{login_ja}: {', '.join(seen.open_pages[:3])} "
                "はセッションなしでも同じ内容を返した。"
            ),
        )
    if seen.protected:
        return about.result(
            ACCESS_CONTROL,
            Verdict.PASS,
            f"{login}: {len(seen.protected)} page(s) behind the login refused a request without "
            "the session.",
            evidence,
            reason_ja=(
                f"{login_ja}: ログインの後ろにある {len(seen.protected)} "
                "ページはセッションなしの要求を拒否した。"
            ),
        )
    return about.result(
        ACCESS_CONTROL,
        Verdict.INCONCLUSIVE,
        f"{login}: no page that shows content only with the session was found to replay.",
        evidence,
        reason_ja=(
            f"{login_ja}: セッションがあるときだけ内容を示すページが見つからず、"
            "再送して確かめられなかった。"
        ),
    )


@dataclass(frozen=True, slots=True)
class LogoutSeen:
    """What logging out did: the link followed, the page replayed with the old session and
    its answer, or why there was nothing to try (`skipped`) or a request failed (`failed`)."""

    skipped: str = ""  # "auth", "no link", "nothing protected"
    logout: str = ""
    replayed: str = ""
    failed: str = ""  # which request failed and how
    failed_ja: str = ""  # the same in Japanese
    status: int | None = None  # the replay's answer
    still_open: bool = False  # the replay showed the same page as the session did


async def _logout(
    ctx: ProbeContext,
    service: Service,
    session: WebSession,
    client: httpx.AsyncClient,
    links: list[Link],
    protected: tuple[tuple[str, bytes], ...],
) -> LogoutSeen:
    """Follow the logout link, then replay a protected page with the old session."""
    if session.kind == "auth":
        return LogoutSeen(skipped="auth")
    logout = next(
        (
            url
            for link in links
            if on_service(url := link.url, service) and _LOGOUT_LINK.search(f"{url} {link.text}")
        ),
        None,
    )
    if logout is None:
        return LogoutSeen(skipped="no link")
    if not protected:
        return LogoutSeen(skipped="nothing protected")
    url, body = protected[0]
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    bearer = {"Authorization": f"Bearer {session.token}"} if session.token else {}
    address = ctx.net.address
    gone = await fetch_page(client, logout, address, bearer)
    if isinstance(gone, str):
        return LogoutSeen(
            logout=logout,
            replayed=url,
            failed=f"the logout request failed: {gone}",
            failed_ja=f"ログアウトの要求が失敗した: {gone}",
        )
    async with _anonymous(ctx, service) as replay:
        headers = dict(bearer)
        if cookie:
            headers["Cookie"] = cookie
        again = await fetch_page(replay, url, address, headers)
    if isinstance(again, str):
        return LogoutSeen(
            logout=logout,
            replayed=url,
            failed=f"the replay after the logout failed: {again}",
            failed_ja=f"ログアウト後の再送が失敗した: {again}",
        )
    still_open = again.content and same_page(body, again.body)
    return LogoutSeen(logout=logout, replayed=url, status=again.status, still_open=still_open)


def judge_logout(about: ServiceResults, login: str, login_ja: str, seen: LogoutSeen) -> Result:
    """session.logout from what logging out did (pure)."""
    if seen.skipped == "auth":
        return about.result(
            LOGOUT,
            Verdict.NOT_APPLICABLE,
            f"{login}: HTTP authentication has no logout; the browser resends the credential.",
            reason_ja=f"{login_ja}: HTTP 認証にはログアウトがなく、ブラウザが資格情報を送り直す。",
        )
    if seen.skipped == "no link":
        return about.result(
            LOGOUT,
            Verdict.INCONCLUSIVE,
            f"{login}: no logout link on the page after the login.",
            reason_ja=f"{login_ja}: ログイン後のページにログアウトのリンクがない。",
        )
    if seen.skipped:
        return about.result(
            LOGOUT,
            Verdict.INCONCLUSIVE,
            f"{login}: no page was shown to need the session, so a replay after the logout "
            "would prove nothing.",
            reason_ja=(
                f"{login_ja}: セッションが必要と示されたページがなく、"
                "ログアウト後に再送しても何も証明できない。"
            ),
        )
    details: dict[str, JSONValue] = {
        "logout": mask_url(seen.logout),
        "replayed": mask_url(seen.replayed),
    }
    if seen.failed:
        evidence = _evidence(LOGOUT, details)
        return about.result(
            LOGOUT,
            Verdict.ERROR,
            f"{login}: {seen.failed}.",
            evidence,
            reason_ja=f"{login_ja}: {seen.failed_ja or seen.failed}。",
        )
    details["replay_status"] = seen.status
    evidence = _evidence(LOGOUT, details)
    if seen.still_open:
        return about.result(
            LOGOUT,
            Verdict.FAIL,
            f"{login}: after {mask_url(seen.logout)}, the old session still opens "
            f"{mask_url(seen.replayed)}.",
            evidence,
            reason_ja=(
                f"{login_ja}: {mask_url(seen.logout)} の後も、古いセッションで "
                f"{mask_url(seen.replayed)} が開ける。"
            ),
        )
    return about.result(
        LOGOUT,
        Verdict.PASS,
        f"{login}: after {mask_url(seen.logout)}, the old session no longer opens "
        f"{mask_url(seen.replayed)} (HTTP {seen.status}).",
        evidence,
        reason_ja=(
            f"{login_ja}: {mask_url(seen.logout)} の後、古いセッションでは "
            f"{mask_url(seen.replayed)} が開けない（HTTP {seen.status}）。"
        ),
    )
