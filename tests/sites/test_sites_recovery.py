"""Nothing lost, nothing twice: a worker killed in the middle of a device (of a lockout
measurement, even) and the broker restarted in the middle of a run; the run completes,
every result once, and no account is left locked.

Addresses: 127.0.98.0/24 (Redis .1, lab devices .30 onwards)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import paramiko
import pytest
import sqlalchemy as sa

from lab.personality import load_builtin
from scanner.service import schema
from scanner.service.db import open_db
from tests.service.store_runs import running
from tests.sites.runs import (
    central_results,
    finish,
    log_of,
    ports,
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

FIRST = "127.0.98.30"
PASSWORD_ENV = "SHINSA_TEST_QA"
PASSWORD = "Qa-lab-2026!"
FINAL = {"pass", "fail", "not_applicable"}
#: the broker gives a lost worker's task to another after this (the default is a minute)
VISIBILITY = "8"


@pytest.fixture
def lab() -> Iterator[Lab]:
    # the account locks after 3 failures for 4 s; the portal has nothing to lock
    with running([load_builtin(n) for n in ("lockout-camera", "always-200-portal")], FIRST) as lab:
        yield lab


def _profile(tmp_path: Path) -> Path:
    path = tmp_path / "lockout.yaml"
    path.write_text(
        "profile: lockout-sites\nextends: base\nallow_intrusive: true\n"
        f"test_account: {{username: qa, password_env: {PASSWORD_ENV}}}\n"
    )
    return path


def _logs_in(address: str) -> bool:
    """A standard SSH client logs in as qa with the right password: not locked."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507 - lab device
    try:
        client.connect(
            address,
            port=22,
            username="qa",
            password=PASSWORD,
            timeout=10,
            allow_agent=False,
            look_for_keys=False,
        )
        return True
    except paramiko.AuthenticationException:
        return False
    finally:
        client.close()


def _each_result_once(db: str, run_id: str, out: Path) -> None:
    landed = central_results(db, run_id)
    kept = verdicts(out)
    assert len(landed) == len(kept)  # one row per (device, service, check), here and there
    assert {(r.address, r.service_key, r.check_id) for r in landed} == set(kept)
    # a final result, once written, was never written again (nor overwritten)
    assert {r.written for r in landed if r.verdict in FINAL} == {1}


def test_a_worker_killed_mid_lockout_leaves_the_run_complete_each_result_once_nothing_locked(
    lab: Lab, broker: RedisServer, central_db: str, site_workers: Workers, tmp_path: Path
) -> None:
    site_workers.env.update({PASSWORD_ENV: PASSWORD, "SHINSA_TASK_VISIBILITY": VISIBILITY})
    camera = lab.devices[0].address
    assert _logs_in(camera)  # the ground truth first: the account works
    first = site_workers.start("lab", concurrency=1)
    out = tmp_path / "out"
    proc = start_scan(
        [d.address for d in lab.devices],
        out,
        "--ports",
        ports(lab),
        "--profile",
        str(_profile(tmp_path)),
        "--broker",
        broker.url,
        "--site",
        "lab",
        env={"SHINSA_DB": central_db, PASSWORD_ENV: PASSWORD},
    )
    # When the worker is lost (the machine, pool processes and all) while it sends the
    # lockout measurement's wrong passwords
    device = lab.devices[0]
    wait_for("the lockout measurement under way", lambda: device.failures("qa") > 0, timeout=240)
    first.kill()
    killed_at = time.monotonic()
    # and another worker of the site comes up
    second = site_workers.start("lab", concurrency=1)
    code, run_id = finish(proc, out, timeout=400)
    # Then the run completes: every device done, none pending
    assert code != 3, log_of(out)
    assert {s for s, _ in targets_of(out).values()} == {"done"}
    rows = tasks(central_db, run_id)
    assert rows[camera].attempts == 2  # taken again after the loss
    assert rows[camera].worker == second.name
    # every result once, and the lockout measured to its end by the second worker
    _each_result_once(central_db, run_id, out)
    lockout = [v for (a, _, c), v in verdicts(out).items() if a == camera and c == "auth.lockout"]
    assert lockout, verdicts(out)
    assert set(lockout) <= FINAL
    # and the account is not left locked: it logs in at once, with the right password
    assert _logs_in(camera)
    assert time.monotonic() - killed_at < 400


def test_the_broker_restarted_mid_run_the_workers_reconnect_and_the_run_completes(
    lab: Lab, broker: RedisServer, central_db: str, site_workers: Workers, tmp_path: Path
) -> None:
    site_workers.env.update({"SHINSA_TASK_VISIBILITY": VISIBILITY})
    site_workers.start("lab", concurrency=1)
    out = tmp_path / "out"
    proc = start_scan(
        [d.address for d in lab.devices],
        out,
        "--ports",
        ports(lab),
        # a pace on the broker: probes keep asking Redis for their slots through the restart
        "--scan-delay",
        "0.2",
        "--broker",
        broker.url,
        "--site",
        "lab",
        env={"SHINSA_DB": central_db},
    )

    def running_now() -> bool:
        try:
            return any(r.state == "running" for r in _only_run(central_db).values())
        except LookupError:
            return False

    wait_for("a device being scanned", running_now, timeout=120)
    # When Redis goes away for a few seconds and comes back (its queue kept on disk)
    broker.stop()
    time.sleep(3)
    broker.start()
    code, run_id = finish(proc, out, timeout=400)
    # Then the run completes, every device done, every result once
    assert code != 3, log_of(out)
    assert {s for s, _ in targets_of(out).values()} == {"done"}
    _each_result_once(central_db, run_id, out)


def _only_run(db: str) -> dict[str, sa.Row[tuple[object, ...]]]:
    engine = open_db(db)
    try:
        with engine.connect() as conn:
            ids = conn.execute(sa.select(schema.site_tasks.c.run_id).distinct()).scalars().all()
    finally:
        engine.dispose()
    if len(ids) != 1:
        raise LookupError(ids)
    return tasks(db, str(ids[0]))
