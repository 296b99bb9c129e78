"""Shared login helpers: ordering, stop rules, masking."""

from __future__ import annotations

import asyncio

import pytest

from probes._login.common import (
    Scheduler,
    attempt,
    device_text,
    looks_locked,
    reason_of,
    run_workers,
)
from scanner.credentials import Attempt, Credential, Outcome


def test_scheduler_groups_by_username_and_stops_after_three_errors() -> None:
    creds = [Credential("a", "1"), Credential("b", "2"), Credential("a", "3"), Credential("c", "4")]
    sched = Scheduler(creds)
    assert sched.take("a") == (0, creds[0])
    assert sched.take("a") == (2, creds[2])
    assert sched.take("a") is None
    assert sched.take() == (1, creds[1])
    for index in (0, 2, 1):
        sched.record(index, attempt(creds[index], Outcome.ERROR, "timeout"))
    assert sched.stopped.is_set()
    assert "3 errors in a row" in sched.run("x").note
    assert [a.credential for a in sched.attempts()] == [creds[0], creds[1], creds[2]]


def test_device_text_never_keeps_the_password() -> None:
    cred = Credential("admin", "s3cret\x1b[0m")
    text = device_text(b"echo: s3cret\x1b[0m and more", cred)
    assert "s3cret" not in text
    assert "••••" in text
    assert "s3cret" not in repr(attempt(cred, Outcome.REJECTED, "said s3cret\x1b[0m"))


def test_lock_words() -> None:
    assert looks_locked("Account locked")
    assert looks_locked("Too many login failures, try again later")
    assert not looks_locked("Login incorrect")


def test_refusals_that_come_slower_each_time_stop_the_run_as_a_progressive_delay() -> None:
    creds = [Credential("admin", str(n)) for n in range(6)]
    sched = Scheduler(creds)
    for index, latency in enumerate((0.2, 0.9, 2.5)):
        sched.record(index, Attempt(creds[index], Outcome.REJECTED, "no", latency))
    assert sched.stopped.is_set()
    assert "progressive delay" in sched.note


def test_steady_slow_refusals_are_not_a_progressive_delay() -> None:
    creds = [Credential("admin", str(n)) for n in range(6)]
    sched = Scheduler(creds)
    for index, latency in enumerate((3.0, 3.1, 3.0, 3.2, 3.1)):  # pam_faildelay: constant
        sched.record(index, Attempt(creds[index], Outcome.REJECTED, "no", latency))
    assert not sched.stopped.is_set()


def test_an_ssh_error_reads_as_what_the_server_did() -> None:
    import asyncssh

    refused = asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "no shells")
    assert reason_of(refused) == "the SSH server refused to open a session channel: no shells"
    gone = asyncssh.DisconnectError(asyncssh.DISC_BY_APPLICATION, "x" * 500)
    text = reason_of(gone)
    assert text.startswith("the SSH server ended the SSH exchange (code 11): xxx")
    assert "Error" not in text
    assert len(text) <= 200


# --- run_workers: the connections of one run, in one TaskGroup -----------------------------


async def test_workers_run_side_by_side_until_the_list_is_done() -> None:
    creds = [Credential("admin", str(n)) for n in range(6)]
    sched = Scheduler(creds)
    at_once = 0
    most = 0

    async def worker() -> None:
        nonlocal at_once, most
        while (held := sched.take()) is not None:
            at_once += 1
            most = max(most, at_once)
            await asyncio.sleep(0.01)
            at_once -= 1
            sched.record(held[0], attempt(held[1], Outcome.REJECTED, "no"))

    await run_workers(sched, worker, 3)
    assert most == 3
    assert [a.credential for a in sched.attempts()] == creds


async def test_a_stopped_run_abandons_the_attempts_in_flight() -> None:
    creds = [Credential("admin", str(n)) for n in range(4)]
    sched = Scheduler(creds)
    abandoned: list[str] = []

    async def worker() -> None:
        while (held := sched.take()) is not None:
            index, credential = held
            if credential.password == "0":
                await asyncio.sleep(0.02)  # the other connection is asking meanwhile
                sched.record(index, attempt(credential, Outcome.ACCEPTED, "yes"))
                continue
            try:
                await asyncio.sleep(5)  # a slow refusal, overtaken by the find
            except asyncio.CancelledError:
                abandoned.append(credential.password)
                raise

    started = asyncio.get_running_loop().time()
    await run_workers(sched, worker, 2)
    assert asyncio.get_running_loop().time() - started < 2
    assert abandoned == ["1"]
    assert [a.credential.password for a in sched.attempts()] == ["0"]


async def test_a_failing_worker_ends_the_others_and_its_error_is_raised_as_itself() -> None:
    sched = Scheduler([Credential("admin", str(n)) for n in range(4)])
    others_cancelled = asyncio.Event()

    async def worker() -> None:
        held = sched.take()
        assert held is not None
        if held[0] == 0:
            await asyncio.sleep(0.01)
            raise ConnectionResetError("the device hung up")
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            others_cancelled.set()
            raise

    # Not an ExceptionGroup: the login families catch OSError around the run.
    with pytest.raises(ConnectionResetError, match="hung up"):
        await run_workers(sched, worker, 2)
    assert others_cancelled.is_set()


async def test_a_worker_failing_while_abandoned_does_not_fail_the_run() -> None:
    creds = [Credential("admin", str(n)) for n in range(2)]
    sched = Scheduler(creds)
    cleanups: list[str] = []

    async def worker() -> None:
        while (held := sched.take()) is not None:
            index, credential = held
            if index == 0:
                await asyncio.sleep(0.02)  # the other connection is asking meanwhile
                sched.record(index, attempt(credential, Outcome.ACCEPTED, "yes"))
                continue
            try:
                await asyncio.sleep(5)
            finally:
                cleanups.append(credential.password)
                raise OSError("closing a connection the device already dropped")

    await run_workers(sched, worker, 2)
    assert cleanups == ["1"]  # the abandoned attempt did fail on its way out
    assert [a.outcome for a in sched.attempts()] == [Outcome.ACCEPTED]
