"""Lab web options for the transport checks: redirect to HTTPS, HSTS, a form posting to HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lab.personality import Personality, parse
from tests.lab.lab_clients import close, connect, read_to_eof
from tests.lab.test_lab_tcp_servers import http_get

if TYPE_CHECKING:
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab


def _device(services: list[dict[str, object]]) -> Personality:
    return parse(
        {"name": "web-transport", "title": "T", "vendor": "t", "services": services}, "test"
    )


async def _get(address: str, port: int, *, tls: bool = False) -> bytes:
    reader, writer = await connect(address, port, tls=tls)
    writer.write(http_get())
    answer = await read_to_eof(reader)
    await close(writer)
    return answer


async def test_plain_http_redirects_to_https_and_https_sends_hsts(start_device: StartDevice):
    device = await start_device(
        _device(
            [
                {"port": 18080, "protocol": "http", "redirect_to": 18443},
                {"port": 18443, "protocol": "https", "login": "form", "hsts": "max-age=31536000"},
            ]
        )
    )
    plain = await _get(device.address, 18080)
    assert plain.startswith(b"HTTP/1.1 301")
    assert b"Location: https://lab:18443/" in plain
    secure = await _get(device.address, 18443, tls=True)
    assert b"Strict-Transport-Security: max-age=31536000" in secure


async def test_form_action_http_points_the_https_form_at_plain_http(start_device: StartDevice):
    device = await start_device(
        _device(
            [
                {"port": 18443, "protocol": "https", "login": "form", "form_action": "http"},
            ]
        )
    )
    page = await _get(device.address, 18443, tls=True)
    assert f'action="http://{device.address}/login"'.encode() in page
