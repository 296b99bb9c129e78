"""Helpers for the login-client tests: loopback devices, misbehaving servers, leak checks.

Addresses: 127.0.34.0/24 and 127.0.35.0/24 only, one address per test so parallel workers
never collide; in-test servers bind port 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING

import pytest

from probes._login import common
from scanner.net import Limits, Network
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    from scanner.credentials import Credential, LoginRun
    from scanner.net import DeviceNetwork

SCOPE = Scope.of(["127.0.34.0/24", "127.0.35.0/24"])
FAST_BACKOFF = (0.05, 0.1, 0.2)


def device(address: str, per_device: int = 2) -> DeviceNetwork:
    limits = Limits(per_device=per_device, connect_timeout=2.0, read_timeout=3.0)
    return Network(SCOPE, limits).device(address)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> tuple[float, ...]:
    monkeypatch.setattr(common, "BACKOFF", FAST_BACKOFF)
    return FAST_BACKOFF


_FLOAT = re.compile(r"\d+\.\d+(?:e-?\d+)?")


def assert_no_secret(run: LoginRun, credentials: Sequence[Credential]) -> None:
    """No password in anything shown (except one that is also a username: "admin/admin")."""
    usernames = {c.username for c in credentials}
    shown = [repr(run), run.note, *(a.detail for a in run.attempts), *map(repr, run.attempts)]
    shown += [str(a.to_json()) for a in run.attempts]
    if run.control is not None:
        shown += [run.control.detail, repr(run.control)]
    # a measured float in a repr (latency=0.30065648799791234) is not a password "1234"
    shown = [_FLOAT.sub("<float>", text) for text in shown]
    for credential in credentials:
        if len(credential.password) > 1 and credential.password not in usernames:
            for text in shown:
                assert credential.password not in text, text


@contextlib.asynccontextmanager
async def tcp_server(
    address: str,
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[tuple[int, list[int]]]:
    """A server on `address`:port 0; yields (port, [connections so far]).

    Handlers run in their own tasks, bounded to 10 s; at the end every connection is aborted
    and every handler awaited (then cancelled), so nothing outlives the test.
    """
    count = [0]
    handlers: set[asyncio.Task[None]] = set()
    writers: list[asyncio.StreamWriter] = []

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                await handler(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count[0] += 1
        writers.append(writer)
        task = asyncio.create_task(run(reader, writer))
        handlers.add(task)
        task.add_done_callback(handlers.discard)

    server = await asyncio.start_server(serve, address, 0)
    try:
        yield server.sockets[0].getsockname()[1], count
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        if handlers:
            _, pending = await asyncio.wait(list(handlers), timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2.0)


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, then close at once: what MaxStartups or a per-address limit looks like."""
    writer.transport.abort()
