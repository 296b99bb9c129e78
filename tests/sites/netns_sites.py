"""Sites as Linux network namespaces: a core with the central Redis and PostgreSQL, and per
site a bridge with device namespaces on it and a `shinsa worker` inside (issue 15, item 5).

Layout (every address inside namespaces made here, 10.250.80.0/24 to 10.250.8x.0/24):

    core ns      lo 10.250.80.254/32 (redis-server :6379, PostgreSQL :5432)
                 veth 10.250.80.1/30 -- site 0's uplink 10.250.80.2/30
                 veth 10.250.80.5/30 -- site 1's uplink 10.250.80.6/30
    site k ns    bridge 10.250.(81+k).1/24, a route to 10.250.80.254 only, `shinsa worker`
    device ns    one per device, a veth end with a MAC given here, 10.250.(81+k).(10+j)/24:
                 .10 OpenSSH sshd, .11 lighttpd, .12 a simulated lab device

No namespace has a default route; forwarding is off in the core and the sites, so no site
reaches another site's devices (nor anything beyond the test's namespaces). Nothing is
bound on the machine's own interfaces: the test process reaches the core's servers by a
socket made inside the core namespace (`in_namespace`) or PostgreSQL's unix socket.

The lab refuses to serve anything but loopback (lab/addresses.py: its devices are
deliberately weak): a lab device serves on 127.0.10.1 inside its own namespace, and socat
forwards its TCP ports from the namespace's veth address.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
import redis
import redis.connection

from lab.personality import load_builtin
from scanner.cli.app import main
from tests.interop.conftest import LOGIN_PAGE, _require
from tests.netns import _ip, _mac, _remove
from tests.service.postgres import NOBODY, SUPERUSER, _as_owner, binaries, make_root, remove_root
from tests.sites.cluster import RedisServer, Worker, workers

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
CORE_ADDRESS = "10.250.80.254"
REDIS_PORT = 6379
PG_PORT = 5432
DATABASE = "shinsa"
LAB_LOOPBACK = "127.0.10.1"  # inside the lab device's own namespace
#: a lab personality per site: SSH only, and HTTP + MQTT
LAB_PERSONALITIES = ("modern-ssh-gateway", "json-api-hub")
START_TIMEOUT = 30.0
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_serial = itertools.count()


def in_namespace(ns: str, fn: Callable[[], T], timeout: float = 15.0) -> T:
    """`fn()` run in a thread that entered network namespace `ns` (setns affects only the
    calling thread, and a socket keeps the namespace it was made in): the test process
    talks to the core's servers without anything bound in the root namespace."""
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"setns {ns}: {os.strerror(errno)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"nothing came back from namespace {ns} in {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def connect_error(ns: str, address: str, port: int, timeout: float = 2.0) -> int | None:
    """None when a TCP connection from namespace `ns` to address:port succeeds, else the
    errno (or -1 for a timeout)."""

    def attempt() -> int | None:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return None
        except TimeoutError:
            return -1
        except OSError as exc:
            return exc.errno or -1

    return in_namespace(ns, attempt, timeout=timeout + 5)


class _NetnsConnection(redis.connection.Connection):
    netns = ""  # set on a subclass per namespace

    def _connect(self) -> socket.socket:
        sock: socket.socket = in_namespace(self.netns, super()._connect)
        return sock


@dataclass
class CoreRedis(RedisServer):
    """cluster.RedisServer run inside the core (its argv_prefix); its readiness ping and
    the test's client connect from inside the core too."""

    netns: str = ""

    def client(self) -> redis.Redis:
        connection = type("CoreConnection", (_NetnsConnection,), {"netns": self.netns})
        pool = redis.ConnectionPool(
            connection_class=connection, host=self.host, port=self.port, socket_timeout=5
        )
        return redis.Redis(connection_pool=pool)


@dataclass
class CoreDatabase:
    """A private PostgreSQL cluster (Debian's binaries, as tests/service/postgres.py: run as
    nobody under root) listening on the core's address inside the core namespace, and on a
    unix socket the test process reads the service's tables by."""

    ns: str
    root: Path = field(default_factory=make_root)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    @property
    def url(self) -> str:
        """For the processes in the namespaces (workers, scans, the runner)."""
        return f"postgresql://{SUPERUSER}@{CORE_ADDRESS}:{PG_PORT}/{DATABASE}"

    @property
    def local_url(self) -> str:
        """For the test process: the unix socket, no network."""
        return f"postgresql+psycopg://{SUPERUSER}@/{DATABASE}?host={self.sockets}&port={PG_PORT}"

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns, *_as_owner(list(argv))],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> None:
        self.sockets.mkdir()
        if os.geteuid() == 0:
            for path in (self.root, self.sockets):
                os.chown(path, NOBODY, NOBODY)
        bin_dir = binaries()
        self._run(
            str(bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        # the sites' uplinks only (and the unix socket): nothing else can reach it anyway
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 10.250.80.0/24 trust\n", encoding="utf-8"
        )
        options = (
            f"-c listen_addresses={CORE_ADDRESS} -p {PG_PORT} -k {self.sockets} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=80"
        )
        self._run(
            str(bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        with psycopg.connect(
            host=str(self.sockets), port=PG_PORT, user=SUPERUSER, dbname="postgres",
            autocommit=True, connect_timeout=10,
        ) as conn:  # fmt: skip
            conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(
                    str(binaries() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                )


@dataclass(frozen=True, slots=True)
class Device:
    kind: str  # sshd | lighttpd | lab
    ns: str
    address: str
    mac: str  # given to its veth end here; `ip -j link` inside its namespace shows it
    ports: tuple[int, ...]  # where it listens

    def run(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    ns: str
    bridge: str
    address: str  # the site's own address on its bridge, 10.250.(81+k).1
    subnet: str  # 10.250.(81+k).0/24
    devices: tuple[Device, ...]

    def run(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]

    def device(self, kind: str) -> Device:
        return next(d for d in self.devices if d.kind == kind)


@dataclass
class Deployment:
    core_ns: str
    sites: dict[str, Site]
    redis: CoreRedis
    database: CoreDatabase
    workers: dict[str, Worker]
    directory: Path
    namespaces: tuple[str, ...]

    @property
    def broker(self) -> str:
        return self.redis.url

    def devices(self) -> list[Device]:
        return [d for s in self.sites.values() for d in s.devices]

    def site_of(self, address: str) -> str:
        return next(s.name for s in self.sites.values() for d in s.devices if d.address == address)

    def shinsa_in_core(
        self, *argv: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`shinsa ARGV` run in the core namespace (the central machine)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.core_ns, sys.executable, "-m", "scanner", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
            cwd=self.directory,
        )


def _fresh(ns: str, made: list[str]) -> None:
    _ip("netns", "add", ns)
    made.append(ns)
    _ip("-n", ns, "link", "set", "lo", "up")
    # a new namespace may inherit forwarding from the machine's: never a router here
    subprocess.run(
        ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=0"],
        check=True, capture_output=True, timeout=20,
    )  # fmt: skip


def _veth(ns_a: str, if_a: str, ns_b: str, if_b: str, mac_b: str = "") -> None:
    peer = ["peer", "name", if_b, *(["address", mac_b] if mac_b else []), "netns", ns_b]
    _ip("link", "add", if_a, "netns", ns_a, "type", "veth", *peer)


def _wait(what: str, ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(
                f"{what} exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready in {START_TIMEOUT:g} s")
        time.sleep(0.1)


def _popen(argv: list[str], log: Path, stack: contextlib.ExitStack) -> subprocess.Popen[bytes]:
    """A process of the test, in a session of its own, stopped when `stack` unwinds (the
    namespace's removal kills whatever is left)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    stack.callback(stop)
    return proc


def _sshd(device: Device, directory: Path, stack: contextlib.ExitStack) -> None:
    binary = _require("/usr/sbin/sshd", "openssh-server")
    key = directory / "ssh_host_ed25519_key"
    subprocess.run(
        [_require("ssh-keygen", "openssh-client"), "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    cfg = directory / "sshd_config"
    # as tests/interop/conftest.py's sshd, on the device's own address
    cfg.write_text(
        f"Port 22\nListenAddress {device.address}\nHostKey {key}\n"
        f"PidFile {directory / 'sshd.pid'}\nUsePAM no\nStrictModes no\n"
    )
    log = directory / "sshd.log"
    proc = _popen(device.run(binary, "-D", "-e", "-f", str(cfg)), log, stack)
    _wait("sshd", lambda: connect_error(device.ns, device.address, 22) is None, proc, log)


def _lighttpd(device: Device, directory: Path, stack: contextlib.ExitStack) -> None:
    binary = _require("/usr/sbin/lighttpd", "lighttpd")
    www = directory / "www"
    www.mkdir()
    (www / "login.html").write_text(LOGIN_PAGE)
    cfg = directory / "lighttpd.conf"
    # as tests/interop/conftest.py's lighttpd: `/` redirects to a login page
    cfg.write_text(
        f'server.document-root = "{www}"\n'
        f'server.bind = "{device.address}"\n'
        "server.port = 80\n"
        f'server.errorlog = "{directory / "lighttpd-error.log"}"\n'
        'server.modules = ("mod_redirect")\n'
        'mimetype.assign = (".html" => "text/html")\n'
        'index-file.names = ("index.html")\n'
        'url.redirect = ("^/$" => "/login.html")\n'
    )
    log = directory / "lighttpd.log"
    proc = _popen(device.run(binary, "-D", "-f", str(cfg)), log, stack)
    _wait("lighttpd", lambda: connect_error(device.ns, device.address, 80) is None, proc, log)


def _lab(device: Device, personality: str, directory: Path, stack: contextlib.ExitStack) -> None:
    state = directory / "lab.json"
    log = directory / "lab.log"
    argv = [sys.executable, "-m", "lab", "serve", personality, "--devices", "1"]
    argv += ["--first-address", LAB_LOOPBACK, "--state", str(state)]
    proc = _popen(device.run(*argv), log, stack)
    _wait("lab", state.exists, proc, log)
    socat = _require("socat", "socat")
    for port in device.ports:
        listen = f"TCP-LISTEN:{port},bind={device.address},fork,reuseaddr"
        fwd = _popen(device.run(socat, listen, f"TCP:{LAB_LOOPBACK}:{port}"), log, stack)
        _wait(f"socat :{port}", functools.partial(_answers, device, port), fwd, log)


def _answers(device: Device, port: int) -> bool:
    return connect_error(device.ns, device.address, port) is None


def _lab_ports(personality: str) -> tuple[int, ...]:
    return tuple(s.port for s in load_builtin(personality).services if s.transport == "tcp")


def link_macs(device: Device) -> dict[str, str]:
    """address -> MAC as `ip -j addr` shows the device's interfaces inside its namespace."""
    shown = json.loads(_ip("-j", "-n", device.ns, "addr", "show"))
    found: dict[str, str] = {}
    for link in shown:
        for addr in link.get("addr_info", []):
            if addr.get("family") == "inet" and link.get("link_type") == "ether":
                found[addr["local"]] = str(link["address"]).lower()
    return found


@contextlib.contextmanager
def site_deployment(
    directory: Path, names: tuple[str, ...] = ("plant-a", "plant-b")
) -> Iterator[Deployment]:
    """The core, one site per name (at most 2: 10.250.81.0/24, 10.250.82.0/24), their
    devices and a worker per site; everything removed at the end, also on failure."""
    if not 1 <= len(names) <= 2:
        raise ValueError("one or two sites")
    tag = f"{os.getpid() % 100000}{next(_serial)}"
    core = f"shs{tag}-core"
    made: list[str] = []
    with contextlib.ExitStack() as stack:
        stack.callback(_remove, made)  # runs last: whatever is still inside is killed
        _fresh(core, made)
        _ip("-n", core, "addr", "add", f"{CORE_ADDRESS}/32", "dev", "lo")
        sites: dict[str, Site] = {}
        for k, name in enumerate(names):
            site_ns = f"shs{tag}-s{k}"
            _fresh(site_ns, made)
            core_if, up_if = f"c{tag}u{k}"[:15], f"s{tag}u{k}"[:15]
            _veth(core, core_if, site_ns, up_if)
            near, far = f"10.250.80.{4 * k + 1}", f"10.250.80.{4 * k + 2}"
            _ip("-n", core, "addr", "add", f"{near}/30", "dev", core_if)
            _ip("-n", core, "link", "set", core_if, "up")
            _ip("-n", site_ns, "addr", "add", f"{far}/30", "dev", up_if)
            _ip("-n", site_ns, "link", "set", up_if, "up")
            # the core's servers, and nothing else beyond the site's own segment
            _ip("-n", site_ns, "route", "add", f"{CORE_ADDRESS}/32", "via", near)
            bridge = f"b{tag}s{k}"[:15]
            _ip(
                "-n", site_ns, "link", "add", bridge, "type", "bridge",
                "stp_state", "0", "forward_delay", "0",
            )  # fmt: skip
            net = f"10.250.{81 + k}"
            _ip("-n", site_ns, "addr", "add", f"{net}.1/24", "dev", bridge)
            _ip("-n", site_ns, "link", "set", bridge, "up")
            devices: list[Device] = []
            for j, kind in enumerate(("sshd", "lighttpd", "lab")):
                dev_ns = f"shs{tag}-s{k}d{j}"
                _fresh(dev_ns, made)
                port, inner = f"p{tag}s{k}d{j}"[:15], f"e{tag}s{k}d{j}"[:15]
                mac = f"02:50:00:{k + 1:02x}:00:{10 + j:02x}"  # locally administered
                _veth(site_ns, port, dev_ns, inner, mac)
                _ip("-n", site_ns, "link", "set", port, "master", bridge)
                _ip("-n", site_ns, "link", "set", port, "up")
                _ip("-n", dev_ns, "addr", "add", f"{net}.{10 + j}/24", "dev", inner)
                _ip("-n", dev_ns, "link", "set", inner, "up")
                if _mac(dev_ns, inner) != mac:
                    raise RuntimeError(f"{dev_ns}: {inner} is not {mac}")
                ports = {"sshd": (22,), "lighttpd": (80,)}.get(kind) or _lab_ports(
                    LAB_PERSONALITIES[k]
                )
                devices.append(Device(kind, dev_ns, f"{net}.{10 + j}", mac, ports))
            sites[name] = Site(name, site_ns, bridge, f"{net}.1", f"{net}.0/24", tuple(devices))

        database = CoreDatabase(core)
        stack.callback(remove_root, database.root)
        stack.callback(database.stop)
        database.start()
        assert main(["db", "upgrade", "--db", database.local_url]) == 0

        redis_dir = directory / "redis"
        redis_dir.mkdir(parents=True)
        server = CoreRedis(
            CORE_ADDRESS,
            REDIS_PORT,
            redis_dir,
            argv_prefix=("ip", "netns", "exec", core),
            netns=core,
        )
        stack.callback(server.stop)
        server.start()

        for k, site in enumerate(sites.values()):
            for device in site.devices:
                where = directory / device.ns
                where.mkdir()
                if device.kind == "sshd":
                    _sshd(device, where, stack)
                elif device.kind == "lighttpd":
                    _lighttpd(device, where, stack)
                else:
                    _lab(device, LAB_PERSONALITIES[k], where, stack)

        started: dict[str, Worker] = {}
        pools = []
        for site in sites.values():
            pool = stack.enter_context(
                workers(
                    server.url,
                    database.url,
                    directory / f"workers-{site.name}",
                    argv_prefix=("ip", "netns", "exec", site.ns),
                )
            )
            # both started before waiting for either: their imports overlap
            name = f"{site.name}-0@tests"
            started[site.name] = pool.start(site.name, concurrency=2, name=name, wait=False)
            pools.append(pool)
        for pool, worker in zip(pools, started.values(), strict=True):
            pool.wait_ready(worker)
        yield Deployment(core, sites, server, database, started, directory, tuple(made))


def routes(ns: str) -> list[dict[str, Any]]:
    return list(json.loads(_ip("-j", "-n", ns, "route", "show")))
