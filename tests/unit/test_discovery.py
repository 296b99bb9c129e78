"""TCP connect scan against listeners started here on 127.0.31.x (and `discover` end to end)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from scanner.cli import discover as discover_cmd
from scanner.discovery.tcp import connect_scan, connect_scan_blocking
from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

# High ports nothing on this machine listens on by default (and never 2024).
SCAN_PORTS = range(20001, 20201)


def _listen(address: str, port: int, backlog: int = 128) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(backlog)
    return sock


@pytest.fixture
def listeners() -> Iterator[dict[str, tuple[int, ...]]]:
    planted = {"127.0.31.1": (20011, 20050, 20123), "127.0.31.2": (20200,), "127.0.31.3": ()}
    socks = [_listen(address, port) for address, ports in planted.items() for port in ports]
    yield planted
    for sock in socks:
        sock.close()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_reports_exactly_the_listening_ports(listeners: dict[str, tuple[int, ...]]) -> None:
    found = await connect_scan(list(listeners), SCAN_PORTS, timeout=1.0)
    assert found == listeners


async def test_closed_ports_are_not_reported() -> None:
    found = await connect_scan(["127.0.31.4"], SCAN_PORTS, timeout=1.0)
    assert found == {"127.0.31.4": ()}


async def test_a_port_that_accepts_then_closes_counts_as_open() -> None:
    # A plain socket accepted and closed in a thread: no asyncio transport is left behind
    # for the garbage collector to warn about in a later test.
    server = _listen("127.0.31.5", 20077, backlog=128)
    stop = threading.Event()

    def slam() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=slam, daemon=True)
    thread.start()
    try:
        found = await connect_scan(["127.0.31.5"], SCAN_PORTS, timeout=1.0)
    finally:
        stop.set()
        thread.join(2)
        server.close()
    assert found == {"127.0.31.5": (20077,)}


async def test_descriptor_count_does_not_grow(listeners: dict[str, tuple[int, ...]]) -> None:
    await connect_scan(list(listeners), SCAN_PORTS, timeout=1.0)  # warm up lazy resources
    before = _open_fds()
    for _ in range(3):
        await connect_scan(list(listeners), SCAN_PORTS, timeout=1.0, max_in_flight=64)
    assert _open_fds() == before


def test_a_refused_socket_is_reused_for_the_next_closed_port(
    listeners: dict[str, tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loopback answers inside connect(): closed ports must not cost a socket each.
    made: list[socket.socket] = []
    real = socket.socket

    def counting(*args: object, **kwargs: object) -> socket.socket:
        sock = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(sock)
        return sock

    monkeypatch.setattr(socket, "socket", counting)
    found = connect_scan_blocking(list(listeners), SCAN_PORTS, timeout=1.0)
    assert found == listeners
    opened = sum(len(ports) for ports in listeners.values())
    # One socket per open port (it is spent) and per confirmation, plus the spare ones.
    assert len(made) <= 2 * opened + 4, len(made)


class _StubbornSocket(socket.socket):
    """A socket that, once refused, claims to be connected: a kernel we do not expect."""

    refused = False

    def connect_ex(self, address: object) -> int:
        if self.refused:
            return errno.EISCONN
        err = super().connect_ex(address)  # type: ignore[arg-type]
        if err == errno.ECONNREFUSED:
            self.refused = True
        return err


def test_a_reused_socket_that_misbehaves_never_makes_a_port_open(
    listeners: dict[str, tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "socket", _StubbornSocket)
    found = connect_scan_blocking(list(listeners), SCAN_PORTS, timeout=1.0)
    assert found == listeners


async def test_small_windows_and_per_host_limits_find_the_same(
    listeners: dict[str, tuple[int, ...]],
) -> None:
    found = await connect_scan(list(listeners), SCAN_PORTS, max_in_flight=3, per_host=1)
    assert found == listeners


async def test_progress_counts_every_first_pass_probe(
    listeners: dict[str, tuple[int, ...]],
) -> None:
    counts: list[int] = []
    await connect_scan(list(listeners), SCAN_PORTS, confirm=False, on_progress=counts.append)
    await asyncio.sleep(0)  # progress is delivered through the loop
    assert sum(counts) == len(listeners) * len(SCAN_PORTS)


async def test_silent_port_times_out_and_is_not_open() -> None:
    # A listener whose accept queue is full drops further SYNs: to a scanner it looks
    # exactly like a firewall that drops, i.e. filtered.
    server = _listen("127.0.31.6", 20033, backlog=0)
    clients = []
    try:
        for _ in range(4):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.31.6", 20033))
            clients.append(client)
        await asyncio.sleep(0.2)
        started = time.monotonic()
        found = await connect_scan(["127.0.31.6"], [20033], timeout=0.3)
        assert found == {"127.0.31.6": ()}
        assert time.monotonic() - started < 2.0
    finally:
        for client in clients:
            client.close()
        server.close()


async def test_ipv6_socket_path_works_through_a_mapped_loopback_address() -> None:
    # ::ffff:127.0.31.7 exercises the AF_INET6 code path while staying inside 127/8.
    server = _listen("127.0.31.7", 20099)
    try:
        found = await connect_scan(["::ffff:127.0.31.7"], SCAN_PORTS)
    finally:
        server.close()
    assert found == {"::ffff:127.0.31.7": (20099,)}


async def test_cancelling_the_scan_closes_its_sockets() -> None:
    server = _listen("127.0.31.8", 20044, backlog=0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.31.8", 20044))
        fillers.append(filler)
    try:
        before = _open_fds()
        task = asyncio.create_task(connect_scan(["127.0.31.8"], [20044], timeout=5.0))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(40):  # the worker notices the stop flag within one poll slice
            if _open_fds() <= before:
                break
            await asyncio.sleep(0.05)
        assert _open_fds() <= before
    finally:
        for filler in fillers:
            filler.close()
        server.close()


async def test_rejects_host_names_and_bad_ports() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        await connect_scan(["localhost"], [80])
    with pytest.raises(ValueError, match="outside"):
        await connect_scan(["127.0.31.9"], [0])


def test_target_ranges_and_cidr_expand() -> None:
    assert discover_cmd.expand_targets(["127.0.31.1-3"]) == [
        "127.0.31.1",
        "127.0.31.2",
        "127.0.31.3",
    ]
    assert discover_cmd.expand_targets(["127.0.31.0/30", "127.0.31.1"]) == [
        "127.0.31.1",
        "127.0.31.2",
    ]
    for bad in ("127.0.31.5-2", "bad name!", "127.0.31.0/33", "10.0.0.0/8"):
        with pytest.raises(ConfigError):
            discover_cmd.expand_targets([bad])


def test_discover_command_prints_json(
    listeners: dict[str, tuple[int, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    code = discover_cmd.main(["127.0.31.1-3", "--ports", "20001-20200", "--json"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert {a: tuple(v["tcp"]) for a, v in document.items()} == listeners
    assert all(v["udp"] == [] for v in document.values())


def test_discover_command_rejects_bad_ports(capsys: pytest.CaptureFixture[str]) -> None:
    assert discover_cmd.main(["127.0.31.1", "--ports", "20001-x"]) == 2
    assert "20001-x" in capsys.readouterr().err
