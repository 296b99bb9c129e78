"""The lockout budget survives a crash, a resume and a second scan (issue 11 #4).

A Telnet device on 127.0.75.70 counts every failed login per account and answers each one
slowly, so the scan can be killed (SIGKILL) in the middle of its attempts. The budget of the
default profile is 2 failures per account per device: whatever happens to the scan, the
device must never see more.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from scanner.credential_lists import AttemptLedger
from scanner.errors import ConfigError
from scanner.ledger import StoredLedger
from scanner.run_lock import hold
from scanner.store import Store

if TYPE_CHECKING:
    from pathlib import Path

DEVICE = "127.0.75.70"
PORT = 2323
BUDGET = 2  # the base profile: lockout_threshold 3, so at most 2 failures per account


class CountingTelnet:
    """`login:` / `Password:`, every login refused after `delay` seconds, counted."""

    def __init__(self, delay: float, *, hold: bool = False) -> None:
        self.delay = delay
        self.failures: Counter[str] = Counter()
        self.first = asyncio.Event()  # set at the first failure counted
        # hold: after the first failure, no answer until `release` (60 s at most), so the
        # scan is surely still running however slowly a loaded machine starts the next one
        self.hold = hold
        self.release = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError, asyncio.CancelledError):
            for _ in range(10):
                writer.write(b"\r\nrtu login: ")
                await writer.drain()
                user = (await asyncio.wait_for(reader.readline(), 20))[:64].strip()
                if not user:
                    break
                writer.write(b"Password: ")
                await writer.drain()
                await asyncio.wait_for(reader.readline(), 20)
                await asyncio.sleep(self.delay)
                self.failures[user.decode("latin-1")] += 1
                self.first.set()
                if self.hold:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.release.wait(), 60)
                writer.write(b"\r\nLogin incorrect\r\n")
                await writer.drain()
        writer.close()


async def _shinsa(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scanner",
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def _run_id(out: Path) -> str:
    with Store(out / "shinsa.sqlite", create=False) as store:
        return store.runs()[0].id


async def test_sigkill_then_resume_never_exceeds_the_budget(tmp_path: Path):
    device = CountingTelnet(delay=1.5)
    server = await asyncio.start_server(device.handle, DEVICE, PORT)
    scan = ["scan", DEVICE, "--ports", str(PORT), "-q", "--format", "json", "--out", str(tmp_path)]
    try:
        first = await _shinsa(*scan)
        # Kill it while a login is on the wire: one failure counted, the next one sent.
        await asyncio.wait_for(device.first.wait(), 90)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        run_id = _run_id(tmp_path)
        resumed = await _shinsa("scan", "--resume", run_id, "--out", str(tmp_path), "-q")
        _, err = await asyncio.wait_for(resumed.communicate(), 180)
        assert resumed.returncode in (0, 1, 3), err.decode()
        await asyncio.sleep(device.delay + 0.5)  # a login the killed scan left in flight
    finally:
        server.close()
    assert device.failures, "the scan tried no login at all"
    assert max(device.failures.values()) <= BUDGET, device.failures
    with Store(tmp_path / "shinsa.sqlite", create=False) as store:
        for user in device.failures:
            assert store.login_failures(DEVICE, user, 3600) <= BUDGET


async def test_a_second_resume_of_a_running_scan_is_refused(tmp_path: Path):
    device = CountingTelnet(delay=1.0, hold=True)
    server = await asyncio.start_server(device.handle, DEVICE, PORT)
    scan = ["scan", DEVICE, "--ports", str(PORT), "-q", "--out", str(tmp_path)]
    try:
        first = await _shinsa(*scan)
        await asyncio.wait_for(device.first.wait(), 90)
        run_id = _run_id(tmp_path)
        second = await _shinsa("scan", "--resume", run_id, "--out", str(tmp_path), "-q")
        _, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 2
        assert f"run {run_id} is being scanned by another shinsa process (pid {first.pid})" in (
            err.decode()
        )
        with Store(tmp_path / "shinsa.sqlite", create=False) as store:
            assert store.run(run_id).status == "running"  # the refused resume changed nothing
        first.send_signal(signal.SIGKILL)
        await first.wait()
    finally:
        device.release.set()
        server.close()
    # The kernel dropped the killed process's lock: a resume may go on now.
    with hold(tmp_path, run_id):
        pass


def test_two_stores_on_one_file_share_the_budget(tmp_path: Path):
    """Two scans of one device from one store (two connections, as two processes): the
    second sees the first's slots, and a slot given back is free again."""
    path = tmp_path / "shinsa.sqlite"
    with Store(path) as a, Store(path) as b:
        one = StoredLedger(store=a, run_id="r1", address=DEVICE)
        two = StoredLedger(store=b, run_id="r2", address=DEVICE)
        assert one.reserve("admin", BUDGET)
        assert two.reserve("admin", BUDGET)
        assert not one.reserve("admin", BUDGET)
        assert not two.reserve("admin", BUDGET)
        assert two.reserve("root", BUDGET)  # per account
        assert StoredLedger(store=a, address="127.0.75.71").reserve("admin", BUDGET)  # per device
        one.release("admin")  # r1's login succeeded: its slot is free again
        assert two.failures("admin") == 1
        assert two.reserve("admin", BUDGET)
    with Store(path) as again:  # and after both are gone, as a resume would open it
        assert StoredLedger(store=again, run_id="r3", address=DEVICE).failures("admin") == 2


def test_a_stored_plan_is_the_in_memory_one_and_gives_back_the_runs_latest_slots(
    tmp_path: Path,
):
    names = ["admin", "root", "admin", "admin", "root", "guest", "admin"]
    with Store(tmp_path / "shinsa.sqlite") as store:
        stored = StoredLedger(store=store, run_id="r1", address=DEVICE)
        memory = AttemptLedger()
        for limit, most in ((2, 10), (3, 4), (1, 1), (5, 0)):
            # a fresh device each time, so the same plan starts from nothing held
            stored.address = f"127.0.75.{80 + limit + most}"
            assert stored.reserve_many(names, limit, most) == memory.reserve_many(
                names, limit, most
            )
            memory = AttemptLedger()
        stored.address = DEVICE
        assert stored.reserve_many(["admin"] * 3, 3, 3) == [True] * 3
        # another run's slot, later than r1's: r1 gives back its own two latest only
        other = StoredLedger(store=store, run_id="r2", address=DEVICE)
        assert other.reserve_many(["admin"], 4, 1) == [True]
        stored.release_many(["admin", "admin"])
        assert stored.failures("admin") == 2
        assert stored.reserve_many(["admin", "admin", "admin"], 4, 3) == [True, True, False]
        other.release_many(["admin", "admin"])  # r2 holds one: one given back
        assert stored.failures("admin") == 3


def test_slots_older_than_the_window_are_forgotten(tmp_path: Path):
    with Store(tmp_path / "shinsa.sqlite") as store:
        ledger = StoredLedger(store=store, run_id="r", address=DEVICE, window=0.2)
        assert ledger.reserve("admin", 1)
        assert not ledger.reserve("admin", 1)
        time.sleep(0.3)
        assert ledger.reserve("admin", 1)


def test_the_run_lock_names_its_holder(tmp_path: Path):
    # flock locks belong to the open file description: a second open conflicts
    holder = rf"another shinsa process \(pid {os.getpid()}\)"
    with hold(tmp_path, "r"), pytest.raises(ConfigError, match=holder), hold(tmp_path, "r"):
        pass
    with hold(tmp_path, "r"):  # released on the way out
        pass
