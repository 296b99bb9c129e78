"""The engine keeps what a device said about what it is in the per-run store the moment it
is read (scanner/engine.py after `collect_identity`), masked like every result: an SSH
server's host key fingerprint and a web page's scripts, from small servers on 127.0.71.81."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import asyncssh

from probes.registry import all_checks
from scanner.credential_lists import load_catalog
from scanner.credentials import MASK
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest
from scanner.judging.profiles import load_profile
from scanner.model import Target
from scanner.net import Limits
from scanner.scope import Scope
from scanner.store import Store
from tests.stored_scan import stored_scan

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

ADDRESS = "127.0.71.81"
SECRET = "Xw-81-site-secret"  # a password of the site's own list
PAGE = (
    "<html><head><title>Gateway</title>"
    f'<script src="/js/{SECRET}/app.js"></script></head><body>hi</body></html>'
).encode()


@contextlib.asynccontextmanager
async def web() -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                + f"Content-Length: {len(PAGE)}\r\n\r\n".encode()
                + PAGE
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, ADDRESS, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


def _stored_bytes(directory: Path) -> bytes:
    """The store's file and its journal, if one is left."""
    return b"".join(part.read_bytes() for part in sorted(directory.glob("scan.sqlite*")))


async def test_identity_is_stored_masked_as_the_device_is_scanned(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    ssh = await asyncssh.listen(ADDRESS, 0, server_host_keys=[key], login_timeout=5)
    site = tmp_path / "site.yaml"
    site.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        f"  - {{protocols: [ssh], pairs: [[admin, '{SECRET}']], source: site list}}\n"
    )
    try:
        async with web() as http_port:
            ssh_port = ssh.sockets[0].getsockname()[1]
            request = ScanRequest(
                targets=(Target(ADDRESS),),
                scope=Scope.of([ADDRESS]),
                ports=PortSet((ssh_port, http_port), ()),
                profile=load_profile("base", all_checks()),
                registry=(),  # no checks: identity is read and kept all the same
                limits=Limits(connect_timeout=2.0, read_timeout=3.0),
                credentials=load_catalog([site], builtin=False),
            )
            run = await stored_scan(request, tmp_path / "scan.sqlite")
    finally:
        ssh.close()
        await ssh.wait_closed()
    assert run.states == ["done"]
    with Store(tmp_path / "scan.sqlite", create=False) as store:
        said = {(r.source, r.kind): r.value for r in store.identity("r")[ADDRESS]}
    assert said[("ssh", "ssh_hostkey")] == key.get_fingerprint("sha256")
    assert said[("http", "scripts")] == f"/js/{MASK}/app.js"  # the site's password masked
    assert SECRET.encode() not in _stored_bytes(tmp_path)
