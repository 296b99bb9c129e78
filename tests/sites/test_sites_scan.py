"""`shinsa scan --broker URL --site NAME` against lab devices, scanned by real `shinsa
worker` processes over Debian's redis-server: the same verdicts as a local scan, every
result landing once, a site without workers reported pending, versions and sites refused,
`celery inspect` and Flower seeing the workers.

Addresses: 127.0.98.0/24 (Redis .1, lab devices .10 onwards)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from lab.personality import load_builtin
from scanner import __version__
from scanner.service.db import open_db, utc
from scanner.sites import central, keys
from scanner.sites.app import make_app
from scanner.sites.pace import SharedPacer
from scanner.sites.tasks import Job
from tests.service.store_runs import running
from tests.sites.cluster import free_port
from tests.sites.runs import (
    central_results,
    finish,
    log_of,
    ports,
    report,
    start_scan,
    targets_of,
    tasks,
    verdicts,
    wait_for,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from lab.device import Lab
    from tests.sites.cluster import RedisServer, Workers

pytestmark = pytest.mark.slow

FIRST = "127.0.98.10"
DEVICES = ("changed-password-camera", "always-200-portal", "lockout-camera")


@pytest.fixture
def lab() -> Iterator[Lab]:
    with running([load_builtin(n) for n in DEVICES], FIRST) as started:
        yield started


def test_a_run_on_a_site_gives_the_local_verdicts_and_lands_each_result_once(
    lab: Lab, broker: RedisServer, central_db: str, site_workers: Workers, tmp_path: Path
) -> None:
    # Given two workers of site "lab" (a site can have several)
    site_workers.start("lab", concurrency=1)
    site_workers.start("lab", concurrency=1)
    addresses = [d.address for d in lab.devices]
    # When the devices are scanned by the site (two tasks: two devices scanned together,
    # and one alone), then from this machine
    on_site = tmp_path / "on-site"
    code, run_id = finish(
        start_scan(
            addresses,
            on_site,
            "--ports",
            ports(lab),
            "--broker",
            broker.url,
            "--site",
            "lab",
            "--site-batch",
            "2",
            env={"SHINSA_DB": central_db},
        ),
        on_site,
    )
    local = tmp_path / "local"
    local_code, _ = finish(start_scan(addresses, local, "--ports", ports(lab)), local)
    # Then the verdicts are the local scan's, check for check, and so is the exit code
    found = verdicts(on_site)
    assert found, log_of(on_site)
    assert found == verdicts(local)
    assert code == local_code
    assert all(state == "done" for state, _ in targets_of(on_site).values())
    # every device was taken once; every result landed once in the central store
    rows = tasks(central_db, run_id)
    assert set(rows) == set(addresses)
    assert {r.state for r in rows.values()} == {"done"}
    assert {r.attempts for r in rows.values()} == {1}
    landed = central_results(central_db, run_id)
    assert len(landed) == len(found)
    assert {r.written for r in landed} == {1}
    # and both workers took part or one took all: each device names the worker that did it
    assert {r.worker for r in rows.values()} <= {w.name for w in site_workers.started}
    # the report is the local scan's kind of report, with every device
    devices = report(on_site, run_id)["devices"]
    assert isinstance(devices, list)
    assert sorted(d["address"] for d in devices) == sorted(addresses)


def test_a_site_without_workers_has_its_devices_reported_pending_and_the_run_ends(
    lab: Lab, broker: RedisServer, central_db: str, site_workers: Workers, tmp_path: Path
) -> None:
    # Given a site nobody runs a worker for
    out = tmp_path / "out"
    started = time.monotonic()
    code, run_id = finish(
        start_scan(
            [lab.devices[0].address],
            out,
            "--ports",
            ports(lab),
            "--broker",
            broker.url,
            "--site",
            "ghost",
            "--site-wait",
            "3",
            env={"SHINSA_DB": central_db},
        ),
        out,
        timeout=60,
    )
    # Then the run ends soon after the wait, its device not scanned, with the reason
    assert time.monotonic() - started < 45
    assert code == 3, log_of(out)
    state, reason = targets_of(out)[lab.devices[0].address]
    assert state == "failed"
    assert reason.startswith("pending: no worker of site ghost")
    assert tasks(central_db, run_id)[lab.devices[0].address].state == "pending"
    # And a worker that comes later drops the run's task instead of scanning behind it
    r = broker.client()
    assert r.llen(keys.queue_of("ghost")) == 1
    site_workers.start("ghost")
    wait_for("the stale task taken", lambda: r.llen(keys.queue_of("ghost")) == 0, timeout=30)
    time.sleep(2)
    assert central_results(central_db, run_id) == []
    assert tasks(central_db, run_id)[lab.devices[0].address].state == "pending"


def test_a_worker_of_another_version_is_refused_with_a_clear_message(
    broker: RedisServer, central_db: str
) -> None:
    broker.client().set(keys.VERSION_KEY, "0.0.0-other")
    done = subprocess.run(
        [sys.executable, "-m", "scanner", "worker", "--site", "a", "--no-config"],
        env={**os.environ, "SHINSA_BROKER": broker.url, "SHINSA_DB": central_db},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"this worker is shinsa {__version__}" in done.stderr
    assert "the service on this broker is shinsa 0.0.0-other" in done.stderr


def test_a_task_of_another_version_or_site_is_refused_not_scanned(
    broker: RedisServer, central_db: str, site_workers: Workers
) -> None:
    site_workers.start("a", concurrency=1)
    engine = open_db(central_db)
    try:
        central.queue(
            engine,
            "run-x",
            {"127.0.98.200": "a", "127.0.98.201": "b", "127.0.98.202": "a", "127.0.98.203": "a"},
        )
    finally:
        engine.dispose()
    app = make_app(broker.url)

    def job(address: str, site: str, version: str) -> dict[str, object]:
        request = {"targets": [[address, ""]], "profile": "base", "ports": "T:80"}
        return Job(
            version, "run-x", site, [[address, "", "", ""]], request, "d", None, None
        ).to_json()

    # a task from another version, and one of site b put on site a's queue
    app.send_task(
        keys.SCAN_TASK, args=[job("127.0.98.200", "a", "9.9.9")], queue=keys.queue_of("a")
    )
    app.send_task(
        keys.SCAN_TASK, args=[job("127.0.98.201", "b", __version__)], queue=keys.queue_of("a")
    )
    # a task whose profile is not the run's (its digest differs), and a malformed request
    app.send_task(
        keys.SCAN_TASK, args=[job("127.0.98.202", "a", __version__)], queue=keys.queue_of("a")
    )
    broken = job("127.0.98.203", "a", __version__)
    del broken["request"]["profile"]  # type: ignore[attr-defined]
    app.send_task(keys.SCAN_TASK, args=[broken], queue=keys.queue_of("a"))
    wait_for(
        "all four refused",
        lambda: {r.state for r in tasks(central_db, "run-x").values()} == {"failed"},
        timeout=60,
    )
    rows = tasks(central_db, "run-x")
    assert "the task is from 9.9.9" in rows["127.0.98.200"].reason
    assert "of site 'a': the device is of site 'b'" in rows["127.0.98.201"].reason
    assert "is not the one run run-x started with" in rows["127.0.98.202"].reason
    assert "failed (KeyError: 'profile')" in rows["127.0.98.203"].reason
    assert central_results(central_db, "run-x") == []


def test_celery_inspect_flower_and_the_heartbeat_see_each_worker(
    broker: RedisServer, central_db: str, site_workers: Workers, tmp_path: Path
) -> None:
    worker = site_workers.start("plant-a", concurrency=1)
    env = {**os.environ, "SHINSA_BROKER": broker.url}
    # celery inspect, against the deployment's broker
    pong = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scanner.sites.app",
            "inspect",
            "ping",
            "-d",
            worker.name,
            "--timeout",
            "10",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert pong.returncode == 0, pong.stderr
    assert worker.name in pong.stdout
    assert "pong" in pong.stdout
    active_queues = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scanner.sites.app",
            "inspect",
            "active_queues",
            "-d",
            worker.name,
            "--timeout",
            "10",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    queues = json.loads(active_queues.stdout)[worker.name]
    assert [q["name"] for q in queues] == [keys.queue_of("plant-a")]
    # the heartbeat: site, version and load, which `shinsa worker --list` shows
    listed = subprocess.run(
        [sys.executable, "-m", "scanner", "worker", "--list", "--no-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = [json.loads(line) for line in listed.stdout.splitlines()]
    (mine,) = [w for w in said if w["hostname"] == worker.name]
    assert mine["site"] == "plant-a"
    assert mine["version"] == __version__
    assert float(mine["load"]) >= 0
    assert mine["concurrency"] == "1"
    # Flower, against the same broker, lists the worker
    port = free_port("127.0.98.1")
    with (tmp_path / "flower.log").open("wb") as flower_log:
        flower = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "scanner.sites.app",
                "flower",
                "--address=127.0.98.1",
                f"--port={port}",
            ],
            env={**env, "FLOWER_UNAUTHENTICATED_API": "true"},
            stdout=subprocess.DEVNULL,
            stderr=flower_log,
            start_new_session=True,
        )
    try:

        def listed_by_flower() -> bool:
            try:
                answer = httpx.get(f"http://127.0.98.1:{port}/api/workers?refresh=1", timeout=10)
            except httpx.HTTPError:
                return False
            return answer.status_code == 200 and worker.name in answer.json()

        wait_for("the worker in Flower", listed_by_flower, timeout=60, every=1)
    finally:
        flower.terminate()
        flower.wait(timeout=15)


def test_the_pace_is_one_for_all_of_a_sites_workers(broker: RedisServer) -> None:
    # Given two workers' pacers (each its own connection) of one site at 40 probes/s
    rate, each = 40.0, 15
    grants: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        pacer = SharedPacer(broker.client(), "run-p", "s", rate)
        for _ in range(each):
            wait = pacer.reserve("127.0.98.250")
            at = time.monotonic() + wait
            with lock:
                grants.append(at)
            time.sleep(wait)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # Then the slots they got together are 1/rate apart: the site keeps one pace (each
    # pacer alone would have let both send at once, in half the time). A slot's time is
    # read here after Redis gave it, and a thread of a loaded machine may read it late: a
    # gap or two may look short (one was 12 ms of 25 in a CI run), but two pacers of their
    # own would make half the gaps short, whatever their phase
    grants.sort()
    gaps = [b - a for a, b in itertools.pairwise(grants)]
    assert len(grants) == 2 * each
    assert grants[-1] - grants[0] >= (2 * each - 1) / rate * 0.95
    short = [g for g in gaps if g < 1 / rate / 2]
    assert len(short) <= len(gaps) // 10, gaps
    # and another site's pace is its own
    other = SharedPacer(broker.client(), "run-p", "t", rate)
    assert other.reserve("127.0.98.251") < 1 / rate


def test_no_device_starts_after_the_window_closes_and_a_running_one_stops_at_it(
    lab: Lab, broker: RedisServer, central_db: str, site_workers: Workers, tmp_path: Path
) -> None:
    # Given one worker taking one device at a time (one task at once, one device a task),
    # devices slowed down (0.5 s between probes to a device), and a maintenance window that
    # closes 6 s after the run starts
    site_workers.start("lab", concurrency=1)
    out = tmp_path / "out"
    ends = time.time() + 6
    code, run_id = finish(
        start_scan(
            [d.address for d in lab.devices],
            out,
            "--ports",
            ports(lab),
            "--scan-delay",
            "0.5",
            "--broker",
            broker.url,
            "--site",
            "lab",
            "--window-ends",
            f"{ends:.3f}",
            "--site-batch",
            "1",
            env={"SHINSA_DB": central_db},
        ),
        out,
        timeout=120,
    )
    # Then the run ends soon after the close, none of its devices scanned to the end
    assert code == 3, log_of(out)
    assert time.time() - ends < 40
    states = targets_of(out)
    assert {s for s, _ in states.values()} == {"failed"}
    assert all("window" in reason for _, reason in states.values()), states
    rows = tasks(central_db, run_id)
    # one worker scanning one device at a time: the device it was scanning at the close
    # (none, on a machine so loaded that the worker took none in 6 s) stopped at the close,
    # and no other started, before it (one at a time) or after the close
    started = [r for r in rows.values() if r.attempts]
    assert len(started) <= 1, rows
    for row in started:
        assert "stopped at the close of the maintenance window" in row.reason
    # nothing landed well after the close (a stopped device lands what it had found)
    landed = central_results(central_db, run_id)
    late = [r for r in landed if (utc(r.landed) or r.landed).timestamp() > ends + 5]
    assert late == []
