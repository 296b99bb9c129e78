"""Webhook alerts against a real HTTPS receiver started here (a throwaway CA from trustme,
127.0.92.1, a port the kernel picks): the body follows shinsa-alert/1, the signature is
the HMAC the receiver recomputes with the shared secret, a refusal is retried with
back-off, and nothing leaves unsigned or to an untrusted certificate."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
import sqlalchemy as sa
import trustme

from scanner.service import schema as t
from scanner.service.alerts import outbox, payload
from scanner.service.alerts.outbox import RetryPolicy
from scanner.service.db import utc
from scanner.service.drift import Drift

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HOST = "127.0.92.1"
SECRET = "a shared secret 秘密"
FAST = RetryPolicy(delays=(30.0, 120.0), timeout=5.0)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    ca_file: str
    got: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to give, then 204


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(ctx)
    state = Receiver(url="", ca_file=str(ca_file))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(length, 1 << 20))
            with lock:
                state.got.append(Received(self.path, dict(self.headers.items()), body))
                status = state.answers.pop(0) if state.answers else 204
            self.send_response(status)
            answer = b"receiver says no" if status >= 300 else b""
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.timeout = 5
    state.url = f"https://{HOST}:{server.server_address[1]}/hooks/shinsa"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def add_run(engine: sa.Engine, run_id: str = "20261206-run1", site: str = "plant-a") -> str:
    with engine.begin() as conn:
        conn.execute(
            t.runs.insert().values(
                id=run_id, site=site, trigger="cli", started=datetime.now(UTC),
                status="complete", profile_id="base", profile_digest="d",
                scanner_version="0.1.0", request={}, summary={},
            )
        )  # fmt: skip
    return run_id


DRIFTS = [
    Drift(1, "192.0.2.10", "baseline", "service_opened", "tcp/23 telnet", after="open"),
    Drift(1, "192.0.2.10", "baseline", "new_failure", "telnet.open", severity="high"),
]


def row(engine: sa.Engine, alert_id: int) -> sa.Row[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.alerts).where(t.alerts.c.id == alert_id)).one()


def env_for(receiver: Receiver, **more: str) -> dict[str, str]:
    return {"SHINSA_WEBHOOK_SECRET": SECRET, "SHINSA_WEBHOOK_CA": receiver.ca_file, **more}


def test_the_receiver_gets_a_signed_body_that_follows_the_schema(
    engine: sa.Engine, receiver: Receiver
) -> None:
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=[f"webhook:{receiver.url}"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    assert receiver.got == []  # enqueue sends nothing
    before = int(time.time())
    sent = outbox.deliver_due(engine, policy=FAST, env=env_for(receiver))
    assert sent == 1
    [got] = receiver.got
    assert got.path == "/hooks/shinsa"
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    stamp = got.headers["X-Shinsa-Timestamp"]
    assert before <= int(stamp) <= int(time.time())
    want = hmac.new(SECRET.encode(), stamp.encode() + b"." + got.body, hashlib.sha256)
    assert hmac.compare_digest(got.headers["X-Shinsa-Signature"], "sha256=" + want.hexdigest())
    body = json.loads(got.body)
    jsonschema.validate(body, payload.json_schema(), cls=jsonschema.Draft202012Validator)
    assert body["alert_id"] == alert_id == int(got.headers["X-Shinsa-Alert-Id"])
    assert (body["run_id"], body["site"], body["schedule"]) == (run, "plant-a", None)
    assert [d["kind"] for d in body["drift"]] == ["service_opened", "new_failure"]
    stored = row(engine, alert_id)
    assert (stored.state, stored.attempts, stored.last_error) == ("sent", 1, "")
    assert stored.sent is not None
    assert stored.payload == body  # what was sent is what the row holds
    assert stored.target == receiver.url
    # a second delivery sends nothing again
    assert outbox.deliver_due(engine, policy=FAST, env=env_for(receiver)) == 0
    assert len(receiver.got) == 1


def test_a_tampered_body_does_not_verify(engine: sa.Engine, receiver: Receiver) -> None:
    run = add_run(engine)
    outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=[f"webhook:{receiver.url}"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    assert outbox.deliver_due(engine, policy=FAST, env=env_for(receiver)) == 1
    got = receiver.got[0]
    stamp = got.headers["X-Shinsa-Timestamp"].encode()
    forged = got.body.replace(b"192.0.2.10", b"192.0.2.11")
    assert forged != got.body
    mac = hmac.new(SECRET.encode(), stamp + b"." + forged, hashlib.sha256).hexdigest()
    assert got.headers["X-Shinsa-Signature"] != "sha256=" + mac
    wrong_key = hmac.new(b"another", stamp + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Shinsa-Signature"] != "sha256=" + wrong_key


def test_refusals_are_retried_with_back_off_then_sent(
    engine: sa.Engine, receiver: Receiver
) -> None:
    receiver.answers = [500, 503]
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=[f"webhook:{receiver.url}"],
        drifts=DRIFTS, kinds=["new_failure"],
    )  # fmt: skip
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    env = env_for(receiver)
    assert outbox.deliver_due(engine, now=t0, policy=FAST, env=env) == 0
    first = row(engine, alert_id)
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.last_error == "HTTP 500 from the receiver: receiver says no"
    assert utc(first.next_attempt) == t0 + timedelta(seconds=30)
    # not before its time
    assert outbox.deliver_due(engine, now=t0 + timedelta(seconds=29), policy=FAST, env=env) == 0
    assert len(receiver.got) == 1
    t1 = t0 + timedelta(seconds=30)
    assert outbox.deliver_due(engine, now=t1, policy=FAST, env=env) == 0
    second = row(engine, alert_id)
    assert (second.state, second.attempts) == ("pending", 2)
    assert second.last_error.startswith("HTTP 503")
    assert utc(second.next_attempt) == t1 + timedelta(seconds=120)
    t2 = t1 + timedelta(seconds=120)
    assert outbox.deliver_due(engine, now=t2, policy=FAST, env=env) == 1
    done = row(engine, alert_id)
    assert (done.state, done.attempts, done.last_error) == ("sent", 3, "")
    # the same alert each time: one ID, one body (a receiver can drop a repeat)
    assert len(receiver.got) == 3
    assert len({r.body for r in receiver.got}) == 1
    assert {r.headers["X-Shinsa-Alert-Id"] for r in receiver.got} == {str(alert_id)}
    assert [d["kind"] for d in json.loads(receiver.got[0].body)["drift"]] == ["new_failure"]


def test_nothing_is_sent_unsigned_unless_asked(engine: sa.Engine, receiver: Receiver) -> None:
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=[f"webhook:{receiver.url}"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    no_secret = {"SHINSA_WEBHOOK_CA": receiver.ca_file}
    assert outbox.deliver_due(engine, policy=FAST, env=no_secret) == 0
    assert receiver.got == []
    refused = row(engine, alert_id)
    assert refused.state == "pending"
    assert "SHINSA_WEBHOOK_SECRET is not set" in refused.last_error
    later = datetime.now(UTC) + timedelta(minutes=1)
    unsigned = {**no_secret, "SHINSA_WEBHOOK_UNSIGNED": "1"}
    assert outbox.deliver_due(engine, now=later, policy=FAST, env=unsigned) == 1
    [got] = receiver.got
    assert "X-Shinsa-Signature" not in got.headers
    assert row(engine, alert_id).state == "sent"


def test_an_untrusted_certificate_gets_nothing(engine: sa.Engine, receiver: Receiver) -> None:
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=[f"webhook:{receiver.url}"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    # the system's trust store does not know the throwaway CA
    assert outbox.deliver_due(engine, policy=FAST, env={"SHINSA_WEBHOOK_SECRET": SECRET}) == 0
    assert receiver.got == []
    failed = row(engine, alert_id)
    assert failed.state == "pending"
    assert "CERTIFICATE_VERIFY_FAILED" in failed.last_error
    assert SECRET not in failed.last_error
