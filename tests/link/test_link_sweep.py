"""Link-layer discovery on a real Ethernet segment: a bridge in the scanner's namespace and
device namespaces on it (tests/netns.py `bridged_namespaces`), each with IPv4 and IPv6.

The ground truth is each device end's MAC as `ip -j link` shows it inside the device's own
namespace. The sweeps and the IPv6 SYN scan run in the scanner's namespace, in a child
process (`ip netns exec`), and print what they found as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.netns import Segment, bridged_namespaces

pytestmark = pytest.mark.root  # ip netns, packet sockets

SWEEP = """
import json, sys
from scanner.discovery.link import sweep
from scanner.scope import Scope
subnet, allowed, excluded = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
try:
    found = sweep(subnet, Scope.of(allowed, excluded), timeout=0.5)
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"method": found.method, "interface": found.interface,
                      "found": found.found, "asked": found.asked, "notice": found.notice}))
"""

SYN = """
import json, sys
from scanner.discovery.syn import syn_scan
print(json.dumps(syn_scan(sys.argv[1].split(","), [int(p) for p in sys.argv[2].split(",")],
                          timeout=0.5)))
"""


def _run(segment: Segment, script: str, *argv: str, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    done = subprocess.run(
        segment.in_scanner(*prefix, sys.executable, "-c", script, *argv),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_arp_finds_exactly_the_devices_present_with_their_macs() -> None:
    with bridged_namespaces(62, 4) as segment:
        result = _run(segment, SWEEP, segment.subnet, segment.subnet)
        assert result["method"] == "ARP"
        assert result["interface"] == segment.bridge
        assert result["asked"] == 253  # .1 to .254 less our own .1
        assert result["notice"] == ""
        assert result["found"] == {d.address: d.mac for d in segment.devices}


def test_an_excluded_device_is_not_asked_and_a_gone_one_not_found() -> None:
    with bridged_namespaces(63, 3) as segment:
        gone = segment.devices[2]
        subprocess.run(["ip", "netns", "del", gone.ns], check=True, timeout=20)
        excluded = segment.devices[0]
        result = _run(segment, SWEEP, segment.subnet, segment.subnet, excluded.address)
        assert result["asked"] == 252
        assert result["found"] == {segment.devices[1].address: segment.devices[1].mac}


def test_neighbor_discovery_finds_the_ipv6_neighbours() -> None:
    with bridged_namespaces(64, 3) as segment:
        swept = segment.subnet6.replace("/64", "/120")  # a /64 is never swept whole
        result = _run(segment, SWEEP, swept, segment.subnet6)
        assert result["method"] == "Neighbor Discovery"
        assert result["asked"] == 254  # ::1 to ::ff less our own ::1 (::0 is the routers')
        assert result["found"] == {d.address6: d.mac for d in segment.devices}


def test_a_subnet_off_the_link_or_outside_the_scope_is_refused_before_a_frame() -> None:
    with bridged_namespaces(65, 1) as segment:
        off_link = _run(segment, SWEEP, "10.250.66.0/24", "10.250.66.0/24")
        assert off_link["error"] == "ConfigError"
        assert "no route covers it" in off_link["message"]
        wider = _run(segment, SWEEP, "10.250.65.0/24", "10.250.65.0/25")
        assert wider["error"] == "ScopeError"
        assert "10.250.65.128 is outside the allow-list" in wider["message"]
        huge = _run(segment, SWEEP, segment.subnet6, segment.subnet6)
        assert huge["error"] == "ConfigError"
        assert "give smaller subnets" in huge["message"]


def test_without_cap_net_raw_the_kernel_table_is_read_and_the_sweep_says_so() -> None:
    with bridged_namespaces(67, 2) as segment:
        talked = segment.devices[0]
        ping = ["ping", "-c", "1", "-W", "2", talked.address]
        subprocess.run(segment.in_scanner(*ping), check=True, capture_output=True, timeout=10)
        # root less CAP_NET_RAW: dropped from the bounding set before python starts
        without = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw")
        result = _run(segment, SWEEP, segment.subnet, segment.subnet, prefix=without)
        assert result["method"] == "kernel neighbour table"
        assert "needs root or CAP_NET_RAW" in result["notice"]
        # only the device this host talked to: the table knows nothing of the other
        assert result["found"] == {talked.address: talked.mac}


def _listen(segment: Segment, port: int) -> subprocess.Popen[bytes]:
    device = segment.devices[0]
    server = subprocess.Popen(
        device.run(sys.executable, "-m", "http.server", str(port), "--bind", device.address6),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = f"import socket; socket.create_connection(('{device.address6}', {port}), 1).close()"
    for _ in range(100):  # bounded: 10 s
        done = subprocess.run(
            segment.in_scanner(sys.executable, "-c", probe), capture_output=True, check=False
        )
        if done.returncode == 0:
            return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"http.server did not come up on [{device.address6}]:{port}")


def test_the_ipv6_syn_scan_finds_a_real_listener_and_not_a_closed_port() -> None:
    with bridged_namespaces(68, 2) as segment:
        server = _listen(segment, 8080)
        try:
            open6, quiet6 = segment.devices[0].address6, segment.devices[1].address6
            found = _run(segment, SYN, f"{open6},{quiet6}", "8080,8081")
        finally:
            server.kill()
            server.wait(10)
        assert found == {open6: [8080], quiet6: []}


def test_a_scan_with_link_sweep_keeps_each_devices_mac_from_its_arp_answer(tmp_path) -> None:
    # `shinsa scan --link-sweep` in the scanner's namespace: the sweep runs before discovery,
    # says how many answered, and each device's identity keeps the MAC its ARP answer gave
    import sqlite3

    with bridged_namespaces(69, 3) as segment:
        out = tmp_path / "out"
        done = subprocess.run(
            segment.in_scanner(
                sys.executable, "-m", "scanner", "scan", segment.subnet, "--link-sweep",
                "--ports", "T:10001", "--out", str(out), "--no-config", "--no-browser",
                "--format", "json",
            ),
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr[-3000:]
        assert f"ARP sweep of {segment.subnet} on {segment.bridge}: 3 device(s) answered" in (
            done.stderr + done.stdout
        )
        db = sqlite3.connect(out / "shinsa.sqlite")
        rows = db.execute("SELECT address, value FROM identity WHERE kind = 'mac'").fetchall()
        db.close()
        assert dict(rows) == {d.address: d.mac for d in segment.devices}
