"""Logins on every lab protocol, and the device-wide lockout and throttle, over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import socket
import time
from typing import TYPE_CHECKING

import paramiko
import pytest

from lab.personality import Personality, load_builtin, parse
from lab.servers import ssh as ssh_server
from tests.lab.lab_clients import close, connect, read_to_eof, read_until
from tests.lab.test_lab_tcp_servers import ftp_session, http_get, http_post, mqtt_connect

if TYPE_CHECKING:
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab

ADMIN = {"username": "admin", "password": "admin", "factory_default": True}
USER = {"username": "user", "password": "s3cret-user", "factory_default": False}


def device_with(
    services: list[dict[str, object]], auth: dict[str, object] | None = None
) -> Personality:
    data: dict[str, object] = {
        "name": "t",
        "title": "Login test",
        "services": services,
        "accounts": [ADMIN, USER],
    }
    if auth is not None:
        data["auth"] = auth
    return parse(data, "test")


async def exchange_from(
    address: str, port: int, request: bytes, source: str | None = None, timeout: float = 3.0
) -> bytes:
    """Send `request` (from `source` when given), return everything until the server closes."""
    local = (source, 0) if source else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(address, port, local_addr=local), 5
    )
    try:
        writer.write(request)
        await writer.drain()
        return await read_to_eof(reader, timeout)
    finally:
        await close(writer)


# --- SSH (paramiko client in a thread) ----------------------------------------------------


def ssh_client(address: str, port: int, key_type: str | None = None) -> paramiko.Transport:
    sock = socket.create_connection((address, port), timeout=5)
    transport = paramiko.Transport(sock)
    if key_type is not None:
        transport.get_security_options().key_types = (key_type,)
    transport.start_client(timeout=5)
    return transport


def ssh_shell(transport: paramiko.Transport) -> bytes:
    """Open a shell, read to the prompt, type `exit`; everything the shell said."""
    channel = transport.open_session(timeout=5)
    channel.get_pty()
    channel.invoke_shell()
    channel.settimeout(5)
    seen = b""
    while not seen.endswith((b"$ ", b"# ")):
        chunk = channel.recv(1024)
        assert chunk, seen
        seen += chunk
    channel.sendall(b"exit\n")
    while chunk := channel.recv(1024):
        seen += chunk
    assert channel.recv_exit_status() == 0
    return seen


SSH = {"port": 2222, "protocol": "ssh", "login": "password", "banner": "SSH-2.0-dropbear_2020.81"}


async def test_ssh_right_password_opens_a_shell_with_the_banners_ident(
    start_device: StartDevice,
) -> None:
    device = await start_device(device_with([SSH]))

    def run() -> tuple[str, str, bytes]:
        transport = ssh_client(device.address, 2222)
        try:
            transport.auth_password("admin", "admin")
            key = transport.get_remote_server_key().get_name()
            return transport.remote_version, key, ssh_shell(transport)
        finally:
            transport.close()

    ident, key, shell = await asyncio.to_thread(run)
    assert ident == "SSH-2.0-dropbear_2020.81"
    assert key == "ssh-ed25519"
    assert b"Login test" in shell
    assert b"$ " in shell
    assert shell.endswith(b"logout\r\n")
    assert device.failures("admin") == 0


async def test_ssh_offers_an_rsa_host_key_too_and_runs_exec(start_device: StartDevice) -> None:
    device = await start_device(device_with([SSH]))

    def run() -> tuple[str, bytes, int]:
        transport = ssh_client(device.address, 2222, key_type="rsa-sha2-256")
        try:
            transport.auth_password("user", "s3cret-user")
            key = transport.get_remote_server_key().get_name()  # before the server hangs up
            channel = transport.open_session(timeout=5)
            channel.settimeout(5)
            channel.exec_command("echo lab ok")
            output = b""
            while chunk := channel.recv(1024):
                output += chunk
            return key, output, channel.recv_exit_status()
        finally:
            transport.close()

    key, output, status = await asyncio.to_thread(run)
    assert key == "ssh-rsa"
    assert (output, status) == (b"lab ok\n", 0)


async def test_ssh_wrong_password_fails_and_is_counted(start_device: StartDevice) -> None:
    device = await start_device(device_with([SSH]))

    def run() -> None:
        transport = ssh_client(device.address, 2222)
        try:
            with pytest.raises(paramiko.AuthenticationException):
                transport.auth_password("admin", "wrong")
            assert transport.is_active()  # one failure is not the end of the connection
        finally:
            transport.close()

    await asyncio.to_thread(run)
    assert device.failures("admin") == 1


async def test_ssh_keyboard_interactive_login(start_device: StartDevice) -> None:
    device = await start_device(device_with([SSH]))

    def run(password: str) -> list[str]:
        prompts: list[str] = []

        def handler(title: str, instructions: str, fields: list[tuple[str, bool]]) -> list[str]:
            prompts.extend(prompt for prompt, _ in fields)
            return [password] * len(fields)

        transport = ssh_client(device.address, 2222)
        try:
            transport.auth_interactive("admin", handler)
            assert transport.is_authenticated()
            ssh_shell(transport)
        finally:
            transport.close()
        return prompts

    assert await asyncio.to_thread(run, "admin") == ["Password: "]
    with pytest.raises(paramiko.AuthenticationException):
        await asyncio.to_thread(run, "nope")
    assert device.failures("admin") == 1


async def test_ssh_hangs_up_after_max_auth_tries(start_device: StartDevice) -> None:
    device = await start_device(device_with([{**SSH, "max_auth_tries": 2}]))

    def run() -> bool:
        transport = ssh_client(device.address, 2222)
        try:
            for _ in range(2):
                with pytest.raises(paramiko.AuthenticationException):
                    transport.auth_password("admin", "wrong")
            deadline = time.monotonic() + 3
            while transport.is_active() and time.monotonic() < deadline:
                time.sleep(0.05)
            return transport.is_active()
        finally:
            transport.close()

    assert await asyncio.to_thread(run) is False
    assert device.failures("admin") == 2


async def test_ssh_connections_beyond_the_cap_are_closed(
    start_device: StartDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ssh_server, "MAX_CONNECTIONS", 2)
    device = await start_device(device_with([SSH]))
    held = [await connect(device.address, 2222) for _ in range(2)]
    for reader, _ in held:
        assert (await read_until(reader, b"\r\n")).startswith(b"SSH-2.0-")
    reader, writer = await connect(device.address, 2222)
    assert await read_to_eof(reader) == b""  # closed without an ident
    await close(writer)
    for _, held_writer in held:
        await close(held_writer)


async def test_ssh_survives_junk_and_the_device_closes_promptly(
    start_device: StartDevice,
) -> None:
    device = await start_device(device_with([SSH]))
    reader, writer = await connect(device.address, 2222)
    try:
        await read_until(reader, b"\r\n")
        # A packet length no SSH implementation accepts, then junk: random bytes alone may
        # read as a plausible length, and the server would rightly wait for the rest.
        writer.write(b"SSH-2.0-junk\r\n" + b"\xff\xff\xff\xf0" + secrets.token_bytes(5000))
        with contextlib.suppress(ConnectionError):  # hanging up on junk may reset
            await read_to_eof(reader, timeout=10)
    finally:
        await close(writer)
    _, idle = await connect(device.address, 2222)  # holds a connection open
    started = time.monotonic()
    await device.close()
    assert time.monotonic() - started < 3.5
    await close(idle)


async def test_ssh_login_none_stays_banner_only(start_device: StartDevice) -> None:
    device = await start_device(device_with([{"port": 2222, "protocol": "ssh"}]))
    reader, writer = await connect(device.address, 2222)
    assert await read_until(reader, b"\r\n") == b"SSH-2.0-OpenSSH_8.4p1\r\n"
    writer.write(b"SSH-2.0-test\r\n")
    assert await read_to_eof(reader) == b""
    await close(writer)


# --- digest (HTTP and RTSP) ----------------------------------------------------------------


def digest_header(
    challenge: str, method: str, uri: str, username: str, password: str, algorithm: str
) -> str:
    """A client's Authorization for one `WWW-Authenticate: Digest` value (RFC 7616, qop=auth)."""
    params = {
        m[1]: m[2] if m[2] is not None else m[3]
        for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^\s,]*))', challenge)
    }

    def h(text: str) -> str:
        name = "sha256" if algorithm == "SHA-256" else "md5"
        return hashlib.new(name, text.encode()).hexdigest()

    cnonce, nc = "0a4f113b", "00000001"
    ha1 = h(f"{username}:{params['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    response = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{username}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", algorithm={algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}", '
        f'response="{response}", opaque="{params["opaque"]}"'
    )


def challenges(response: str) -> dict[str, str]:
    """{algorithm: challenge} from a 401's WWW-Authenticate headers."""
    found = re.findall(r"WWW-Authenticate: (Digest [^\r\n]*)", response)
    return {re.search(r"algorithm=([\w-]+)", c)[1]: c for c in found}  # type: ignore[index]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_http_digest_success_and_failure(start_device: StartDevice, algorithm: str) -> None:
    device = await start_device(load_builtin("ssh-camera"))
    first = (await exchange_from(device.address, 80, http_get())).decode()
    assert first.startswith("HTTP/1.1 401")
    offered = challenges(first)
    assert set(offered) == {"MD5", "SHA-256"}
    assert 'realm="IC-300"' in offered[algorithm]
    assert 'qop="auth"' in offered[algorithm]
    right = digest_header(offered[algorithm], "GET", "/", "admin", "admin", algorithm)
    ok = await exchange_from(device.address, 80, http_get(extra=f"Authorization: {right}\r\n"))
    assert ok.startswith(b"HTTP/1.1 200")
    assert b"Welcome" in ok
    wrong = digest_header(offered[algorithm], "GET", "/", "admin", "nope", algorithm)
    refused = await exchange_from(device.address, 80, http_get(extra=f"Authorization: {wrong}\r\n"))
    assert refused.startswith(b"HTTP/1.1 401")
    assert device.failures("admin") == 1


async def test_http_digest_ignores_a_nonce_it_never_issued(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("ssh-camera"))
    forged = 'Digest realm="IC-300", nonce="00", opaque="00", qop="auth", algorithm=MD5'
    answer = digest_header(forged, "GET", "/", "admin", "admin", "MD5")
    refused = await exchange_from(
        device.address, 80, http_get(extra=f"Authorization: {answer}\r\n")
    )
    assert refused.startswith(b"HTTP/1.1 401")
    assert device.failures("admin") == 0  # not a login attempt at all


async def rtsp_describe(address: str, authorization: str = "", port: int = 554) -> str:
    reader, writer = await connect(address, port)
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    writer.write(f"DESCRIBE rtsp://{address}/stream RTSP/1.0\r\nCSeq: 2\r\n{auth}\r\n".encode())
    reply = (await read_until(reader, b"\r\n\r\n")).decode()
    await close(writer)
    return reply


async def test_rtsp_digest_describe(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("ssh-camera"))
    uri = f"rtsp://{device.address}/stream"
    first = await rtsp_describe(device.address)
    assert first.startswith("RTSP/1.0 401")
    offered = challenges(first)
    for algorithm in ("MD5", "SHA-256"):
        right = digest_header(offered[algorithm], "DESCRIBE", uri, "admin", "admin", algorithm)
        ok = await rtsp_describe(device.address, right)
        assert ok.startswith("RTSP/1.0 200 OK"), ok
        assert "Content-Type: application/sdp" in ok
    wrong = digest_header(offered["MD5"], "DESCRIBE", uri, "admin", "x", "MD5")
    assert (await rtsp_describe(device.address, wrong)).startswith("RTSP/1.0 401")


async def test_rtsp_basic_and_none(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    refused = await rtsp_describe(device.address)
    assert refused.startswith("RTSP/1.0 401")
    assert "WWW-Authenticate: Basic realm=" in refused
    assert (await rtsp_describe(device.address, "Basic YWRtaW46YWRtaW4=")).startswith(
        "RTSP/1.0 200"
    )
    assert (await rtsp_describe(device.address, "Basic YWRtaW46eA==")).startswith("RTSP/1.0 401")
    open_device = await start_device(
        device_with([{"port": 8554, "protocol": "rtsp", "login": "none"}])
    )
    assert (await rtsp_describe(open_device.address, port=8554)).startswith("RTSP/1.0 200")


# --- JSON API, always-200, form redirect ----------------------------------------------------


def json_post(path: str, data: object, content_type: str = "application/json") -> bytes:
    body = json.dumps(data)
    return (
        f"POST {path} HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def split(response: bytes) -> tuple[str, str]:
    head, _, body = response.decode().partition("\r\n\r\n")
    return head, body


async def test_json_api_login(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("json-api-hub"))
    _, page = split(await exchange_from(device.address, 80, http_get()))
    assert 'fetch("/api/login"' in page
    assert "JSON.stringify" in page
    assert "action=" not in page  # the endpoint is only in the script
    head, body = split(
        await exchange_from(
            device.address, 80, json_post("/api/login", {"username": "admin", "password": "admin"})
        )
    )
    assert head.startswith("HTTP/1.1 200")
    answer = json.loads(body)
    assert answer["ok"] is True
    token = answer["token"]
    status = await exchange_from(
        device.address, 80, http_get("/api/status", f"Authorization: Bearer {token}\r\n")
    )
    assert status.startswith(b"HTTP/1.1 200")
    head, body = split(
        await exchange_from(
            device.address, 80, json_post("/api/login", {"username": "admin", "password": "x"})
        )
    )
    assert head.startswith("HTTP/1.1 401")
    assert json.loads(body) == {"ok": False, "error": "invalid credentials"}
    form_encoded = await exchange_from(
        device.address, 80, http_post("/api/login", "username=admin&password=admin")
    )
    assert form_encoded.startswith(b"HTTP/1.1 415")
    assert device.failures("admin") == 1


async def test_always_200_welcomes_any_credentials(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("always-200-portal"))
    _, page = split(await exchange_from(device.address, 80, http_get()))
    assert 'type="password"' in page
    cookies = set()
    for body in ("username=zz%00&password=%ff%fe", "username=&password=", "x=1"):
        head, text = split(await exchange_from(device.address, 80, http_post("/login", body)))
        assert head.startswith("HTTP/1.1 200")
        assert "Welcome" in text
        cookie = re.search(r"Set-Cookie: session=(\w+)", head)
        assert cookie
        cookies.add(cookie[1])
    assert len(cookies) == 3  # a fresh cookie every time
    again = await exchange_from(
        device.address, 80, http_get(extra=f"Cookie: session={cookies.pop()}\r\n")
    )
    assert b'type="password"' in again  # ... that opens nothing
    assert device.login_attempts() == []


async def form_login(
    address: str, username: str, password: str, source: str | None = None, port: int = 80
) -> str:
    page = (await exchange_from(address, port, http_get(), source)).decode()
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token, page
    body = f"username={username}&password={password}&csrf_token={token[1]}"
    return (await exchange_from(address, port, http_post("/login", body), source)).decode()


async def test_form_redirect_on_success_and_form_again_on_failure(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("lockout-router"))
    failed = await form_login(device.address, "admin", "admin")
    assert failed.startswith("HTTP/1.1 200")
    assert "Invalid username or password" in failed
    assert '<form method="post" action="/login">' in failed
    assert "Set-Cookie" not in failed
    ok = await form_login(device.address, "admin", "Zq8!lab-admin")
    assert ok.startswith("HTTP/1.1 302")
    assert "Location: /home\r\n" in ok
    cookie = re.search(r"Set-Cookie: session=(\w+)", ok)
    assert cookie
    home = await exchange_from(
        device.address, 80, http_get("/home", f"Cookie: session={cookie[1]}\r\n")
    )
    assert home.startswith(b"HTTP/1.1 200")
    assert b"Welcome" in home
    assert (await exchange_from(device.address, 80, http_get("/home"))).startswith(b"HTTP/1.1 302")
    assert device.locked_accounts() == set()


# --- lockout and throttle ------------------------------------------------------------------


def lockout_device(scope: str) -> Personality:
    return device_with(
        [
            {"port": 80, "protocol": "http", "login": "form"},
            {"port": 2323, "protocol": "telnet"},
            {"port": 2121, "protocol": "ftp"},
            {"port": 8080, "protocol": "http", "login": "basic"},
        ],
        auth={"lockout": {"after": 3, "seconds": 1, "scope": scope}},
    )


async def telnet_login(
    address: str, username: str, password: str, *, port: int = 2323, until: bytes = b"login: "
) -> bytes:
    """What telnet says to one login, up to `until` (the next prompt)."""
    reader, writer = await connect(address, port)
    try:
        await read_until(reader, b"login: ")
        writer.write(f"{username}\r\n{password}\r\n".encode())
        return await read_until(reader, until)
    finally:
        await close(writer)


async def test_account_lockout_spans_protocols_and_expires(start_device: StartDevice) -> None:
    device = await start_device(lockout_device("account"))
    for _ in range(3):
        assert "Invalid username or password" in await form_login(device.address, "admin", "x")
    assert device.locked_accounts() == {"admin"}
    assert device.is_locked("admin")
    # The right password is refused now, on every protocol.
    assert "Account locked" in await form_login(device.address, "admin", "admin")
    assert b"Account locked" in await telnet_login(device.address, "admin", "admin")
    replies = await ftp_session(device.address, [b"USER admin", b"PASS admin"], port=2121)
    assert replies[-1] == b"530 Account locked.\r\n"
    basic = await exchange_from(
        device.address, 8080, http_get(extra="Authorization: Basic YWRtaW46YWRtaW4=\r\n")
    )
    assert basic.startswith(b"HTTP/1.1 403")
    # Other accounts are not affected.
    assert "Welcome" in await form_login(device.address, "user", "s3cret-user")
    await asyncio.sleep(1.1)
    assert not device.is_locked("admin")
    assert "Welcome" in await form_login(device.address, "admin", "admin")
    assert device.failures("admin") == 3 + 4  # the refusals while locked count too
    assert device.locked_accounts() == {"admin"}
    assert "user" not in device.locked_accounts()


async def test_source_lockout_locks_the_client_address_not_the_account(
    start_device: StartDevice, other_address: str
) -> None:
    device = await start_device(lockout_device("source"))
    for name in ("admin", "user", "nobody"):  # different accounts, one source
        await form_login(device.address, name, "wrong")
    assert device.locked_sources() == {"127.0.0.1"}
    assert device.locked_accounts() == set()
    assert "Account locked" in await form_login(device.address, "admin", "admin")
    # Another source still gets in with the same account.
    assert "Welcome" in await form_login(device.address, "admin", "admin", source=other_address)
    await asyncio.sleep(1.1)
    assert "Welcome" in await form_login(device.address, "admin", "admin")


async def test_lockout_router_is_never_locked_by_fewer_guesses_than_the_limit(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("lockout-router"))
    for password in ("admin", "1234"):
        assert b"Login incorrect" in await telnet_login(device.address, "admin", password, port=23)
    assert device.failures("admin") == 2
    assert device.locked_accounts() == set()
    await form_login(device.address, "admin", "password")  # the third: locked for 30 s
    assert device.locked_accounts() == {"admin"}
    assert "Account locked" in await form_login(device.address, "admin", "Zq8!lab-admin")


def throttled(retry_after: int = 1) -> Personality:
    return device_with(
        [
            {"port": 80, "protocol": "http", "login": "form"},
            {"port": 2222, "protocol": "ssh", "login": "password"},
            {"port": 2323, "protocol": "telnet"},
            {"port": 2121, "protocol": "ftp"},
            {"port": 1883, "protocol": "mqtt"},
        ],
        auth={"throttle": {"after": 2, "retry_after": retry_after}},
    )


async def mqtt_connack(address: str, packet: bytes, source: str | None = None) -> bytes:
    local = (source, 0) if source else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(address, 1883, local_addr=local), 5
    )
    try:
        writer.write(packet)
        reply = await asyncio.wait_for(reader.readexactly(2), 3)
        return reply + await asyncio.wait_for(reader.readexactly(reply[1]), 3)
    finally:
        await close(writer)


async def test_throttle_refuses_every_protocol_then_lets_go(
    start_device: StartDevice, other_address: str
) -> None:
    device = await start_device(throttled(retry_after=1))
    for _ in range(2):
        await form_login(device.address, "admin", "wrong")
    refused = await form_login(device.address, "admin", "admin")
    assert refused.startswith("HTTP/1.1 429")
    assert "Retry-After: 1\r\n" in refused
    telnet = await exchange_from(device.address, 2323, b"")
    assert b"Too many failed logins" in telnet
    assert b"login: " not in telnet
    assert (await exchange_from(device.address, 2121, b"")).startswith(b"421 ")
    assert await mqtt_connack(device.address, mqtt_connect(5, "admin", "admin")) == (
        b"\x20\x03\x00\x89\x00"
    )
    assert await mqtt_connack(device.address, mqtt_connect(4, "admin", "admin")) == (
        b"\x20\x02\x00\x03"
    )
    # SSH drops the connection before its ident.
    assert await exchange_from(device.address, 2222, b"") == b""
    assert device.throttled_sources() == {"127.0.0.1"}
    # Another client is not throttled.
    ok = await mqtt_connack(device.address, mqtt_connect(4, "admin", "admin"), other_address)
    assert ok == b"\x20\x02\x00\x00"
    await asyncio.sleep(1.1)
    assert "Welcome" in await form_login(device.address, "admin", "admin")
    assert device.locked_accounts() == set()


async def test_throttled_camera_answers_429_after_two_failures(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("throttled-camera"))
    for _ in range(2):
        assert "Invalid username" in await form_login(device.address, "admin", "admin")
    refused = await form_login(device.address, "admin", "admin")
    assert refused.startswith("HTTP/1.1 429")
    retry = re.search(r"Retry-After: (\d+)\r\n", refused)
    assert retry
    assert 1 <= int(retry[1]) <= 5


# --- MQTT ------------------------------------------------------------------------------------


async def test_mqtt_return_and_reason_codes(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("json-api-hub"))
    address = device.address
    assert await mqtt_connack(address, mqtt_connect(4, "admin", "admin")) == b"\x20\x02\x00\x00"
    assert await mqtt_connack(address, mqtt_connect(4, "admin", "x")) == b"\x20\x02\x00\x04"
    assert await mqtt_connack(address, mqtt_connect(4)) == b"\x20\x02\x00\x05"
    assert await mqtt_connack(address, mqtt_connect(5, "admin", "admin")) == (
        b"\x20\x03\x00\x00\x00"
    )
    assert await mqtt_connack(address, mqtt_connect(5, "admin", "x")) == b"\x20\x03\x00\x86\x00"
    assert await mqtt_connack(address, mqtt_connect(5)) == b"\x20\x03\x00\x87\x00"
    assert device.failures("admin") == 2


async def test_mqtt_locked_account_is_not_authorized(start_device: StartDevice) -> None:
    device = await start_device(
        device_with(
            [{"port": 1883, "protocol": "mqtt", "refusal": "bad-credentials"}],
            auth={"lockout": {"after": 1, "seconds": 30}},
        )
    )
    assert await mqtt_connack(device.address, mqtt_connect(5, "admin", "x")) == (
        b"\x20\x03\x00\x86\x00"
    )
    assert await mqtt_connack(device.address, mqtt_connect(5, "admin", "admin")) == (
        b"\x20\x03\x00\x87\x00"
    )
    assert await mqtt_connack(device.address, mqtt_connect(4, "admin", "admin")) == (
        b"\x20\x02\x00\x05"
    )


# --- telnet prompts, builtins ------------------------------------------------------------------


async def test_telnet_prompt_is_dollar_for_an_unprivileged_user(start_device: StartDevice) -> None:
    device = await start_device(device_with([{"port": 2323, "protocol": "telnet"}]))
    reader, writer = await connect(device.address, 2323)
    await read_until(reader, b"login: ")
    writer.write(b"user\r\ns3cret-user\r\n")
    assert (await read_until(reader, b"$ ")).endswith(b"Welcome user\r\n$ ")
    await close(writer)


async def test_changed_password_camera_refuses_the_factory_default(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("changed-password-camera"))
    assert "Login failed" in await form_login(device.address, "admin", "admin")
    assert "Welcome" in await form_login(device.address, "admin", "Acme-cam-7731!")
    assert (await rtsp_describe(device.address, "Basic YWRtaW46YWRtaW4=")).startswith(
        "RTSP/1.0 401"
    )


async def test_ssh_camera_factory_default_over_ssh(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("ssh-camera"))

    def run() -> bytes:
        transport = ssh_client(device.address, device.services[0].port)
        try:
            transport.auth_password("admin", "admin")
            return ssh_shell(transport)
        finally:
            transport.close()

    assert b"$ " in await asyncio.to_thread(run)


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"lockout": {"after": 3, "seconds": 30, "scope": "user"}}, "auth.lockout.scope"),
        ({"lockout": {"after": 0, "seconds": 30}}, "auth.lockout.after"),
        ({"throttle": {"after": 2}}, "auth.throttle.retry_after"),
        ({"throttle": {"after": 2, "retry_after": 5, "burst": 1}}, "auth.throttle.burst"),
        ({"lockdown": {}}, "auth.lockdown"),
    ],
)
def test_bad_auth_policies_are_refused(auth: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse({"name": "t", "services": [{"port": 80, "protocol": "http"}], "auth": auth}, "x")


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"port": 22, "protocol": "ssh", "login": "form"}, "services[0].login"),
        ({"port": 554, "protocol": "rtsp", "login": "json"}, "services[0].login"),
        ({"port": 22, "protocol": "ssh", "max_auth_tries": 0}, "services[0].max_auth_tries"),
        ({"port": 1883, "protocol": "mqtt", "refusal": "nope"}, "services[0].refusal"),
        ({"port": 80, "protocol": "http", "form_success": "x"}, "services[0].form_success"),
        ({"port": 23, "protocol": "telnet", "login": "form"}, "services[0].login"),
    ],
)
def test_bad_login_options_are_refused(service: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse({"name": "t", "services": [service]}, "x")


LOGIN_PERSONALITIES = (
    "ssh-camera",
    "lockout-router",
    "throttled-camera",
    "always-200-portal",
    "json-api-hub",
    "changed-password-camera",
)
#: The pairs the scanner's factory list carries: a planted default must be one of them.
SCANNER_DEFAULTS = {
    ("admin", "admin"),
    ("root", "root"),
    ("admin", "1234"),
    ("admin", "12345"),
    ("admin", "password"),
    ("user", "user"),
    ("support", "support"),
    ("root", "pass"),
}


@pytest.mark.parametrize("name", LOGIN_PERSONALITIES)
def test_login_personalities_plant_only_listed_defaults(name: str) -> None:
    personality = load_builtin(name)
    for account in personality.accounts:
        pair = (account.username, account.password)
        assert account.factory_default == (pair in SCANNER_DEFAULTS), pair
