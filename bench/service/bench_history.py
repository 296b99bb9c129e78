"""Service history: do the fleet overview and a device page stay fast as history grows?
(issue 14 #10)

    .venv/bin/python bench/service/bench_history.py [--devices 1000] [--runs 36,365]
        [--results 6] [--services 3] [--statuses 6] [--fleet-rounds 60]
        [--device-rounds 200] [--http] [--postgres] [--keep DIR] [--json FILE]

Writes a synthetic history straight into a fresh service database, the rows the importer
(scanner/service/importer.py) writes for a run: one `runs` row with its pre-aggregated
summary, per device one `run_devices` row (worst severity, counts by verdict and severity,
requirement status counts, services, identity), `--results` results (about a third failed,
with a result_to_dict-shaped JSON body), `--services` services and `--statuses`
requirement statuses; a few drift rows per run; `devices.last_run_id` moved to the newest
run as the importer does; one run accepted as the site's baseline. One transaction per
run, executemany in batches. Runs are one day apart.

One database per size of `--runs`, each written from scratch; then it measures
`scanner.service.views.fleet(engine)` and `views.device(engine, id)` on all of them
interleaved round by round (the same random device in each database per round, fixed
seed), after a few warm-up calls, so that the load of a shared machine falls on every size
alike: p50 and p95 in ms, and the database size per run (SQLite: pages after a WAL
checkpoint; PostgreSQL: pg_database_size). No ANALYZE is run:
the service does not run one either. Required (issue 14 #10): p95 at the largest size at
most 2x the p95 at the smallest, for both views. Exit code 1 if not.

`--http` measures the same pages through the API too (GET /api/v1/fleet and
/api/v1/devices/ID in-process over ASGI with a viewer token: authentication and JSON
included). `--postgres` starts a throwaway PostgreSQL cluster (Debian's binaries, as the
service tests do), one database per size, and measures on it; the default is SQLite
files in a temporary directory (`--keep DIR` keeps them). The schema is made by the
migrations (scanner/service/migrate.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scanner.service import schema as t
from scanner.service import views
from scanner.service.db import open_db

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MAX_RATIO = 2.0
SITE = "plant-1"
START = datetime(2025, 1, 1, 2, 0, tzinfo=UTC)

# (check ID, severity, service or "" device-level): real built-in checks, so titles resolve
CHECKS = (
    ("creds.default.ssh", "critical", "tcp/22"),
    ("ssh.kex", "medium", "tcp/22"),
    ("ssh.ciphers", "medium", "tcp/22"),
    ("web.hsts", "low", "tcp/443"),
    ("tls.versions", "medium", "tcp/443"),
    ("tls.cert.validity", "medium", "tcp/443"),
    ("session.cookie-flags", "medium", "tcp/443"),
    ("web.login.cleartext", "high", "tcp/80"),
    ("services.unexpected", "medium", ""),
    ("banner.login-notice", "info", "tcp/22"),
    ("auth.lockout", "high", "tcp/443"),
    ("creds.default.telnet", "critical", "tcp/23"),
)
SERVICES = (
    ("tcp", 22, "ssh"),
    ("tcp", 443, "https"),
    ("tcp", 80, "http"),
    ("tcp", 23, "telnet"),
    ("udp", 161, "snmp"),
    ("tcp", 502, "modbus"),
)
FRAMEWORKS = ("iec62443-4-2", "etsi-en-303-645")
STATUSES = ("satisfied", "not_satisfied", "partially_assessed", "not_assessed")
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
DRIFT_PER_RUN = 10


@dataclass(frozen=True, slots=True)
class Sizes:
    devices: int
    results: int
    services: int
    statuses: int


@dataclass(frozen=True, slots=True)
class Measured:
    runs: int
    fleet_p50_ms: float
    fleet_p95_ms: float
    device_p50_ms: float
    device_p95_ms: float
    db_bytes: int
    bytes_per_run: float
    write_seconds: float  # time to write this history


def run_id(day: int) -> str:
    return f"run-{day:04d}"


def make_devices(engine: sa.Engine, n: int) -> None:
    rows = [
        {
            "id": i,
            "site": SITE,
            "address": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
            "label": f"dev-{i:05d}",
            "mac": f"02:00:00:{i // 65536:02x}:{i // 256 % 256:02x}:{i % 256:02x}",
            "vendor": ("Acme", "Globex", "Initech")[i % 3],
            "model": f"M-{i % 17}",
            "firmware": f"{i % 5}.{i % 7}.{i % 3}",
            "first_seen": START,
            "last_seen": START,
            "last_run_id": None,
        }
        for i in range(1, n + 1)
    ]
    with engine.begin() as conn:
        conn.execute(t.devices.insert(), rows)


def result_body(check: str, service: str, verdict: str, address: str) -> dict[str, Any]:
    """A body shaped like scanner.codec.result_to_dict's (size matters for DB size)."""
    transport, _, port = service.partition("/")
    return {
        "check_id": check,
        "target": address,
        "service": {"transport": transport, "port": int(port), "protocol": "x", "banner": ""}
        if service
        else None,
        "verdict": verdict,
        "reason": f"{check} {verdict}: the device answered as configured in the lab profile",
        "reason_ja": f"{check} は {verdict} です。機器の応答を確認しました",
        "evidence": [{"kind": "observation", "summary": "what the probe saw", "details": {"n": 1}}],
        "started": "2025-01-01T02:00:00+00:00",
        "duration": 0.25,
    }


def write_run(engine: sa.Engine, day: int, sizes: Sizes, rng: random.Random) -> None:
    """One run of every device, as import_run writes it (one transaction)."""
    rid = run_id(day)
    started = START + timedelta(days=day)
    rd_rows, result_rows, service_rows, status_rows = [], [], [], []
    totals: dict[str, int] = {}
    statuses_all: dict[str, dict[str, int]] = {}
    for dev in range(1, sizes.devices + 1):
        address = f"10.{dev // 65536}.{dev // 256 % 256}.{dev % 256}"
        unreachable = rng.random() < 0.01
        verdicts: dict[str, int] = {}
        severities: dict[str, int] = {}
        worst = -1
        if not unreachable:
            for k in range(sizes.results):
                check, severity, service = CHECKS[(dev + k) % len(CHECKS)]
                verdict = "fail" if rng.random() < 0.33 else "pass"
                verdicts[verdict] = verdicts.get(verdict, 0) + 1
                if verdict == "fail":
                    severities[severity] = severities.get(severity, 0) + 1
                    worst = max(worst, SEVERITY_RANK[severity])
                result_rows.append(
                    {
                        "run_id": rid,
                        "device_id": dev,
                        "service_key": service,
                        "check_id": check,
                        "verdict": verdict,
                        "severity": severity if verdict == "fail" else "",
                        "data": result_body(check, service, verdict, address),
                    }
                )
            for k in range(sizes.services):
                transport, port, proto = SERVICES[(dev + k) % len(SERVICES)]
                service_rows.append(
                    {
                        "run_id": rid,
                        "device_id": dev,
                        "transport": transport,
                        "port": port,
                        "protocol": proto,
                        "data": {"transport": transport, "port": port, "protocol": proto},
                    }
                )
        statuses: dict[str, dict[str, int]] = {}
        if not unreachable:
            for k in range(sizes.statuses):
                fw = FRAMEWORKS[k % len(FRAMEWORKS)]
                status = rng.choice(STATUSES)
                statuses.setdefault(fw, {})
                statuses[fw][status] = statuses[fw].get(status, 0) + 1
                status_rows.append(
                    {
                        "run_id": rid,
                        "device_id": dev,
                        "framework": fw,
                        "requirement": f"CR {k // 2 + 1}.{k % 2 + 1}",
                        "status": status,
                    }
                )
        for key, n in (*verdicts.items(), *severities.items()):
            totals[key] = totals.get(key, 0) + n
        for fw, counts in statuses.items():
            into = statuses_all.setdefault(fw, {})
            for s, n in counts.items():
                into[s] = into.get(s, 0) + n
        services = [
            f"{tr}/{p} {pr}"
            for tr, p, pr in (
                SERVICES[(dev + k) % len(SERVICES)]
                for k in range(0 if unreachable else sizes.services)
            )
        ]
        rd_rows.append(
            {
                "run_id": rid,
                "device_id": dev,
                "address": address,
                "label": f"dev-{dev:05d}",
                "state": "failed" if unreachable else "done",
                "reason": "no answer" if unreachable else "",
                "reason_ja": "応答なし" if unreachable else "",
                "worst_severity": ("info", "low", "medium", "high", "critical")[worst]
                if worst >= 0
                else "",
                "worst_rank": worst,
                "summary": {
                    "verdicts": verdicts,
                    "severities": severities,
                    "statuses": statuses,
                    "services": services,
                    "identity": {"ssh-hostkey": f"SHA256:{dev:040x}"},
                },
                "started": started,
            }
        )
    drift_rows: list[dict[str, Any]] = [
        {
            "run_id": rid,
            "device_id": rng.randint(1, sizes.devices),
            "against": ("baseline", "previous")[k % 2],
            "against_run_id": run_id(0) if k % 2 == 0 else run_id(max(0, day - 1)),
            "kind": ("new_failure", "fixed", "service_opened")[k % 3],
            "subject": CHECKS[k % len(CHECKS)][0],
            "before": "pass",
            "after": "fail",
            "severity": CHECKS[k % len(CHECKS)][1],
            "detail": {},
        }
        for k in range(DRIFT_PER_RUN)
    ]
    summary: dict[str, Any] = dict(totals)
    summary["statuses"] = statuses_all
    summary["devices"] = sizes.devices
    with engine.begin() as conn:
        conn.execute(
            t.runs.insert().values(
                id=rid,
                site=SITE,
                trigger="schedule",
                started=started,
                finished=started + timedelta(minutes=40),
                status="complete",
                profile_id="base",
                profile_digest="sha256:bench",
                scanner_version="bench",
                request={"targets": ["10.0.0.0/22"], "profile": "base"},
                devices_total=sizes.devices,
                devices_done=sizes.devices,
                summary=summary,
                imported=started + timedelta(minutes=41),
            )
        )
        for table, rows in (
            (t.run_devices, rd_rows),
            (t.results, result_rows),
            (t.services, service_rows),
            (t.requirement_status, status_rows),
            (t.drift, drift_rows),
        ):
            for i in range(0, len(rows), 5000):
                conn.execute(table.insert(), rows[i : i + 5000])
        conn.execute(t.devices.update().values(last_run_id=rid, last_seen=started))
        if day == 0:
            conn.execute(
                t.baselines.insert().values(
                    name="default",
                    site=SITE,
                    run_id=rid,
                    device_id=None,
                    accepted=started,
                    accepted_by="bench",
                    active=True,
                )
            )


def db_bytes(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return int(pages) * int(size)
        return int(
            conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
        )


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in ms (nearest rank)."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


@dataclass(frozen=True, slots=True)
class History:
    """One database holding `runs` runs of history."""

    runs: int
    engine: sa.Engine
    db_bytes: int
    write_seconds: float


def measure(
    histories: list[History], sizes: Sizes, fleet_rounds: int, device_rounds: int
) -> list[tuple[float, float, float, float]]:
    """p50/p95 of views.fleet and views.device on every history, interleaved round by
    round (the same device in each database per round), so that the load of a shared
    machine falls on every size alike."""
    rng = random.Random(14)
    for h in histories:
        for _ in range(3):  # warm-up: caches, the check titles, the connection pool
            views.fleet(h.engine)
            views.device(h.engine, 1)
    fleet: list[list[float]] = [[] for _ in histories]
    device: list[list[float]] = [[] for _ in histories]
    for _ in range(fleet_rounds):
        for i, h in enumerate(histories):
            began = time.perf_counter()
            page = views.fleet(h.engine)
            fleet[i].append(time.perf_counter() - began)
            assert len(page.devices) == sizes.devices
    for _ in range(device_rounds):
        dev = rng.randint(1, sizes.devices)
        for i, h in enumerate(histories):
            began = time.perf_counter()
            got = views.device(h.engine, dev)
            device[i].append(time.perf_counter() - began)
            assert got is not None
            assert got.history
    return [(*percentiles(f), *percentiles(d)) for f, d in zip(fleet, device, strict=True)]


def measure_http(
    histories: list[History], sizes: Sizes, fleet_rounds: int, device_rounds: int
) -> list[tuple[float, float, float, float]]:
    """The same through the API (GET /api/v1/fleet, /api/v1/devices/ID) in-process over
    ASGI with a viewer token: authentication and JSON encoding included, no socket."""
    import asyncio

    import httpx

    from scanner.service import auth
    from scanner.service.app import create_app
    from scanner.service.config import ServiceConfig

    apps = []
    for h in histories:
        with h.engine.begin() as conn:
            conn.execute(t.api_tokens.delete().where(t.api_tokens.c.name == "bench"))
            token = auth.add_token(conn, "bench", "viewer", actor="bench")
        apps.append((create_app(ServiceConfig(db_url="sqlite://"), engine=h.engine), token))

    async def go() -> list[tuple[float, float, float, float]]:
        rng = random.Random(14)
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app),
                        base_url="http://bench",
                        headers={"authorization": f"Bearer {token}"},
                        timeout=60,
                    )
                )
                for app, token in apps
            ]

            async def timed(client: httpx.AsyncClient, path: str) -> float:
                began = time.perf_counter()
                r = await client.get(path)
                took = time.perf_counter() - began
                assert r.status_code == 200, r.text[:200]
                return took

            for client in clients:
                for _ in range(3):
                    await timed(client, "/api/v1/fleet")
            fleet: list[list[float]] = [[] for _ in clients]
            device: list[list[float]] = [[] for _ in clients]
            for _ in range(fleet_rounds):
                for i, client in enumerate(clients):
                    fleet[i].append(await timed(client, "/api/v1/fleet"))
            for _ in range(device_rounds):
                path = f"/api/v1/devices/{rng.randint(1, sizes.devices)}"
                for i, client in enumerate(clients):
                    device[i].append(await timed(client, path))
        return [(*percentiles(f), *percentiles(d)) for f, d in zip(fleet, device, strict=True)]

    return asyncio.run(go())


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Callable[[], str]]:
    """A PostgreSQL cluster made for this run and deleted after it (the service tests'
    helper: Debian's binaries, loopback only, a kernel-picked port); yields a maker of
    fresh databases."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.service.postgres import Cluster, make_root, remove_root

    root = make_root()
    cluster = Cluster(root)
    try:
        cluster.start()
        yield lambda: cluster.url(cluster.create_database())
    finally:
        try:
            cluster.stop()
        finally:
            remove_root(root)


def create_schema(engine: sa.Engine) -> None:
    try:
        from scanner.service import migrate
    except ImportError:
        t.metadata.create_all(engine)
    else:
        migrate.upgrade(engine)


def build(url: str, runs: int, sizes: Sizes) -> History:
    """A database at `url` with `runs` runs of history."""
    engine = open_db(url)
    create_schema(engine)
    make_devices(engine, sizes.devices)
    rng = random.Random(7)
    began = time.perf_counter()
    for day in range(runs):
        write_run(engine, day, sizes, rng)
    return History(runs, engine, db_bytes(engine), time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--runs", default="36,365", help="sizes of the history")
    parser.add_argument("--results", type=int, default=6, help="results per device per run")
    parser.add_argument("--services", type=int, default=3, help="services per device per run")
    parser.add_argument("--statuses", type=int, default=6, help="requirement statuses per")
    parser.add_argument("--fleet-rounds", type=int, default=60)
    parser.add_argument("--device-rounds", type=int, default=200)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL cluster (tests/service/postgres.py) and use it",
    )
    parser.add_argument("--keep", type=Path, help="keep the SQLite databases in this directory")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument(
        "--http", action="store_true", help="measure GET /api/v1/fleet and /devices/ID too"
    )
    args = parser.parse_args(argv)
    sizes_of_history = sorted({int(n) for n in args.runs.split(",")})
    sizes = Sizes(args.devices, args.results, args.services, args.statuses)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="shinsa-bench-"))
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        new_pg = stack.enter_context(throwaway_postgres()) if args.postgres else None
        histories: list[History] = []
        for runs in sizes_of_history:
            url = new_pg() if new_pg else f"sqlite:///{folder / f'history-{runs}.sqlite'}"
            h = build(url, runs, sizes)
            stack.callback(h.engine.dispose)
            histories.append(h)
            print(
                f"{runs:4d} runs written in {h.write_seconds:6.1f} s: "
                f"DB {h.db_bytes / 1e6:8.1f} MB, {h.db_bytes / runs / 1e6:5.2f} MB/run",
                flush=True,
            )
        direct = measure(histories, sizes, args.fleet_rounds, args.device_rounds)
        http = (
            measure_http(histories, sizes, args.fleet_rounds, args.device_rounds)
            if args.http
            else []
        )
    figures = [
        Measured(h.runs, *m, h.db_bytes, h.db_bytes / h.runs, h.write_seconds)
        for h, m in zip(histories, direct, strict=True)
    ]
    for f in figures:
        print(
            f"{f.runs:4d} runs: fleet p50 {f.fleet_p50_ms:7.2f} ms p95 {f.fleet_p95_ms:7.2f} ms"
            f" | device p50 {f.device_p50_ms:6.2f} ms p95 {f.device_p95_ms:6.2f} ms"
        )
    for h, m in zip(histories, http, strict=False):
        print(
            f"{h.runs:4d} runs over HTTP (ASGI): fleet p50 {m[0]:7.2f} ms p95 {m[1]:7.2f} ms"
            f" | device p50 {m[2]:6.2f} ms p95 {m[3]:6.2f} ms"
        )
    first, last = figures[0], figures[-1]
    fleet_ratio = last.fleet_p95_ms / first.fleet_p95_ms
    device_ratio = last.device_p95_ms / first.device_p95_ms
    marginal = (last.db_bytes - first.db_bytes) / max(1, last.runs - first.runs)
    print(
        f"p95 ratio {last.runs}/{first.runs} runs: fleet {fleet_ratio:.2f}x, "
        f"device {device_ratio:.2f}x (required <= {MAX_RATIO}x); "
        f"marginal DB size {marginal / 1e6:.2f} MB per run"
    )
    ok = fleet_ratio <= MAX_RATIO and device_ratio <= MAX_RATIO
    ratios: dict[str, float] = {"fleet": fleet_ratio, "device": device_ratio}
    if http:
        ratios["http_fleet"] = http[-1][1] / http[0][1]
        ratios["http_device"] = http[-1][3] / http[0][3]
        print(
            f"HTTP p95 ratio: fleet {ratios['http_fleet']:.2f}x, "
            f"device {ratios['http_device']:.2f}x"
        )
        ok = ok and ratios["http_fleet"] <= MAX_RATIO and ratios["http_device"] <= MAX_RATIO
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "dialect": "postgresql" if args.postgres else "sqlite",
                    "sizes": asdict(sizes),
                    "figures": [asdict(f) for f in figures],
                    "http": http,
                    "ratios": ratios,
                    "marginal_bytes_per_run": marginal,
                },
                indent=2,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
