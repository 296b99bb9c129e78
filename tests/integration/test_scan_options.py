"""Options that reach the engine, as a user gives them on the command line: targets from
standard input, --exclude, --max-rate/--scan-delay, per-device profiles, check selection and
the traffic log. Every address is in 127.0.80.x; nothing listens unless a test starts it."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from lab.device import Lab
from lab.personality import parse
from probes.registry import all_checks
from scanner import cli
from scanner.cli.commands import DEMO_FORMATS
from scanner.discovery import syn
from scanner.judging.profiles import load_profile
from scanner.pacing import Pacer
from scanner.socks_gate import SocksGate
from scanner.store import Store
from tests.report_validation import validate_files

if TYPE_CHECKING:
    from pathlib import Path

SCAN = ["scan", "--ports", "9", "-q", "--format", "json"]


def _stored_targets(out: Path) -> list[tuple[str, str, str]]:
    with Store(out / "shinsa.sqlite", create=False) as store:
        return store.targets(store.runs()[-1].id)


def _report(out: Path) -> dict[str, Any]:
    with Store(out / "shinsa.sqlite", create=False) as store:
        run = store.runs()[-1].id
    return json.loads((out / run / "report.json").read_text())  # type: ignore[no-any-return]


def _validated(out: Path) -> None:
    with Store(out / "shinsa.sqlite", create=False) as store:
        run = store.runs()[-1].id
    validate_files(out / run)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _html(out: Path) -> str:
    with Store(out / "shinsa.sqlite", create=False) as store:
        run = store.runs()[-1].id
    return (out / run / "report.html").read_text()


def _request(out: Path) -> dict[str, object]:
    with Store(out / "shinsa.sqlite", create=False) as store:
        return store.runs()[-1].request


@pytest.mark.parametrize("spelling", ["-", "@-"])
def test_targets_from_standard_input_read_like_a_target_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
):
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("# site B\n127.0.80.1 cam-a  # the lobby\n\n127.0.80.2-3\n")
    )
    assert cli.main([*SCAN, spelling, "--out", str(tmp_path)]) == 0
    assert _stored_targets(tmp_path) == [
        ("127.0.80.1", "cam-a", "done"),
        ("127.0.80.2", "", "done"),
        ("127.0.80.3", "", "done"),
    ]
    # the allow-list is what the lines named, as for targets on the command line
    assert _request(tmp_path)["allow"] == ["127.0.80.1/32", "127.0.80.2/31"]


def test_standard_input_given_twice_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr("sys.stdin", io.StringIO("127.0.80.1\n"))
    assert cli.main([*SCAN, "-", "@-", "--out", str(tmp_path)]) == 2
    assert "standard input (- or @-) is given twice" in capsys.readouterr().err
    assert not (tmp_path / "shinsa.sqlite").exists()


def test_a_bad_standard_input_line_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr("sys.stdin", io.StringIO("127.0.80.1\n127.0.80.2 cam colour=red\n"))
    assert cli.main([*SCAN, "-", "--out", str(tmp_path)]) == 2
    assert "standard input line 2: unknown setting colour=" in capsys.readouterr().err


class Listener:
    """A TCP port and a UDP port on one address, each recording when something arrived:
    a connection accepted (then closed at once) or a datagram (never answered)."""

    def __init__(self, address: str, tcp_port: int, udp_port: int) -> None:
        self.address = address
        self.connections: list[float] = []
        self.datagrams: list[float] = []
        self._tcp = socket.create_server((address, tcp_port), backlog=64)
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((address, udp_port))
        for s in (self._tcp, self._udp):
            s.settimeout(0.1)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._receive, daemon=True),
        ]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except TimeoutError:
                continue
            self.connections.append(time.monotonic())
            conn.close()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                self._udp.recvfrom(2048)
            except TimeoutError:
                continue
            self.datagrams.append(time.monotonic())

    def __enter__(self) -> Listener:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self._tcp.close()
        self._udp.close()


#: a TCP port of nothing known (never 2024) and CoAP's UDP port, which discovery probes
TCP_PORT, UDP_PORT = 20091, 5683
LISTENED = ["--ports", f"T:{TCP_PORT},U:{UDP_PORT}", "--timeout", "1", "-q", "--format", "json"]


@pytest.mark.parametrize("discovery", [[], ["--syn"]], ids=["connect", "syn"])
@pytest.mark.parametrize(
    "exclusion",
    [["--exclude", "127.0.80.11"], ["--exclude", "127.0.80.30,127.0.80.11-12"], ["file"]],
    ids=["address", "range", "file"],
)
def test_an_excluded_address_receives_no_packet(
    tmp_path: Path, discovery: list[str], exclusion: list[str]
):
    if exclusion == ["file"]:
        listing = tmp_path / "never.txt"
        listing.write_text("# the PLC that falls over\n127.0.80.11/32  127.0.80.40\n")
        exclusion = ["--excludefile", str(listing)]
    with (
        Listener("127.0.80.10", TCP_PORT, UDP_PORT) as kept,
        Listener("127.0.80.11", TCP_PORT, UDP_PORT) as spared,
    ):
        code = cli.main(
            ["scan", "127.0.80.10-11", *LISTENED, *discovery, *exclusion, "--out", str(tmp_path)]
        )
        time.sleep(0.3)  # a datagram in flight lands before the listeners stop
    assert code in (0, 1, 3)
    assert spared.connections == []
    assert spared.datagrams == []
    assert kept.connections  # the scan did reach the device it kept
    assert kept.datagrams
    assert [a for a, _, _ in _stored_targets(tmp_path)] == ["127.0.80.10"]
    assert "127.0.80.11/32" in _request(tmp_path)["exclude"]  # type: ignore[operator]


def test_excluding_every_target_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    args = [*SCAN, "127.0.80.20-21", "--exclude", "127.0.80.16/28", "--out", str(tmp_path)]
    assert cli.main(args) == 2
    assert "every target is excluded" in capsys.readouterr().err


# --- on a lab device ----------------------------------------------------------------------

#: a factory password no built-in list holds: the site list below brings it
FACTORY = "Tr4x-fact0ry-7"
BOX = parse(
    {
        "name": "opts-box",
        "title": "Acme box B-1",
        "vendor": "acme",
        "services": [
            {"port": 23, "protocol": "telnet", "banner": "Acme B-1"},
            {
                "port": 22,
                "protocol": "ssh",
                "login": "password",
                "ssh_algorithms": {
                    "kex": ["curve25519-sha256@libssh.org"],
                    "ciphers": ["aes256-gcm@openssh.com"],
                    "macs": ["hmac-sha2-256-etm@openssh.com"],
                },
            },
        ],
        "accounts": [{"username": "admin", "password": FACTORY, "factory_default": True}],
    },
    "test",
)
BOX_PORTS = ["--ports", "22,23", "--timeout", "2", "-q", "--format", "json"]


def _site_list(tmp_path: Path) -> Path:
    site = tmp_path / "site.yaml"
    site.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        f"  - {{protocols: [telnet, ssh], pairs: [[admin, '{FACTORY}']], source: our fleet}}\n"
    )
    return site


async def _shinsa(*args: str) -> int:
    """The command line in-process, off the event loop that serves the lab."""
    return await asyncio.to_thread(cli.main, list(args))


def _checks_stored(out: Path) -> dict[str, str]:
    with Store(out / "shinsa.sqlite", create=False) as store:
        run = store.runs()[-1].id
        return {f"{r.target} {r.check_id}": r.verdict.value for r in store.results(run)}


async def test_only_the_selected_checks_run_and_the_rest_read_as_not_assessed(tmp_path: Path):
    async with Lab([BOX], "127.0.80.40") as lab:
        address = lab.devices[0].address
        code = await _shinsa(
            "scan", address, *BOX_PORTS, "--out", str(tmp_path),
            "--credentials", str(_site_list(tmp_path)),
            "--checks", "creds.default.*,ssh.*", "--exclude-checks", "ssh.kex,ssh.hostkey",
        )  # fmt: skip
    assert code == 1  # the factory login is a failure
    stored = _checks_stored(tmp_path)
    assert stored[f"{address} creds.default.telnet"] == "fail"
    assert stored[f"{address} creds.default.ssh"] == "fail"
    assert f"{address} ssh.ciphers" in stored
    ran = {key.split()[1] for key in stored}
    assert all(c.startswith(("creds.default.", "ssh.")) for c in ran)
    assert not ran & {"ssh.kex", "ssh.hostkey", "banner.login-notice", "services.unexpected"}
    assert _request(tmp_path)["selected_checks"] == sorted(
        c for c in all_checks() if c.startswith(("creds.default.", "ssh."))
        if c not in ("ssh.kex", "ssh.hostkey")
    )  # fmt: skip
    (device,) = _report(tmp_path)["devices"]
    profile = load_profile("base", all_checks())
    left_out = {"ssh.kex", "ssh.hostkey"}
    touching = {
        (fw.id, r.id)
        for fw, level in profile.frameworks
        for r in fw.selected(level)
        if left_out & set(r.direct)
    }
    statuses = [s for s in device["requirements"] if (s["framework"], s["id"]) in touching]
    assert statuses  # requirements citing a left-out check were judged on the rest
    for status in statuses:
        assert status["status"] != "satisfied"
        assert not {r["check_id"] for r in status["results"]} & left_out
    assert any("left out ssh.hostkey, ssh.kex" in s["reason"] for s in statuses)


def _gaps(*listeners: Listener) -> list[float]:
    """Seconds between consecutive arrivals (connections and datagrams) at `listeners`."""
    times = sorted(t for li in listeners for t in (*li.connections, *li.datagrams))
    return [b - a for a, b in itertools.pairwise(times)]


#: how much earlier than its slot an arrival may be recorded (the accepting thread's jitter)
JITTER = 0.03


def test_the_scan_delay_spaces_the_packets_to_one_device(tmp_path: Path):
    with Listener("127.0.80.60", TCP_PORT, UDP_PORT) as device:
        t0 = time.monotonic()
        code = cli.main(
            ["scan", "127.0.80.60", *LISTENED, "--scan-delay", "0.25", "--out", str(tmp_path)]
        )
        took = time.monotonic() - t0
        time.sleep(0.3)
    assert code in (0, 1, 3)
    arrivals = len(device.connections) + len(device.datagrams)
    assert arrivals >= 4  # discovery (twice), fingerprinting, UDP: enough to measure
    assert min(_gaps(device)) >= 0.25 - JITTER
    assert took >= 0.25 * (arrivals - 1)
    assert _request(tmp_path)["limits"]["scan_delay"] == 0.25  # type: ignore[index]
    assert _report(tmp_path)["scope"]["pace"] == {"max_rate": None, "scan_delay": 0.25}


def test_the_max_rate_caps_the_whole_scan_across_devices(tmp_path: Path):
    with (
        Listener("127.0.80.61", TCP_PORT, UDP_PORT) as one,
        Listener("127.0.80.62", TCP_PORT, UDP_PORT) as two,
    ):
        code = cli.main(
            ["scan", "127.0.80.61-62", *LISTENED, "--max-rate", "8", "--out", str(tmp_path)]
        )
        time.sleep(0.3)
    assert code in (0, 1, 3)
    assert len(one.connections) >= 2
    assert len(two.connections) >= 2
    # every probe of the scan took a slot an eighth of a second after the last one: the
    # arrivals at both devices together are at least that far apart
    assert min(_gaps(one, two)) >= 1 / 8 - JITTER
    assert _request(tmp_path)["limits"]["max_rate"] == 8  # type: ignore[index]
    assert _report(tmp_path)["scope"]["pace"] == {"max_rate": 8, "scan_delay": 0.0}


@pytest.mark.root
def test_a_paced_syn_scan_sends_each_syn_in_its_own_slot():
    # Raw SYNs never reach accept(): the pace shows in the time the scan takes instead.
    # Five closed ports answer at once with a reset, so unpaced it takes milliseconds.
    ports = [20101, 20102, 20103, 20104, 20105]
    t0 = time.monotonic()
    found = syn.syn_scan(["127.0.80.63"], ports, timeout=0.2, pacer=Pacer(scan_delay=0.2))
    assert found == {"127.0.80.63": ()}
    assert time.monotonic() - t0 >= 4 * 0.2
    t0 = time.monotonic()
    syn.syn_scan(["127.0.80.63"], ports, timeout=0.2)
    assert time.monotonic() - t0 < 0.8


def _fragile_profile(tmp_path: Path) -> None:
    """A model's profile beside the target file: telnet is not an allowed service, the
    factory telnet login is an accepted deviation, and it is judged by ETSI EN 303 645 only."""
    (tmp_path / "fragile.yaml").write_text(
        "profile: fragile\nextends: base\ntitle: Fragile box\ninherit_frameworks: false\n"
        "frameworks:\n  etsi-en-303-645: {}\n"
        "params:\n  services.unexpected:\n    allowed: ['tcp/22 ssh']\n"
        "accepted:\n  - check: creds.default.telnet\n    reason: isolated bench network\n"
        "    approved_by: QA-1\n    expires: 2099-12-31\n"
    )


async def test_one_run_plans_and_judges_each_device_by_its_own_profile(tmp_path: Path):
    _fragile_profile(tmp_path)
    site = tmp_path / "site.txt"
    site.write_text(
        "127.0.80.70 plain-box            # the run's profile (base)\n"
        "127.0.80.71 fragile-box profile=fragile.yaml\n"
    )
    async with Lab([BOX, BOX], "127.0.80.70"):
        code = await _shinsa(
            "scan", f"@{site}", *BOX_PORTS, "--format", ",".join(DEMO_FORMATS),
            "--out", str(tmp_path),
            "--credentials", str(_site_list(tmp_path)),
            "--checks", "services.unexpected,creds.default.telnet",
        )  # fmt: skip
    assert code == 1
    stored = _checks_stored(tmp_path)
    # planned with each device's own parameters: telnet is allowed by base, not by fragile
    assert stored["127.0.80.70 services.unexpected"] == "pass"
    assert stored["127.0.80.71 services.unexpected"] == "fail"
    assert stored["127.0.80.70 creds.default.telnet"] == "fail"
    assert stored["127.0.80.71 creds.default.telnet"] == "fail"
    assert _request(tmp_path)["targets"] == [
        ["127.0.80.70", "plain-box"],
        ["127.0.80.71", "fragile-box", str(tmp_path / "fragile.yaml")],
    ]
    scanned = _judged(_report(tmp_path))
    # `shinsa report` judges the stored run the same way, each device by its own profile
    with Store(tmp_path / "shinsa.sqlite", create=False) as store:
        run = store.runs()[-1].id
    assert await _shinsa("report", run, "--out", str(tmp_path), "--format", "json") == 1
    rendered = _judged(_report(tmp_path))
    assert rendered == scanned
    plain, fragile = scanned["127.0.80.70"], scanned["127.0.80.71"]
    assert plain["profile"] == "base"
    assert fragile["profile"] == "fragile"
    assert {"iec-62443-4-2", "etsi-en-303-645"} <= plain["frameworks"]
    assert fragile["frameworks"] == {"etsi-en-303-645"}
    # the factory telnet login: a failure on the plain box, an accepted deviation on the
    # fragile one, where only the unexpected telnet service fails a requirement
    assert "creds.default.telnet" in plain["failing"]
    assert "creds.default.telnet" not in fragile["failing"]
    assert fragile["failing"] == {"services.unexpected"}
    assert fragile["accepted"] == {"creds.default.telnet"}
    html = _html(tmp_path)
    assert "fragile-box" in html
    assert "plain-box" in html
    # every format renders a mixed run, and each validates
    _validated(tmp_path)


def _judged(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per device: its profile, the frameworks of its statuses, the checks failing one of
    its requirements, and the checks whose fail is an accepted deviation."""
    out: dict[str, dict[str, Any]] = {}
    for d in report["devices"]:
        failing = {
            r["check_id"]
            for s in d["requirements"]
            if s["status"] == "not_satisfied"
            for r in s["results"]
            if r["verdict"] == "fail"
        }
        accepted = {r["check_id"] for r in d["results"] if r.get("accepted")}
        out[d["address"]] = {
            "profile": d["profile"],
            "frameworks": {s["framework"] for s in d["requirements"]},
            "failing": failing - accepted,
            "accepted": accepted,
        }
    return out


async def test_the_debug_log_shows_each_login_attempt_with_the_password_masked(tmp_path: Path):
    async with Lab([BOX], "127.0.80.80") as lab:
        address = lab.devices[0].address
        code = await _shinsa(
            "scan", address, *BOX_PORTS, "--out", str(tmp_path), "--debug",
            "--credentials", str(_site_list(tmp_path)),
            "--checks", "creds.default.telnet,creds.default.ssh",
        )  # fmt: skip
    assert code == 1
    assert _checks_stored(tmp_path)[f"{address} creds.default.telnet"] == "fail"
    log = _text(tmp_path / "shinsa-debug.log")
    # what was sent and received, per connection
    assert f"tcp {address}:23 connected" in log
    assert f"tcp {address}:23 received" in log
    assert f"ssh {address}:22 login admin" in log  # a user name, as reports show it
    # the password line of the Telnet login: sent, and masked
    telnet_sent = [line for line in log.splitlines() if f"tcp {address}:23 sent" in line]
    assert any(line.endswith(": ***\\r\\n") for line in telnet_sent), telnet_sent
    # never in clear, in any form the redactor knows
    for form in (FACTORY, FACTORY.lower(), FACTORY.upper(), base64.b64encode(FACTORY.encode())):
        assert str(form) not in log
    assert base64.b64encode(f"admin:{FACTORY}".encode()).decode() not in log


def test_verbose_logs_connections_to_a_log_file_and_nothing_without_it(tmp_path: Path):
    with Listener("127.0.80.81", TCP_PORT, UDP_PORT):
        log = tmp_path / "v.log"
        args = ["scan", "127.0.80.81", *LISTENED, "--out", str(tmp_path)]
        assert cli.main([*args, "-v", "--log-file", str(log)]) in (0, 1, 3)
        assert cli.main(args) in (0, 1, 3)
    text = _text(log)
    assert f"tcp 127.0.80.81:{TCP_PORT} connected" in text
    assert " sent " not in text  # bytes only with --debug
    assert not (tmp_path / "shinsa-debug.log").exists()


async def test_the_browsers_gate_takes_a_slot_before_each_connection_it_makes():
    # The browser reaches a device only through its SOCKS gate (scanner/socks_gate.py):
    # a paced scan's gate waits for the scan's next slot before it connects.
    arrived: list[float] = []

    async def device(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.append(time.monotonic())
        writer.close()

    server = await asyncio.start_server(device, "127.0.80.90", 0)
    port = server.sockets[0].getsockname()[1]
    pacer = Pacer(scan_delay=0.3)
    gate = SocksGate(lambda host, _port: host == "127.0.80.90", pace=pacer.wait)
    await gate.start()
    gate_port = int(gate.url.rsplit(":", 1)[1])
    try:
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", gate_port)
            writer.write(b"\x05\x01\x00" + b"\x05\x01\x00\x01" + bytes([127, 0, 80, 90]))
            writer.write(port.to_bytes(2, "big"))
            await reader.readexactly(2)  # method chosen
            assert (await reader.readexactly(10))[1] == 0  # connected
            writer.close()
    finally:
        await gate.aclose()
        server.close()
        await server.wait_closed()
    assert len(arrived) == 3
    assert min(_gaps_of(arrived)) >= 0.3 - JITTER


def _gaps_of(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(sorted(times))]
