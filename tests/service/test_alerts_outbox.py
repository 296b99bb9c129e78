"""The alert outbox: what `enqueue` writes, a receiver that is down (retried on the
back-off schedule, then recorded failed with its error, never dropped), two deliverers at
once (each alert sent once), and a deliverer that died holding a row (picked up after its
lease). Receivers on 127.0.92.4, ports the kernel picked."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from scanner.errors import ConfigError
from scanner.service import schema as t
from scanner.service.alerts import outbox
from scanner.service.alerts.outbox import RetryPolicy
from scanner.service.db import open_db, utc
from scanner.service.drift import Drift

HOST = "127.0.92.4"
DRIFTS = [
    Drift(1, "192.0.2.10", "baseline", "service_opened", "tcp/23 telnet", after="open"),
    Drift(1, "192.0.2.10", "baseline", "fixed", "ssh.weak-kex", before="fail", after="pass"),
    Drift(2, "192.0.2.20", "previous", "new_failure", "http.default-login", severity="critical"),
]


def add_run(engine: sa.Engine, run_id: str = "20261206-run4") -> str:
    with engine.begin() as conn:
        conn.execute(
            t.runs.insert().values(
                id=run_id, site="plant-c", trigger="cli", started=datetime.now(UTC),
                status="complete", profile_id="base", profile_digest="d",
                scanner_version="0.1.0", request={}, summary={},
            )
        )  # fmt: skip
    return run_id


def rows(engine: sa.Engine) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(t.alerts).order_by(t.alerts.c.id)).all())


def closed_port() -> int:
    """A port on HOST where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def test_one_pending_row_per_channel_with_the_body(engine: sa.Engine) -> None:
    run = add_run(engine)
    channels = [
        "webhook:https://hooks.example.net/shinsa",
        "smtp:ops@example.com, audit@example.com",
        "syslog:tls://log.example.net:6514",
        "webhook:https://hooks.example.net/shinsa",  # the same channel twice: one alert
    ]
    ids = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=channels, drifts=DRIFTS, kinds=[]
    )
    assert len(ids) == 3
    stored = rows(engine)
    assert [r.id for r in stored] == ids
    assert [(r.channel, r.target) for r in stored] == [
        ("webhook", "https://hooks.example.net/shinsa"),
        ("smtp", "ops@example.com,audit@example.com"),
        ("syslog", "tls://log.example.net:6514"),
    ]
    for r in stored:
        assert (r.state, r.attempts, r.last_error, r.sent) == ("pending", 0, "", None)
        assert r.run_id == run
        assert r.payload["alert_id"] == r.id
        assert r.payload["site"] == "plant-c"
        assert len(r.payload["drift"]) == 3
        assert utc(r.next_attempt) == utc(r.created)


def test_kinds_choose_what_is_worth_an_alert(engine: sa.Engine) -> None:
    run = add_run(engine)
    spec = ["syslog:udp://127.0.0.1:514"]
    assert outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=spec, drifts=DRIFTS,
        kinds=["device_unreachable", "cert_expiring"],
    ) == []  # fmt: skip
    assert (
        outbox.enqueue(engine, run_id=run, schedule_id=None, channels=spec, drifts=[], kinds=[])
        == []
    )
    assert (
        outbox.enqueue(engine, run_id=run, schedule_id=None, channels=[], drifts=DRIFTS, kinds=[])
        == []
    )
    assert rows(engine) == []
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=spec, drifts=DRIFTS,
        kinds=["new_failure", "service_opened"],
    )  # fmt: skip
    [stored] = rows(engine)
    assert stored.id == alert_id
    assert [d["kind"] for d in stored.payload["drift"]] == ["service_opened", "new_failure"]
    assert stored.payload["counts"] == {"service_opened": 1, "new_failure": 1}


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"channels": ["webhook:https://ok.example/x", "pager:x"]}, "give webhook:"),
        ({"kinds": ["new_failure", "made_up"]}, "unknown drift kind"),
        ({"run_id": "no-such-run"}, "not in the service's database"),
    ],
)
def test_a_bad_request_writes_nothing(
    engine: sa.Engine, changes: dict[str, Any], says: str
) -> None:
    add_run(engine)
    args: dict[str, Any] = {
        "run_id": "20261206-run4", "schedule_id": None,
        "channels": ["webhook:https://ok.example/x"], "drifts": DRIFTS, "kinds": [],
    }  # fmt: skip
    args.update(changes)
    with pytest.raises(ConfigError, match=says):
        outbox.enqueue(engine, **args)
    assert rows(engine) == []


def test_a_receiver_that_is_down_is_retried_then_failed_never_lost(engine: sa.Engine) -> None:
    run = add_run(engine)
    down_syslog, down_hook = closed_port(), closed_port()
    policy = RetryPolicy(delays=(30.0, 120.0, 600.0), timeout=3.0)
    ids = outbox.enqueue(
        engine, run_id=run, schedule_id=None,
        channels=[f"syslog:tcp://{HOST}:{down_syslog}", f"webhook:http://{HOST}:{down_hook}/h"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    env = {"SHINSA_WEBHOOK_SECRET": "s"}
    at = datetime.now(UTC) + timedelta(seconds=1)
    for attempt, delay in enumerate((30.0, 120.0, 600.0), start=1):
        assert outbox.deliver_due(engine, now=at, policy=policy, env=env) == 0
        # nothing is due before the back-off has passed
        early = at + timedelta(seconds=delay - 1)
        assert outbox.deliver_due(engine, now=early, policy=policy, env=env) == 0
        for r in rows(engine):
            assert (r.state, r.attempts) == ("pending", attempt)
            assert utc(r.next_attempt) == at + timedelta(seconds=delay)
        at += timedelta(seconds=delay)
    assert outbox.deliver_due(engine, now=at, policy=policy, env=env) == 0
    syslog_row, hook_row = rows(engine)
    assert [syslog_row.id, hook_row.id] == ids
    for r in (syslog_row, hook_row):
        assert (r.state, r.attempts, r.next_attempt, r.sent) == ("failed", 4, None, None)
        assert r.payload["drift"]  # the alert is still there to read and resend
    assert f"syslog tcp://{HOST}:{down_syslog}: ConnectionRefusedError" in syslog_row.last_error
    assert "ConnectError" in hook_row.last_error
    # failed is final until an operator asks again
    later = at + timedelta(days=2)
    assert outbox.deliver_due(engine, now=later, policy=policy, env=env) == 0
    assert [r.attempts for r in rows(engine)] == [4, 4]
    assert outbox.requeue(engine, ids[0], now=later)
    assert not outbox.requeue(engine, ids[0], now=later)  # pending now, not failed
    assert outbox.deliver_due(engine, now=later, policy=policy, env=env) == 0
    again, still_failed = rows(engine)
    assert (again.state, again.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in again.last_error
    assert (still_failed.state, still_failed.attempts) == ("failed", 4)


def test_two_deliverers_at_once_send_each_alert_once(any_engine: sa.Engine, db_url: str) -> None:
    # on SQLite and on PostgreSQL (READ COMMITTED: the losing UPDATE re-reads the row)
    engine = any_engine
    run = add_run(engine)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind((HOST, 0))
        receiver.settimeout(5)
        spec = f"syslog:udp://{HOST}:{receiver.getsockname()[1]}"
        ids = [
            outbox.enqueue(
                engine, run_id=run, schedule_id=None, channels=[spec], drifts=DRIFTS, kinds=[]
            )[0]
            for _ in range(12)
        ]
        # another process: its own engine on the same database
        other = open_db(db_url)
        start = threading.Barrier(4, timeout=10)
        counts: list[int] = []
        lock = threading.Lock()

        def deliver(eng: sa.Engine) -> None:
            start.wait()
            n = outbox.deliver_due(eng, policy=RetryPolicy(timeout=3.0), env={})
            with lock:
                counts.append(n)

        threads = [threading.Thread(target=deliver, args=(e,)) for e in (engine, other) * 2]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=30)
        other.dispose()
        assert not any(th.is_alive() for th in threads)
        assert sum(counts) == 12
        got = [receiver.recvfrom(65535)[0] for _ in range(12)]
        receiver.settimeout(0.3)
        with pytest.raises(TimeoutError):  # and not one more
            receiver.recvfrom(65535)
    sent_ids = sorted(int(g.split(b'alertId="')[1].split(b'"')[0]) for g in got)
    assert sent_ids == ids
    assert {(r.state, r.attempts) for r in rows(engine)} == {("sent", 1)}


def test_a_row_held_by_a_deliverer_that_died_is_sent_after_its_lease(engine: sa.Engine) -> None:
    run = add_run(engine)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind((HOST, 0))
        receiver.settimeout(5)
        spec = f"syslog:udp://{HOST}:{receiver.getsockname()[1]}"
        [alert_id] = outbox.enqueue(
            engine, run_id=run, schedule_id=None, channels=[spec], drifts=DRIFTS, kinds=[]
        )
        policy = RetryPolicy(timeout=3.0)
        at = datetime.now(UTC) + timedelta(seconds=1)
        # a deliverer claims the row and dies before sending
        assert outbox.claim(engine, alert_id, 0, at, policy)
        assert not outbox.claim(engine, alert_id, 0, at, policy)  # nobody claims it twice
        held = rows(engine)[0]
        assert (held.state, held.attempts) == ("pending", 1)
        lease_end = at + timedelta(seconds=policy.lease)
        assert utc(held.next_attempt) == lease_end
        assert (
            outbox.deliver_due(engine, now=lease_end - timedelta(seconds=1), policy=policy, env={})
            == 0
        )
        assert outbox.deliver_due(engine, now=lease_end, policy=policy, env={}) == 1
        datagram, _ = receiver.recvfrom(65535)
    assert f'alertId="{alert_id}"'.encode() in datagram
    assert (rows(engine)[0].state, rows(engine)[0].attempts) == ("sent", 2)


def test_a_row_no_channel_can_read_fails_at_once(engine: sa.Engine) -> None:
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=["syslog:udp://127.0.0.1:514"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    with engine.begin() as conn:  # written by hand, or by an older shinsa
        conn.execute(t.alerts.update().values(channel="pager", target="x"))
    assert outbox.deliver_due(engine, env={}) == 0
    [r] = rows(engine)
    assert (r.id, r.state, r.attempts) == (alert_id, "failed", 1)
    assert "give webhook:" in r.last_error


def test_a_receiver_that_never_answers_is_given_up_on_after_the_timeout(
    engine: sa.Engine,
) -> None:
    run = add_run(engine)
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind((HOST, 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        [alert_id] = outbox.enqueue(
            engine, run_id=run, schedule_id=None, channels=[f"webhook:http://{HOST}:{port}/h"],
            drifts=DRIFTS, kinds=[],
        )  # fmt: skip
        began = time.monotonic()
        sent = outbox.deliver_due(
            engine, policy=RetryPolicy(timeout=1.0), env={"SHINSA_WEBHOOK_UNSIGNED": "1"}
        )
        took = time.monotonic() - began
    assert sent == 0
    assert 0.9 <= took < 10
    [r] = rows(engine)
    assert (r.id, r.state, r.attempts) == (alert_id, "pending", 1)
    assert "ReadTimeout" in r.last_error
