"""What a device tells before anyone logs in: software versions, and a system-use notice.

`banner.version-disclosure` reads what fingerprinting already holds — the product a
service named (HTTP/RTSP `Server:` header, the SSH software field, the FTP greeting) and
the greeting lines of Telnet, FTP and SSDP — and fails a service whose text carries a
software version (`name/1.2`, `name_1.2p1`, `name 1.2.3`). Protocol versions that a
standard requires on the wire (`HTTP/1.1`, `RTSP/1.0`, `UPnP/1.0`, the `SSH-2.0` prefix) are
not findings. A service that shows no text at all is not applicable. ETSI EN 303 645 5.6-2
(minimise unauthenticated disclosure); IEC 62443-4-2 CR 3.7/CR 7.7 and SP 800-171 3.4.2,
3.14.1 as supporting evidence. A profile that accepts, say, the SSH version records an
accepted deviation for that service.

`banner.login-notice` (IEC 62443-4-2 CR 1.12, SP 800-171 3.1.9) applies only when the
profile sets `required: true`: every login surface must show a notice matching `pattern`
before authentication — the SSH pre-authentication banner (RFC 4252 §5.4, fetched as a
random user with no credential), the Telnet greeting before the login prompt, the FTP
greeting, the text of the web login page or the realm of its challenge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncssh
import httpx

from probes._ssh import auth_methods
from scanner.errors import ConfigError, ScopeError
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, on_service
from scanner.html_reader import read_html
from scanner.http_exchange import Throttled, exchange, follow
from scanner.model import Evidence, JSONValue, Result, Verdict, bound_text
from scanner.probe import Check, Params, Remedy, ServiceProbe, Severity

if TYPE_CHECKING:
    from scanner.model import Service
    from scanner.probe import ProbeContext, ServiceResults


@dataclass(frozen=True, slots=True)
class NoticeParams(Params):
    """`banner.login-notice` parameters."""

    required: bool = False
    pattern: str = r"(?i)authori[sz]ed|monitored|prohibited|consent|legal|warning"

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ConfigError(f"pattern is not a regular expression: {exc}") from exc


#: the web's remedies, the same for HTTP and HTTPS
_SERVER_HEADER_REMEDY = Remedy(
    en="Remove the software version from the Server header (and error pages), or leave it out.",
    ja="Serverヘッダ（およびエラーページ）からソフトウェアのバージョンを削除するか、送らない。",
)
_WEB_NOTICE_REMEDY = Remedy(
    en=(
        "Show the system-use notification the profile requires on the web login page (or in the "
        "authentication realm), before login."
    ),
    ja=(
        "Webのログイン画面（または認証のrealm）に、"
        "プロファイルが求めるシステム利用の通知をログイン前に表示する。"
    ),
)


VERSION_DISCLOSURE = Check(
    id="banner.version-disclosure",
    title="Services disclose software versions before login",
    title_ja="ログイン前にサービスがソフトウェアのバージョンを表示している",
    method=(
        "Reads the product name each service gave (Server header, SSH software, FTP "
        "greeting) and the Telnet/FTP/SSDP greeting lines; a software version in them "
        "(name/1.2, name_1.2p1) fails. Wire-protocol versions (HTTP/1.1, RTSP/1.0, "
        "UPnP/1.0, SSH-2.0) are not findings."
    ),
    method_ja=(
        "各サービスが名乗る製品名（Serverヘッダ、SSHのソフトウェア名、FTPの挨拶文）と、"
        "Telnet・FTP・SSDPの挨拶文の行を読み取り、ソフトウェアのバージョン（name/1.2、"
        "name_1.2p1など）が含まれていれば不合格とする。通信プロトコル自体のバージョン（HTTP/1.1、"
        "RTSP/1.0、UPnP/1.0、SSH-2.0）は指摘の対象としない。"
    ),
    severity=Severity.LOW,
    severity_reason=(
        "Tells an attacker which published vulnerabilities to try; not a way in by itself."
    ),
    severity_reason_ja=(
        "攻撃者に試すべき公開済みの脆弱性を教えることになるが、それだけでは侵入口にならない。"
    ),
    kind="banner_disclosure",
    remediation=Remedy(
        en=(
            "Remove software names and versions from greetings, Server headers and SSH "
            "identification strings shown before login."
        ),
        ja=(
            "ログイン前に表示される挨拶文、Serverヘッダ、"
            "SSH識別文字列からソフトウェア名とバージョンを削除する。"
        ),
    ),
    remedies=(
        ("http", _SERVER_HEADER_REMEDY),
        ("https", _SERVER_HEADER_REMEDY),
        (
            "rtsp",
            Remedy(
                en="Remove the software version from the RTSP Server header, or leave it out.",
                ja="RTSPのServerヘッダからソフトウェアのバージョンを削除するか、送らない。",
            ),
        ),
        (
            "ssh",
            Remedy(
                en=(
                    "Reduce the SSH identification string to the protocol version and a name "
                    "without a software version, and keep the SSH server updated."
                ),
                ja=(
                    "SSH識別文字列をプロトコルバージョンとバージョンを含まない名前だけにし、"
                    "SSHサーバを最新に保つ。"
                ),
            ),
        ),
        (
            "ftp",
            Remedy(
                en="Replace the FTP greeting (220 reply) with one naming no software or version.",
                ja="FTPの挨拶文（220応答）を、ソフトウェア名やバージョンを含まないものに変更する。",
            ),
        ),
        (
            "telnet",
            Remedy(
                en="Remove the software name and version from the Telnet greeting before login.",
                ja="ログイン前のTelnetの挨拶文からソフトウェア名とバージョンを削除する。",
            ),
        ),
        (
            "ssdp",
            Remedy(
                en=(
                    "Leave software versions out of the SSDP SERVER header, or turn UPnP/SSDP "
                    "off where the device does not need discovery."
                ),
                ja=(
                    "SSDPのSERVERヘッダにソフトウェアのバージョンを含めない。"
                    "探索が不要な機器ではUPnP/SSDPを停止する。"
                ),
            ),
        ),
    ),
    references=("CWE-497", "CWE-200"),
)


LOGIN_NOTICE = Check(
    id="banner.login-notice",
    title="No system-use notification before authentication on a login surface",
    title_ja="ログイン画面で認証前にシステム利用の通知が表示されない",
    method=(
        "When the profile requires one: the SSH pre-authentication banner, the Telnet and "
        "FTP greetings and the web login page (or its challenge realm) must each contain "
        "text matching the profile's pattern."
    ),
    method_ja=(
        "プロファイルが通知を求める場合に限り、SSHの認証前バナー、TelnetとFTPの挨拶文、"
        "Webログイン画面（またはその認証要求のrealm）のそれぞれに、"
        "プロファイルのパターンに一致する文言が含まれているかを確認する。"
    ),
    params=NoticeParams,
    severity=Severity.INFO,
    severity_reason="A gap in the policy an auditor records; it exposes nothing by itself.",
    severity_reason_ja="監査で記録すべき運用方針上の不備であり、それ自体は何も露出させない。",
    kind="system_use_notification",
    remediation=Remedy(
        en=(
            "Show the system-use notification the profile requires on every login surface (SSH "
            "banner, Telnet/FTP greeting, web login page) before authentication."
        ),
        ja=(
            "プロファイルが求めるシステム利用の通知を、認証前にすべてのログイン画面（SSHバナー、"
            "Telnet/FTPの挨拶文、Webログイン画面）に表示する。"
        ),
    ),
    remedies=(
        (
            "ssh",
            Remedy(
                en=(
                    "Set the SSH server's pre-authentication banner to the system-use "
                    "notification the profile requires."
                ),
                ja="SSHサーバの認証前バナーに、プロファイルが求めるシステム利用の通知を設定する。",
            ),
        ),
        (
            "telnet",
            Remedy(
                en=(
                    "Show the system-use notification the profile requires in the Telnet "
                    "greeting, before the login prompt."
                ),
                ja=(
                    "Telnetの挨拶文（ログインプロンプトの前）に、"
                    "プロファイルが求めるシステム利用の通知を表示する。"
                ),
            ),
        ),
        (
            "ftp",
            Remedy(
                en=(
                    "Show the system-use notification the profile requires in the FTP greeting "
                    "(220 reply)."
                ),
                ja="FTPの挨拶文（220応答）に、プロファイルが求めるシステム利用の通知を表示する。",
            ),
        ),
        ("http", _WEB_NOTICE_REMEDY),
        ("https", _WEB_NOTICE_REMEDY),
    ),
    references=("NIST SP 800-53 AC-8",),
)

#: a software name followed by a dotted version: Boa/0.94.13, OpenSSH_9.2p1, nginx 1.18.0
_VERSION = re.compile(r"(?i)\b([a-z][a-z0-9+._-]*?)[/_ ]v?(\d+(?:\.\d+)+[a-z0-9.+~-]*)")
#: wire-protocol names whose version a standard puts in every message
_PROTOCOL_NAMES = frozenset({"http", "rtsp", "upnp", "sip", "ssh", "dlnadoc", "ssdp"})
_GREETING_PROTOCOLS = frozenset({"telnet", "ftp", "ssdp"})
_NOTICE_PROTOCOLS = frozenset({"ssh", "telnet", "ftp", "http", "https"})
MAX_PAGE_TEXT = 4000
#: where the pre-login text came from (`_notice_text`), in Japanese
_SOURCE_JA = {
    "SSH pre-authentication banner": "SSH の認証前バナー",
    "telnet greeting": "telnet の挨拶文",
    "ftp greeting": "ftp の挨拶文",
    "authentication challenge realm": "認証チャレンジの realm",
    "web login page": "Web ログイン画面",
}


def disclosed_versions(text: str) -> list[str]:
    """The software-version tokens in `text`, wire-protocol versions left out."""
    found = []
    for m in _VERSION.finditer(text):
        if m.group(1).lower().rstrip("-.") not in _PROTOCOL_NAMES:
            found.append(m.group(0))
    return found


class VersionDisclosure(ServiceProbe):
    """Judges the text fingerprinting kept for each service; sends nothing."""

    checks = (VERSION_DISCLOSURE,)
    protocols = frozenset({"*"})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        return [judge_versions(ctx.about(service))]


def page_text(body: bytes) -> str:
    """The visible text of a page (script and style left out), bounded."""
    return read_html(body.decode("utf-8", "replace")).text[:MAX_PAGE_TEXT]


class LoginNotice(ServiceProbe):
    """The pre-authentication text of each login surface, against the profile's pattern."""

    checks = (LOGIN_NOTICE,)
    protocols = _NOTICE_PROTOCOLS

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        params = ctx.params(LOGIN_NOTICE, NoticeParams)
        shown = await _notice_text(ctx, service) if params.required else None
        return [judge_notice(ctx.about(service), params, shown)]


async def _notice_text(ctx: ProbeContext, service: Service) -> tuple[str, str] | Verdict:
    """(where the text came from, the text), or the verdict when there is none to judge."""
    if service.protocol == "ssh":
        try:
            seen = await auth_methods(ctx.net, service.port, ())
        except (OSError, TimeoutError, asyncssh.Error):
            return Verdict.INCONCLUSIVE
        return "SSH pre-authentication banner", seen.banner
    if service.protocol in ("telnet", "ftp"):
        if not service.banner:
            return Verdict.INCONCLUSIVE
        return f"{service.protocol} greeting", service.banner
    forms = [f for f in ctx.facts.get(LOGIN_FORMS) or () if on_service(f.page_url, service)]
    challenges = [
        p for p in ctx.facts.get(HTTP_PAGES) or () if p.auth_scheme and on_service(p.url, service)
    ]
    if challenges:
        return "authentication challenge realm", challenges[0].auth_realm
    if not forms:
        return Verdict.NOT_APPLICABLE
    async with ctx.net.http(service) as client:
        try:
            answer = await exchange(client, "GET", forms[0].page_url)
            chain = await follow(client, answer, ctx.net.address)
        except (Throttled, ScopeError, httpx.HTTPError, OSError):
            return Verdict.INCONCLUSIVE
    return "web login page", page_text(chain.final.body)


def judge_versions(about: ServiceResults) -> Result:
    """`banner.version-disclosure` from what fingerprinting kept of the service (pure)."""
    service, where, where_ja = about.service, about.where, about.where_ja
    texts = {"product": service.product} if service.product else {}
    if service.protocol in _GREETING_PROTOCOLS and service.banner:
        texts["greeting"] = service.banner
    if not texts and service.note:
        return about.result(
            VERSION_DISCLOSURE,
            Verdict.INCONCLUSIVE,
            f"{where} could not be read ({service.note}).",
            reason_ja=f"{where_ja} を読み取れなかった（{service.note}）。",
        )
    if not texts:
        return about.result(
            VERSION_DISCLOSURE,
            Verdict.NOT_APPLICABLE,
            f"{where} showed no product name or greeting text.",
            reason_ja=f"{where_ja} は製品名も挨拶文も表示しなかった。",
        )
    versions = sorted({v for t in texts.values() for v in disclosed_versions(t)})
    details: dict[str, JSONValue] = {k: bound_text(v, 200) for k, v in texts.items()}
    details["versions"] = [bound_text(v, 80) for v in versions[:10]]
    evidence = Evidence(
        "banner",
        f"text {service} shows before login",
        details,
        summary_ja=f"{service} がログイン前に表示する文字列",
    )
    if versions:
        return about.result(
            VERSION_DISCLOSURE,
            Verdict.FAIL,
            f"{where} discloses {', '.join(versions[:3])} before any login.",
            evidence,
            reason_ja=f"{where_ja} はログイン前に {', '.join(versions[:3])} を開示している。",
        )
    return about.result(
        VERSION_DISCLOSURE,
        Verdict.PASS,
        f"{where} names no software version before login.",
        evidence,
        reason_ja=f"{where_ja} はログイン前にソフトウェアのバージョンを示さない。",
    )


def judge_notice(
    about: ServiceResults, params: NoticeParams, shown: tuple[str, str] | Verdict | None
) -> Result:
    """`banner.login-notice` from the pre-login text read (`_notice_text`; None when the
    profile asks for no notice, so nothing was read). Pure."""
    where, where_ja = about.where, about.where_ja
    if shown is None:
        return about.result(
            LOGIN_NOTICE,
            Verdict.NOT_APPLICABLE,
            f"{where}: the profile does not ask for a system-use notification.",
            reason_ja=f"{where_ja}: プロファイルはシステム利用の通知を求めていない。",
        )
    if isinstance(shown, Verdict):
        return about.result(
            LOGIN_NOTICE,
            shown,
            f"{where} has no login surface of its own to show a notice on."
            if shown is Verdict.NOT_APPLICABLE
            else f"{where}: the pre-login text could not be read.",
            reason_ja=(
                f"{where_ja} には通知を表示する独自のログイン画面がない。"
                if shown is Verdict.NOT_APPLICABLE
                else f"{where_ja}: ログイン前の文字列を読み取れなかった。"
            ),
        )
    source, text = shown
    details: dict[str, JSONValue] = {
        "source": source,
        "text": bound_text(text, 300),
        "pattern": params.pattern,
    }
    evidence = Evidence(
        "banner",
        f"pre-login text ({source})",
        details,
        summary_ja=f"ログイン前の文字列（{_SOURCE_JA.get(source, source)}）",
    )
    if re.search(params.pattern, text):
        return about.result(
            LOGIN_NOTICE,
            Verdict.PASS,
            f"{where} shows a system-use notification ({source}).",
            evidence,
            reason_ja=(
                f"{where_ja} はシステム利用の通知を表示している（"
                f"{_SOURCE_JA.get(source, source)}）。"
            ),
        )
    return about.result(
        LOGIN_NOTICE,
        Verdict.FAIL,
        f"{where} shows no text matching the profile's notice pattern ({source}).",
        evidence,
        reason_ja=(
            f"{where_ja} はプロファイルの通知パターンに合う文字列を表示しない（"
            f"{_SOURCE_JA.get(source, source)}）。"
        ),
    )
