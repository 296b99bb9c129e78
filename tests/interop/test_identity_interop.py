"""Identity signals read from real Debian daemons on 127.0.70.x (and OpenSSH on the suite's
127.0.55.1), checked against what the standard clients (snmpget, Python's urllib,
ssh-keyscan with ssh-keygen) read from the same daemon in the same test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from probes.registry import REGISTRY, all_checks
from scanner.credential_lists import device_text, load_catalog
from scanner.discovery.ports import PortSet
from scanner.discovery.udp import udp_scan
from scanner.engine import ScanRequest
from scanner.facts import Facts
from scanner.fingerprint.identity import collect_identity, favicon_text
from scanner.fingerprint.services import Timing, fingerprint
from scanner.judging.profiles import load_profile
from scanner.model import Target
from scanner.net import Limits, Network
from scanner.scope import Scope
from scanner.store import IdentityRow, Store
from tests.interop.conftest import SNMPD_FLAGS
from tests.listening import wildcard_sockets
from tests.stored_scan import stored_scan

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from tests.interop.conftest import Daemon

pytestmark = pytest.mark.interop

SNMPD_ADDRESS = "127.0.70.20"
LIGHTTPD_ADDRESS = "127.0.70.21"
LIGHTTPD_PORT = 8070
#: MikroTik RouterOS's sysObjectID (enterprise 14988)
MIKROTIK_OID = "1.3.6.1.4.1.14988.1"
SYS_NAME = "ccr-core-3F"
START_TIMEOUT = 10.0


def _binary(path: str, package: str) -> str:
    found = path if os.path.isabs(path) else shutil.which(path)
    if not found or not os.access(found, os.X_OK):
        pytest.fail(f"{path} missing: install Debian's {package} (.ci/install-daemons.sh)")
    return found


@contextlib.contextmanager
def _daemon(
    argv: Sequence[str], log: Path, ready: Sequence[str], env: dict[str, str] | None = None
) -> Iterator[None]:
    """Run `argv` in its own process group until the `ready` command succeeds (bounded);
    stop it (SIGTERM, then SIGKILL) afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while subprocess.run(list(ready), capture_output=True, timeout=5).returncode != 0:
            if proc.poll() is not None:
                pytest.fail(f"{argv[0]} exited: {log.read_text(errors='replace')[-1500:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} not ready after {START_TIMEOUT:g} s")
            time.sleep(0.1)
        everywhere = wildcard_sockets(proc.pid)
        if everywhere:
            pytest.fail(f"{argv[0]} listens on every address ({', '.join(everywhere)})")
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue


async def _client(argv: Sequence[str]) -> bytes:
    """A standard client's output (it must succeed within 10 s)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(10):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode(errors="replace")
    return out


def _device(address: str) -> Network:
    return Network(Scope.of(["127.0.70.0/24"]), Limits(connect_timeout=2.0, read_timeout=3.0))


async def test_sys_object_id_from_net_snmp_matches_snmpget_and_names_the_vendor(
    tmp_path: Path,
) -> None:
    snmpd = _binary("/usr/sbin/snmpd", "snmpd")
    snmpget = _binary("snmpget", "snmp")
    cfg = tmp_path / "snmpd.conf"
    cfg.write_text(
        "rocommunity public 127.0.0.0/8\n"  # the kernel sends from 127.0.0.1
        "sysDescr RouterOS CCR1009-7G-1C-1S+\n"
        f"sysObjectID .{MIKROTIK_OID}\n"
        f"sysName {SYS_NAME}\n"
    )
    get = [snmpget, "-v2c", "-c", "public", "-On", "-Ov", "-t", "1", "-r", "0"]
    get += [f"udp:{SNMPD_ADDRESS}:161", ".1.3.6.1.2.1.1.2.0"]
    argv = [snmpd, *SNMPD_FLAGS, "-c", str(cfg), f"udp:{SNMPD_ADDRESS}:161"]
    # its persistent state goes to tmp_path, not /var/lib/snmp
    persist = {"SNMP_PERSISTENT_DIR": str(tmp_path / "persist")}
    with _daemon(argv, tmp_path / "snmpd.log", get, persist):
        truth = await _client(get)
        assert truth.decode().strip() == f"OID: .{MIKROTIK_OID}"
        name = await _client([*get[:-1], ".1.3.6.1.2.1.1.5.0"])
        # what snmpget reads (quoted or not, as net-snmp's output options print it)
        assert name.decode().strip().removeprefix("STRING: ").strip('"') == SYS_NAME

        replies = (await udp_scan([SNMPD_ADDRESS], [161])).get(SNMPD_ADDRESS, ())
        dev = _device(SNMPD_ADDRESS).device(SNMPD_ADDRESS)
        facts = Facts()
        services = await fingerprint(dev, [], replies, facts, timing=Timing(http_fetch=2.0))
        signals = await collect_identity(dev, services, facts)

    kinds = {s.kind: s.text for s in signals}
    assert kinds["snmp_oid"] == MIKROTIK_OID
    assert kinds["vendor"] == "MikroTik"
    assert kinds["snmp_sysname"] == SYS_NAME
    chosen = load_catalog().select("ssh", device_text(facts), generic_top=25)
    assert any("mikrotik" in label.lower() for label in chosen.identified)
    assert [(c.username, c.password) for c in chosen.pairs] == [("admin", "")]


async def test_favicon_and_scripts_from_lighttpd_match_what_urllib_downloads(
    tmp_path: Path,
) -> None:
    lighttpd = _binary("/usr/sbin/lighttpd", "lighttpd")
    root = tmp_path / "www"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text(
        '<html><head><title>Camera</title><link rel="icon" href="/img/cam.ico">'
        '<script src="/js/webVideoCtrl.js?v=3"></script></head><body></body></html>'
    )
    (root / "js" / "webVideoCtrl.js").write_text("var x = 1;\n")
    (root / "img").mkdir()
    (root / "img" / "cam.ico").write_bytes(bytes(range(256)) * 5 + b"shinsa")
    cfg = tmp_path / "lighttpd.conf"
    cfg.write_text(
        f'server.document-root = "{root}"\n'
        f'server.bind = "{LIGHTTPD_ADDRESS}"\nserver.port = {LIGHTTPD_PORT}\n'
        'index-file.names = ("index.html")\n'
        'mimetype.assign = (".html" => "text/html", ".ico" => "image/x-icon", '
        '".js" => "text/javascript")\n'
    )
    base = f"http://{LIGHTTPD_ADDRESS}:{LIGHTTPD_PORT}"
    # Python's own HTTP client (curl is not among the CI packages)
    fetch = (
        "import sys, urllib.request; "
        "sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=5).read())"
    )
    ready = [sys.executable, "-c", fetch, f"{base}/"]
    with _daemon([lighttpd, "-D", "-f", str(cfg)], tmp_path / "lighttpd.log", ready):
        icon = await _client([sys.executable, "-c", fetch, f"{base}/img/cam.ico"])
        dev = _device(LIGHTTPD_ADDRESS).device(LIGHTTPD_ADDRESS)
        facts = Facts()
        services = await fingerprint(dev, [LIGHTTPD_PORT], [], facts, timing=Timing(http_fetch=3.0))
        signals = await collect_identity(dev, services, facts)

    assert icon.endswith(b"shinsa")
    kinds = {s.kind: s.text for s in signals}
    assert kinds["favicon"] == favicon_text(icon)
    assert kinds["scripts"] == "/js/webVideoCtrl.js"
    text = device_text(facts)
    assert "/js/webVideoCtrl.js" in text["scripts"]
    assert favicon_text(icon).split()[0] in text["favicon"]


async def _keyscan(address: str, port: int) -> list[str]:
    """The host key fingerprints OpenSSH's own clients print for the server: ssh-keyscan
    fetches the keys, ssh-keygen -l prints each as "bits SHA256:... host (TYPE)"."""
    keyscan = _binary("ssh-keyscan", "openssh-client")
    keygen = _binary("ssh-keygen", "openssh-client")
    keys = await _client([keyscan, "-p", str(port), "-T", "5", address])
    proc = await asyncio.create_subprocess_exec(
        keygen,
        "-l",
        "-E",
        "sha256",
        "-f",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(10):
        out, err = await proc.communicate(keys)
    assert proc.returncode == 0, err.decode(errors="replace")
    return [line.split()[1] for line in out.decode().splitlines() if line.strip()]


async def test_the_ssh_host_key_shinsa_stores_is_what_ssh_keygen_prints(
    sshd: Daemon, tmp_path: Path
) -> None:
    # shinsa's whole path: an engine scan of the real sshd into a per-run store
    request = ScanRequest(
        targets=(Target(sshd.address, "openssh"),),
        scope=Scope.of([sshd.address]),
        ports=PortSet((sshd.port,), ()),
        profile=load_profile("base", all_checks()),
        registry=REGISTRY,
        limits=Limits(connect_timeout=2.0, read_timeout=5.0),
        checks=frozenset({"ssh.kex"}),  # identity is read whatever the checks; one is enough
    )
    run = await stored_scan(request, tmp_path / "scan.sqlite")
    assert run.states == ["done"], sshd.log_tail()
    with Store(tmp_path / "scan.sqlite", create=False) as store:
        stored = [r for r in store.identity("r")[sshd.address] if r.kind == "ssh_hostkey"]
    # the standard client, against the same daemon, in the same test
    printed = await _keyscan(sshd.address, sshd.port)
    assert printed, sshd.log_tail()
    assert all(p.startswith("SHA256:") for p in printed)
    # the fixture's sshd has one host key (ed25519): shinsa stored exactly that one
    assert stored == [IdentityRow("ssh", "ssh_hostkey", printed[0])], (stored, printed)
