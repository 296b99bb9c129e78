"""What one TLS endpoint offers: versions, cipher suites, groups, certificate chain, trust.

Versions and suites are enumerated with raw ClientHellos (`scanner.tls.wire`), so the answer
is what the device offers, not what this machine's OpenSSL would agree to: for each version,
offer every suite known, note the one the server picks, take it out and ask again until
the server refuses. Groups come the same way: a TLS 1.3 hello with an empty key_share makes
the server name its group in a HelloRetryRequest; a TLS 1.2 hello offering only ECDHE suites
makes it name its curve in the ServerKeyExchange. No handshake is ever finished, so nothing
is decrypted and nothing needs the suites to be implemented here.

One task per version (and per group family) runs concurrently; each connection holds one of
the device's permits (`DeviceNetwork`), so a small device sees at most its budget.

Not knowing is never "not offered": a timeout, a refused connection or a reset on the first
hello of a version leaves it `None` ("could not tell") with a note. One exception, because
many stacks answer an unwanted version by closing instead of alerting: a version whose hello
is closed or reset without a byte is counted as not offered when another version of the same
endpoint did answer, and the note says so.

Trust is decided by this machine's OpenSSL in a separate handshake (CERT_REQUIRED against
the system store or a profile's CA file, host name not checked here, certificate dates not
checked either: expiry is a finding of its own). For a TLS 1.3-only server, whose
certificate travels encrypted, the leaf is fetched with an `ssl` handshake that records it
without trusting it.

`python -m scanner.tls.audit HOST PORT [--sni NAME] [--ca-file F] [--timeout S] [--allow NET]`
prints the audit as JSON (loopback only unless `--allow` names the target's network).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import ssl
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from scanner.model import JSONValue, bound_text
from scanner.task_groups import all_of, task_group
from scanner.tls.cert import CertificateError, parse_certificate
from scanner.tls.suites import GROUPS, SUITES, SUITES13, group_name, suite_name
from scanner.tls.wire import (
    SSL3,
    TLS10,
    TLS11,
    TLS12,
    TLS13,
    VERSION_NAMES,
    FlightParser,
    NotTls,
    ServerHello,
    client_hello,
    is_dns_name,
    ske_named_group,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.net import DeviceNetwork

VERSIONS = (SSL3, TLS10, TLS11, TLS12, TLS13)
TIMEOUT = 5.0  # per read
MAX_FLIGHT = 64 * 1024  # bytes read per attempt at most
MAX_ROUNDS = 160  # accepted suites (or groups) per version at most; more is a note
#: OpenSSL's X509_V_FLAG_NO_CHECK_TIME: trust is about the chain, dates are another check.
_NO_CHECK_TIME = 0x200000

_ALL_SUITES = tuple(SUITES)
_ALL_SUITES13 = tuple(SUITES13)
_GROUPS12 = tuple(g.code for g in GROUPS.values() if g.tls12)
_GROUPS13 = tuple(g.code for g in GROUPS.values() if g.tls13)
_ECDHE_SUITES = tuple(
    s.code for s in SUITES.values() if s.kex == "ECDHE" or (s.kex == "ECDH" and s.auth == "anon")
)

AnswerKind = Literal["hello", "alert", "closed", "reset", "timeout", "refused", "not_tls"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What one ClientHello got back."""

    kind: AnswerKind
    hello: ServerHello | None = None
    chain: tuple[bytes, ...] = ()
    key_exchange: bytes | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class VersionScan:
    version: int
    offered: bool | None  # None: could not tell
    suites: tuple[int, ...] = ()  # accepted, in the order the server picked them
    server_order: bool | None = None  # the server imposes its own preference order
    complete: bool = True  # the enumeration ran until the server refused
    note: str = ""

    @property
    def name(self) -> str:
        return VERSION_NAMES[self.version]


@dataclass(frozen=True, slots=True)
class Trust:
    verified: bool | None  # None: the trust handshake did not get that far
    error: str = ""  # OpenSSL's verification message, or why the handshake failed
    store: str = "system"  # "system" or the CA file used


@dataclass(frozen=True, slots=True)
class TlsAudit:
    address: str
    port: int
    server_name: str | None
    versions: tuple[VersionScan, ...]
    groups: tuple[int, ...] = ()
    groups_complete: bool = True
    chain: tuple[bytes, ...] = ()  # DER, leaf first
    chain_source: str = ""  # "handshake" (TLS <= 1.2 in clear), "ssl" (leaf only), ""
    trust: Trust = Trust(None, "not checked")
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    def version(self, version: int) -> VersionScan:
        return next(v for v in self.versions if v.version == version)

    @property
    def version_map(self) -> dict[str, bool | None]:
        return {v.name: v.offered for v in self.versions}

    @property
    def suites(self) -> dict[str, list[str]]:
        """IANA names of the accepted suites per version, sorted."""
        return {v.name: sorted(suite_name(c) for c in v.suites) for v in self.versions}

    @property
    def answered(self) -> bool:
        """Some hello got a TLS answer (a ServerHello, or at least an alert)."""
        return any(v.offered is not None for v in self.versions)

    @property
    def negotiated(self) -> bool:
        return any(v.offered for v in self.versions)

    def to_json(self) -> dict[str, JSONValue]:
        certificate: JSONValue = None
        if self.chain:
            try:
                info = parse_certificate(self.chain[0])
            except CertificateError as exc:
                certificate = {"error": str(exc)}
            else:
                certificate = info.details(_now())
        return {
            "address": self.address,
            "port": self.port,
            "server_name": self.server_name,
            "versions": dict(self.version_map),
            "suites": {k: list[JSONValue](v) for k, v in self.suites.items()},
            "server_order": {v.name: v.server_order for v in self.versions if v.offered},
            "groups": list[JSONValue](sorted(group_name(g) for g in self.groups)),
            "certificate": certificate,
            "chain_length": len(self.chain),
            "trust": {
                "verified": self.trust.verified,
                "error": self.trust.error,
                "store": self.trust.store,
            },
            "notes": list[JSONValue](self.notes),
            "seconds": round(self.seconds, 3),
        }


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- one hello ------------------------------------------------------------------------------


async def exchange(
    net: DeviceNetwork, port: int, hello: bytes, *, flight: bool = False, timeout: float = TIMEOUT
) -> Answer:
    """Send one ClientHello and read the answer: up to the ServerHello, or with `flight`
    up to the end of the server's first flight (certificate, key exchange)."""
    parser = FlightParser()
    total = 0
    ended: AnswerKind = "closed"
    try:
        async with net.tcp(port) as stream:
            await stream.write(hello)
            while total < MAX_FLIGHT:
                try:
                    chunk = await stream.read_some(MAX_FLIGHT - total, timeout=timeout)
                except TimeoutError:
                    ended = "timeout"
                    break
                if not chunk:
                    break
                total += len(chunk)
                parser.feed(chunk)
                if parser.alert is not None or (
                    parser.server_hello is not None and (not flight or parser.finished)
                ):
                    break
    except NotTls as exc:
        return Answer("not_tls", note=bound_text(str(exc), 200))
    except ConnectionRefusedError:
        return Answer("refused", note="connection refused")
    except TimeoutError:
        return Answer("timeout", note="no connection within the connect timeout")
    except OSError as exc:
        if parser.server_hello is None and parser.alert is None:
            return Answer("reset", note=bound_text(f"{type(exc).__name__}: {exc}", 160))
    if parser.server_hello is not None:
        return Answer("hello", parser.server_hello, parser.certificates or (), parser.key_exchange)
    if parser.alert is not None:
        return Answer("alert", note=f"alert: {parser.alert}")
    if ended == "timeout":
        return Answer("timeout", note=f"no answer within {timeout:g} s")
    return Answer("closed", note=f"closed after {total} bytes without a ServerHello")


# --- enumeration ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Scan:
    """Mutable state of one version's enumeration."""

    version: int
    accepted: list[int] = field(default_factory=list)
    first: Answer | None = None
    chain: tuple[bytes, ...] = ()
    complete: bool = True
    note: str = ""


async def _enumerate_suites(
    net: DeviceNetwork, port: int, version: int, sni: str | None, timeout: float
) -> _Scan:
    scan = _Scan(version)
    tls13 = version == TLS13
    remaining = list(_ALL_SUITES13 if tls13 else _ALL_SUITES)
    groups = _GROUPS13 if tls13 else tuple(dict.fromkeys((*_GROUPS13, *_GROUPS12)))
    name = VERSION_NAMES[version]
    for round_ in range(MAX_ROUNDS + 1):
        if not remaining:
            break
        if round_ == MAX_ROUNDS:
            scan.complete = False
            scan.note = f"{name}: stopped after {MAX_ROUNDS} accepted suites"
            break
        hello = client_hello(version, remaining, groups=groups, server_name=sni)
        answer = await exchange(net, port, hello, flight=round_ == 0 and not tls13, timeout=timeout)
        if round_ == 0:
            scan.first = answer
        sh = answer.hello
        if answer.kind != "hello" or sh is None:
            if round_ and answer.kind in ("timeout", "refused", "not_tls"):
                scan.complete = False
                scan.note = f"{name}: enumeration cut short after {round_} suites: {answer.note}"
            break
        if sh.version != version:
            if round_:
                scan.note = f"{name}: the server switched to {_vname(sh.version)} mid-way"
            break
        if sh.suite not in remaining:
            scan.complete = False
            scan.note = (
                f"{name}: the server picked {suite_name(sh.suite)}, which was not offered "
                "(a protocol violation); enumeration stopped"
            )
            if sh.suite not in scan.accepted:
                scan.accepted.append(sh.suite)
            break
        scan.accepted.append(sh.suite)
        remaining.remove(sh.suite)
        if answer.chain and not scan.chain:
            scan.chain = answer.chain
    return scan


async def _server_order(
    net: DeviceNetwork, port: int, scan: _Scan, sni: str | None, timeout: float
) -> bool | None:
    """Whether the server picks by its own preference: the suites came back out of the order
    they were offered in, or swapping the first two still yields the same pick."""
    order = list(_ALL_SUITES13 if scan.version == TLS13 else _ALL_SUITES)
    accepted = scan.accepted
    if len(accepted) < 2:
        return None
    if accepted != sorted(accepted, key=order.index):
        return True
    groups = _GROUPS13 if scan.version == TLS13 else (*_GROUPS13, *_GROUPS12)
    swapped = [accepted[1], accepted[0]]
    hello = client_hello(scan.version, swapped, groups=groups, server_name=sni)
    answer = await exchange(net, port, hello, timeout=timeout)
    if answer.hello is None:
        return None
    return answer.hello.suite == accepted[0]


async def _enumerate_groups(
    net: DeviceNetwork, port: int, tls13: bool, sni: str | None, timeout: float
) -> tuple[list[int], bool, str]:
    """(groups accepted, complete, note) by HelloRetryRequest (TLS 1.3) or by the curve of
    the ServerKeyExchange of ECDHE-only hellos (TLS 1.2 and below)."""
    remaining = list(_GROUPS13 if tls13 else _GROUPS12)
    found: list[int] = []
    for round_ in range(len(remaining) + 1):
        if not remaining:
            break
        if tls13:
            hello = client_hello(TLS13, _ALL_SUITES13, groups=remaining, server_name=sni)
        else:
            hello = client_hello(TLS12, _ECDHE_SUITES, groups=remaining, server_name=sni)
        answer = await exchange(net, port, hello, flight=not tls13, timeout=timeout)
        if answer.kind != "hello" or answer.hello is None:
            if round_ and answer.kind in ("timeout", "refused", "not_tls"):
                return found, False, f"group enumeration cut short: {answer.note}"
            break
        if tls13:
            group = answer.hello.group if answer.hello.version == TLS13 else None
        else:
            group = ske_named_group(answer.key_exchange or b"")
        if group is None or group not in remaining:
            break
        found.append(group)
        remaining.remove(group)
    return found, True, ""


# --- certificate and trust ------------------------------------------------------------------


def _client_context(verify: bool, ca_file: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # the name is tls.cert.name's question, decided elsewhere
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with contextlib.suppress(ssl.SSLError):
        ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.verify_flags |= ssl.VerifyFlags(_NO_CHECK_TIME)
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        else:
            ctx.load_default_certs()
    else:
        ctx.verify_mode = ssl.CERT_NONE  # recorded, not trusted: the leaf of a TLS 1.3 server
    return ctx


async def _trust(
    net: DeviceNetwork, port: int, sni: str | None, ca_file: str, timeout: float
) -> Trust:
    store = ca_file or "system"
    try:
        ctx = _client_context(True, ca_file)
    except (OSError, ssl.SSLError) as exc:
        return Trust(None, bound_text(f"the CA file could not be loaded: {exc}", 200), store)
    try:
        async with asyncio.timeout(timeout * 2), net.tcp(port, tls=ctx, server_hostname=sni):
            return Trust(True, "", store)
    except ssl.SSLCertVerificationError as exc:
        return Trust(False, bound_text(exc.verify_message or str(exc), 200), store)
    except (OSError, TimeoutError) as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return Trust(None, bound_text(f"no verifying handshake: {why}", 200), store)


async def _leaf(
    net: DeviceNetwork, port: int, sni: str | None, timeout: float
) -> tuple[bytes, str]:
    """(leaf DER, "") from an `ssl` handshake that records without verifying, or (b"", why)."""
    ctx = _client_context(False, "")
    try:
        async with (
            asyncio.timeout(timeout * 2),
            net.tcp(port, tls=ctx, server_hostname=sni) as stream,
        ):
            obj = stream.ssl_object
            der = obj.getpeercert(binary_form=True) if obj is not None else None
    except (OSError, TimeoutError) as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return b"", bound_text(f"the certificate could not be fetched: {why}", 200)
    return (der, "") if der else (b"", "the server sent no certificate")


# --- the audit ------------------------------------------------------------------------------


async def audit_tls(
    net: DeviceNetwork,
    address: str,
    port: int,
    *,
    server_name: str | None = None,
    ca_file: str = "",
    timeout: float = TIMEOUT,
) -> TlsAudit:
    """Everything the endpoint offers; never raises for what the device does."""
    if address != net.address:
        raise ValueError(f"{address} is not the device network's address {net.address}")
    started = time.monotonic()
    sni = server_name if is_dns_name(server_name) else None
    async with task_group() as group:
        suite_tasks = [
            group.create_task(_enumerate_suites(net, port, v, sni, timeout)) for v in VERSIONS
        ]
        groups13_task = group.create_task(_enumerate_groups(net, port, True, sni, timeout))
        groups12_task = group.create_task(_enumerate_groups(net, port, False, sni, timeout))
        trust_task = group.create_task(_trust(net, port, sni, ca_file, timeout))
    scans = [task.result() for task in suite_tasks]
    groups13, groups12, trust = groups13_task.result(), groups12_task.result(), trust_task.result()
    notes = [s.note for s in scans if s.note]
    answered = any(s.accepted or (s.first and s.first.kind == "alert") for s in scans)
    orders = await all_of(*(_server_order(net, port, s, sni, timeout) for s in scans))
    versions = tuple(
        _verdict(s, answered, order, notes) for s, order in zip(scans, orders, strict=True)
    )
    chain: tuple[bytes, ...] = ()
    for scan in sorted(scans, key=lambda s: -s.version):
        if scan.chain:
            chain = scan.chain
            break
    source = "handshake" if chain else ""
    if not chain and any(v.offered for v in versions):
        der, why = await _leaf(net, port, sni, timeout)
        if der:
            chain, source = (der,), "ssl"
        else:
            notes.append(why)
    offered12 = any(v.offered for v in versions if v.version < TLS13)
    offered13 = bool(versions[-1].offered)
    groups: list[int] = []
    groups_complete = True
    for on, (found, complete, note) in ((offered13, groups13), (offered12, groups12)):
        if on:
            groups += [g for g in found if g not in groups]
            groups_complete = groups_complete and complete
            if note:
                notes.append(note)
    return TlsAudit(
        address=address,
        port=port,
        server_name=sni,
        versions=versions,
        groups=tuple(groups),
        groups_complete=groups_complete,
        chain=chain,
        chain_source=source,
        trust=trust,
        notes=tuple(dict.fromkeys(notes)),
        seconds=time.monotonic() - started,
    )


def _verdict(scan: _Scan, answered: bool, order: bool | None, notes: list[str]) -> VersionScan:
    name = VERSION_NAMES[scan.version]
    first = scan.first
    if scan.accepted:
        return VersionScan(scan.version, True, tuple(scan.accepted), order, scan.complete)
    if first is None:
        return VersionScan(scan.version, None, note=f"{name}: not tried")
    if first.kind == "alert":
        return VersionScan(scan.version, False, note=f"{name}: {first.note}")
    if first.kind == "hello" and first.hello is not None:
        other = _vname(first.hello.version)
        return VersionScan(scan.version, False, note=f"{name}: the server answered with {other}")
    if first.kind in ("closed", "reset") and answered:
        note = f"{name}: {first.note}; counted as not offered (other versions answered)"
        notes.append(note)
        return VersionScan(scan.version, False, note=note)
    note = f"{name}: could not tell: {first.note}"
    notes.append(note)
    return VersionScan(scan.version, None, note=note)


def _vname(version: int) -> str:
    return VERSION_NAMES.get(version, f"0x{version:04x}")


# --- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    from scanner.errors import ScopeError
    from scanner.net import Limits, Network
    from scanner.scope import Scope

    parser = argparse.ArgumentParser(
        prog="python -m scanner.tls.audit", description="Audit one TLS endpoint; prints JSON."
    )
    parser.add_argument("host", help="IP address (loopback unless --allow covers it)")
    parser.add_argument("port", type=int)
    parser.add_argument("--sni", default=None, help="host name to send as SNI and match")
    parser.add_argument("--ca-file", default="", help="PEM CA bundle to verify against")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per read")
    parser.add_argument("--connections", type=int, default=4, help="connections in flight")
    parser.add_argument(
        "--allow", action="append", default=[], help="network the target may be in (CIDR)"
    )
    args = parser.parse_args(argv)
    scope = Scope.of(["127.0.0.0/8", "::1/128", *args.allow])
    limits = Limits(per_device=max(1, args.connections), read_timeout=args.timeout)

    async def run() -> TlsAudit:
        net = Network(scope, limits).device(args.host)
        return await audit_tls(
            net, args.host, args.port, server_name=args.sni, ca_file=args.ca_file,
            timeout=args.timeout,
        )  # fmt: skip

    try:
        audit = asyncio.run(run())
    except ScopeError as exc:
        print(f"refused: {exc} (add --allow to scan it)", file=sys.stderr)
        return 2
    print(json.dumps(audit.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
