"""A device followed by its MAC address across an address change, on a real link.

Two network namespaces made by the test (tests/netns.py): Python's own HTTP server in the
device's, `shinsa scan` in the scanner's, one veth pair between them and no route beyond.
The ground truth is the device end's MAC as `ip link` shows it. The scan keeps the MAC the
kernel resolved (scanner/discovery/neighbours.py); the service's importer makes it the
device's strong key, so when the device moves to another address the next run is the same
device, not "removed" plus "added".
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from scanner.service import schema as t
from scanner.service.importer import import_run
from scanner.store import Store
from tests.netns import Link, linked_namespaces

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.root  # ip netns

PORT = 8080
SHINSA = str(Path(sys.executable).with_name("shinsa"))


def _serve(link: Link, address: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        link.in_device(sys.executable, "-m", "http.server", str(PORT), "--bind", address),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = f"import socket; socket.create_connection(('{address}', {PORT}), 1).close()"
    for _ in range(100):  # bounded: 10 s
        done = subprocess.run(
            link.in_scanner(sys.executable, "-c", probe), capture_output=True, check=False
        )
        if done.returncode == 0:
            return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"http.server did not come up on {address}:{PORT}")


def _scan(link: Link, address: str, out: Path) -> str:
    done = subprocess.run(
        link.in_scanner(
            SHINSA,
            "scan",
            address,
            "-p",
            str(PORT),
            "--out",
            str(out),
            "-q",
            "--no-config",
            "--format",
            "json",
            "--checks",
            "services.*",
        ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    with Store(out / "shinsa.sqlite", create=False) as store:
        return store.runs()[-1].id


def _readdress(link: Link, old: str, new: str) -> None:
    device_if = (
        subprocess.run(
            ["ip", "-n", link.device_ns, "-o", "link", "show", "type", "veth"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.split(":")[1]
        .strip()
        .split("@")[0]
    )
    for argv in (
        ["ip", "-n", link.device_ns, "addr", "del", f"{old}/24", "dev", device_if],
        ["ip", "-n", link.device_ns, "addr", "add", f"{new}/24", "dev", device_if],
    ):
        subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def link() -> Iterator[Link]:
    with linked_namespaces(subnet=41) as made:
        yield made


def test_a_device_is_followed_by_its_mac_across_an_address_change(
    link: Link, engine: sa.Engine, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    server = _serve(link, link.device_address)
    try:
        first = _scan(link, link.device_address, out)
    finally:
        server.kill()
        server.wait(10)
    with Store(out / "shinsa.sqlite", create=False) as store:
        said = store.identity(first)[link.device_address]
    assert ("link", "mac", link.device_mac) in {(r.source, r.kind, r.value) for r in said}
    import_run(engine, out / "shinsa.sqlite", first)
    with engine.connect() as conn:
        [device] = conn.execute(sa.select(t.devices)).all()
    assert (device.address, device.mac) == (link.device_address, link.device_mac)

    # the device is given another address (DHCP, renumbering): same MAC, same device
    moved = link.device_address.rsplit(".", 1)[0] + ".77"
    _readdress(link, link.device_address, moved)
    server = _serve(link, moved)
    try:
        second = _scan(link, moved, out)
    finally:
        server.kill()
        server.wait(10)
    imported = import_run(engine, out / "shinsa.sqlite", second)
    with engine.connect() as conn:
        devices = conn.execute(sa.select(t.devices)).all()
        row = conn.execute(sa.select(t.run_devices).where(t.run_devices.c.run_id == second)).one()
    assert [(d.id, d.address, d.mac) for d in devices] == [(device.id, moved, link.device_mac)]
    assert row.device_id == device.id
    assert imported is not None
