"""The door's SSH and idle-safe connections: scope checked before any packet, a device
permit held while connecting and released once connected.

Servers: an asyncssh server in the test and plain TCP servers, on 127.0.76.0/24 only.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import asyncssh
import pytest

from scanner.errors import ScopeError
from scanner.net import DeviceNetwork, Limits, Network
from scanner.scope import Scope
from tests.serving import serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

USER, PASSWORD = "door", "Kx7-door-test"
#: What every client here sends: nothing of this machine's SSH setup, the key not trusted.
CLIENT: dict[str, Any] = {
    "known_hosts": None,
    "config": None,
    "client_keys": None,
    "agent_path": None,
    "username": USER,
    "password": PASSWORD,
}


class _Server(asyncssh.SSHServer):
    def __init__(self, accepted: list[int]) -> None:
        self._accepted = accepted

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._accepted.append(1)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (USER, PASSWORD)


@contextlib.asynccontextmanager
async def ssh_server(address: str) -> AsyncIterator[tuple[int, list[int]]]:
    """An asyncssh server on `address`:0; yields (port, one entry per connection)."""
    accepted: list[int] = []
    server = await asyncssh.create_server(
        lambda: _Server(accepted),
        address,
        0,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
    )
    try:
        yield server.sockets[0].getsockname()[1], accepted
    finally:
        server.close()
        await server.wait_closed()


def device(
    address: str, *, scope: str | None = None, excluded: tuple[str, ...] = ()
) -> DeviceNetwork:
    """One permit per device, so a permit still held shows at once; `scope` other than
    the address builds the door directly (as a device whose scope changed would be)."""
    network = Network(
        Scope.of([scope or address], excluded), Limits(per_device=1, connect_timeout=2.0)
    )
    return DeviceNetwork(network, address)


async def permit_is_free(dev: DeviceNetwork) -> bool:
    try:
        async with asyncio.timeout(0.5):
            async with dev.permit():
                return True
    except TimeoutError:
        return False


# --- scope --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "excluded"),
    [("127.0.76.200", ()), ("127.0.76.0/24", ("127.0.76.1",))],
    ids=["outside", "excluded"],
)
async def test_an_address_outside_the_scope_is_refused_before_any_packet(
    scope: str, excluded: tuple[str, ...]
):
    # Given servers on an address the scope does not admit (outside it, or excluded)
    address = "127.0.76.1"
    seen: list[int] = []

    async def note(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(1)

    dev = device(address, scope=scope, excluded=excluded)
    async with ssh_server(address) as (ssh_port, accepted), serving(address, note) as tcp_port:
        # When each door method is asked for it, then each refuses
        with pytest.raises(ScopeError):
            await dev.ssh_connection(ssh_port, **CLIENT)
        with pytest.raises(ScopeError):
            async with dev.ssh(ssh_port, **CLIENT):
                pass
        with pytest.raises(ScopeError):
            await dev.ssh_host_key(ssh_port, known_hosts=None)
        with pytest.raises(ScopeError):
            await dev.idle_tcp(tcp_port)
        with pytest.raises(ScopeError):
            async with dev.tcp(tcp_port):
                pass
        with pytest.raises(ScopeError):
            await dev.udp_exchange(tcp_port, b"x")
        await asyncio.sleep(0.2)  # time for a connection that slipped through to arrive
    # and neither server saw a connection
    assert accepted == []
    assert seen == []


# --- permits ------------------------------------------------------------------------------


async def test_an_ssh_connection_holds_the_permit_only_while_it_is_made():
    address = "127.0.76.2"
    dev = device(address)
    async with ssh_server(address) as (port, accepted):
        # Given the device's only permit taken, a connection waits for it
        async with dev.permit():
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await dev.ssh_connection(port, **CLIENT)
        assert accepted == []
        # When a connection is made with the permit free
        conn = await dev.ssh_connection(port, timeout=5.0, **CLIENT)
        try:
            # Then it is logged in and open, and the permit is free again
            assert conn.get_extra_info("username") == USER
            assert await permit_is_free(dev)
            # so a second connection to the one-permit device opens beside it
            async with dev.ssh(port, timeout=5.0, **CLIENT) as second:
                assert await permit_is_free(dev)
                assert second.get_extra_info("username") == USER
        finally:
            conn.close()
            await conn.wait_closed()
    assert len(accepted) == 2


async def test_the_ssh_block_closes_its_connection_and_a_refused_login_raises():
    address = "127.0.76.3"
    dev = device(address)
    async with ssh_server(address) as (port, _):
        async with dev.ssh(port, timeout=5.0, **CLIENT) as conn:
            pass
        async with asyncio.timeout(2.0):
            await conn.wait_closed()  # already closed: returns at once
        with pytest.raises(asyncssh.PermissionDenied):
            await dev.ssh_connection(port, timeout=5.0, **{**CLIENT, "password": "wrong"})
        # a refused login leaves no permit behind
        assert await permit_is_free(dev)


async def test_the_host_key_is_fetched_and_the_permit_released():
    address = "127.0.76.4"
    dev = device(address)
    async with ssh_server(address) as (port, accepted):
        key = await dev.ssh_host_key(port, timeout=5.0)
        assert key is not None
        assert key.get_algorithm() == "ssh-ed25519"
        assert await permit_is_free(dev)
    assert len(accepted) == 1


async def test_an_idle_safe_stream_holds_no_permit_while_it_stays_open():
    # Given a server that answers each line and notes when the client hung up
    address = "127.0.76.5"
    hung_up = asyncio.Event()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(b"echo " + line)
            await writer.drain()
        hung_up.set()

    dev = device(address)
    async with serving(address, echo) as port:
        # Given the only permit taken, the stream waits for it and times out
        async with dev.permit():
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await dev.idle_tcp(port)
        # When a stream is opened with the permit free
        stream = await dev.idle_tcp(port)
        try:
            # Then the permit is free while the stream stays open and works
            assert await permit_is_free(dev)
            await stream.write(b"hello\n")
            assert await stream.read_until(b"\n", timeout=2.0) == b"echo hello\n"
            # while a tcp() stream holds its permit for its whole life
            async with dev.tcp(port):
                assert not await permit_is_free(dev)
        finally:
            await stream.aclose()
        async with asyncio.timeout(2.0):
            await hung_up.wait()
