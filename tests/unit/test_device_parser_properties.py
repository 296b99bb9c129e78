"""Property tests of every pure parser of device bytes (issue 11, "Tests that keep it so"):
any bytes, and valid messages with one field spoiled (a length, a count, a byte, a cut),
raise nothing but the module's own bounded error, keep only bounded text, and never turn
garbage into the answer a verdict would trust (a login accepted, a protocol named, a nonce
echoed).

Parsers reachable only through a network client (FTP and Telnet sessions, the banner and
probe classification of fingerprinting, HTTP page fetching) are fed through loopback
servers in tests/integration/test_device_parser_servers.py.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import itertools
import os
import re
import struct
import zlib
from typing import TYPE_CHECKING

import brotli  # type: ignore[import-untyped]
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from probes._login.mqtt import parse_connack
from probes._login.telnet import DO, DONT, IAC, SB, SE, WILL, WONT, TelnetDecoder
from probes._ssh import KexinitError, parse_kexinit, parse_packet
from probes.web_login import HstsParams, WebLoginHygiene
from scanner.discovery.udp_protocols.bacnet import parse_bacnet_i_am
from scanner.discovery.udp_protocols.coap import parse_coap_response
from scanner.discovery.udp_protocols.dns import parse_dns_response
from scanner.discovery.udp_protocols.enip import parse_enip_identity
from scanner.discovery.udp_protocols.ipmi import parse_asf_pong
from scanner.discovery.udp_protocols.mdns import parse_mdns_response
from scanner.discovery.udp_protocols.ntp import parse_ntp_response
from scanner.discovery.udp_protocols.snmp import parse_snmp_response
from scanner.discovery.udp_protocols.ssdp import parse_ssdp_response
from scanner.discovery.udp_protocols.tftp import parse_tftp_response
from scanner.facts import HTTP_PAGES, Facts, HttpPage
from scanner.fingerprint import identity
from scanner.fingerprint.http import (
    MAX_HIDDEN,
    MAX_LOGIN_LINKS,
    login_forms,
    login_links,
    parse_page,
)
from scanner.fingerprint.ssh_ident import ident_problem
from scanner.html_reader import MAX_FORMS, MAX_INPUTS, MAX_LINKS
from scanner.http_decoding import BodyDecoder, decode_bytes
from scanner.http_exchange import MAX_URL
from scanner.http_location import (
    MALFORMED_LOCATION,
    MalformedLocation,
    resolve,
    set_aside,
    shown,
)
from scanner.model import MAX_DEVICE_TEXT, Service, Target, Verdict, bound_text
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope
from scanner.tls.cert import CertificateError, name_matches, parse_certificate
from scanner.tls.wire import FlightParser, NotTls, parse_certificates, parse_server_hello

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

#: Pure parsers are cheap: hundreds of shapes each, no deadline (the machine is shared).
SETTINGS = settings(
    max_examples=int(os.environ.get("SHINSA_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Interesting byte values for lengths and counts: zero, the sign bit, all ones.
EDGES = (0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFE, 0xFF)


@st.composite
def spoiled(draw: DrawFn, valid: bytes) -> bytes:
    """`valid` with one thing wrong: cut short, one byte (often a length) set to an edge
    value or anything, bytes inserted or removed, or a tail of garbage."""
    how = draw(st.sampled_from(["cut", "byte", "edge", "insert", "delete", "tail", "word"]))
    at = draw(st.integers(0, max(0, len(valid) - 1)))
    if how == "cut":
        return valid[:at]
    if how in ("byte", "edge") and valid:
        value = draw(st.integers(0, 255) if how == "byte" else st.sampled_from(EDGES))
        return valid[:at] + bytes([value]) + valid[at + 1 :]
    if how == "insert":
        return valid[:at] + draw(st.binary(min_size=1, max_size=8)) + valid[at:]
    if how == "delete":
        return valid[:at] + valid[at + draw(st.integers(1, 8)) :]
    if how == "word":  # a 16- or 32-bit length field set to an extreme
        size = draw(st.sampled_from([2, 4]))
        value = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
        return valid[:at] + (value % (1 << (8 * size))).to_bytes(size, "big") + valid[at + size :]
    return valid + draw(st.binary(min_size=1, max_size=16))


def one_of_spoiled(*valid: bytes) -> SearchStrategy[bytes]:
    """Arbitrary bytes, each valid message as is, and each spoiled."""
    return st.one_of(
        st.binary(max_size=512),
        st.sampled_from(valid),
        *(spoiled(v) for v in valid),
    )


def bounded(text: str, limit: int = MAX_DEVICE_TEXT) -> None:
    assert isinstance(text, str)
    assert len(text) <= limit, (len(text), text[:80])


# --- Device text ---------------------------------------------------------------------------


def _decode_errors(raw: bytes) -> list[int]:
    """Where UTF-8 decoding of `raw` first fails ([] when it is UTF-8)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [exc.start]
    return []


@SETTINGS
@given(st.binary(max_size=700), st.integers(8, 600))
def test_any_device_bytes_read_as_printable_text_each_odd_byte_as_its_escape(
    raw: bytes, limit: int
) -> None:
    text = bound_text(raw, limit)
    bounded(text, limit)
    assert all(c.isprintable() or c == "\t" for c in text)
    whole = bound_text(raw, 10_000)
    assert bound_text(whole, 10_000) == whole  # bounding again changes nothing: escaped once
    for at in _decode_errors(raw):
        assert f"\\x{raw[at]:02x}" in whole, (raw, whole)
    if "\ufffd" in whole:  # a replacement would hide which byte the device sent: it stands
        # only for a real character that is not printable (U+E000, U+202E...), never a byte
        assert "\ufffd" in raw.decode("utf-8", "ignore") or any(
            not c.isprintable() and ord(c) > 0xFF for c in raw.decode("utf-8", "ignore")
        )


# --- HTTP: pages, bodies, Location ---------------------------------------------------------

HTML_PIECES = st.sampled_from(
    [
        "<title>",
        "</title>",
        "<form action='/login' method=post>",
        "<form action=http://[::1/x>",
        "<form action='http:host/'>",
        "</form>",
        "<input type=password name=pw>",
        "<input name=user>",
        "<input type=hidden name=csrf value=x>",
        "<a href='/login'>Log in</a>",
        "<a href='//[bad/login'>sign in</a>",
        "<a href='http://a:99999/login'>login</a>",
        "<script>",
        "</script>",
        "<style/>",
        "<!--",
        "-->",
        "<![CDATA[",
        "<!DOCTYPE",
        "&#0;",
        "&#x110000;",
        "&amp",
        "<",
        ">",
        "\x00",
        "\ud7ff",
        "x" * 700,
    ]
)
HTML = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(HTML_PIECES, st.text(max_size=20)), max_size=40).map("".join),
)
SERVICE = Service("tcp", 80, "http")


@SETTINGS
@given(HTML)
def test_any_page_parses_into_bounded_title_forms_and_links(html: str) -> None:
    page = parse_page(html)
    bounded(page.title)
    assert len(page.forms) <= MAX_FORMS
    assert len(page.links) <= MAX_LINKS
    for form in page.forms:
        bounded(form.action, MAX_URL)
        assert form.method in ("GET", "POST")
        assert len(form.inputs) <= MAX_INPUTS
        for field in form.inputs:
            bounded(field.name)
            bounded(field.value)
            assert len(field.type) <= 32
    for link in page.links:
        bounded(link.href, MAX_URL)
        bounded(link.text)


@SETTINGS
@given(HTML, st.sampled_from(["http://127.0.78.1/", "http://127.0.78.1:8080/a/b?c=d"]))
def test_login_forms_and_links_of_any_page_stay_on_bounded_urls(html: str, url: str) -> None:
    for form in login_forms(SERVICE, url, html):
        bounded(form.action_url, MAX_URL)
        assert form.password_field  # a login form is one with a password input
        assert len(form.hidden_fields) <= MAX_HIDDEN
    links = login_links(url, html, "127.0.78.1")
    assert len(links) <= MAX_LOGIN_LINKS
    for link in links:
        assert httpx.URL(link).host == "127.0.78.1"  # never another host


def _compressed(coding: str, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.compress(data, mtime=0)
    if coding == "deflate":
        return zlib.compress(data)
    return bytes(brotli.compress(data))


CODINGS = st.sampled_from(["gzip", "deflate", "br"])
ENCODING_HEADERS = st.one_of(
    CODINGS,
    st.sampled_from(["", "identity", "gzip, br", "br, gzip, deflate, gzip", "zstd", "utf-8"]),
    st.text(max_size=30),
)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@example(b"\xe1\x01\x00\x00\x00\x00", "br", 6, [2])  # bytes after a 2-byte br stream
@SETTINGS
@given(
    st.binary(max_size=2048),
    ENCODING_HEADERS,
    st.integers(1, 4096),
    st.lists(st.integers(0, 4096), max_size=6),
)
def test_any_body_in_any_coding_decodes_within_the_bound_whatever_the_chunks(
    raw: bytes, coding: str, limit: int, cuts: list[int]
) -> None:
    whole = decode_bytes(raw, coding, limit)
    assert len(whole.data) <= limit
    bounded(whole.incomplete)
    decoder = BodyDecoder(coding, limit)
    for chunk in _chunks(raw, cuts):
        if decoder.feed(chunk):
            break
    pieces = decoder.body()
    assert len(pieces.data) <= limit
    # How the network cut the body never changes whether it reads whole, nor a whole read
    # (a corrupt stream may keep a few more bytes decoded before the damage, when cut).
    assert pieces.whole == whole.whole
    if whole.whole:
        assert pieces.data == whole.data


@SETTINGS
@given(st.data(), CODINGS, st.binary(max_size=3000), st.integers(1, 4096))
def test_a_spoiled_compressed_body_is_never_read_as_a_whole_other_page(
    data: st.DataObject, coding: str, page: bytes, limit: int
) -> None:
    packed = _compressed(coding, page)
    body = decode_bytes(packed, coding, limit)
    # The unspoiled stream reads back as a prefix of the page, whole only when neither the
    # compressed bytes nor the page are past the bound (both are bounded: a slow bomb is too).
    assert page.startswith(body.data)
    assert len(body.data) <= limit
    assert body.whole == (len(packed) <= limit and len(page) <= limit)
    if len(packed) <= limit:
        assert body.data == page[:limit]
    broken = data.draw(spoiled(packed))
    body = decode_bytes(broken, coding, limit)
    assert len(body.data) <= limit
    bounded(body.incomplete)


@settings(max_examples=20, deadline=None)
@given(CODINGS, st.integers(64, 64 * 1024))
def test_a_decompression_bomb_stops_at_the_bound_and_says_so(coding: str, limit: int) -> None:
    bomb = _compressed(coding, b"\0" * (4 * 1024 * 1024))
    body = decode_bytes(bomb, coding, limit)
    assert len(body.data) == limit
    assert not body.whole


LOCATION_PIECES = st.sampled_from(
    [
        "http:",
        "https:",
        "HTTP://",
        "//",
        "/",
        "\\",
        "ftp:",
        "javascript:",
        "[",
        "]",
        "::1",
        "127.0.78.1",
        "@",
        ":",
        ":99999",
        ":-1",
        ":8o",
        "%",
        "%zz",
        "a b",
        "?pw=secret",
        "#",
        "\x00",
        "\r\n",
        "\u3000",
        "ｈｔｔｐ",
        "xn--",
        "..",
        "x" * 3000,
    ]
)
LOCATIONS = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(LOCATION_PIECES, st.text(max_size=8)), max_size=12).map("".join),
)
BASE = "http://127.0.78.1:8080/cgi/index.html"


def _httpx_redirect(location: str) -> httpx.URL:
    """The redirect URL httpx builds from a Location (httpx `Client._redirect_url`): a
    URL of the header, given the request's host when it has a scheme and none, joined to
    the request URL only when relative. Raises what httpx would."""
    url = httpx.URL(location)
    if url.scheme and not url.host:
        url = url.copy_with(host=httpx.URL(BASE).host)
    return httpx.URL(BASE).join(url) if url.is_relative_url else url


@SETTINGS
@given(LOCATIONS)
def test_any_location_resolves_or_is_malformed_and_httpx_can_follow_what_resolves(
    location: str,
) -> None:
    try:
        target = resolve(BASE, location)
    except MalformedLocation as exc:
        bounded(str(exc), 120)
    else:
        assert isinstance(target, str)
        _httpx_redirect(location.strip(" \t"))  # what the redirect request will do
    bounded(shown(location), 120)


def _header_value(text: str) -> bytes:
    """`text` as a transport hands a header value over: what h11 lets through (visible
    ASCII, obs-text 0x80-0xff, inner spaces and tabs), latin-1 bytes."""
    kept = "".join(
        c for c in text if c in " \t" or 0x21 <= ord(c) <= 0x7E or 0x80 <= ord(c) <= 0xFF
    )
    return kept.strip(" \t").encode("latin-1")


@example("0\t\x85")  # str.strip() takes the NEL, then the tab; httpx keeps both
@SETTINGS
@given(LOCATIONS)
def test_set_aside_leaves_only_locations_httpx_can_follow(location: str) -> None:
    headers = httpx.Headers([(b"location", _header_value(location))])
    set_aside(httpx.URL(BASE), headers)
    if "location" in headers:
        _httpx_redirect(headers["location"])  # the redirect request httpx builds
    else:
        sentence = headers[MALFORMED_LOCATION]
        assert sentence.isascii()
        assert "secret" not in sentence  # the query (a login echoed) is never shown
        assert len(sentence) <= 400


# --- Telnet --------------------------------------------------------------------------------

TELNET_PIECES = st.one_of(
    st.sampled_from(
        [
            bytes([IAC, WILL, 1]),
            bytes([IAC, WONT, 1]),
            bytes([IAC, DO, 3]),
            bytes([IAC, DONT, 3]),
            bytes([IAC, DO, 24]),
            bytes([IAC, WILL, 31]),
            bytes([IAC, SB, 24, 1, IAC, SE]),
            bytes([IAC, SB]),
            bytes([IAC, IAC]),
            bytes([IAC]),
            b"login: ",
            b"Password: ",
            b"# ",
            b"\x00",
            b"\r\n",
        ]
    ),
    st.binary(max_size=12),
)
TELNET = st.lists(TELNET_PIECES, max_size=40).map(b"".join)


@SETTINGS
@given(TELNET, st.lists(st.integers(0, 600), max_size=8))
def test_telnet_decoder_answers_every_stream_the_same_however_it_is_cut(
    stream: bytes, cuts: list[int]
) -> None:
    whole_text, whole_replies = TelnetDecoder().feed(stream)
    decoder = TelnetDecoder()
    text, replies = b"", b""
    for chunk in _chunks(stream, cuts):
        t, r = decoder.feed(chunk)
        text, replies = text + t, replies + r
    assert (text, replies) == (whole_text, whole_replies)
    assert len(text) <= len(stream)
    assert b"\x00" not in text
    # Replies are whole negotiation commands: IAC verb option, nothing else is ever sent.
    assert len(replies) % 3 == 0
    for i in range(0, len(replies), 3):
        iac, verb, option = replies[i : i + 3]
        assert iac == IAC
        assert verb in (DO, DONT, WILL, WONT)
        if verb == DO:
            assert option in (1, 3)  # only the server's echo and no-go-ahead are agreed
        if verb == WILL:
            assert option == 3  # and only no-go-ahead on our side


@SETTINGS
@given(st.integers(0, 255), st.sampled_from([WILL, DO]), st.integers(20, 200))
def test_telnet_decoder_refuses_a_repeated_request_a_bounded_number_of_times(
    option: int, verb: int, times: int
) -> None:
    assume((verb, option) not in ((WILL, 1), (WILL, 3), (DO, 3)))
    _, replies = TelnetDecoder().feed(bytes([IAC, verb, option]) * times)
    assert len(replies) // 3 <= TelnetDecoder.MAX_REFUSALS


# --- MQTT CONNACK --------------------------------------------------------------------------

CONNACKS = (
    b"\x20\x02\x00\x00",
    b"\x20\x02\x01\x00",
    b"\x20\x02\x00\x05",
    b"\x20\x03\x00\x00\x00",
    b"\x20\x08\x00\x00\x05\x1f\x00\x02ok",
    b"\x20\x09\x00\x86\x06\x1f\x00\x03bad",
)


@SETTINGS
@given(one_of_spoiled(*CONNACKS), st.sampled_from([4, 5]))
def test_a_connack_parses_only_when_well_formed_and_acceptance_needs_a_real_one(
    data: bytes, level: int
) -> None:
    answer = parse_connack(data, level)
    if answer is None:
        return
    assert 0 <= answer.code <= 255
    # the reason string is device bytes, each at most its 4-character escape (\x80)
    assert len(answer.reason) <= 4 * len(data)
    # Whatever parses is a CONNACK with its reserved flag bits clear and a length that
    # matches; MQTT 3.1.1's is exactly four bytes long in its fixed part.
    assert data[0] == 0x20
    assert data[2] & 0xFE == 0
    if level == 4:
        assert data[1] == 2
        assert answer.reason == ""
    elif answer.code == 0 and data[1] > 2:
        props = data[4 : 2 + data[1]]
        assert props[0] == len(props) - 1 or props[0] & 0x80


# --- SNMP BER ------------------------------------------------------------------------------


def _ber(tag: int, content: bytes) -> bytes:
    n = len(content)
    head = bytes([n]) if n < 0x80 else bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + head + content


def _snmp_response(version: int, request_id: int, value: bytes, oid_value: bool = False) -> bytes:
    oid = bytes.fromhex("06082b06010201010100")  # sysDescr.0
    val = _ber(0x06, bytes.fromhex("2b06010401bf08")) if oid_value else _ber(0x04, value)
    varbind = _ber(0x30, _ber(0x30, oid + val))
    ints = b"".join(_ber(0x02, v.to_bytes(4, "big", signed=True)) for v in (request_id, 0, 0))
    pdu = _ber(0xA2, ints + varbind)
    return _ber(0x30, _ber(0x02, bytes([version])) + _ber(0x04, b"public") + pdu)


SNMP_REPLIES = (
    _snmp_response(1, 0x5A5A1002, b"Linux cam 4.9"),
    _snmp_response(0, 0x5A5A1001, b"x" * 300),
    _snmp_response(1, 0x5A5A2002, b"", oid_value=True),
)


@SETTINGS
@given(one_of_spoiled(*SNMP_REPLIES))
def test_snmp_responses_parse_or_are_not_responses(data: bytes) -> None:
    reply = parse_snmp_response(data)
    if reply is not None:
        assert reply.version in (0, 1)
        assert -(2**63) <= reply.request_id < 2**63
        assert len(reply.value) <= len(data)


@SETTINGS
@given(one_of_spoiled(*SNMP_REPLIES), st.sampled_from([0x5A5A2002, 0x5A5A1002, 7]))
def test_sys_object_id_parses_or_is_none(data: bytes, request_id: int) -> None:
    oid = identity.parse_object_id(data, request_id)
    if oid is not None:
        assert isinstance(oid, str)
        assert isinstance(identity.enterprise(oid), str)


@SETTINGS
@given(st.binary(max_size=4096))
def test_any_oid_bytes_decode_or_raise_value_error(raw: bytes) -> None:
    try:
        text = identity.decode_oid(raw)
    except ValueError:
        return
    assert text.replace(".", "").isdigit()
    assert isinstance(identity.enterprise(text), str)


# --- TLS -----------------------------------------------------------------------------------


def _record(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BHH", kind, 0x0303, len(payload)) + payload


def _message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _hello(version: int = 0x0303, extensions: bytes | None = None) -> bytes:
    body = struct.pack(">H", version) + b"\x11" * 32 + b"\x00" + struct.pack(">HB", 0xC02F, 0)
    if extensions is not None:
        body += struct.pack(">H", len(extensions)) + extensions
    return body


_SUPPORTED_13 = struct.pack(">HHH", 0x002B, 2, 0x0304)
HELLO_BODIES = (_hello(), _hello(extensions=_SUPPORTED_13), _hello(0x0301, b""))
_CERTS = _message(11, (6).to_bytes(3, "big") + (3).to_bytes(3, "big") + b"abc")
FLIGHTS = (
    _record(22, _message(2, HELLO_BODIES[0]) + _CERTS + _message(14, b"")),
    _record(22, _message(2, HELLO_BODIES[1])) + _record(23, b"secret"),
    _record(21, b"\x02\x28"),
    _record(22, _message(2, HELLO_BODIES[2])) + _record(22, _message(12, b"\x03\x00\x1d")),
)


@SETTINGS
@given(one_of_spoiled(*HELLO_BODIES))
def test_server_hello_bodies_parse_or_raise_not_tls(body: bytes) -> None:
    try:
        hello = parse_server_hello(body)
    except NotTls as exc:
        bounded(str(exc), 200)
        return
    assert 0 <= hello.version <= 0xFFFF
    assert len(hello.random) == 32


@SETTINGS
@given(one_of_spoiled(_CERTS[4:]))
def test_certificate_messages_parse_or_raise_not_tls(body: bytes) -> None:
    try:
        chain = parse_certificates(body)
    except NotTls:
        return
    assert sum(len(c) for c in chain) <= len(body)


@SETTINGS
@given(one_of_spoiled(*FLIGHTS), st.lists(st.integers(0, 600), max_size=6))
def test_a_server_flight_parses_the_same_in_any_chunks_or_is_not_tls(
    flight: bytes, cuts: list[int]
) -> None:
    def run(chunks: list[bytes]) -> tuple[object, ...] | str:
        parser = FlightParser()
        try:
            for chunk in chunks:
                parser.feed(chunk)
        except NotTls as exc:
            bounded(str(exc), 200)
            return "not tls"
        return (parser.server_hello, parser.certificates, parser.alert, parser.encrypted)

    whole = run([flight])
    assert run(_chunks(flight, cuts)) == whole
    if flight and (flight[0] not in (21, 22) or (len(flight) > 1 and flight[1] != 3)):
        # Bytes that do not start as a TLS alert or handshake are never read as TLS.
        assert whole == "not tls"


@pytest.fixture(scope="module")
def certificate_der() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cam.example")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(12345)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("cam.example"),
                    x509.IPAddress(ipaddress.ip_address("127.0.78.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


@settings(
    max_examples=int(os.environ.get("SHINSA_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data(), st.text(max_size=40))
def test_a_spoiled_certificate_parses_into_bounded_fields_or_raises_certificate_error(
    certificate_der: bytes, data: st.DataObject, host: str
) -> None:
    der = data.draw(st.one_of(spoiled(certificate_der), st.binary(max_size=600)))
    try:
        info = parse_certificate(der)
    except CertificateError:
        pass
    else:
        bounded(info.subject)
        bounded(info.issuer)
        for name in (*info.common_names, *info.dns_names):
            bounded(name, 255)
        bounded(info.signature_algorithm, 64)
        assert len(info.serial) <= 64
        assert isinstance(name_matches(info, host), bool)
    try:
        text, orgs = identity.certificate_names(der)
    except ValueError:
        return
    bounded(text, 2 * MAX_DEVICE_TEXT + 20)
    for org in orgs:
        bounded(org, 128)


# --- SSH -----------------------------------------------------------------------------------


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=300).map(lambda b: b"SSH-2.0-" + b),
        st.sampled_from([b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-1.99-x\r\n", b"SSH-\xff\r\n"]),
    )
)
def test_any_identification_line_gets_a_bounded_sentence_and_garbage_a_problem(
    line: bytes,
) -> None:
    problem = ident_problem(line)
    bounded(problem, 120)
    text = line.rstrip(b"\r\n")
    if any(b > 0x7E or b < 0x20 for b in text) or not text.startswith(b"SSH-"):
        assert problem  # bytes outside printable US-ASCII are never a clean ident


def _name_list(names: list[str]) -> bytes:
    raw = ",".join(names).encode()
    return struct.pack(">I", len(raw)) + raw


KEXINIT = (
    bytes([20])
    + b"\x01" * 16
    + b"".join(
        _name_list(n)
        for n in (
            ["curve25519-sha256", "diffie-hellman-group14-sha1"],
            ["ssh-ed25519", "ssh-rsa"],
            ["aes128-ctr", "aes256-cbc"],
            ["aes128-ctr"],
            ["hmac-sha2-256"],
            ["hmac-sha1"],
            ["none"],
            ["none"],
            [],
            [],
        )
    )
    + b"\x00\x00\x00\x00\x00"
)


def _packet(payload: bytes) -> bytes:
    padding = 4 + (-(len(payload) + 5 + 4)) % 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + b"\0" * padding


@SETTINGS
@given(one_of_spoiled(KEXINIT))
def test_a_kexinit_parses_exactly_or_raises_kexinit_error(payload: bytes) -> None:
    try:
        offer = parse_kexinit(payload)
    except KexinitError as exc:
        bounded(str(exc), 120)
        return
    for names in (offer.kex, offer.hostkey, offer.ciphers, offer.macs):
        for name in names:
            # every name is a non-empty run of printable US-ASCII without a comma
            assert name
            assert name.isascii()
            assert name.isprintable()
            assert "," not in name
            assert " " not in name


@SETTINGS
@given(one_of_spoiled(_packet(KEXINIT)))
def test_a_binary_packet_parses_or_raises_kexinit_error_or_asks_for_more(data: bytes) -> None:
    try:
        payload, used = parse_packet(data)
    except (KexinitError, EOFError):
        return
    assert used <= len(data)
    assert len(payload) < used


# --- UDP services: DNS, mDNS, CoAP, SSDP, TFTP, NTP, IPMI, BACnet, EtherNet/IP ----------------

DNS_ID = 0x1234


def _dns_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


DNS_REPLY = (
    struct.pack("!HHHHHH", DNS_ID, 0x8400, 1, 1, 0, 0)
    + _dns_name("version.bind")
    + struct.pack("!HH", 16, 3)
    + b"\xc0\x0c"
    + struct.pack("!HHIH", 16, 3, 0, 7)
    + b"\x069.18.2"
)
_MDNS_TARGET = b"\x05_http\x04_tcp\xc0\x0c"  # _http._tcp + a pointer to the service name
MDNS_REPLY = (
    struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
    + _dns_name("_services._dns-sd._udp.local")
    + struct.pack("!HHIH", 12, 1, 120, len(_MDNS_TARGET))
    + _MDNS_TARGET
)
COAP_MID, COAP_TOKEN = 0x4242, b"\x01\x02\x03\x04"
COAP_REPLY = (
    struct.pack("!BBH", 0x60 | 4, 0x45, COAP_MID)
    + COAP_TOKEN
    + bytes([0xC1, 40])
    + b"\xff</sensors>;rt=temp"
)
SSDP_REPLY = (
    b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nUSN: uuid:1::upnp:rootdevice\r\n"
    b"LOCATION: http://127.0.78.1:49152/desc.xml\r\nSERVER: Linux UPnP/1.0\r\n\r\n"
)
NTP_TRANSMIT = b"\x5a" * 8
NTP_REPLY = bytes([0x24, 1]) + bytes(10) + b"GPS\0" + bytes(8) + NTP_TRANSMIT + bytes(16)
ASF_TAG = 7
ASF_REPLY = (
    bytes((6, 0, 0xFF, 6))
    + struct.pack("!IBBBB", 4542, 0x40, ASF_TAG, 0, 16)
    + bytes((0, 0, 0x11, 0xBE, 0, 0, 0, 0, 0x81, 0, 0, 0, 0, 0, 0, 0))
)
BACNET_REPLY = (
    bytes((0x81, 0x0A))
    + (4 + 16).to_bytes(2, "big")
    + bytes.fromhex("01001000c4020004d22205c4910322e7")
)
ENIP_CONTEXT = b"\x99" * 8
_ENIP_ITEM = (
    struct.pack("<H", 1)
    + bytes(16)
    + struct.pack("<HHHBBHI", 1, 14, 55, 2, 7, 0, 0xDEADBEEF)
    + bytes([7])
    + b"PLC-5/a"
    + b"\x03"
)
ENIP_REPLY = (
    struct.pack("<HHII", 0x63, 2 + 4 + len(_ENIP_ITEM), 0, 0)
    + ENIP_CONTEXT
    + bytes(4)
    + struct.pack("<HHH", 1, 0x0C, len(_ENIP_ITEM))
    + _ENIP_ITEM
)
TFTP_REPLIES = (b"\x00\x05\x00\x01File not found\x00", b"\x00\x03\x00\x01" + b"d" * 512)


@SETTINGS
@given(one_of_spoiled(DNS_REPLY))
def test_dns_replies_summarise_bounded_and_only_with_our_id(data: bytes) -> None:
    summary = parse_dns_response(data, DNS_ID)
    if summary is not None:
        bounded(summary)
        assert data[:2] == DNS_ID.to_bytes(2, "big")


@SETTINGS
@given(one_of_spoiled(MDNS_REPLY), st.sampled_from([0, 77]))
def test_mdns_replies_summarise_bounded(data: bytes, transaction: int) -> None:
    summary = parse_mdns_response(data, transaction)
    if summary is not None:
        bounded(summary)
        assert data[:2] in (b"\0\0", transaction.to_bytes(2, "big"))


@SETTINGS
@given(one_of_spoiled(COAP_REPLY))
def test_coap_replies_summarise_bounded_and_only_with_our_token(data: bytes) -> None:
    summary = parse_coap_response(data, COAP_MID, COAP_TOKEN)
    if summary is not None:
        bounded(summary)
        assert data[4:8] == COAP_TOKEN or summary == "CoAP reset"


@SETTINGS
@given(one_of_spoiled(SSDP_REPLY))
def test_ssdp_replies_summarise_bounded(data: bytes) -> None:
    summary = parse_ssdp_response(data)
    if summary is not None:
        bounded(summary)
        assert data.startswith(b"HTTP/1.")


@SETTINGS
@given(one_of_spoiled(*TFTP_REPLIES))
def test_tftp_replies_summarise_bounded(data: bytes) -> None:
    summary = parse_tftp_response(data)
    if summary is not None:
        bounded(summary)


@SETTINGS
@given(one_of_spoiled(NTP_REPLY))
def test_ntp_replies_summarise_bounded_and_only_with_our_timestamp(data: bytes) -> None:
    summary = parse_ntp_response(data, NTP_TRANSMIT)
    if summary is not None:
        bounded(summary)
        assert data[24:32] == NTP_TRANSMIT


@SETTINGS
@given(one_of_spoiled(ASF_REPLY))
def test_asf_pongs_summarise_bounded_and_only_with_our_tag(data: bytes) -> None:
    summary = parse_asf_pong(data, ASF_TAG)
    if summary is not None:
        bounded(summary)
        assert data[9] == ASF_TAG


@SETTINGS
@given(one_of_spoiled(BACNET_REPLY))
def test_bacnet_i_am_summarises_bounded(data: bytes) -> None:
    summary = parse_bacnet_i_am(data)
    if summary is not None:
        bounded(summary)


@SETTINGS
@given(one_of_spoiled(ENIP_REPLY))
def test_enip_identity_summarises_bounded_and_only_with_our_context(data: bytes) -> None:
    summary = parse_enip_identity(data, ENIP_CONTEXT)
    if summary is not None:
        bounded(summary)
        assert data[12:20] == ENIP_CONTEXT


def test_the_valid_udp_replies_above_are_recognised() -> None:
    """The spoiled inputs start from messages the parsers accept (else the spoiling tests
    would only ever see garbage)."""
    assert parse_dns_response(DNS_REPLY, DNS_ID) == "NOERROR, version.bind '9.18.2'"
    assert parse_mdns_response(MDNS_REPLY, 0) is not None
    assert parse_coap_response(COAP_REPLY, COAP_MID, COAP_TOKEN) is not None
    assert parse_ssdp_response(SSDP_REPLY) is not None
    assert all(parse_tftp_response(r) for r in TFTP_REPLIES)
    assert parse_ntp_response(NTP_REPLY, NTP_TRANSMIT) == "NTPv4 stratum 1 (reference GPS)"
    assert parse_asf_pong(ASF_REPLY, ASF_TAG) is not None
    assert parse_bacnet_i_am(BACNET_REPLY) is not None
    assert parse_enip_identity(ENIP_REPLY, ENIP_CONTEXT) is not None
    assert all(parse_snmp_response(r) for r in SNMP_REPLIES)
    assert identity.parse_object_id(SNMP_REPLIES[2], 0x5A5A2002) == "1.3.6.1.4.1.8072"
    assert parse_kexinit(KEXINIT).kex[0] == "curve25519-sha256"
    assert parse_packet(_packet(KEXINIT))[0] == KEXINIT
    assert all(parse_connack(c, 5) is not None for c in CONNACKS[2:])
    assert parse_connack(CONNACKS[0], 4) is not None
    assert all(parse_server_hello(b) for b in HELLO_BODIES)
    assert identity.parse_modbus_identity(MODBUS_REPLY) == {
        "VendorName": "Schneider",
        "ProductCode": "BMX",
    }
    assert identity.parse_szl_1c(SZL_REPLY) == {"module": "6ES7"}
    assert identity.parse_bacnet_string(BACNET_STRING, 1) == "Acme"


# --- Industrial identity: Modbus, S7, BACnet, UPnP, page scripts -----------------------------

MODBUS_REPLY = struct.pack(">HHHBBBBBBBB", 0x5349, 0, 0, 1, 0x2B, 0x0E, 1, 1, 0, 0, 2)
MODBUS_REPLY += b"\x00\x09Schneider\x01\x03BMX"
MODBUS_REPLY = MODBUS_REPLY[:4] + (len(MODBUS_REPLY) - 6).to_bytes(2, "big") + MODBUS_REPLY[6:]
_SZL_DATA = b"\xff\x09\x00\x10" + struct.pack(">HHHH", 0x001C, 0, 6, 1) + b"\x00\x026ES7"
SZL_REPLY = (
    bytes.fromhex("0300000002f080")
    + b"\x32\x07"
    + bytes(4)
    + struct.pack(">HH", 12, len(_SZL_DATA))
    + bytes(12)
    + _SZL_DATA
)
BACNET_STRING = bytes.fromhex("810a0018010030010c0c020004d21979") + b"\x3e\x75\x05\x00Acme\x3f"


@SETTINGS
@given(one_of_spoiled(MODBUS_REPLY))
def test_modbus_identity_fields_are_bounded(data: bytes) -> None:
    for value in identity.parse_modbus_identity(data).values():
        bounded(value, 128)


@SETTINGS
@given(one_of_spoiled(SZL_REPLY))
def test_s7_identity_fields_are_bounded(data: bytes) -> None:
    for value in identity.parse_szl_1c(data).values():
        bounded(value, 64)


@SETTINGS
@given(one_of_spoiled(BACNET_STRING), st.sampled_from([1, 2]))
def test_bacnet_strings_are_bounded(data: bytes, invoke: int) -> None:
    value = identity.parse_bacnet_string(data, invoke)
    if value is not None:
        bounded(value, 128)


UPNP = (
    b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
    b"<manufacturer>Acme</manufacturer><modelName>Cam 9</modelName></device></root>"
)
XML_TRICKS = st.sampled_from(
    [
        b'<?xml version="1.0" encoding="base64"?><root/>',
        b'<?xml version="1.0" encoding="utf-16"?><root/>',
        b'<?xml version="1.0" encoding="x-nonsense"?><root/>',
        b"<!DOCTYPE r [<!ENTITY a 'b'>]><root>&a;</root>",
        b"<root>&nope;</root>",
        b"<a>" * 5000 + b"</a>" * 5000,
        b"\xef\xbb\xbf<root><device><modelName>\xff\xfe</modelName></device></root>",
    ]
)


@SETTINGS
@given(st.one_of(one_of_spoiled(UPNP), XML_TRICKS))
@example(xml=b'<?xml version="" encoding="b"?>')  # unknown encoding: LookupError
def test_upnp_descriptions_yield_bounded_fields_or_nothing(xml: bytes) -> None:
    for value in identity.parse_upnp_description(xml).values():
        bounded(value, 128)


SCRIPT_PIECES = st.sampled_from(
    [
        "<script src='/js/app.js?v=1'>",
        "<script src='//[bad/x.js'>",
        "<script src='http://a:99999/x.js'>",
        "<script src='http://[::1]/y.js'>",
        "<link rel=icon href='/f.ico'>",
        "</script>",
        "<",
    ]
)


@SETTINGS
@given(st.one_of(HTML, st.lists(st.one_of(SCRIPT_PIECES, st.text(max_size=10))).map("".join)))
@example(html="<SCRIPT SRC=//[>")  # urlsplit: Invalid IPv6 URL
def test_page_scripts_of_any_page_are_bounded_paths(html: str) -> None:
    scripts, icon = identity.page_scripts(html)
    assert len(scripts) <= identity.MAX_SCRIPTS
    for path in scripts:
        bounded(path, 200)
    assert isinstance(icon, str)


def test_a_certificate_whose_subject_does_not_decode_is_a_certificate_error(
    certificate_der: bytes,
) -> None:
    """The subject's commonName re-tagged 0 (not a string type): cryptography reads the
    certificate and raises only when the name is first used."""
    cn = b"\x06\x03U\x04\x03\x0c\x0bcam.example"
    der = certificate_der.replace(cn, cn.replace(b"\x0c\x0b", b"\x00\x0b"), 2)
    assert der != certificate_der
    with pytest.raises(CertificateError):
        parse_certificate(der)
    with pytest.raises(ValueError, match=r"error parsing|do not decode"):
        identity.certificate_names(der)


# --- HSTS: the header a web.hsts verdict is read from ----------------------------------------

_ASCII_MAX_AGE = re.compile(r"max-age\s*=\s*\"?([0-9]+)", re.IGNORECASE | re.ASCII)
HSTS_HEADERS = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda pre, digits, post: f"{pre}max-age={digits}{post}",
        st.sampled_from(["", " ", "includeSubDomains; ", "MAX-AGE"]),
        st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩０１２³", min_size=1, max_size=12),
        st.sampled_from(["", ";", "; includeSubDomains", '"']),
    ),
)


@SETTINGS
@given(HSTS_HEADERS)
@example("max-age=٣١٥٣٦٠٠٠")  # Arabic-Indic digits: int() reads them, browsers do not
def test_hsts_passes_only_on_an_ascii_max_age_at_the_minimum(header: str) -> None:
    address = "127.0.78.30"
    https = Service("tcp", 443, "https", tls=True)
    facts = Facts()
    facts.put(HTTP_PAGES, (HttpPage(https, f"https://{address}/", 200, hsts=bound_text(header)),))
    ctx = ProbeContext(Target(address), Network(Scope.of([address])).device(address), facts, {})
    results = asyncio.run(WebLoginHygiene().run(ctx, https))
    (hsts,) = [r for r in results if r.check_id == "web.hsts"]
    if hsts.verdict is Verdict.PASS:
        match = _ASCII_MAX_AGE.search(bound_text(header))
        assert match is not None
        assert int(match.group(1)) >= HstsParams().min_max_age


def test_a_certificate_with_a_negative_serial_is_read_without_a_warning(
    certificate_der: bytes,
) -> None:
    """cryptography warns (CryptographyDeprecationWarning) on a negative serial: under
    `-W error`, as here, a warning escaping would be an exception at the scan."""
    der = certificate_der.replace(b"\x02\x02\x30\x39", b"\x02\x02\x80\x39", 1)
    assert der != certificate_der
    assert parse_certificate(der).serial == "-7fc7"
    text, _ = identity.certificate_names(der)
    assert "cam.example" in text
