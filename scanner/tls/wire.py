"""TLS on the wire, as far as an audit needs it: a ClientHello out, the server's first flight in.

No cryptography happens here. A ClientHello names what the client would accept; the
server's ServerHello (or alert) already says which version and suite it picks, a TLS 1.3
server asked with an empty key_share answers a HelloRetryRequest naming its group, and a
TLS 1.2 server's Certificate and ServerKeyExchange travel in clear. That is enough to list
versions, suites, groups and the certificate chain without finishing a single handshake, and
it works for what this machine's OpenSSL refuses to speak (SSL 3.0, export suites, RC4).

`FlightParser` takes the server's bytes as they arrive and refuses anything that is not TLS
(HTTP text, SSLv2, garbage) with a `NotTls` that says what it was; every length is checked
against what is left, and the total is bounded by the caller (64 KiB per attempt).
"""

from __future__ import annotations

import ipaddress
import os
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.model import bound_text, quoted
from scanner.tls.suites import GROUPS, RENEGOTIATION_SCSV

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

SSL3, TLS10, TLS11, TLS12, TLS13 = 0x0300, 0x0301, 0x0302, 0x0303, 0x0304
VERSION_NAMES: dict[int, str] = {
    SSL3: "SSLv3",
    TLS10: "TLSv1.0",
    TLS11: "TLSv1.1",
    TLS12: "TLSv1.2",
    TLS13: "TLSv1.3",
}
VERSIONS_BY_NAME: dict[str, int] = {n: v for v, n in VERSION_NAMES.items()}

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE = 2, 11, 12, 14
#: RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")

EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_EC_POINT_FORMATS = 0x000B
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_PADDING = 0x0015
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_KEY_SHARE = 0x0033
EXT_RENEGOTIATION_INFO = 0xFF01

#: Every signature scheme a server might need, SHA-1 and DSA included (the audit wants any
#: handshake the server would do, not a safe one). RFC 8446 §4.2.3 and RFC 5246 §7.4.1.4.1.
SIGNATURE_ALGORITHMS: tuple[int, ...] = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,  # ecdsa, eddsa, pss_rsae
    0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601, 0x081A, 0x081B,  # pss_pss, pkcs1, brainpool
    0x081C, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602, 0x0203,  # sha224, dsa, sha1
    0x0201, 0x0202,
)  # fmt: skip

#: Records are at most 2^14 bytes of plaintext; RFC 5246 §6.2.3 allows 2048 more.
MAX_RECORD = 2**14 + 2048
ALERT_NAMES: dict[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    47: "illegal_parameter",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    120: "no_application_protocol",
}


class NotTls(ValueError):
    """The server's bytes are not TLS records; the message says what they looked like."""


# --- ClientHello --------------------------------------------------------------------------


def _u8(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def _u16(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def _u24(data: bytes) -> bytes:
    return struct.pack(">I", len(data))[1:] + data


def _codes(values: Iterable[int]) -> bytes:
    return b"".join(struct.pack(">H", v) for v in values)


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack(">H", kind) + _u16(body)


def is_dns_name(name: str | None) -> bool:
    """True for a name SNI may carry: a host name, not an IP literal (RFC 6066 §3)."""
    if not name or len(name) > 253:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        labels = name.rstrip(".").split(".")
        return all(0 < len(lb) <= 63 and lb.isascii() and lb.isprintable() for lb in labels)
    return False


def client_hello(
    version: int,
    suites: Sequence[int],
    *,
    groups: Sequence[int] = (),
    server_name: str | None = None,
    random: bytes | None = None,
) -> bytes:
    """One ClientHello record offering `suites` with `version` as the highest version.

    SSL 3.0 hellos carry no extensions (and the renegotiation SCSV instead). A TLS 1.3
    hello offers only TLS 1.3 in supported_versions and an empty key_share, so a server
    answers with a HelloRetryRequest that names its group, or an alert.
    """
    rnd = random if random is not None else os.urandom(32)
    if len(rnd) != 32:
        raise ValueError("the client random is 32 bytes")
    legacy = min(version, TLS12)
    session_id = os.urandom(32) if version == TLS13 else b""  # RFC 8446 D.4 compatibility
    offered = list(suites)
    extensions = b""
    if version == SSL3:
        offered.append(RENEGOTIATION_SCSV)
    else:
        exts = []
        if server_name and is_dns_name(server_name):
            host = server_name.rstrip(".").encode("ascii")
            exts.append(_ext(EXT_SERVER_NAME, _u16(b"\0" + _u16(host))))
        if groups:
            exts.append(_ext(EXT_SUPPORTED_GROUPS, _u16(_codes(groups))))
            if any(g in GROUPS and GROUPS[g].kind == "ec" for g in groups):
                exts.append(_ext(EXT_EC_POINT_FORMATS, _u8(b"\0")))  # uncompressed
        if version >= TLS12:
            exts.append(_ext(EXT_SIGNATURE_ALGORITHMS, _u16(_codes(SIGNATURE_ALGORITHMS))))
        if version == TLS13:
            exts.append(_ext(EXT_SUPPORTED_VERSIONS, _u8(_codes([TLS13]))))
            exts.append(_ext(EXT_KEY_SHARE, _u16(b"")))  # empty: the server picks (HRR)
            exts.append(_ext(0x002D, _u8(b"\x01")))  # psk_key_exchange_modes: psk_dhe_ke
        exts.append(_ext(EXT_RENEGOTIATION_INFO, _u8(b"")))
        extensions = b"".join(exts)
    body = struct.pack(">H", legacy) + rnd + _u8(session_id) + _u16(_codes(offered)) + _u8(b"\0")
    if version != SSL3:
        # Some servers (F5, old IIS) hang on a ClientHello of 256-511 bytes: pad past 512
        # as browsers and OpenSSL do (RFC 7685).
        size = 4 + len(body) + 2 + len(extensions)
        if 256 <= size < 512:
            extensions += _ext(EXT_PADDING, b"\0" * max(0, 512 - size - 4))
        body += _u16(extensions)
    message = bytes([1]) + _u24(body)
    record_version = SSL3 if version == SSL3 else TLS10
    return bytes([HANDSHAKE]) + struct.pack(">H", record_version) + _u16(message)


# --- What comes back ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    level: int
    description: int

    @property
    def name(self) -> str:
        return ALERT_NAMES.get(self.description, f"alert {self.description}")

    def __str__(self) -> str:
        return f"{'fatal' if self.level == 2 else 'warning'} {self.name}"


@dataclass(frozen=True, slots=True)
class ServerHello:
    version: int  # negotiated: supported_versions when present, else the legacy field
    suite: int
    random: bytes
    compression: int
    extensions: dict[int, bytes] = field(default_factory=dict)

    @property
    def retry_request(self) -> bool:
        return self.random == HRR_RANDOM

    @property
    def group(self) -> int | None:
        """The key_share group (TLS 1.3): what a HelloRetryRequest asks for."""
        share = self.extensions.get(EXT_KEY_SHARE)
        return struct.unpack_from(">H", share)[0] if share and len(share) >= 2 else None


def parse_server_hello(body: bytes) -> ServerHello:
    """A ServerHello message body (after the 4-byte handshake header)."""
    r = _Reader(body, "ServerHello")
    legacy = r.u16()
    random = r.take(32)
    r.take(r.u8())  # session id
    suite = r.u16()
    compression = r.u8()
    extensions: dict[int, bytes] = {}
    if r.left:
        block = _Reader(r.take(r.u16()), "ServerHello extensions")
        while block.left:
            kind = block.u16()
            extensions[kind] = block.take(block.u16())
    version = legacy
    chosen = extensions.get(EXT_SUPPORTED_VERSIONS)
    if chosen is not None:
        if len(chosen) != 2:
            raise NotTls("a ServerHello supported_versions extension that is not 2 bytes")
        (version,) = struct.unpack(">H", chosen)
    return ServerHello(version, suite, random, compression, extensions)


def parse_certificates(body: bytes) -> tuple[bytes, ...]:
    """The DER certificates of a TLS 1.0-1.2 Certificate message body, leaf first."""
    r = _Reader(body, "Certificate")
    block = _Reader(r.take(r.u24()), "certificate list")
    chain: list[bytes] = []
    while block.left:
        chain.append(block.take(block.u24()))
    return tuple(chain)


def ske_named_group(body: bytes) -> int | None:
    """The named group of an ECDHE ServerKeyExchange (RFC 8422 §5.4), None for other kinds."""
    if len(body) >= 3 and body[0] == 3:  # curve_type named_curve
        return int(struct.unpack_from(">H", body, 1)[0])
    return None


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    @property
    def left(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n > self.left:
            raise NotTls(f"a {self._what} field claims {n} bytes, {self.left} left")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "big")


def describe_non_tls(data: bytes) -> str:
    """What the first bytes of a non-TLS answer look like, for a note."""
    if data[:5] in (b"HTTP/", b"<html", b"<!DOC") or data[:4] == b"<HTM":
        return f"an HTTP/HTML answer ({quoted(bound_text(data[:40], 40))}): plain HTTP, not TLS"
    if len(data) >= 3 and data[0] & 0x80 and data[2] == 4:
        return "an SSL 2.0 ServerHello (SSLv2 only)"
    if data[:4] == b"SSH-":
        return f"an SSH identification line ({quoted(bound_text(data[:40], 40))})"
    printable = sum(32 <= b < 127 or b in b"\r\n\t" for b in data[:32])
    if data and printable == len(data[:32]):
        return f"text ({quoted(bound_text(data[:40], 40))}), not TLS"
    return f"bytes that are not a TLS record ({data[:16].hex()})"


@dataclass(slots=True)
class FlightParser:
    """The server's first flight, parsed as bytes arrive (`feed`). Raises `NotTls`."""

    server_hello: ServerHello | None = None
    certificates: tuple[bytes, ...] | None = None
    key_exchange: bytes | None = None  # ServerKeyExchange body
    hello_done: bool = False
    alert: Alert | None = None
    encrypted: bool = False  # TLS 1.3: what follows the ServerHello cannot be read
    _records: bytearray = field(default_factory=bytearray)
    _handshake: bytearray = field(default_factory=bytearray)
    _seen: int = 0

    def feed(self, data: bytes) -> None:
        self._seen += len(data)
        self._records += data
        if self._seen - len(data) < 2 and data:
            # the first two bytes, however the network cut them (nothing is consumed
            # from the buffer before a whole 5-byte record header is in)
            self._check_start(bytes(self._records[:512]))
        while len(self._records) >= 5:
            kind, major, length = self._records[0], self._records[1], self._records[3:5]
            size = int.from_bytes(length, "big")
            if kind not in (CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA) or major != 3:
                raise NotTls(f"a record header that is not TLS ({bytes(self._records[:5]).hex()})")
            if size > MAX_RECORD:
                raise NotTls(f"a record of {size} bytes (at most {MAX_RECORD} allowed)")
            if len(self._records) < 5 + size:
                return
            payload = bytes(self._records[5 : 5 + size])
            del self._records[: 5 + size]
            self._record(kind, payload)

    @staticmethod
    def _check_start(data: bytes) -> None:
        if data[0] not in (ALERT, HANDSHAKE) or (len(data) > 1 and data[1] != 3):
            raise NotTls(f"the server answered with {describe_non_tls(data)}")

    def _record(self, kind: int, payload: bytes) -> None:
        if kind == ALERT:
            if len(payload) >= 2 and self.alert is None and not self.encrypted:
                self.alert = Alert(payload[0], payload[1])
            return
        if kind in (CHANGE_CIPHER_SPEC, APPLICATION_DATA) or self.encrypted:
            self.encrypted = self.encrypted or kind == APPLICATION_DATA
            return
        self._handshake += payload
        while len(self._handshake) >= 4 and not self.encrypted:
            size = int.from_bytes(self._handshake[1:4], "big")
            if size > 2**16:
                raise NotTls(f"a handshake message of {size} bytes")
            if len(self._handshake) < 4 + size:
                return
            kind_hs = self._handshake[0]
            body = bytes(self._handshake[4 : 4 + size])
            del self._handshake[: 4 + size]
            self._message(kind_hs, body)

    def _message(self, kind: int, body: bytes) -> None:
        if kind == SERVER_HELLO and self.server_hello is None:
            self.server_hello = parse_server_hello(body)
            if self.server_hello.version == TLS13 and not self.server_hello.retry_request:
                self.encrypted = True  # the rest of the flight is under handshake keys
        elif self.server_hello is None and kind != 0:  # 0: HelloRequest, ignorable
            raise NotTls(f"handshake message {kind} before any ServerHello")
        elif kind == CERTIFICATE and self.certificates is None:
            self.certificates = parse_certificates(body)
        elif kind == SERVER_KEY_EXCHANGE and self.key_exchange is None:
            self.key_exchange = body
        elif kind == SERVER_HELLO_DONE:
            self.hello_done = True

    @property
    def finished(self) -> bool:
        """Nothing more worth reading: an alert, the end of the flight, or encryption."""
        return self.alert is not None or self.hello_done or self.encrypted or self._retry()

    def _retry(self) -> bool:
        return self.server_hello is not None and self.server_hello.retry_request
