"""Shared login helpers: ordering, stop rules, masking."""

from __future__ import annotations

from probes._login.common import Scheduler, attempt, device_text, looks_locked, reason_of
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
