"""Exposed services: is every open port one the profile allows, and is none of them a
cleartext administration or debug interface?

IEC 62443-4-2 CR 7.7 (least functionality) and NIST SP 800-171 3.4.6/3.4.7 ask that a
device expose only the functions it needs; cleartext management protocols also carry
authenticators in the clear (CR 4.1, SP 800-171 3.13.8).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from scanner.errors import ConfigError
from scanner.facts import (
    HTTP_PAGES,
    LOGIN_FORMS,
    LOGIN_SURFACES,
    MQTT_INFO,
    UDP_ANSWERS,
    on_service,
)
from scanner.model import Evidence, JSONValue, Result, Service, Verdict, quoted
from scanner.probe import Check, Params, ProbeContext, Remedy, ServiceProbe, Severity
from scanner.redact import mask_url


class _ResultFn(Protocol):
    """The local `result` helper handed to the per-protocol judges."""

    def __call__(
        self, verdict: Verdict, reason: str, *more: Evidence, reason_ja: str
    ) -> Result: ...


_ENTRY = re.compile(
    r"^(?:(?P<transport>tcp|udp|\*)/(?P<port>\*|\d{1,5}(?:-\d{1,5})?)(?:\s+(?P<proto>[a-z0-9*-]+))?"
    r"|(?P<bare>[a-z0-9*-]+))$"
)


@dataclass(frozen=True, slots=True)
class AllowedEntry:
    """One `allowed:` entry: `tcp/443 https`, `tcp/8000-8100`, `udp/161`, `ssh`, or `*`.

    An entry without a protocol allows the port whatever runs there; an entry naming a
    protocol (or `*`, any identified protocol) needs the service identified first.
    """

    text: str
    transport: str  # "tcp", "udp" or "*"
    low: int
    high: int
    protocol: str | None  # None: any, identified or not; "*": any identified

    @classmethod
    def parse(cls, text: str) -> AllowedEntry:
        m = _ENTRY.match(text.strip().lower())
        if not m:
            raise ConfigError(
                f"allowed entry {text!r}: expected 'tcp/PORT [PROTOCOL]', 'udp/PORT', "
                "'PROTOCOL' or '*'"
            )
        if m["bare"]:
            if m["bare"][0].isdigit():
                # "22" reads like a port, but a bare word is a protocol: say which to write.
                raise ConfigError(
                    f"allowed entry {text!r}: a port needs its transport ('tcp/{m['bare']}' or "
                    f"'udp/{m['bare']}'); a bare word names a protocol"
                )
            return cls(text, "*", 1, 65535, m["bare"])
        low, high = 1, 65535
        if m["port"] != "*":
            lo, _, hi = m["port"].partition("-")
            low, high = int(lo), int(hi or lo)
            if not 1 <= low <= high <= 65535:
                raise ConfigError(f"allowed entry {text!r}: ports must be 1-65535, low to high")
        return cls(text, m["transport"], low, high, m["proto"])

    def matches_port(self, service: Service) -> bool:
        return self.transport in ("*", service.transport) and self.low <= service.port <= self.high

    def matches(self, service: Service) -> bool:
        if not self.matches_port(service):
            return False
        if self.protocol is None:
            return True
        if not service.identified:
            return False
        return self.protocol in ("*", service.protocol)


@dataclass(frozen=True, slots=True)
class AllowedServices(Params):
    """`services.unexpected` parameters: the services a device may expose."""

    allowed: tuple[str, ...] = ("*",)

    def __post_init__(self) -> None:
        for entry in self.allowed:
            AllowedEntry.parse(entry)  # fail at profile load, not mid-scan

    def entries(self) -> tuple[AllowedEntry, ...]:
        return tuple(AllowedEntry.parse(e) for e in self.allowed)


UNEXPECTED = Check(
    id="services.unexpected",
    title="Ports open that the profile does not allow for this device",
    title_ja="プロファイルが許可していないポートが開いている",
    method=(
        "Compares each open TCP/UDP service found by discovery and identified by "
        "fingerprinting with the profile's allowed list (port, and protocol where the entry "
        "names one). An unidentified service that only a protocol-specific entry could allow "
        "is inconclusive."
    ),
    method_ja=(
        "探索で見つかりフィンガープリントで識別した、開いているTCP・UDPの各サービスを、"
        "プロファイルの許可リスト（ポート番号と、項目が指定していればプロトコル）と照合する。"
        "プロトコルを指定した項目でしか許可され得ないサービスが識別できなかった場合は"
        "判定不能とする。"
    ),
    params=AllowedServices,
    severity=Severity.MEDIUM,
    severity_reason=(
        "Each service the device does not need widens what an attacker can try; what the "
        "service itself exposes is rated by its own checks."
    ),
    severity_reason_ja=(
        "機器に不要なサービスはそれぞれ攻撃者が試せる範囲を広げる。サービス自体が露出させるものは、"
        "そのサービスのチェックで評価する。"
    ),
    kind="exposed_services",
    remediation=Remedy(
        en=(
            "Close every port the device does not need for its intended use, or add it to the "
            "model's profile if it is intended."
        ),
        ja=(
            "本来の用途に不要なポートをすべて閉じる。"
            "意図したものであれば機種のプロファイルに許可として追加する。"
        ),
    ),
    references=("CWE-1125", "NIST SP 800-53 CM-7"),
)

#: the fix for each protocol `judge_cleartext` fails, so that a plain-HTTP finding is not
#: told to turn Telnet off
_R_SERVICES_REMEDY = Remedy(
    en="Turn rlogin, rsh and rexec off and use SSH.",
    ja="rlogin、rsh、rexecを停止し、SSHを使う。",
)
_CLEARTEXT_REMEDIES: tuple[tuple[str, Remedy], ...] = (
    (
        "telnet",
        Remedy(
            en="Turn Telnet off and administer the device over SSH.",
            ja="Telnetを停止し、機器の管理にはSSHを使う。",
        ),
    ),
    (
        "ftp",
        Remedy(
            en="Turn FTP off and transfer files over SFTP (or FTPS where SFTP is unavailable).",
            ja="FTPを停止し、ファイル転送にはSFTP（使えない場合はFTPS）を使う。",
        ),
    ),
    (
        "tftp",
        Remedy(
            en=(
                "Turn TFTP off in operation; where a firmware update needs it, enable it only "
                "for the update, on an isolated network."
            ),
            ja=(
                "運用中はTFTPを停止する。ファームウェア更新に必要な場合は、"
                "更新の間だけ隔離されたネットワークで有効にする。"
            ),
        ),
    ),
    ("rlogin", _R_SERVICES_REMEDY),
    ("rsh", _R_SERVICES_REMEDY),
    ("rexec", _R_SERVICES_REMEDY),
    (
        "vnc",
        Remedy(
            en=(
                "Turn VNC off, or offer it only through an encrypted, authenticated channel "
                "(an SSH tunnel or TLS)."
            ),
            ja="VNCを停止するか、認証付きの暗号化された経路（SSHトンネルやTLS）経由でのみ提供する。",
        ),
    ),
    (
        "ssdp",
        Remedy(
            en="Turn UPnP/SSDP discovery off unless the device's intended use needs it.",
            ja="本来の用途で必要な場合を除き、UPnP/SSDPによる探索への応答を停止する。",
        ),
    ),
    (
        "adb",
        Remedy(
            en="Disable Android Debug Bridge (ADB) over the network in production firmware.",
            ja="製品ファームウェアではネットワーク経由のAndroid Debug Bridge（ADB）を無効にする。",
        ),
    ),
    (
        "snmp",
        Remedy(
            en=(
                "Disable SNMP v1/v2c; use SNMPv3 with authentication and privacy (authPriv), or "
                "turn SNMP off."
            ),
            ja=(
                "SNMP v1/v2cを無効にし、認証と暗号化を有効にしたSNMPv3（authPriv）を使うか、"
                "SNMPを停止する。"
            ),
        ),
    ),
    (
        "mqtt",
        Remedy(
            en="Accept MQTT clients over TLS only (port 8883) and close the plaintext listener.",
            ja="MQTTクライアントはTLS（8883番ポート）でのみ受け付け、平文の待ち受けを閉じる。",
        ),
    ),
    (
        "http",
        Remedy(
            en=(
                "Serve the login and administration pages over HTTPS only, and redirect plain "
                "HTTP to HTTPS on the same device."
            ),
            ja=(
                "ログイン画面と管理画面はHTTPSのみで提供し、"
                "平文のHTTPは同じ機器のHTTPSへリダイレクトする。"
            ),
        ),
    ),
)
CLEARTEXT_ADMIN = Check(
    id="services.cleartext-admin",
    title="Cleartext administration, discovery or debug services are exposed",
    title_ja="平文の管理・探索・デバッグ用サービスが公開されている",
    method=(
        "Flags Telnet, FTP, TFTP, rlogin/rsh/rexec, VNC, plain-HTTP pages that carry a login "
        "form or an authentication challenge, SNMP v1/v2c answering a community string, MQTT "
        "accepting connections without TLS, UPnP/SSDP and ADB. Services that could not be "
        "identified, and plain-HTTP services whose landing page could not be fetched, are "
        "inconclusive."
    ),
    method_ja=(
        "Telnet、FTP、TFTP、rlogin・rsh・rexec、VNC、ログインフォームまたは認証要求のある平文のHTTP"
        "のページ、コミュニティ名に応答するSNMP v1/v2c、TLSなしの接続を受け付けるMQTT、UPnP/SSDP、"
        "ADBを、平文の管理・探索・デバッグ用サービスとして検出する。識別できなかったサービスと、"
        "最初のページを取得できなかった平文のHTTPのサービスは判定不能とする。"
    ),
    severity=Severity.HIGH,
    severity_reason=(
        "Passwords and sessions cross the network readable by anyone on the path, or the "
        "service needs no login at all."
    ),
    severity_reason_ja=(
        "パスワードやセッションが平文のまま通信経路上の誰にでも読める状態で流れるか、"
        "そもそもログインが不要である。"
    ),
    kind="exposed_services",
    remediation=Remedy(
        en=(
            "Turn the cleartext administration, discovery or debug service off, or replace it "
            "with an encrypted equivalent."
        ),
        ja="平文の管理・探索・デバッグ用サービスを停止するか、暗号化された同等の手段に置き換える。",
    ),
    remedies=_CLEARTEXT_REMEDIES,
    references=("CWE-319", "CWE-489", "NIST SP 800-53 CM-7"),
)

#: protocols that are a finding whenever they answer, with the reason why
_ALWAYS_CLEARTEXT: dict[str, str] = {
    "telnet": "Telnet carries logins and the whole session in cleartext",
    "ftp": "FTP carries logins and files in cleartext",
    "tftp": "TFTP has no authentication and no encryption",
    "rlogin": "rlogin trusts the client's claims and carries sessions in cleartext",
    "rsh": "rsh trusts the client's claims and carries sessions in cleartext",
    "rexec": "rexec carries passwords in cleartext",
    "vnc": "VNC (RFB) remote control is unencrypted by default",
    "ssdp": "UPnP/SSDP announces the device and its control URLs to the network",
    "adb": "Android Debug Bridge is a debug interface giving a shell to anyone who connects",
}
_ALWAYS_CLEARTEXT_JA: dict[str, str] = {
    "telnet": "Telnet はログインとセッション全体を平文で運ぶ",
    "ftp": "FTP はログインとファイルを平文で運ぶ",
    "tftp": "TFTP には認証も暗号化もない",
    "rlogin": "rlogin はクライアントの申告を信用し、セッションを平文で運ぶ",
    "rsh": "rsh はクライアントの申告を信用し、セッションを平文で運ぶ",
    "rexec": "rexec はパスワードを平文で運ぶ",
    "vnc": "VNC（RFB）の遠隔操作は既定で暗号化されない",
    "ssdp": "UPnP/SSDP は機器とその制御 URL をネットワークに告知する",
    "adb": "Android Debug Bridge は接続した誰にでもシェルを与えるデバッグ用インタフェース",
}


def _service_evidence(service: Service) -> Evidence:
    details: dict[str, JSONValue] = {
        "transport": service.transport,
        "port": service.port,
        "protocol": service.protocol,
        "tls": service.tls,
    }
    if service.banner:
        details["banner"] = service.banner
    if service.product:
        details["product"] = service.product
    if service.note:
        details["note"] = service.note
    banner = f", banner {quoted(service.banner)}" if service.banner else ""
    banner_ja = f"、バナー {quoted(service.banner)}" if service.banner else ""
    summary, summary_ja = f"{service} open{banner}", f"{service} が開いている{banner_ja}"
    return Evidence("service", summary[:200], details, summary_ja[:200])


class ExposedServices(ServiceProbe):
    """Judges every open service against the allowed list and the cleartext-admin table."""

    checks = (UNEXPECTED, CLEARTEXT_ADMIN)
    protocols = frozenset({"*"})
    # A single-page app takes passwords from a script, with no <form> on any page: without
    # its login surface, Node-RED's editor read "no login form" here while web.login.cleartext
    # failed it for the same plain-HTTP login.
    uses = frozenset({LOGIN_SURFACES})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        return [judge_unexpected(ctx, service), judge_cleartext(ctx, service)]


def judge_unexpected(ctx: ProbeContext, service: Service) -> Result:
    """`services.unexpected` from the profile's allowed list (pure: reads no network)."""
    about = ctx.about(service)
    params = ctx.params(UNEXPECTED, AllowedServices)
    entries = params.entries()
    evidence = _service_evidence(service)
    allowed_text = ", ".join(params.allowed) or "nothing"
    allowed_ja = ", ".join(params.allowed) or "なし"
    policy = Evidence(
        "policy",
        f"allowed: {allowed_text}",
        {"allowed": list(params.allowed)},
        f"許可: {allowed_ja}",
    )
    match = next((e for e in entries if e.matches(service)), None)
    where, where_ja = about.where, about.where_ja
    if match is not None:
        reason = f"{where} is allowed by the profile entry {match.text!r}."
        reason_ja = f"{where_ja} はプロファイルの項目 {match.text!r} で許可されている。"
        return about.result(UNEXPECTED, Verdict.PASS, reason, evidence, policy, reason_ja=reason_ja)
    if not service.identified and any(e.matches_port(service) for e in entries):
        why = f" ({service.note})" if service.note else ""
        reason = (
            f"{service.key} on {ctx.target.address} is open but its protocol could not be "
            f"identified{why}, and the profile allows this port only for named protocols."
        )
        reason_ja = (
            f"{ctx.target.address} の {service.key} は開いているがプロトコルを識別できず"
            f"{_paren_ja(service.note)}、プロファイルはこのポートを名前付きのプロトコルにだけ"
            "許可している。"
        )
        return about.result(
            UNEXPECTED, Verdict.INCONCLUSIVE, reason, evidence, policy, reason_ja=reason_ja
        )
    reason = f"{where} is open but not in the profile's allowed list ({allowed_text})."
    reason_ja = f"{where_ja} は開いているが、プロファイルの許可リスト（{allowed_ja}）にない。"
    return about.result(UNEXPECTED, Verdict.FAIL, reason, evidence, policy, reason_ja=reason_ja)


def _paren_ja(note: str) -> str:
    """A note in Japanese parentheses, or nothing."""
    return f"（{note}）" if note else ""


def judge_cleartext(ctx: ProbeContext, service: Service) -> Result:
    """`services.cleartext-admin` from what discovery and fingerprinting found (pure)."""
    about = ctx.about(service)
    where, where_ja = about.where, about.where_ja
    evidence = _service_evidence(service)

    def result(verdict: Verdict, reason: str, *more: Evidence, reason_ja: str) -> Result:
        return about.result(CLEARTEXT_ADMIN, verdict, reason, evidence, *more, reason_ja=reason_ja)

    if not service.identified:
        why = f": {service.note}" if service.note else ""
        return result(
            Verdict.INCONCLUSIVE,
            f"{service.key} on {ctx.target.address} is open but could not be identified{why}, "
            "so it cannot be ruled out as a cleartext administration service.",
            reason_ja=(
                f"{ctx.target.address} の {service.key} は開いているが識別できなかった"
                f"{_paren_ja(service.note)}ため、平文の管理サービスでないとは言えない。"
            ),
        )
    if service.protocol in _ALWAYS_CLEARTEXT:
        return result(
            Verdict.FAIL,
            f"{where} is exposed: {_ALWAYS_CLEARTEXT[service.protocol]}.",
            reason_ja=f"{where_ja} が公開されている: {_ALWAYS_CLEARTEXT_JA[service.protocol]}。",
        )
    if service.protocol == "snmp":
        return _snmp(ctx, service, result)
    if service.protocol == "mqtt" and not service.tls:
        return _mqtt(ctx, service, result)
    if service.protocol == "http" and not service.tls:
        return _plain_http(ctx, service, result)
    protected = " over TLS" if service.tls else ""
    protected_ja = "（TLS 経由）" if service.tls else ""
    return result(
        Verdict.PASS,
        f"{where}{protected} is not a cleartext administration, discovery or debug protocol.",
        reason_ja=f"{where_ja}{protected_ja} は平文の管理・探索・デバッグ用プロトコルではない。",
    )


def _snmp(ctx: ProbeContext, service: Service, result: _ResultFn) -> Result:
    answers = [a for a in ctx.facts.get(UDP_ANSWERS) or () if a.service.key == service.key]
    answered = [a for a in answers if a.snmp_community]
    where, where_ja = ctx.about(service).where, ctx.about(service).where_ja
    if answered:
        a = answered[0]
        ev = Evidence(
            "udp_exchange",
            f"SNMP answered {a.request}: {a.response_summary}"[:200],
            {"request": a.request, "response": a.response_summary, "community_answered": True},
            summary_ja=f"SNMP が {a.request} に応答: {a.response_summary}"[:200],
        )
        return result(
            Verdict.FAIL,
            f"{where} answered an SNMP v1/v2c request with a guessable community string; "
            "v1/v2c carries the community and all data in cleartext.",
            ev,
            reason_ja=(
                f"{where_ja} は推測できるコミュニティ名での SNMP v1/v2c 要求に応答した。v1/v2c "
                "はコミュニティ名とすべてのデータを平文で運ぶ。"
            ),
        )
    return result(
        Verdict.INCONCLUSIVE,
        f"{where} is open but answered no community string tried; SNMPv3 or other "
        "communities cannot be told apart from here.",
        reason_ja=(
            f"{where_ja} は開いているが、試したどのコミュニティ名にも応答しなかった。SNMPv3 "
            "や他のコミュニティ名かどうかはここからは区別できない。"
        ),
    )


def _mqtt(ctx: ProbeContext, service: Service, result: _ResultFn) -> Result:
    infos = [i for i in ctx.facts.get(MQTT_INFO) or () if i.service.key == service.key]
    where, where_ja = ctx.about(service).where, ctx.about(service).where_ja
    if not infos:
        return result(
            Verdict.INCONCLUSIVE,
            f"{where} was identified but its CONNACK was not recorded, so whether it accepts "
            "connections without TLS is unknown.",
            reason_ja=(
                f"{where_ja} は識別されたが CONNACK が記録されておらず、TLS "
                "なしの接続を受け付けるかは不明。"
            ),
        )
    info = infos[0]
    ev = Evidence(
        "mqtt_connack",
        f"CONNECT without credentials -> CONNACK code {info.return_code}",
        {"return_code": info.return_code, "accepted_anonymous": info.accepted_anonymous},
        summary_ja=f"認証情報なしの CONNECT -> CONNACK コード {info.return_code}",
    )
    if info.accepted_anonymous:
        return result(
            Verdict.FAIL,
            f"{where} accepts MQTT connections without TLS and without credentials "
            f"(CONNACK code {info.return_code}).",
            ev,
            reason_ja=(
                f"{where_ja} は TLS なし・認証情報なしの MQTT 接続を受け付ける（CONNACK コード "
                f"{info.return_code}）。"
            ),
        )
    return result(
        Verdict.FAIL,
        f"{where} accepts MQTT connections without TLS: it refused an anonymous CONNECT "
        f"(code {info.return_code}), so clients log in with passwords sent in cleartext.",
        ev,
        reason_ja=(
            f"{where_ja} は TLS なしの MQTT 接続を受け付ける。匿名の CONNECT は拒否した（コード "
            f"{info.return_code}）が、クライアントはパスワードを平文で送ってログインする。"
        ),
    )


def _plain_http(ctx: ProbeContext, service: Service, result: _ResultFn) -> Result:
    where, where_ja = ctx.about(service).where, ctx.about(service).where_ja
    # Only what this plain-HTTP service serves itself: a redirect to HTTPS is the cure,
    # and the login form found behind it is not served in cleartext.
    pages = [p for p in ctx.facts.get(HTTP_PAGES) or () if p.service.key == service.key]
    forms = [
        f
        for f in ctx.facts.get(LOGIN_FORMS) or ()
        if f.service.key == service.key and on_service(f.page_url, service)
    ]
    if forms:
        form = forms[0]
        ev = Evidence(
            "login_form",
            f"password field {form.password_field!r} on {mask_url(form.page_url)}"[:200],
            {
                "page_url": mask_url(form.page_url),
                "action_url": mask_url(form.action_url),
                "method": form.method,
                "password_field": form.password_field,
            },
            summary_ja=f"{mask_url(form.page_url)} のパスワード欄 {form.password_field!r}"[:200],
        )
        return result(
            Verdict.FAIL,
            f"{where} serves a login form ({mask_url(form.page_url)}) over plain HTTP.",
            ev,
            reason_ja=(
                f"{where_ja} は平文の HTTP でログインフォーム（{mask_url(form.page_url)}）"
                "を提供している。"
            ),
        )
    scripted = [
        r
        for r in ctx.facts.get(LOGIN_SURFACES) or ()
        if r.service.key == service.key and on_service(r.page_url, service)
    ]
    if scripted:
        surface = scripted[0]
        ev = Evidence(
            "login_surface",
            f"{surface.method} {mask_url(surface.url)} from {mask_url(surface.page_url)}"[:200],
            {
                "page_url": mask_url(surface.page_url),
                "url": mask_url(surface.url),
                "method": surface.method,
                "content_type": surface.content_type,
                "source": surface.source,
            },
            summary_ja=(
                f"{mask_url(surface.page_url)} からの {surface.method} {mask_url(surface.url)}"
            )[:200],
        )
        return result(
            Verdict.FAIL,
            f"{where} serves a scripted login over plain HTTP: its page "
            f"({mask_url(surface.page_url)}) sends passwords with {surface.method} "
            f"{mask_url(surface.url)}.",
            ev,
            reason_ja=(
                f"{where_ja} は平文の HTTP でスクリプトによるログインを提供している。そのページ（"
                f"{mask_url(surface.page_url)}）はパスワードを {surface.method} "
                f"{mask_url(surface.url)} で送る。"
            ),
        )
    challenged = [p for p in pages if p.auth_scheme and on_service(p.url, service)]
    if challenged:
        page = challenged[0]
        ev = Evidence(
            "http_exchange",
            f"GET {mask_url(page.url)} -> {page.status}, WWW-Authenticate {page.auth_scheme}"[:200],
            {
                "url": mask_url(page.url),
                "status": page.status,
                "auth_scheme": page.auth_scheme,
                "realm": page.auth_realm,
            },
            summary_ja=(
                f"GET {mask_url(page.url)} の応答 {page.status}、"
                f"認証方式 {page.auth_scheme}（WWW-Authenticate）"
            )[:200],
        )
        return result(
            Verdict.FAIL,
            f"{where} asks for {page.auth_scheme} credentials over plain HTTP "
            f"({mask_url(page.url)}).",
            ev,
            reason_ja=(
                f"{where_ja} は平文の HTTP で {page.auth_scheme} 認証の資格情報を求める（"
                f"{mask_url(page.url)}）。"
            ),
        )
    if not pages:
        why = f" ({service.note})" if service.note else ""
        return result(
            Verdict.INCONCLUSIVE,
            f"{where} did not answer GET / in a usable way{why}, so whether it carries a "
            "login is unknown.",
            reason_ja=(
                f"{where_ja} は GET / に使える形で応答しなかった{_paren_ja(service.note)}ため、"
                "ログインがあるかは不明。"
            ),
        )
    seen = ", ".join(f"{mask_url(p.url)} ({p.status})" for p in pages)
    ev = Evidence(
        "http_exchange",
        f"fetched {seen}"[:200],
        {"pages": [mask_url(p.url) for p in pages]},
        summary_ja=f"取得したページ: {seen}"[:200],
    )
    cut = next((p for p in pages if p.incomplete), None)
    if cut is not None:
        # A login form may sit past the cut or inside a stream that could not be decoded.
        return result(
            Verdict.INCONCLUSIVE,
            f"{where} showed no login form or authentication challenge on the part read, "
            f"but {mask_url(cut.url)} could not be read whole ({cut.incomplete}), so "
            "whether it carries a login is unknown.",
            ev,
            reason_ja=(
                f"{where_ja} は読み取った範囲にログインフォームも認証チャレンジも示さなかったが、"
                f"{mask_url(cut.url)} を最後まで読み取れなかった（{cut.incomplete}）ため、"
                "ログインがあるかは不明。"
            ),
        )
    return result(
        Verdict.PASS,
        f"{where} showed no login form or authentication challenge on the pages fetched ({seen}).",
        ev,
        reason_ja=(
            f"{where_ja} は取得したページ（{seen}）"
            "にログインフォームも認証チャレンジも示さなかった。"
        ),
    )
