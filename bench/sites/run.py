"""Sites at scale: the distributed path against one in-process scan (issue 15 #7).

    .venv/bin/python bench/sites/run.py [--devices 2000] [--sites 4] [--concurrency 16] \
        [--site-batch 8] \
        [--ports T:21,22,23,80,443,1883,3389,U:161] [--order inproc,sites] \
        [--personality NAME ...] [--workdir DIR] [--json FILE] [--pg-fast]

Everything on loopback: Redis (Debian's redis-server, append-only as the deployment docs
ask) and a PostgreSQL cluster made for the run (Debian's binaries, PostgreSQL's default
durability unless --pg-fast) on 127.0.99.1, at ports the kernel picks (never 2024); lab
devices from 127.0.100.1 upward, `shinsa lab up` allowing at most 254 devices (one /24) per
lab, so 2,000 devices are eight labs of 250 on 127.0.100.1, 127.0.101.1, ... 127.0.107.1
(every built-in personality in turn). The devices are split into `--sites` contiguous
blocks (two labs per site for 2,000 over 4), written as one target file whose lines name
each device's site (`127.0.100.5 d0005 site=s1`).

Two runs of the same devices, same options, the labs started afresh before each (so a
lockout or throttle left by the first run does not change the second's verdicts):

- inproc: `shinsa scan @TARGETS --allow 127.0.100.0/22,127.0.104.0/22 --ports P --site s1
  --db PG/inproc --format json -q --no-config --out DIR` (one process, the engine's 64
  devices at once);
- sites: the same plus `--broker redis://127.0.99.1:PORT/0 --site-batch B`, with one
  `shinsa worker --site sK --concurrency C` per site started (and ready) before the run,
  against PG/sites (a worker scans C devices at once, of up to C tasks of B devices).

Each run's database is its own (created and migrated before the run), so pg_stat_database
counts only that run: transactions committed, rows inserted/updated/deleted, database and
table sizes; WAL bytes come from pg_current_wal_lsn. Redis: CONFIG RESETSTAT before the
run, INFO after (total_commands_processed, total_net_input_bytes/output, commandstats), the
bench's own sampling calls taken off, and the idle rate of the ready workers (measured for
IDLE_SECONDS before the run) reported beside, so per-device figures can be read net of it.
CPU: the scan process (rusage), each process tree (workers with their pool, labs,
PostgreSQL, Redis) from /proc, and the whole machine from /proc/stat.

Then: verdicts per (device, service, check) of the two runs compared (differences listed
by check and verdict pair), every site's devices checked to have been scanned by its own
worker, and where the distributed run's time went: per task, the Celery run time (worker
logs) against the span of its results landing (site_results.landed), the pool's use, and
the time before the first and after the last device. Exit code 1 when a run failed or a
device of a site was scanned by another site's worker; the ratio is reported, not gated.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import redis

from scanner.discovery.ports import parse_ports

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tests.sites.cluster import RedisServer

SHINSA = Path(sys.executable).parent / "shinsa"
INFRA_HOST = "127.0.99.1"  # Redis and PostgreSQL
LAB_FIRST = ipaddress.IPv4Address("127.0.100.0")
#: 127.0.100.0 - 127.0.107.255 (no one CIDR block: two /22s)
LAB_BLOCKS = (ipaddress.IPv4Network("127.0.100.0/22"), ipaddress.IPv4Network("127.0.104.0/22"))
LAB_ALLOW = ",".join(map(str, LAB_BLOCKS))
PER_LAB = 250  # within lab/control.py's MAX_DEVICES (254): one /24 per lab
MACHINE_PORT = 2024  # the development machine's own: never probed, never bound
#: a few ports the lab's personalities answer on, and 3389, which none does (closed)
DEFAULT_PORTS = "T:21,22,23,80,443,1883,3389,U:161"
RUN_TIMEOUT = 3600.0
READY_TIMEOUT = 300.0
IDLE_SECONDS = 15.0
SAMPLE_SECONDS = 1.0
NOBODY = 65534
CLK_TCK = os.sysconf("SC_CLK_TCK")
OK_CODES = (0, 1, 3)  # planted failures (1), a fault device not scanned to the end (3)


# -- processes and CPU ---------------------------------------------------------------------


def free_port(host: str) -> int:
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port != MACHINE_PORT:
            return port


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and its reaped children)."""
    out: dict[int, tuple[int, float]] = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        rest = text.rsplit(")", 1)[1].split()
        ticks = sum(int(rest[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        out[int(path.split("/")[2])] = (int(rest[1]), ticks / CLK_TCK)
    return out


def tree_pids(roots: Sequence[int], stats: dict[int, tuple[int, float]] | None = None) -> set[int]:
    """The live processes under `roots`, themselves included."""
    stats = stats if stats is not None else _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    seen: set[int] = set()
    todo = [r for r in roots if r in stats]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, ()))
    return seen


def tree_cpu(roots: Sequence[int]) -> float:
    """CPU seconds of the processes under `roots` (live ones, and what they reaped)."""
    stats = _proc_stats()
    return sum(stats[p][1] for p in tree_pids(roots, stats))


def tree_memory(roots: Sequence[int]) -> dict[str, float]:
    """Processes under `roots`, their resident and proportional set sizes (MB): PSS shares
    the pages a forked pool has in common between its processes."""
    rss = pss = 0
    pids = tree_pids(roots)
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return {"processes": len(pids), "rss_mb": rss / 1024, "pss_mb": pss / 1024}


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM to the process's own session (started with start_new_session), then KILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):  # pool processes left behind
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _stop_all(workers: Sequence[Worker]) -> None:
    for w in workers:
        stop_group(w.proc)


# -- Redis and PostgreSQL ----------------------------------------------------------------


def pg_binaries() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if not found:
        raise SystemExit("PostgreSQL is not installed (apt-get install -y postgresql)")
    return Path(found[-1]).parent


@dataclass
class Postgres:
    """A cluster of its own on INFRA_HOST, trusting loopback, removed at the end; under root
    initdb and the server run as nobody (PostgreSQL refuses root), as the service tests do."""

    root: Path
    durable: bool = True
    port: int = 0
    bin: Path = field(default_factory=pg_binaries)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{INFRA_HOST}:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        if os.geteuid() == 0:
            argv = (
                "/usr/bin/setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                *argv,
            )
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> None:
        data, sockets = self.root / "data", self.root / "sockets"
        sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            for path in (self.root, sockets):
                os.chown(path, NOBODY, NOBODY)
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")  # fmt: skip
        (data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.0/8 trust\n", encoding="utf-8"
        )
        self.port = free_port(INFRA_HOST)
        # 4 workers x 16 pool processes each hold a connection (SQLAlchemy's pool): 200
        options = f"-c listen_addresses={INFRA_HOST} -p {self.port} -k {sockets} "
        options += "-c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")  # fmt: skip

    def postmaster(self) -> int:
        return int((self.root / "data" / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"
            )

    def query(self, sql: str, params: Sequence[Any] = (), database: str = "postgres") -> list[Any]:
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def create(self, name: str) -> str:
        self.query(f'CREATE DATABASE "{name}"')  # a name made here, not input
        done = subprocess.run(
            [str(SHINSA), "db", "--no-config", "upgrade", "--db", self.url(name)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"shinsa db upgrade failed: {done.stderr[-2000:]}")
        return self.url(name)

    def stats(self, name: str) -> dict[str, int]:
        columns = [
            "xact_commit",
            "xact_rollback",
            "tup_inserted",
            "tup_updated",
            "tup_deleted",
            "tup_returned",
            "tup_fetched",
            "blks_read",
            "blks_hit",
        ]  # the SELECT's order below
        ((*values, size, wal),) = self.query(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, "
            "tup_returned, tup_fetched, blks_read, blks_hit, pg_database_size(datname), "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint "
            "FROM pg_stat_database WHERE datname = %s",
            (name,),
        )
        return {**dict(zip(columns, map(int, values), strict=True)), "size": size, "wal": wal}

    def tables(self, name: str) -> dict[str, tuple[int, int]]:
        """table -> (live rows, bytes with indexes and TOAST), after ANALYZE."""
        self.query("ANALYZE", database=name)
        rows = self.query(
            "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables",
            database=name,
        )
        return {str(r): (int(n), int(b)) for r, n, b in rows}

    def connections(self, name: str) -> int:
        ((n,),) = self.query("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,))
        return int(n)


# -- the labs, the targets and the workers ----------------------------------------------


def lab_command(command: str, state_dir: Path, *extra: str) -> None:
    done = subprocess.run(
        [str(SHINSA), "lab", command, "--state-dir", str(state_dir), *extra],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"lab {command} {state_dir} failed: {done.stderr[-2000:]}")


@dataclass
class Labs:
    directory: Path
    devices: int
    personalities: Sequence[str]
    dirs: list[Path] = field(default_factory=list)

    def up(self) -> list[str]:
        """Every lab started; the devices' addresses in order."""
        addresses: list[str] = []
        left, i = self.devices, 0
        extra = [a for p in self.personalities for a in ("--personality", p)]
        while left > 0:
            count = min(PER_LAB, left)
            first = LAB_FIRST + 256 * i + 1
            state_dir = self.directory / f"lab-{i}"
            self.dirs.append(state_dir)
            lab_command(
                "up", state_dir, "--devices", str(count), "--first-address", str(first), *extra
            )
            state = json.loads((state_dir / "lab.json").read_text(encoding="utf-8"))
            for d in state["devices"]:
                if not any(ipaddress.IPv4Address(d["address"]) in b for b in LAB_BLOCKS):
                    raise SystemExit(f"lab device {d['address']} outside {LAB_ALLOW}")
                addresses.append(d["address"])
            left -= count
            i += 1
        return addresses

    def pids(self) -> list[int]:
        out = []
        for d in self.dirs:
            with contextlib.suppress(OSError, ValueError, KeyError):
                out.append(int(json.loads((d / "lab.json").read_text(encoding="utf-8"))["pid"]))
        return out

    def down(self) -> None:
        for d in self.dirs:
            with contextlib.suppress(SystemExit, subprocess.TimeoutExpired):
                lab_command("down", d)
        self.dirs.clear()


def site_of(index: int, devices: int, sites: int) -> str:
    """Contiguous blocks: devices 0..n/sites-1 are s1, and so on."""
    per = -(-devices // sites)
    return f"s{index // per + 1}"


@dataclass
class Worker:
    site: str
    proc: subprocess.Popen[bytes]
    log: Path


def start_workers(
    sites: Sequence[str],
    concurrency: int,
    broker: str,
    db: str,
    directory: Path,
    pool: str = "threads",
) -> list[Worker]:
    env = {**os.environ, "SHINSA_BROKER": broker, "SHINSA_DB": db}
    started: list[Worker] = []
    for site in sites:
        log = directory / f"worker-{site}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [
                    str(SHINSA),
                    "worker",
                    "--site",
                    site,
                    "--concurrency",
                    str(concurrency),
                    "--pool",
                    pool,
                    "--name",
                    f"{site}@bench",
                    "--no-config",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
                start_new_session=True,
            )
        started.append(Worker(site, proc, log))
    deadline = time.monotonic() + READY_TIMEOUT
    for w in started:
        while " ready." not in w.log.read_text(errors="replace"):
            if w.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker {w.site} not ready: {w.log.read_text()[-3000:]}")
            time.sleep(0.5)
    return started


# -- one run -------------------------------------------------------------------------------


@dataclass
class Sampler:
    """Peaks while a run goes: Redis memory and the database's connections. Its own Redis
    calls are counted, to be taken off the run's commands."""

    redis_server: RedisServer | None
    pg: Postgres
    database: str
    calls: int = 0
    redis_peak: int = 0
    redis_base: int = 0
    connections_peak: int = 0
    queues: Sequence[str] = ()  # the sites' queues on the broker
    queued_peak: int = 0  # tasks waiting on them together
    message_bytes: int = 0  # the largest task message seen waiting
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _used(self, r: redis.Redis) -> int:
        self.calls += 1
        return int(r.info("memory")["used_memory"])

    def _queues(self, r: redis.Redis) -> None:
        waiting = 0
        for q in self.queues:
            waiting += int(r.llen(q))
            oldest = r.lindex(q, -1)
            self.calls += 2
            if isinstance(oldest, bytes):
                self.message_bytes = max(self.message_bytes, len(oldest))
        self.queued_peak = max(self.queued_peak, waiting)

    def _loop(self) -> None:
        r = self.redis_server.client() if self.redis_server else None
        while not self._stop.is_set():
            with contextlib.suppress(redis.RedisError, psycopg.Error):
                if r is not None:
                    self.redis_peak = max(self.redis_peak, self._used(r))
                    self._queues(r)
                self.connections_peak = max(
                    self.connections_peak, self.pg.connections(self.database)
                )
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> Sampler:
        if self.redis_server is not None:
            self.redis_base = self._used(self.redis_server.client())
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


@dataclass
class RunResult:
    name: str
    seconds: float
    exit_code: int
    scan_cpu: float
    scan_rss_mb: float
    cpu: dict[str, float]  # component -> CPU seconds during the run
    pg: dict[str, int]  # pg_stat_database deltas, size and WAL bytes
    tables: dict[str, tuple[int, int]]
    connections_peak: int
    redis: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)  # at the run's end
    run_id: str = ""
    started: float = 0.0  # epoch seconds
    ended: float = 0.0


def run_scan(
    name: str,
    argv: list[str],
    out: Path,
    pg: Postgres,
    database: str,
    components: dict[str, list[int]],
    redis_server: RedisServer | None,
    queues: Sequence[str] = (),
) -> RunResult:
    out.mkdir(parents=True)
    before = pg.stats(database)
    cpu_before = {k: tree_cpu(v) for k, v in components.items()}
    busy_before = machine_busy()
    r = redis_server.client() if redis_server else None
    if r is not None:
        r.config_resetstat()
    cmd = [str(SHINSA), "scan", *argv, "--out", str(out)]
    print(f"  {name}: {' '.join(cmd)}", flush=True)
    log = out / "scan.log"
    with Sampler(redis_server, pg, database, queues=queues) as sampler:
        started_epoch, started = time.time(), time.monotonic()
        with log.open("wb") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=sink, start_new_session=True)
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - started > RUN_TIMEOUT:
                    raise SystemExit(f"{name} timed out after {RUN_TIMEOUT:.0f} s")
                time.sleep(0.05)
        except BaseException:  # timed out, or the bench itself stopped: not left running
            stop_group(proc)
            raise
        seconds = time.monotonic() - started
        ended_epoch = time.time()
    code = os.waitstatus_to_exitcode(status)
    text = log.read_text(encoding="utf-8", errors="replace")
    if code not in OK_CODES or "Traceback" in text:
        raise SystemExit(f"{name} failed ({code}): {text[-3000:]}")
    redis_figures: dict[str, Any] = {}
    if r is not None:
        stats = r.info("stats")
        commands = {
            k.removeprefix("cmdstat_"): int(v["calls"])
            for k, v in r.info("commandstats").items()
            if isinstance(v, dict)
        }
        redis_figures = {
            "commands": int(stats["total_commands_processed"]) - sampler.calls - 1,
            "net_input_bytes": int(stats["total_net_input_bytes"]),
            "net_output_bytes": int(stats["total_net_output_bytes"]),
            "commandstats": commands,
            "used_memory_before": sampler.redis_base,
            "used_memory_peak": sampler.redis_peak,
            "sampler_calls": sampler.calls,
            "queued_peak": sampler.queued_peak,
            "message_bytes": sampler.message_bytes,
        }
    memory = {k: tree_memory(v) for k, v in components.items()}
    time.sleep(2.0)  # idle backends flush their statistics within a second or so
    after = pg.stats(database)
    busy = machine_busy() - busy_before
    cpu = {k: tree_cpu(v) - cpu_before[k] for k, v in components.items()}
    cpu["machine (all processes)"] = busy
    with sqlite3.connect(out / "shinsa.sqlite") as db:
        (run_id,) = db.execute("SELECT id FROM runs").fetchone()
    return RunResult(
        name,
        seconds,
        code,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        cpu,
        {k: after[k] - before[k] for k in after} | {"size_after": after["size"]},
        pg.tables(database),
        sampler.connections_peak,
        redis_figures,
        memory,
        str(run_id),
        started_epoch,
        ended_epoch,
    )


# -- what the runs found ------------------------------------------------------------------


def verdicts(out: Path) -> dict[tuple[str, str, str], str]:
    with sqlite3.connect(out / "shinsa.sqlite") as db:
        rows = db.execute("SELECT address, service_key, check_id, verdict FROM results").fetchall()
    return {(a, s, c): v for a, s, c, v in rows}


def states(out: Path) -> Counter[str]:
    with sqlite3.connect(out / "shinsa.sqlite") as db:
        return Counter(s for (s,) in db.execute("SELECT state FROM targets"))


def spans(out: Path) -> list[float]:
    """Per device, seconds from its first result written to its last (the per-run store)."""
    with sqlite3.connect(out / "shinsa.sqlite") as db:
        rows = db.execute(
            "SELECT address, min(written), max(written) FROM results GROUP BY address"
        )
        return [
            (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
            for _, a, b in rows
        ]


def compare(a: Path, b: Path) -> dict[str, Any]:
    va, vb = verdicts(a), verdicts(b)
    keys = va.keys() | vb.keys()
    differ = {k for k in keys if va.get(k) != vb.get(k)}
    pairs = Counter((k[2], va.get(k, "-"), vb.get(k, "-")) for k in differ)
    devices = Counter(k[0] for k in differ)
    return {
        "results_inproc": len(va),
        "results_sites": len(vb),
        "same": len(keys) - len(differ),
        "differ": len(differ),
        "devices_differing": len(devices),
        "by_check": [[c, x, y, n] for (c, x, y), n in pairs.most_common()],
        "verdicts_inproc": dict(Counter(va.values())),
        "verdicts_sites": dict(Counter(vb.values())),
    }


_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/([\w-]+)\] (.*)$")
_SUCCEEDED = re.compile(r"succeeded in ([0-9.]+)s: '([^']*)'")
_PACKET = re.compile(r"^[a-z0-9-]+ (\d+\.\d+\.\d+\.\d+)[: ]")  # "tcp 127.0.100.3:21 connected"


@dataclass
class Task:
    """One task in a pool process, from the worker's log (Celery's lines, and the engine's
    INFO line for each connection or request, which names the device)."""

    process: str
    start: float  # epoch seconds
    end: float
    outcome: str
    address: str = ""
    first_packet: float = 0.0


def tasks_of(log: Path) -> list[Task]:
    events: dict[str, list[tuple[float, str]]] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        when = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # local
        events.setdefault(m.group(2), []).append((when, m.group(3)))
    found: list[Task] = []
    for process, lines in events.items():
        if not process.startswith("ForkPoolWorker"):
            continue
        process = f"{log.stem}/{process}"  # the pool's names repeat from worker to worker
        mine: list[Task] = []
        for when, text in lines:
            done = _SUCCEEDED.search(text)
            if done is not None:
                mine.append(Task(process, when - float(done.group(1)), when, done.group(2)))
        for when, text in lines:  # the first line naming a device inside a task's time
            hit = _PACKET.match(text)
            if hit is None:
                continue
            for task in mine:
                if task.start <= when <= task.end and not task.address:
                    task.address, task.first_packet = hit.group(1), when
                    break
        found.extend(mine)
    return found


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def where_time_went(
    run: RunResult, pg: Postgres, database: str, workers: Sequence[Worker], slots: int
) -> dict[str, Any]:
    """The distributed run's time: per task, from the workers' logs and the central tables
    (when each device's results landed, when its task row settled)."""
    rows = pg.query(
        "SELECT t.address, t.site, t.state, t.worker, t.attempts, "
        "extract(epoch FROM t.updated), min(extract(epoch FROM r.landed)), "
        "max(extract(epoch FROM r.landed)), count(r.check_id), coalesce(sum(r.written), 0) "
        "FROM site_tasks t LEFT JOIN site_results r "
        "ON r.run_id = t.run_id AND r.address = t.address "
        "WHERE t.run_id = %s GROUP BY t.address, t.site, t.state, t.worker, t.attempts, t.updated",
        (run.run_id,),
        database,
    )
    central = {str(r[0]): r for r in rows}
    wrong_site = [r[0] for r in rows if not str(r[3]).startswith(f"{r[1]}@")]
    tasks = [t for w in workers for t in tasks_of(w.log)]
    retries = sum(w.log.read_text(errors="replace").count(" retry: ") for w in workers)
    # per task: before its first logged packet (the request rebuilt, the per-task store,
    # discovery of the one device), its results landing, after the last one landed (the
    # task row settled, the store closed)
    setup: list[float] = []
    scanning: list[float] = []
    after: list[float] = []
    first_setup: list[float] = []
    later_setup: list[float] = []
    gaps: list[float] = []
    by_process: dict[str, list[Task]] = {}
    for t in tasks:
        by_process.setdefault(t.process, []).append(t)
    for process_tasks in by_process.values():
        process_tasks.sort(key=lambda t: t.start)
        for k, t in enumerate(process_tasks):
            if k:
                gaps.append(t.start - process_tasks[k - 1].end)
            row = central.get(t.address)
            if not t.address or row is None or row[6] is None:
                continue
            setup.append(t.first_packet - t.start)
            (later_setup if k else first_setup).append(t.first_packet - t.start)
            scanning.append(float(row[7]) - t.first_packet)
            after.append(t.end - float(row[7]))
    durations = [t.end - t.start for t in tasks]
    settled = [float(r[5]) for r in rows]
    first_start = min((t.start for t in tasks), default=run.started)
    found: dict[str, Any] = {
        "tasks": len(rows),
        "task_states": dict(Counter(str(r[2]) for r in rows)),
        "attempts_over_1": sum(1 for r in rows if int(r[4]) > 1),
        "wrong_site": wrong_site,
        "results_rows": sum(int(r[8]) for r in rows),
        "results_writes": sum(int(r[9]) for r in rows),
        "celery_tasks_logged": len(tasks),
        "celery_outcomes": dict(Counter(t.outcome for t in tasks)),
        "retries": retries,
        "pool_processes_used": len(by_process),
        "task_seconds_mean": _mean(durations),
        "task_seconds_median": statistics.median(durations) if durations else 0.0,
        "task_seconds_sum": sum(durations),
        "setup_to_first_packet_mean": _mean(setup),
        "setup_first_task_of_process_mean": _mean(first_setup),
        "setup_later_tasks_mean": _mean(later_setup),
        "first_packet_to_last_landed_mean": _mean(scanning),
        "last_landed_to_task_end_mean": _mean(after),
        "gap_between_tasks_mean": _mean(gaps),
        "pool_use": sum(durations) / (slots * run.seconds),
        "scan_start_to_first_task": first_start - run.started,
        "last_settled_to_scan_end": run.ended - max(settled, default=run.ended),
        "landed_span_mean": _mean([float(r[7]) - float(r[6]) for r in rows if r[6] is not None]),
    }
    if not tasks:
        # a worker logs a task's lines only at INFO, which the threads pool's workers no
        # longer write (scanner/sites/worker.py): the log-read figures would all read 0
        logged = ("celery_", "pool_", "task_seconds", "setup_", "first_packet", "last_landed_t")
        found = {k: v for k, v in found.items() if not k.startswith(logged)}
        found.pop("gap_between_tasks_mean", None)
        found.pop("scan_start_to_first_task", None)
        found["per_task_figures"] = "none: the workers' logs have no per-task lines"
    return found


def inproc_timing(run: RunResult, out: Path) -> dict[str, float]:
    """The in-process run's time: its first and last result, per-device spans."""
    with sqlite3.connect(out / "shinsa.sqlite") as db:
        first, last = db.execute("SELECT min(written), max(written) FROM results").fetchone()
    return {
        "scan_start_to_first_result": datetime.fromisoformat(first).timestamp() - run.started,
        "last_result_to_scan_end": run.ended - datetime.fromisoformat(last).timestamp(),
        "device_span_mean": _mean(spans(out)),
    }


# -- the bench ----------------------------------------------------------------------------


def per_device(value: float, devices: int) -> float:
    return value / devices if devices else 0.0


def report(
    runs: dict[str, RunResult],
    devices: int,
    same: dict[str, Any],
    time_went: dict[str, Any],
    idle: dict[str, float],
    inproc: dict[str, float],
) -> None:
    print("\n| path | wall s | devices/min | scan proc CPU s | peak RSS MB | exit |")
    print("|---|---|---|---|---|---|")
    for r in runs.values():
        print(
            f"| {r.name} | {r.seconds:.1f} | {60 * devices / r.seconds:,.0f} | "
            f"{r.scan_cpu:.1f} | {r.scan_rss_mb:.0f} | {r.exit_code} |"
        )
    if "inproc" in runs and "sites" in runs:
        ratio = runs["sites"].seconds / runs["inproc"].seconds
        print(f"\nratio sites / inproc wall time: **{ratio:.2f}**")
    print("\nCPU seconds during each run, per component:")
    names = sorted({k for r in runs.values() for k in r.cpu})
    print("| component | " + " | ".join(runs) + " |")
    print("|---|" + "---|" * len(runs))
    for k in names:
        print(f"| {k} | " + " | ".join(f"{r.cpu.get(k, 0.0):.1f}" for r in runs.values()) + " |")
    print("\nMemory at each run's end (processes, RSS MB, PSS MB):")
    for r in runs.values():
        print(
            f"  {r.name}: "
            + ", ".join(
                f"{k} {m['processes']:.0f} / {m['rss_mb']:.0f} / {m['pss_mb']:.0f}"
                for k, m in sorted(r.memory.items())
            )
        )
    print("\nPostgreSQL per device (pg_stat_database deltas of the run's own database):")
    keys = ["xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted"]
    keys += ["tup_returned", "tup_fetched"]
    print("| per device | " + " | ".join(runs) + " |")
    print("|---|" + "---|" * len(runs))
    for k in keys:
        print(
            f"| {k} | "
            + " | ".join(f"{per_device(r.pg[k], devices):.1f}" for r in runs.values())
            + " |"
        )
    for k, label in (("size", "database bytes"), ("wal", "WAL bytes")):
        print(
            f"| {label} | "
            + " | ".join(f"{per_device(r.pg[k], devices):,.0f}" for r in runs.values())
            + " |"
        )
    print(
        "| peak connections | " + " | ".join(str(r.connections_peak) for r in runs.values()) + " |"
    )
    for r in runs.values():
        big = sorted(r.tables.items(), key=lambda kv: -kv[1][1])[:8]
        print(
            f"  {r.name} tables (rows, bytes after): "
            + ", ".join(f"{t} {n:,} / {b / 1e6:.1f} MB" for t, (n, b) in big)
        )
    if "sites" in runs:
        rf = runs["sites"].redis
        cmds = rf["commands"]
        idle_cmds = idle["commands_per_s"] * runs["sites"].seconds
        net = per_device(cmds - idle_cmds, devices)
        print("\nRedis, distributed run:")
        print(
            f"  commands {cmds:,} ({per_device(cmds, devices):.1f}/device); the idle workers "
            f"make {idle['commands_per_s']:.1f}/s, {idle_cmds:,.0f} over the run: net "
            f"{net:.1f}/device"
        )
        bytes_in, bytes_out = rf["net_input_bytes"], rf["net_output_bytes"]
        print(
            f"  bytes in {bytes_in:,} ({per_device(bytes_in, devices):,.0f}/device), "
            f"out {bytes_out:,} ({per_device(bytes_out, devices):,.0f}/device)"
        )
        print(
            f"  used_memory {rf['used_memory_before'] / 1e6:.1f} MB before, peak "
            f"{rf['used_memory_peak'] / 1e6:.1f} MB (sampled every {SAMPLE_SECONDS:g} s); "
            f"at most {rf['queued_peak']:,} tasks waiting, a task message {rf['message_bytes']:,} B"
        )
        top = sorted(rf["commandstats"].items(), key=lambda kv: -kv[1])[:12]
        print("  by command: " + ", ".join(f"{k} {v:,}" for k, v in top))
        print("\nwhere the distributed run's time went:")
        for k, v in time_went.items():
            print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
    print("\nwhere the in-process run's time went:")
    for k, v in inproc.items():
        print(f"  {k}: {v:.3f}")
    print(
        f"\nverdicts per (device, service, check): {same['same']:,} the same, "
        f"{same['differ']:,} differ on {same['devices_differing']} device(s) "
        f"(inproc {same['results_inproc']:,} results, sites {same['results_sites']:,})"
    )
    for c, x, y, n in same["by_check"][:15]:
        print(f"  {c}: {x} -> {y} x{n}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16, help="devices at once per worker")
    parser.add_argument("--site-batch", type=int, default=8, help="devices per task")
    parser.add_argument(
        "--pool", choices=("threads", "prefork"), default="threads", help="the workers' pool"
    )
    parser.add_argument("--ports", default=DEFAULT_PORTS)
    parser.add_argument("--order", default="inproc,sites", help="which run first")
    parser.add_argument("--personality", action="append", default=[], help="(default: all)")
    parser.add_argument("--pg-fast", action="store_true", help="fsync off (as the tests)")
    parser.add_argument("--workdir", type=Path, help="keep logs, stores and reports here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    if not SHINSA.exists():
        raise SystemExit(f"{SHINSA} not found: install shinsa into this venv first")
    if not 1 <= args.devices <= PER_LAB * 8:
        raise SystemExit(f"--devices: 1 to {PER_LAB * 8} ({LAB_ALLOW})")
    ports = parse_ports(args.ports)
    if MACHINE_PORT in ports.tcp or MACHINE_PORT in ports.udp:
        raise SystemExit(f"port {MACHINE_PORT} is never probed")
    order = [o.strip() for o in args.order.split(",")]
    if sorted(order) != ["inproc", "sites"]:
        raise SystemExit("--order: inproc,sites or sites,inproc")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally blocks clean up
    work = args.workdir or Path(tempfile.mkdtemp(prefix="shinsa-bench-sites-"))
    if any((work / name).exists() for name in order):
        raise SystemExit(f"{work} holds an earlier run's results: give a new --workdir")
    work.mkdir(parents=True, exist_ok=True)
    sites = sorted({site_of(i, args.devices, args.sites) for i in range(args.devices)})
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            stack.callback(shutil.rmtree, work, ignore_errors=True)
        pg_root = Path(tempfile.mkdtemp(prefix="shinsa-bench-pg-"))
        pg_root.chmod(0o700)
        stack.callback(shutil.rmtree, pg_root, ignore_errors=True)
        pg = Postgres(pg_root, durable=not args.pg_fast)
        pg.start()
        stack.callback(pg.stop)
        # the suite's own Redis fixture: append-only, its files in the work directory
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from tests.sites.cluster import redis_server

        broker = stack.enter_context(redis_server(work / "redis", INFRA_HOST))
        dbs = {name: pg.create(name) for name in order}
        print(
            f"{args.devices} devices over {len(sites)} sites, ports {args.ports}, workers "
            f"--concurrency {args.concurrency}, --site-batch {args.site_batch}; Redis "
            f"{broker.url}, PostgreSQL {pg.url()} "
            f"({'fsync off' if args.pg_fast else 'default durability'}); {work}",
            flush=True,
        )
        labs = Labs(work, args.devices, args.personality)
        stack.callback(labs.down)
        workers: list[Worker] = []
        stack.callback(lambda: _stop_all(workers))
        runs: dict[str, RunResult] = {}
        idle: dict[str, float] = {}
        for name in order:
            addresses = labs.up()
            targets = work / "targets.txt"
            targets.write_text(
                "".join(
                    f"{a} d{i:04d} site={site_of(i, len(addresses), args.sites)}\n"
                    for i, a in enumerate(addresses)
                ),
                encoding="utf-8",
            )
            argv = [f"@{targets}", "--allow", LAB_ALLOW, "--ports", args.ports,
                    "--site", sites[0], "--db", dbs[name], "--format", "json", "-q",
                    "--no-config"]  # fmt: skip
            components = {"labs": labs.pids(), "postgresql": [pg.postmaster()]}
            if name == "sites":
                workers.extend(
                    start_workers(sites, args.concurrency, broker.url, dbs[name], work, args.pool)
                )
                components["workers"] = [w.proc.pid for w in workers]
                assert broker.proc is not None
                components["redis"] = [broker.proc.pid]
                r = broker.client()
                r.config_resetstat()
                time.sleep(IDLE_SECONDS)
                idle["commands_per_s"] = (
                    int(r.info("stats")["total_commands_processed"]) / IDLE_SECONDS
                )
                argv += ["--broker", broker.url, "--site-batch", str(args.site_batch)]
            runs[name] = run_scan(
                name,
                argv,
                work / name,
                pg,
                name,
                components,
                broker if name == "sites" else None,
                [f"shinsa.site.{site}" for site in sites] if name == "sites" else [],
            )
            print(f"  {name}: {runs[name].seconds:.1f} s, exit {runs[name].exit_code}", flush=True)
            labs.down()
        slots = len(sites) * args.concurrency
        time_went = where_time_went(runs["sites"], pg, "sites", workers, slots)
        for w in workers:
            stop_group(w.proc)
        same = compare(work / "inproc", work / "sites")
        inproc = inproc_timing(runs["inproc"], work / "inproc")
        report(runs, args.devices, same, time_went, idle, inproc)
        for k in ("inproc", "sites"):
            print(f"  device states {k}: {dict(states(work / k))}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "devices": args.devices,
                        "sites": sites,
                        "concurrency": args.concurrency,
                        "site_batch": args.site_batch,
                        "pool": args.pool,
                        "ports": args.ports,
                        "pg_durable": not args.pg_fast,
                        "runs": {k: asdict(v) for k, v in runs.items()},
                        "idle": idle,
                        "compare": same,
                        "time_went": time_went,
                        "inproc_timing": inproc,
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
        ok = not time_went["wrong_site"]
        if not ok:
            print(f"!! devices scanned by another site's worker: {time_went['wrong_site'][:10]}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
