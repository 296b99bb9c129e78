"""Hostile firmware `echo_secrets` (fault-secret-echo): what each server repeats, and that a
device without the flag repeats nothing. The scan against it is
tests/integration/test_secret_echo.py. Sockets only on 127.0.77.73-74 (this file's own)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import replace
from urllib.parse import quote

from lab.auth import AuthState
from lab.device import LabDevice
from lab.personality import Account, Personality, ServiceSpec, load_builtin
from lab.servers.context import DeviceContext
from lab.servers.snmp import answerer
from lab.servers.tls import TlsContexts
from lab.servers.web import WebApp, WebRequest, WebResponse
from scanner.discovery.udp_protocols.snmp import parse_snmp_response, snmp_get_request

ECHO_ADDRESS, PLAIN_ADDRESS = "127.0.77.73", "127.0.77.74"
USER, PASSWORD = "tester", "Sec ré;t-42"  # a space, non-ASCII and a `;`: header-unsafe


def _echo(*, echo: bool = True) -> Personality:
    device = load_builtin("fault-secret-echo")
    return replace(device, echo_secrets=echo, accounts=(Account(USER, PASSWORD),))


def _spec(personality: Personality, protocol: str) -> ServiceSpec:
    return next(s for s in personality.services if s.protocol == protocol)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _echoes(secret: str) -> str:
    return f"{secret} {secret.upper()} {quote(secret, safe='')} {_b64(secret)} {secret[:6]}"


def _login(app: WebApp, password: str = PASSWORD) -> WebResponse:
    body = f"csrf_token={app.csrf_token}&username={USER}&password={quote(password)}"
    return app.respond(WebRequest("POST", "/login", {}, body.encode()))


def _cookie(response: WebResponse) -> dict[str, str]:
    session = next(v for k, v in response.headers if v.startswith("session="))
    return {"cookie": session.split(";")[0]}


def test_a_web_login_echoes_its_password_in_the_redirect_cookies_and_pages() -> None:
    personality = _echo()
    app = WebApp(_spec(personality, "http"), personality)
    login = _login(app)
    assert login.status == 302
    headers = dict(login.headers)
    assert headers["Location"] == (
        f"/home?user={USER}&pw={quote(PASSWORD, safe='')}&k={_b64(PASSWORD)}"
    )
    cookies = [v for k, v in login.headers if k == "Set-Cookie"]
    assert f"remember={_b64(f'{USER}:{PASSWORD}')}; Path=/" in cookies
    # upper-cased and cut to 6 ("SEC RÉ"), the space and the É percent-encoded: still a header value
    assert "hint=SEC%20R%C3%89; Path=/" in cookies
    home = app.respond(WebRequest("GET", "/home", _cookie(login)))
    assert home.status == 200
    assert _echoes(PASSWORD) in home.body
    status = app.respond(WebRequest("GET", "/status", _cookie(login)))
    assert f"pw {PASSWORD[:6]}" in status.body
    # not logged in: sent back to the form, nothing repeated
    for path in ("/home", "/status"):
        anonymous = app.respond(WebRequest("GET", path, {}))
        assert (anonymous.status, dict(anonymous.headers)["Location"]) == (302, "/")
    assert _login(app, "wrong").status == 200  # a failed login echoes nothing either
    assert "wrong" not in _login(app, "wrong").body


def test_without_the_flag_a_web_login_repeats_nothing() -> None:
    personality = _echo(echo=False)
    app = WebApp(replace(_spec(personality, "http"), form_success="redirect"), personality)
    login = _login(app)
    assert dict(login.headers)["Location"] == "/home"
    assert not any("remember=" in v or "hint=" in v for _, v in login.headers)
    home = app.respond(WebRequest("GET", "/home", _cookie(login)))
    assert PASSWORD[:6] not in home.body
    assert app.respond(WebRequest("GET", "/status", _cookie(login))).status == 404


def _snmp_description(personality: Personality, community: str) -> str | None:
    context = DeviceContext(personality, ECHO_ADDRESS, TlsContexts(), AuthState(personality))
    spec = replace(_spec(personality, "snmp"), communities=("public", "Cm-7731"))
    answer = answerer(spec, context)(snmp_get_request(1, community, 7))
    if answer is None:
        return None
    parsed = parse_snmp_response(answer)
    assert parsed is not None
    return parsed.value.decode()


def test_sys_descr_repeats_the_community_it_was_asked_with() -> None:
    assert _snmp_description(_echo(), "Cm-7731") == f"Echo router, asked with {_echoes('Cm-7731')}"
    assert _snmp_description(_echo(), "wrong") is None  # a wrong community: silence, as ever
    assert _snmp_description(_echo(echo=False), "Cm-7731") == "Echo router"


async def _exchange(address: str, port: int, send: bytes) -> str:
    reader, writer = await asyncio.open_connection(address, port)
    writer.write(send)
    await writer.drain()
    chunks = []
    with contextlib.suppress(TimeoutError):
        while chunk := await asyncio.wait_for(reader.read(4096), 1):
            chunks.append(chunk)
    writer.close()
    return b"".join(chunks).decode("utf-8", "replace")


async def _telnet_and_ftp(personality: Personality, address: str) -> tuple[str, str]:
    async with LabDevice(personality, address) as device:
        ports = {s.protocol: s.port for s in device.services}
        login = f"{USER}\r\n{PASSWORD}\r\n".encode()
        motd = await _exchange(address, ports["telnet"], login)
        ftp = await _exchange(address, ports["ftp"], f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode())
    return motd, ftp


async def test_telnet_motd_and_ftp_230_repeat_the_password() -> None:
    motd, ftp = await _telnet_and_ftp(_echo(), ECHO_ADDRESS)
    assert f"Welcome {USER}! Last login with {_echoes(PASSWORD)}\r\n" in motd
    expected = f"230-Welcome {USER}\r\n230-{_echoes(PASSWORD)}\r\n230 {PASSWORD[:5]}\r\n"
    assert expected in ftp


async def test_without_the_flag_telnet_and_ftp_repeat_nothing() -> None:
    motd, ftp = await _telnet_and_ftp(_echo(echo=False), PLAIN_ADDRESS)
    assert f"Welcome {USER}\r\n" in motd
    assert "230 Login successful.\r\n" in ftp
    assert PASSWORD[:6] not in motd + ftp
