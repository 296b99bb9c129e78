"""SYN scan over raw sockets (root): same answers as the connect scan, on 127.0.33.x."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import pytest

from scanner.discovery import syn
from scanner.discovery.syn import syn_available, syn_scan
from scanner.discovery.tcp import connect_scan

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.root

SCAN_PORTS = range(20001, 20301)  # never 2024


@pytest.fixture
def planted() -> Iterator[dict[str, tuple[int, ...]]]:
    if not syn_available():
        pytest.skip("raw sockets need root or CAP_NET_RAW")
    layout = {
        "127.0.33.1": (20001, 20150, 20300),
        "127.0.33.2": (20042,),
        "127.0.33.3": (),
    }
    socks = []
    for address, ports in layout.items():
        for port in ports:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(128)
            socks.append(sock)
    yield layout
    for sock in socks:
        sock.close()


async def test_syn_scan_finds_what_the_connect_scan_finds(
    planted: dict[str, tuple[int, ...]],
) -> None:
    by_syn = syn_scan(list(planted), SCAN_PORTS, timeout=1.0)
    by_connect = await connect_scan(list(planted), SCAN_PORTS, timeout=1.0)
    assert by_syn == by_connect == planted


def test_paced_syn_scan_finds_the_same(planted: dict[str, tuple[int, ...]]) -> None:
    assert syn_scan(list(planted), SCAN_PORTS, rate=20_000) == planted


def test_a_scan_of_every_port_still_finds_a_source_port_and_the_planted_ones(
    planted: dict[str, tuple[int, ...]],
) -> None:
    # Every port of the source range is scanned: none is free of the port list (was
    # "no free source port" on `--ports 1-2023,2025-65535 --syn`).
    every = [p for p in range(1, 65536) if p != 2024]
    assert syn_scan(["127.0.33.1"], every, timeout=1.0) == {"127.0.33.1": planted["127.0.33.1"]}


#: Enough probes (3 hosts x 2,000) for the scan to split between worker processes.
WIDE_PORTS = range(20001, 22001)


def test_a_scan_split_between_four_workers_finds_the_same(
    planted: dict[str, tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert syn_scan(list(planted), WIDE_PORTS, timeout=1.0) == planted


def test_a_worker_that_fails_is_an_error_not_filtered_ports(
    planted: dict[str, tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    real = syn._run_shard

    def broken(*args: object, **kwargs: object) -> None:
        if args[3] == 1:  # the forked worker: its ports must not silently read filtered
            raise RuntimeError("worker crashed")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(syn, "_run_shard", broken)
    with pytest.raises(OSError, match="worker process"):
        syn_scan(list(planted), WIDE_PORTS, timeout=1.0)


def test_without_fork_one_process_scans_every_share(
    planted: dict[str, tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    def refused() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    assert syn_scan(list(planted), WIDE_PORTS, timeout=1.0) == planted


def _syn_recv_on(prefix: str) -> int:
    """Half-open (SYN_RECV) entries whose local address starts with `prefix`."""
    count = 0
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            local_hex = fields[1].split(":")[0]
            local = socket.inet_ntoa(bytes.fromhex(local_hex)[::-1])
            if fields[3] == "03" and local.startswith(prefix):
                count += 1
    return count


def test_syn_scan_leaves_no_half_open_connections(planted: dict[str, tuple[int, ...]]) -> None:
    syn_scan(list(planted), SCAN_PORTS)
    # Our kernel answers each SYN-ACK with RST, which frees the listener's half-open entry.
    assert _syn_recv_on("127.0.33.") == 0


def test_ipv6_addresses_are_scanned_beside_ipv4_ones(
    planted: dict[str, tuple[int, ...]],
) -> None:
    # ::1 is shared with every test on the machine: ports of our own, the closed one
    # bound and released just before (the kernel hands it to nobody else meanwhile)
    with socket.socket(socket.AF_INET6) as listener, socket.socket(socket.AF_INET6) as gone:
        listener.bind(("::1", 0))
        listener.listen(16)
        gone.bind(("::1", 0))
        opened, closed = listener.getsockname()[1], gone.getsockname()[1]
        gone.close()
        found = syn_scan(["127.0.33.2", "::1", "127.0.33.1"], [20042, opened, closed])
    assert list(found) == ["127.0.33.2", "::1", "127.0.33.1"]  # the order given
    assert found["::1"] == (opened,)
    assert found["127.0.33.2"] == (20042,)
    assert found["127.0.33.1"] == ()


def test_empty_inputs_send_nothing() -> None:
    assert syn_scan(["127.0.33.4"], []) == {"127.0.33.4": ()}
    assert syn_scan([], [20001]) == {}
