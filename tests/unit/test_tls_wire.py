"""ClientHello bytes and the parser of the server's first flight, on crafted bytes."""

from __future__ import annotations

import struct

import pytest

from scanner.tls.wire import (
    ALERT,
    HANDSHAKE,
    HRR_RANDOM,
    MAX_RECORD,
    SSL3,
    TLS10,
    TLS12,
    TLS13,
    FlightParser,
    NotTls,
    client_hello,
    is_dns_name,
    parse_server_hello,
    ske_named_group,
)


def record(kind: int, payload: bytes, version: int = TLS12) -> bytes:
    return struct.pack(">BHH", kind, version, len(payload)) + payload


def message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def server_hello(
    version: int = TLS12,
    suite: int = 0xC02F,
    random: bytes = b"\x11" * 32,
    extensions: bytes | None = None,
) -> bytes:
    body = struct.pack(">H", version) + random + b"\x00" + struct.pack(">HB", suite, 0)
    if extensions is not None:
        body += struct.pack(">H", len(extensions)) + extensions
    return message(2, body)


def ext(kind: int, body: bytes) -> bytes:
    return struct.pack(">HH", kind, len(body)) + body


def hello_fields(data: bytes) -> tuple[int, int, list[int], dict[int, bytes]]:
    """(record version, client version, suites, extensions) of a ClientHello record."""
    assert data[0] == HANDSHAKE
    rec_version = struct.unpack_from(">H", data, 1)[0]
    body = data[5 + 4 :]
    version = struct.unpack_from(">H", body)[0]
    pos = 2 + 32
    pos += 1 + body[pos]
    (n,) = struct.unpack_from(">H", body, pos)
    suites = [struct.unpack_from(">H", body, pos + 2 + i)[0] for i in range(0, n, 2)]
    pos += 2 + n
    pos += 1 + body[pos]
    exts: dict[int, bytes] = {}
    if pos < len(body):
        (total,) = struct.unpack_from(">H", body, pos)
        pos += 2
        end = pos + total
        while pos < end:
            kind, size = struct.unpack_from(">HH", body, pos)
            exts[kind] = body[pos + 4 : pos + 4 + size]
            pos += 4 + size
    return rec_version, version, suites, exts


def test_a_tls12_hello_offers_the_suites_and_groups_and_names_the_host() -> None:
    data = client_hello(TLS12, [0xC02F, 0x002F], groups=[29, 23], server_name="cam.example")
    rec, version, suites, exts = hello_fields(data)
    assert (rec, version) == (TLS10, TLS12)
    assert suites == [0xC02F, 0x002F]
    assert exts[0x000A] == b"\x00\x04\x00\x1d\x00\x17"
    assert b"cam.example" in exts[0x0000]
    assert 0x000D in exts
    assert 0xFF01 in exts
    assert 0x002B not in exts  # no supported_versions below TLS 1.3


def test_sni_is_never_sent_for_an_ip_address() -> None:
    _, _, _, exts = hello_fields(client_hello(TLS12, [0x002F], server_name="192.0.2.7"))
    assert 0x0000 not in exts
    assert not is_dns_name("2001:db8::1")
    assert is_dns_name("gw.lab.example")


def test_an_ssl3_hello_has_no_extensions_and_signals_renegotiation_by_scsv() -> None:
    rec, version, suites, exts = hello_fields(client_hello(SSL3, [0x000A]))
    assert (rec, version) == (SSL3, SSL3)
    assert suites == [0x000A, 0x00FF]
    assert exts == {}


def test_a_tls13_hello_asks_for_a_retry_with_an_empty_key_share() -> None:
    _rec, version, _suites, exts = hello_fields(client_hello(TLS13, [0x1301], groups=[29]))
    assert version == TLS12  # legacy_version
    assert exts[0x002B] == b"\x02\x03\x04"
    assert exts[0x0033] == b"\x00\x00"


@pytest.mark.parametrize("count", [1, 40, 90, 120, 200])
def test_a_hello_is_never_between_256_and_511_bytes(count: int) -> None:
    data = client_hello(TLS12, list(range(1, count + 1)), groups=[29])
    assert not 256 <= len(data) - 5 < 512


def test_a_server_hello_yields_version_and_suite() -> None:
    parser = FlightParser()
    parser.feed(record(HANDSHAKE, server_hello(TLS10, 0x002F), TLS10))
    assert parser.server_hello is not None
    assert (parser.server_hello.version, parser.server_hello.suite) == (TLS10, 0x002F)
    assert not parser.finished  # the certificate is still to come


def test_a_hello_retry_request_names_the_group_and_the_version_comes_from_the_extension() -> None:
    exts = ext(0x002B, b"\x03\x04") + ext(0x0033, b"\x00\x1d")
    parser = FlightParser()
    parser.feed(record(HANDSHAKE, server_hello(TLS12, 0x1301, HRR_RANDOM, exts)))
    sh = parser.server_hello
    assert sh is not None
    assert sh.retry_request
    assert (sh.version, sh.group) == (TLS13, 29)
    assert parser.finished


def test_a_flight_split_over_many_records_and_reads_is_reassembled() -> None:
    cert = b"\x30\x03\x02\x01\x01"
    chain = len(cert).to_bytes(3, "big") + cert
    ske = b"\x03\x00\x17\x41" + b"\x04" * 65
    flight = (
        server_hello()
        + message(11, len(chain).to_bytes(3, "big") + chain)
        + message(12, ske)
        + message(14, b"")
    )
    data = b"".join(record(HANDSHAKE, flight[i : i + 7]) for i in range(0, len(flight), 7))
    parser = FlightParser()
    for i in range(0, len(data), 3):
        parser.feed(data[i : i + 3])
    assert parser.certificates == (cert,)
    assert ske_named_group(parser.key_exchange or b"") == 23
    assert parser.hello_done
    assert parser.finished


def test_an_alert_is_read_as_the_answer() -> None:
    parser = FlightParser()
    parser.feed(record(ALERT, b"\x02\x28"))
    assert parser.alert is not None
    assert parser.alert.name == "handshake_failure"
    assert str(parser.alert) == "fatal handshake_failure"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "HTTP"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "SSH"),
        (bytes([0x80, 0x2E, 0x04, 0x00]) + b"\0" * 20, "SSL 2.0"),
        (b"\x00\x01\x02\x03\x04\x05", "not a TLS record"),
        (b"220 ftp ready\r\n", "text"),
    ],
)
def test_anything_that_is_not_tls_is_refused_with_what_it_looked_like(
    data: bytes, says: str
) -> None:
    with pytest.raises(NotTls, match=says):
        FlightParser().feed(data)


def test_a_record_longer_than_allowed_is_refused_before_it_is_buffered() -> None:
    with pytest.raises(NotTls, match="record of"):
        FlightParser().feed(struct.pack(">BHH", HANDSHAKE, TLS12, MAX_RECORD + 1))


def test_a_huge_handshake_message_is_refused() -> None:
    with pytest.raises(NotTls, match="handshake message"):
        FlightParser().feed(record(HANDSHAKE, b"\x02\xff\xff\xff"))


def test_a_certificate_before_any_server_hello_is_refused() -> None:
    with pytest.raises(NotTls, match="before any ServerHello"):
        FlightParser().feed(record(HANDSHAKE, message(11, b"\0\0\0")))


@pytest.mark.parametrize("cut", [1, 10, 34, 36, 38])
def test_a_truncated_server_hello_body_is_refused(cut: int) -> None:
    body = server_hello(extensions=ext(0xFF01, b"\x00"))[4:]
    with pytest.raises(NotTls, match="claims"):
        parse_server_hello(body[:cut] if cut < 38 else body[:-1])


def test_an_extension_claiming_more_than_is_left_is_refused() -> None:
    body = server_hello(extensions=struct.pack(">HH", 0x002B, 500))[4:]
    with pytest.raises(NotTls):
        parse_server_hello(body)


def test_an_incomplete_record_waits_for_more_bytes() -> None:
    parser = FlightParser()
    data = record(HANDSHAKE, server_hello())
    parser.feed(data[:-1])
    assert parser.server_hello is None
    parser.feed(data[-1:])
    assert parser.server_hello is not None


def test_what_follows_a_tls13_server_hello_is_not_read() -> None:
    parser = FlightParser()
    parser.feed(record(HANDSHAKE, server_hello(TLS12, 0x1301, extensions=ext(0x002B, b"\x03\x04"))))
    parser.feed(record(23, b"\xaa" * 40))
    assert parser.encrypted
    assert parser.finished
    assert parser.certificates is None
