"""Checks declared in YAML (format shinsa-check/1), for makers who do not write Python.

One file declares one check: which services it runs on, one HTTP request or one TCP
exchange, what in the answer is a match, and the verdict:

    format: shinsa-check/1
    id: acme.debug-console          # a namespace of the plugin's own, a dot, a name
    title: The debug console answers without a login   # the problem a fail means
    title_ja: デバッグコンソールがログインなしで応答する  # optional: the title for --lang ja
    method: GET /debug without credentials; a 200 page titled "Debug" is the console
    method_ja: 認証情報なしでGET /debugを送り、200応答で題名が"Debug"のページをコンソールとみなす
    severity: high                          # info, low, medium (default), high, critical
    severity_reason: Anyone on the network gets the console.   # optional: why that level
    severity_reason_ja: ネットワーク上の誰もがコンソールを操作できる。  # optional, like title_ja
    remediation: {en: Turn the debug console off in production firmware., ja: ...}
    remedies: {https: {en: ..., ja: ...}}   # optional: the fix for one protocol's finding
    references: [CWE-489]                           # optional, like remediation
    service: {protocols: [http, https], ports: [8080]}   # ports optional
    http: {method: GET, path: /debug, headers: {}, body: ""}
    # or: tcp: {send: "STATUS\\r\\n", read: 512}
    match: {status: [200], body: "<title>Debug"}   # every condition given must hold
    on_match: fail                                  # fail (default) or pass
    reached: {status: [401, 403, 404]}              # proof a handler answered

Verdicts: a match gives `on_match`. A non-match gives the other verdict only when the
answer meets `reached` (a status, header or body marker showing the request reached the
device's handler, not a proxy, a captive page or a half-open port); otherwise, and always
when `reached` is not given, it is `inconclusive`. A request that fails (refused, reset,
no answer in time, an answer that is not HTTP) is `error`; nothing here reads silence as a
pass. Every byte goes through the probe context's `DeviceNetwork` (scope, permits, bounded
reads); bodies and TCP answers are read to at most `max_read` bytes (default 16 KiB).

Regular expressions (`headers` values, `body`) are Python's, searched (not anchored);
`body` is matched against the raw bytes (the pattern's text as UTF-8, so `\\x00` escapes
work for binary protocols). A file is read strictly, as profiles are: every error names the
file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from scanner import yaml_typed
from scanner.errors import ConfigError, ScopeError
from scanner.http_exchange import exchange
from scanner.http_location import describe_failure
from scanner.model import Evidence, Result, Service, Verdict, bound_text
from scanner.net import ReadLimitExceeded, lenient_tls_context
from scanner.probe import Check, ProbeContext, Remedy, ServiceProbe, Severity
from scanner.probe import where_ja as where_ja_of

if TYPE_CHECKING:
    from pathlib import Path

FORMAT = "shinsa-check/1"
MAX_READ = 64 * 1024
DEFAULT_READ = 16 * 1024
_TOP = frozenset(
    {
        "format",
        "id",
        "title",
        "method",
        "service",
        "http",
        "tcp",
        "match",
        "on_match",
        "reached",
        "intrusive",
        "max_read",
        "severity",
        "severity_reason",
        "remediation",
        "remedies",
        "references",
        "title_ja",
        "severity_reason_ja",
        "method_ja",
    }
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


@dataclass(frozen=True, slots=True)
class Conditions:
    """What an answer must show; each condition given must hold (none given: never holds)."""

    status: frozenset[int] = frozenset()
    headers: tuple[tuple[str, re.Pattern[str]], ...] = ()
    body: re.Pattern[bytes] | None = None

    @property
    def empty(self) -> bool:
        return not self.status and not self.headers and self.body is None

    def holds(self, status: int | None, headers: httpx.Headers | None, body: bytes) -> bool:
        if self.empty:
            return False
        if self.status and status not in self.status:
            return False
        for name, pattern in self.headers:
            values = headers.get_list(name) if headers is not None else []
            if not any(pattern.search(v) for v in values):
                return False
        return self.body is None or self.body.search(body) is not None

    def describe(self) -> str:
        parts = []
        if self.status:
            parts.append("status " + "/".join(map(str, sorted(self.status))))
        parts += [f"header {n} ~ {p.pattern!r}" for n, p in self.headers]
        if self.body is not None:
            parts.append(f"body ~ {self.body.pattern.decode('utf-8', 'replace')!r}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class TcpExchange:
    send: bytes
    read: int  # bytes at most


@dataclass(frozen=True, slots=True)
class CheckSpec:
    check: Check
    path: Path
    protocols: frozenset[str]
    ports: frozenset[int]
    request: HttpRequest | TcpExchange
    match: Conditions
    on_match: Verdict
    reached: Conditions
    intrusive: bool
    max_read: int


# --- loading -------------------------------------------------------------------------------


def load_spec(path: Path) -> CheckSpec:
    """One declarative check file, or a ConfigError naming the file and the line."""
    data, _ = yaml_typed.read_mapping(path, "a declarative check")
    top = yaml_typed.at(data, -1, yaml_typed.Mark(path))
    if data.get("format") != FORMAT:
        raise ConfigError(
            f"{yaml_typed.at(data, 'format', top)}: format: must be {FORMAT}, not "
            f"{yaml_typed.describe(data.get('format'))}"
        )
    yaml_typed.only_keys(data, _TOP, "")
    cid = yaml_typed.text(data, "id", "id", max_len=100)
    if not re.match(r"^[a-z0-9]+(\.[a-z0-9-]+)+$", cid):
        raise ConfigError(
            f"{yaml_typed.at(data, 'id')}: id: must be a namespace, a dot and a name in lower "
            f"case (acme.debug-console), not {yaml_typed.describe(cid)}"
        )
    check = Check(
        cid,
        yaml_typed.text(data, "title", "title", max_len=300),
        yaml_typed.text(data, "method", "method", max_len=1000),
        severity=_severity(data),
        severity_reason=_optional(data, "severity_reason", 300),
        remediation=_remedy(data, "remediation"),
        references=tuple(_texts(data, "references", "references")),
        title_ja=_optional(data, "title_ja", 300),
        remedies=_remedies(data),
        severity_reason_ja=_optional(data, "severity_reason_ja", 300),
        method_ja=_optional(data, "method_ja", 1000),
    )
    has_http, has_tcp = "http" in data, "tcp" in data
    if has_http == has_tcp:
        raise ConfigError(f"{top}: give exactly one of http (a request) or tcp (an exchange)")
    service = yaml_typed.mapping(data, "service", "service")
    yaml_typed.only_keys(service, {"protocols", "ports"}, "service")
    protocols = frozenset(_texts(service, "protocols", "service.protocols"))
    ports = _ports(service)
    request: HttpRequest | TcpExchange
    if has_http:
        request = _http(yaml_typed.mapping(data, "http", "http"))
        protocols = protocols or frozenset({"http", "https"})
        bad = sorted(protocols - {"http", "https"})
        if bad:
            raise ConfigError(
                f"{_m(service, 'protocols')}: service.protocols: an http check runs on http "
                f"or https services, not {', '.join(bad)}"
            )
    else:
        request = _tcp(yaml_typed.mapping(data, "tcp", "tcp"))
        if not protocols and not ports:
            raise ConfigError(
                f"{yaml_typed.at(data, 'service', top)}: service: a tcp check names its "
                'protocols ("*" for any) or its ports'
            )
        protocols = protocols or frozenset({"*"})
    stray = [p for p, _ in check.remedies if "*" not in protocols and p not in protocols]
    if stray:
        raise ConfigError(
            f"{yaml_typed.at(data, 'remedies', top)}: remedies: {', '.join(stray)} is not a "
            f"protocol this check runs on ({', '.join(sorted(protocols))})"
        )
    on_match_text = yaml_typed.text(data, "on_match", "on_match", default="fail")
    if on_match_text not in ("fail", "pass"):
        raise ConfigError(
            f"{yaml_typed.at(data, 'on_match', top)}: on_match: must be fail or pass, not "
            f"{yaml_typed.describe(on_match_text)}"
        )
    match = _conditions(data, "match", http=has_http)
    if match.empty:
        raise ConfigError(
            f"{yaml_typed.at(data, 'match', top)}: match: give at least one condition"
        )
    max_read = yaml_typed.whole(
        data, "max_read", "max_read", default=DEFAULT_READ, low=1, high=MAX_READ
    )
    if isinstance(request, TcpExchange):
        max_read = request.read
    return CheckSpec(
        check=check,
        path=path,
        protocols=protocols,
        ports=ports,
        request=request,
        match=match,
        on_match=Verdict(on_match_text),
        reached=_conditions(data, "reached", http=has_http),
        intrusive=yaml_typed.flag(data, "intrusive", "intrusive", False),
        max_read=max_read or DEFAULT_READ,
    )


def _m(m: dict[str, Any], key: str) -> yaml_typed.Mark | None:
    return yaml_typed.at(m, key)


def _texts(m: dict[str, Any], key: str, label: str) -> list[str]:
    raw = yaml_typed.sequence(m, key, label)
    out = []
    for i, value in enumerate(raw):
        if not isinstance(value, str) or not value.strip():
            raise yaml_typed.wrong(
                yaml_typed.at(raw, i, _m(m, key)), f"{label}[{i}]", "text", value
            )
        out.append(value)
    return out


def _severity(data: dict[str, Any]) -> Severity:
    text = yaml_typed.optional_text(data, "severity", "severity") or Severity.MEDIUM.value
    if text not in set(Severity):
        raise ConfigError(
            f"{_m(data, 'severity')}: severity: must be one of "
            f"{', '.join(s.value for s in Severity)}, not {yaml_typed.describe(text)}"
        )
    return Severity(text)


def _optional(data: dict[str, Any], key: str, max_len: int) -> str:
    if data.get(key) is None:
        return ""
    return yaml_typed.text(data, key, key, max_len=max_len)


def _remedy(data: dict[str, Any], key: str, label: str = "") -> Remedy:
    label = label or key
    if data.get(key) is None:
        return Remedy("", "")
    block = yaml_typed.mapping(data, key, label)
    yaml_typed.only_keys(block, {"en", "ja"}, label)
    return Remedy(
        yaml_typed.text(block, "en", f"{label}.en", max_len=1000),
        yaml_typed.optional_text(block, "ja", f"{label}.ja") or "",
    )


def _remedies(data: dict[str, Any]) -> tuple[tuple[str, Remedy], ...]:
    """`remedies: {protocol: {en, ja}}`: a finding about that protocol's service shows its
    own fix; the protocols are checked against `service.protocols` by the caller."""
    block = yaml_typed.mapping(data, "remedies", "remedies")
    out = []
    for protocol in block:
        if not re.match(r"^[a-z0-9-]+$", str(protocol)):
            raise ConfigError(
                f"{_m(block, protocol)}: remedies: a key is a protocol name in lower case "
                f"(http, https), not {yaml_typed.describe(protocol)}"
            )
        if not isinstance(block[protocol], dict):
            raise yaml_typed.wrong(
                _m(block, protocol), f"remedies.{protocol}", "a mapping", block[protocol]
            )
        out.append((protocol, _remedy(block, protocol, f"remedies.{protocol}")))
    return tuple(out)


def _ports(service: dict[str, Any]) -> frozenset[int]:
    raw = yaml_typed.sequence(service, "ports", "service.ports")
    out = set()
    for i, value in enumerate(raw):
        mark = yaml_typed.at(raw, i, _m(service, "ports"))
        if not yaml_typed.is_whole(value) or not 1 <= value <= 65535:
            raise yaml_typed.wrong(mark, f"service.ports[{i}]", "a port 1-65535", value)
        out.add(int(value))
    return frozenset(out)


def _http(raw: dict[str, Any]) -> HttpRequest:
    yaml_typed.only_keys(raw, {"method", "path", "headers", "body"}, "http")
    method = yaml_typed.text(raw, "method", "http.method", default="GET")
    if method not in _METHODS:
        raise ConfigError(
            f"{_m(raw, 'method')}: http.method: must be one of {', '.join(sorted(_METHODS))}"
        )
    path = yaml_typed.text(raw, "path", "http.path", max_len=2000)
    if not path.startswith("/") or any(c.isspace() or ord(c) < 32 for c in path):
        raise ConfigError(
            f"{_m(raw, 'path')}: http.path: must start with / and hold no spaces or control "
            "characters (the request stays on the service scanned)"
        )
    headers = yaml_typed.mapping(raw, "headers", "http.headers")
    pairs = []
    for name, value in headers.items():
        mark = yaml_typed.at(headers, name)
        if not _HEADER_NAME.match(name):
            raise ConfigError(f"{mark}: http.headers: {yaml_typed.shown(name)} is no header name")
        if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
            raise yaml_typed.wrong(mark, f"http.headers.{name}", "text on one line", value)
        pairs.append((name, value))
    body = yaml_typed.text(raw, "body", "http.body", default="", empty=True, max_len=MAX_READ)
    return HttpRequest(method, path, tuple(pairs), body.encode())


def _tcp(raw: dict[str, Any]) -> TcpExchange:
    yaml_typed.only_keys(raw, {"send", "send_hex", "read"}, "tcp")
    if "send" in raw and "send_hex" in raw:
        raise ConfigError(f"{yaml_typed.at(raw, 'send')}: tcp: give send or send_hex, not both")
    if "send_hex" in raw:
        text = yaml_typed.text(raw, "send_hex", "tcp.send_hex", max_len=2 * MAX_READ)
        try:
            send = bytes.fromhex(text)
        except ValueError:
            raise ConfigError(
                f"{_m(raw, 'send_hex')}: tcp.send_hex: must be hexadecimal bytes (0d 0a)"
            ) from None
    else:
        send = yaml_typed.text(raw, "send", "tcp.send", default="", empty=True).encode()
    read = yaml_typed.whole(raw, "read", "tcp.read", default=DEFAULT_READ, low=1, high=MAX_READ)
    return TcpExchange(send, read or DEFAULT_READ)


def _conditions(data: dict[str, Any], key: str, *, http: bool) -> Conditions:
    raw = yaml_typed.mapping(data, key, key)
    yaml_typed.only_keys(raw, {"status", "headers", "body"} if http else {"body"}, key)
    statuses = set()
    for i, value in enumerate(yaml_typed.sequence(raw, "status", f"{key}.status")):
        seq = raw["status"]
        if not yaml_typed.is_whole(value) or not 100 <= value <= 599:
            raise yaml_typed.wrong(
                yaml_typed.at(seq, i, _m(raw, "status")),
                f"{key}.status[{i}]",
                "an HTTP status 100-599",
                value,
            )
        statuses.add(int(value))
    headers = []
    block = yaml_typed.mapping(raw, "headers", f"{key}.headers")
    for name in block:
        label = f"{key}.headers.{name}"
        text = yaml_typed.text(block, name, label)
        headers.append((name, _regex(text, yaml_typed.at(block, name), label)))
    body = None
    if raw.get("body") is not None:
        text = yaml_typed.text(raw, "body", f"{key}.body")
        body = _regex_bytes(text, _m(raw, "body"), f"{key}.body")
    return Conditions(frozenset(statuses), tuple(headers), body)


def _regex(text: str, mark: yaml_typed.Mark | None, label: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(f"{mark}: {label}: not a regular expression ({exc})") from None


def _regex_bytes(text: str, mark: yaml_typed.Mark | None, label: str) -> re.Pattern[bytes]:
    try:
        return re.compile(text.encode())
    except re.error as exc:
        raise ConfigError(f"{mark}: {label}: not a regular expression ({exc})") from None


# --- running ----------------------------------------------------------------------------------


class DeclaredProbe(ServiceProbe):
    """The probe of one declarative check; `load_probe` makes one subclass per file."""

    spec: ClassVar[CheckSpec]

    def applies_to(self, service: Service) -> bool:
        spec = self.spec
        if service.transport != "tcp":
            return False
        if spec.ports and service.port not in spec.ports:
            return False
        return super().applies_to(service)

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        spec = self.spec
        where = f"{ctx.target.address} {service}"
        where_ja = where_ja_of(ctx.target.address, service)
        answer: tuple[int | None, httpx.Headers | None, bytes] | str
        if isinstance(spec.request, HttpRequest):
            answer = await _http_answer(ctx, service, spec.request, spec.max_read)
            asked = f"{spec.request.method} {spec.request.path}"
        else:
            answer = await _tcp_answer(ctx, service, spec.request, spec)
            asked = f"{len(spec.request.send)} byte(s) sent"
        asked_ja = (
            asked
            if isinstance(spec.request, HttpRequest)
            else (f"{len(spec.request.send)} バイト送信")
        )
        if isinstance(answer, str):
            return [
                ctx.result(
                    spec.check,
                    Verdict.ERROR,
                    f"{where}: {asked}: {answer}; nothing to judge.",
                    service=service,
                    reason_ja=f"{where_ja}: {asked_ja}: {answer}。判定できる応答がない。",
                )
            ]
        status, headers, body = answer
        seen = _seen(status, body)
        evidence = Evidence(
            "exchange",
            f"{asked}: {seen}",
            {"request": asked, "status": status, "bytes": len(body)},
            summary_ja=f"{asked_ja} への応答: {seen}",
        )
        other = Verdict.PASS if spec.on_match is Verdict.FAIL else Verdict.FAIL
        if spec.match.holds(status, headers, body):
            verdict, why = spec.on_match, f"the answer matches ({spec.match.describe()})"
            why_ja = f"応答が条件に一致した（{spec.match.describe()}）"
        elif spec.reached.holds(status, headers, body):
            verdict = other
            why = (
                f"the answer does not match ({spec.match.describe()}) and shows the request "
                f"reached its handler ({spec.reached.describe()})"
            )
            why_ja = (
                f"応答は条件（{spec.match.describe()}）に一致せず、要求が処理部に届いたことを示す"
                f"（{spec.reached.describe()}）"
            )
        else:
            verdict = Verdict.INCONCLUSIVE
            proof = spec.reached.describe() or "no proof declared"
            why = (
                "the answer does not match, and nothing shows the request reached a handler "
                f"({proof})"
            )
            why_ja = f"応答は条件に一致せず、要求が処理部に届いたことを示すものもない（{proof}）"
        return [
            ctx.result(
                spec.check,
                verdict,
                f"{where}: {asked}: {why}.",
                evidence,
                service=service,
                reason_ja=f"{where_ja}: {asked_ja}: {why_ja}。",
            )
        ]


def _seen(status: int | None, body: bytes) -> str:
    head = f"HTTP {status}, " if status is not None else ""
    return f"{head}{len(body)} byte(s): {bound_text(body, 80)!r}"


async def _http_answer(
    ctx: ProbeContext, service: Service, request: HttpRequest, limit: int
) -> tuple[int, httpx.Headers, bytes] | str:
    try:
        async with ctx.net.http(service) as client:
            answer = await exchange(
                client,
                request.method,
                request.path,
                headers=dict(request.headers),
                content=request.body or None,
                limit=limit,
                throttle=False,  # a declared check judges whatever status answers
            )
    except ScopeError:
        return "the request would leave the device"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return describe_failure(exc)
    return answer.status, answer.headers, answer.body


async def _tcp_answer(
    ctx: ProbeContext, service: Service, exchange: TcpExchange, spec: CheckSpec
) -> tuple[None, None, bytes] | str:
    """What the device sent back, read until the answer decides (match or proof), the
    bound, EOF or the read timeout; a connection that fails is the reason, as text."""
    buf = b""
    try:
        tls = lenient_tls_context() if service.tls else None
        async with ctx.net.tcp(service.port, tls=tls) as stream:
            if exchange.send:
                await stream.write(exchange.send)
            while len(buf) < exchange.read:
                try:
                    chunk = await stream.read_some(exchange.read - len(buf))
                except TimeoutError:
                    break  # judged on what came
                if not chunk:
                    break
                buf += chunk
                if spec.match.holds(None, None, buf) or spec.reached.holds(None, None, buf):
                    break
    except TimeoutError:
        return "no connection in time"
    except ReadLimitExceeded:
        return "the answer passed the read bound"
    except OSError as exc:
        return f"the connection failed or broke ({type(exc).__name__})"
    if not buf:
        return "no answer in time"
    return None, None, buf


def load_probe(path: Path) -> type[DeclaredProbe]:
    """A probe class for the check declared in `path` (a ConfigError when it does not load)."""
    spec = load_spec(path)
    namespace = {
        "spec": spec,
        "checks": (spec.check,),
        "protocols": spec.protocols,
        "intrusive": spec.intrusive,
        "__module__": __name__,
        "__doc__": f"Declared in {path}.",
    }
    return type(spec.check.id, (DeclaredProbe,), namespace)
