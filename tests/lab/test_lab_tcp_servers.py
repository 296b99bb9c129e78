"""Each TCP protocol server, spoken to over a real socket."""

from __future__ import annotations

import asyncio
import base64
import re
import struct
from typing import TYPE_CHECKING

import pytest

from lab.personality import Personality, load_builtin, parse
from tests.lab.lab_clients import close, connect, exchange, read_to_eof, read_until

if TYPE_CHECKING:
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab

ACCOUNTS = [{"username": "admin", "password": "admin", "factory_default": True}]


def one_service(**service: object) -> Personality:
    return parse(
        {"name": "t", "title": "Test device", "services": [service], "accounts": ACCOUNTS},
        "test",
    )


def http_get(path: str = "/", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: lab\r\n{extra}Connection: close\r\n\r\n".encode()


def http_post(path: str, body: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


# --- telnet ---------------------------------------------------------------------------


async def test_telnet_negotiates_then_shows_banner_and_login_prompt(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("weak-camera"))
    reader, writer = await connect(device.address, 23)
    greeting = await read_until(reader, b"login: ")
    assert greeting.startswith(b"\xff")  # IAC: option negotiation comes first
    assert b"ACME camera telnet" in greeting
    # A client answering the negotiation must not confuse the login parser.
    writer.write(b"\xff\xfc\x01\xff\xfe\x1fadmin\r\n")
    await read_until(reader, b"Password: ")
    writer.write(b"admin\r\n")
    assert b"Welcome admin" in await read_until(reader, b"# ")
    writer.write(b"exit\r\n")
    await read_to_eof(reader)
    await close(writer)


async def test_telnet_wrong_password_is_refused(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    reader, writer = await connect(device.address, 23)
    await read_until(reader, b"login: ")
    writer.write(b"admin\r\nwrong\r\n")
    assert b"Login incorrect" in await read_until(reader, b"login: ")
    await close(writer)


# --- HTTP -----------------------------------------------------------------------------


async def form_token(address: str, port: int, *, tls: bool = False) -> str:
    page = (await exchange(address, port, http_get(), tls=tls)).decode()
    assert '<form method="post" action="/login">' in page
    assert 'type="password" name="password"' in page
    assert 'type="text" name="username"' in page
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


async def test_http_form_page_names_server_and_title(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    response = (await exchange(device.address, 80, http_get())).decode()
    assert response.startswith("HTTP/1.1 200 OK\r\n")
    assert "Server: Boa/0.94.13\r\n" in response
    assert "<title>IP Camera</title>" in response


async def test_http_form_login_success_sets_a_session_cookie(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    token = await form_token(device.address, 80)
    body = f"username=admin&password=admin&csrf_token={token}"
    response = (await exchange(device.address, 80, http_post("/login", body))).decode()
    assert response.startswith("HTTP/1.1 200")
    assert "Welcome" in response
    cookie = re.search(r"Set-Cookie: session=([0-9a-f]+); Path=/; HttpOnly", response)
    assert cookie
    # The session cookie then opens the welcome page directly.
    again = await exchange(device.address, 80, http_get(extra=f"Cookie: session={cookie[1]}\r\n"))
    assert b"Welcome" in again
    assert b"<form" not in again


async def test_http_form_login_failure_says_so(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    token = await form_token(device.address, 80)
    body = f"username=admin&password=nope&csrf_token={token}"
    response = (await exchange(device.address, 80, http_post("/login", body))).decode()
    assert response.startswith("HTTP/1.1 200")
    assert "Login failed" in response
    assert "Set-Cookie" not in response


async def test_http_form_login_without_csrf_token_is_forbidden(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    response = await exchange(
        device.address, 80, http_post("/login", "username=admin&password=admin")
    )
    assert response.startswith(b"HTTP/1.1 403")


async def test_http_basic_auth_asks_then_admits(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("legacy-plc"))
    refused = (await exchange(device.address, 80, http_get())).decode()
    assert refused.startswith("HTTP/1.1 401")
    assert 'WWW-Authenticate: Basic realm="PLC-5000"' in refused
    wrong = base64.b64encode(b"admin:admin").decode()
    assert (
        await exchange(device.address, 80, http_get(extra=f"Authorization: Basic {wrong}\r\n"))
    ).startswith(b"HTTP/1.1 401")
    right = base64.b64encode(b"admin:1234").decode()
    admitted = await exchange(
        device.address, 80, http_get(extra=f"Authorization: Basic {right}\r\n")
    )
    assert admitted.startswith(b"HTTP/1.1 200")
    assert b"Welcome" in admitted


async def test_https_serves_the_form_over_tls(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("hardened-gateway"))
    token = await form_token(device.address, 443, tls=True)
    body = f"username=operator&password=c0rrect-h0rse-battery&csrf_token={token}"
    response = await exchange(device.address, 443, http_post("/login", body), tls=True)
    assert b"Set-Cookie: session=" in response


async def test_https_certificate_is_self_signed_for_the_address(start_device: StartDevice) -> None:
    from cryptography import x509

    device = await start_device(load_builtin("hardened-gateway"))
    _, writer = await connect(device.address, 443, tls=True)
    ssl_object = writer.get_extra_info("ssl_object")
    der: bytes = ssl_object.getpeercert(binary_form=True)
    await close(writer)
    cert = x509.load_der_x509_certificate(der)
    assert cert.issuer == cert.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert device.address in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


async def test_http_oversized_body_is_refused(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    response = await exchange(device.address, 80, http_post("/login", "x" * 100_000))
    assert response.startswith(b"HTTP/1.1 413")


async def test_http_garbage_request_gets_400(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    assert (await exchange(device.address, 80, b"\x16\x03\x01 nonsense\r\n\r\n")).startswith(
        b"HTTP/1.1 400"
    )


# --- FTP ------------------------------------------------------------------------------


async def ftp_session(address: str, commands: list[bytes], port: int = 21) -> list[bytes]:
    reader, writer = await connect(address, port)
    replies = [await read_until(reader, b"\r\n")]
    for command in commands:
        writer.write(command + b"\r\n")
        replies.append(await read_until(reader, b"\r\n"))
    await close(writer)
    return replies


async def test_ftp_anonymous_login_and_syst(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    replies = await ftp_session(
        device.address, [b"USER anonymous", b"PASS guest@", b"SYST", b"QUIT"]
    )
    assert replies[0] == b"220 ACME FTP ready\r\n"
    assert [r[:3] for r in replies[1:]] == [b"331", b"230", b"215", b"221"]


async def test_ftp_bad_password_gets_530(start_device: StartDevice) -> None:
    device = await start_device(one_service(port=2121, protocol="ftp"))
    replies = await ftp_session(
        device.address,
        [b"USER anonymous", b"PASS x", b"USER admin", b"PASS no", b"USER admin", b"PASS admin"],
        port=2121,
    )
    assert replies[0].startswith(b"220 ")
    assert [r[:3] for r in replies[1:]] == [b"331", b"530", b"331", b"530", b"331", b"230"]


# --- RTSP, SSH, MQTT ------------------------------------------------------------------


async def test_rtsp_options_lists_public_methods(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    reader, writer = await connect(device.address, 554)
    writer.write(b"OPTIONS rtsp://lab/ RTSP/1.0\r\nCSeq: 7\r\n\r\n")
    reply = await read_until(reader, b"\r\n\r\n")
    await close(writer)
    assert reply.startswith(b"RTSP/1.0 200 OK\r\n")
    assert b"CSeq: 7\r\n" in reply
    assert b"Public: OPTIONS, DESCRIBE" in reply


async def test_ssh_banner_sends_ident_and_hangs_up_after_client_ident(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("home-router"))
    reader, writer = await connect(device.address, 22)
    assert await read_until(reader, b"\r\n") == b"SSH-2.0-dropbear_2019.78\r\n"
    writer.write(b"SSH-2.0-shinsa_test\r\n")
    assert await read_to_eof(reader, timeout=3) == b""
    await close(writer)


def mqtt_connect(level: int, username: str | None = None, password: str | None = None) -> bytes:
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0) | 0x02
    body = b"\x00\x04MQTT" + bytes([level, flags]) + b"\x00\x3c"
    if level == 5:
        body += b"\x00"  # no properties
    body += b"\x00\x04test"
    for field in (username, password):
        if field is not None:
            body += struct.pack(">H", len(field)) + field.encode()
    return bytes([0x10, len(body)]) + body


async def mqtt_connack(address: str, port: int, packet: bytes, *, tls: bool = False) -> bytes:
    reader, writer = await connect(address, port, tls=tls)
    writer.write(packet)
    reply = await asyncio.wait_for(reader.readexactly(2), 3)
    reply += await asyncio.wait_for(reader.readexactly(reply[1]), 3)
    await close(writer)
    return reply


async def test_mqtt_anonymous_broker_accepts(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    assert await mqtt_connack(device.address, 1883, mqtt_connect(4)) == b"\x20\x02\x00\x00"
    assert await mqtt_connack(device.address, 1883, mqtt_connect(5)) == b"\x20\x03\x00\x00\x00"


async def test_mqtts_refuses_anonymous_and_accepts_valid_credentials(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("home-router"))
    refused = await mqtt_connack(device.address, 8883, mqtt_connect(4), tls=True)
    assert refused == b"\x20\x02\x00\x05"
    refused_v5 = await mqtt_connack(device.address, 8883, mqtt_connect(5, "admin", "x"), tls=True)
    assert refused_v5 == b"\x20\x03\x00\x87\x00"
    accepted = await mqtt_connack(
        device.address, 8883, mqtt_connect(4, "admin", "password"), tls=True
    )
    assert accepted == b"\x20\x02\x00\x00"


async def test_mqtt_ping_after_connect(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    reader, writer = await connect(device.address, 1883)
    writer.write(mqtt_connect(4) + b"\xc0\x00")
    assert await reader.readexactly(6) == b"\x20\x02\x00\x00\xd0\x00"
    await close(writer)


# --- industrial and others -------------------------------------------------------------


async def test_modbus_read_holding_registers(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("legacy-plc"))
    reader, writer = await connect(device.address, 502)
    writer.write(struct.pack(">HHHBBHH", 0x1234, 0, 6, 1, 3, 10, 2))
    reply = await reader.readexactly(13)
    assert reply == struct.pack(">HHHBBBHH", 0x1234, 0, 7, 1, 3, 4, 10, 11)
    await close(writer)


async def test_modbus_report_server_id_and_exception(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("legacy-plc"))
    reader, writer = await connect(device.address, 502)
    writer.write(struct.pack(">HHHBB", 1, 0, 2, 1, 17))
    header = await reader.readexactly(7)
    transaction, protocol, length, unit = struct.unpack(">HHHB", header)
    pdu = await reader.readexactly(length - 1)
    assert (transaction, protocol, unit, pdu[0]) == (1, 0, 1, 17)
    assert b"Initech" in pdu
    assert pdu[-1] == 0xFF
    writer.write(struct.pack(">HHHBB", 2, 0, 2, 1, 43))  # fc 43: not modelled
    assert await reader.readexactly(9) == struct.pack(">HHHBBB", 2, 0, 3, 1, 43 | 0x80, 1)
    await close(writer)


async def test_s7_answers_cotp_connection_request(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("legacy-plc"))
    reader, writer = await connect(device.address, 102)
    params = bytes.fromhex("c0010a c1020100 c2020102")
    cotp = bytes([6 + len(params), 0xE0, 0, 0, 0x00, 0x05, 0]) + params
    writer.write(struct.pack(">BBH", 3, 0, len(cotp) + 4) + cotp)
    tpkt = await reader.readexactly(4)
    reply = await reader.readexactly(struct.unpack(">H", tpkt[2:])[0] - 4)
    assert tpkt[0] == 3
    assert reply[1] == 0xD0  # connection confirm
    assert reply[2:4] == b"\x00\x05"  # addressed to our source reference
    await close(writer)


async def test_adb_answers_cnxn_with_device_banner(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    reader, writer = await connect(device.address, 5555)
    payload = b"host::\x00"
    cnxn = 0x4E584E43
    writer.write(
        struct.pack("<6I", cnxn, 0x01000000, 4096, len(payload), sum(payload), cnxn ^ 0xFFFFFFFF)
        + payload
    )
    header = struct.unpack("<6I", await reader.readexactly(24))
    data = await reader.readexactly(header[3])
    assert header[0] == cnxn
    assert header[5] == cnxn ^ 0xFFFFFFFF
    assert data.startswith(b"device::")
    await close(writer)


async def test_jetdirect_swallows_a_print_job_without_answering(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    reader, writer = await connect(device.address, 9100)
    try:
        writer.write(b"%!PS-Adobe-3.0\r\nshowpage\r\n")
        await writer.drain()
        with pytest.raises(TimeoutError):
            await read_until(reader, b"\n", timeout=0.5)
    finally:
        await close(writer)


async def test_jetdirect_answers_a_pjl_identification_query(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    reader, writer = await connect(device.address, 9100)
    try:
        writer.write(b"\x1b%-12345X@PJL INFO ID\r\n")
        reply = await read_until(reader, b"\x0c")
    finally:
        await close(writer)
    assert reply.startswith(b"@PJL INFO ID\r\n")
