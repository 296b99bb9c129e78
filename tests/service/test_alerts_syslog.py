"""Syslog alerts against real receivers on 127.0.92.3 (ports the kernel picked): one RFC
5424 message per alert over UDP (one datagram, at most 2048 bytes), TCP (RFC 6587 octet
counting, parsed here frame by frame) and TLS (RFC 5425, a throwaway CA from trustme)."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
import sqlalchemy as sa
import trustme

from scanner.service import schema as t
from scanner.service.alerts import outbox, payload, syslog
from scanner.service.alerts.outbox import RetryPolicy
from scanner.service.drift import Drift

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HOST = "127.0.92.3"
FAST = RetryPolicy(delays=(30.0,), timeout=5.0)
DRIFTS = [
    Drift(1, "192.0.2.10", "baseline", "new_failure", "telnet.open", severity="high"),
    Drift(3, "192.0.2.30", "previous", "new_device", "192.0.2.30"),
]
MESSAGE = re.compile(
    rb"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) shinsa (?P<pid>\d+) drift "
    rb'\[shinsa@32473 alertId="(?P<alert>\d+)" runId="(?P<run>[^"]*)" site="(?P<site>[^"]*)" '
    rb'drifts="(?P<n>\d+)"\] \xef\xbb\xbf(?P<msg>.*)$',
    re.DOTALL,
)
MAX_READ = 1 << 20


def add_run(engine: sa.Engine, run_id: str = "20261206-run3") -> str:
    with engine.begin() as conn:
        conn.execute(
            t.runs.insert().values(
                id=run_id, site="plant-b", trigger="cli", started=datetime.now(UTC),
                status="complete", profile_id="base", profile_digest="d",
                scanner_version="0.1.0", request={}, summary={},
            )
        )  # fmt: skip
    return run_id


def row(engine: sa.Engine, alert_id: int) -> sa.Row[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.alerts).where(t.alerts.c.id == alert_id)).one()


def check_message(msg: bytes, alert_id: int, run_id: str, *, full: bool) -> dict[str, Any]:
    found = MESSAGE.match(msg)
    assert found is not None, msg[:300]
    assert found["pri"] == b"132"  # local0, warning
    stamp = datetime.strptime(found["ts"].decode(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    assert found["host"].decode() == syslog.header_field(socket.gethostname(), 255)
    assert int(found["pid"]) == os.getpid()
    assert (int(found["alert"]), found["run"].decode()) == (alert_id, run_id)
    assert found["site"] == b"plant-b"
    if not full:
        return {"summary": found["msg"].decode()}
    body: dict[str, Any] = json.loads(found["msg"])
    jsonschema.validate(body, payload.json_schema(), cls=jsonschema.Draft202012Validator)
    assert int(found["n"]) == len(body["drift"])
    return body


def octet_frames(data: bytes) -> list[bytes]:
    """RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG, repeated; every byte accounted for."""
    frames, at = [], 0
    while at < len(data):
        space = data.index(b" ", at)
        length = int(data[at:space])
        frame = data[space + 1 : space + 1 + length]
        assert len(frame) == length, "a frame cut short"
        frames.append(frame)
        at = space + 1 + length
    return frames


def read_all(conn: socket.socket) -> bytes:
    got = b""
    while len(got) < MAX_READ:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def test_udp_one_datagram_per_alert(engine: sa.Engine) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind((HOST, 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        run = add_run(engine)
        [alert_id] = outbox.enqueue(
            engine, run_id=run, schedule_id=None, channels=[f"syslog:udp://{HOST}:{port}"],
            drifts=DRIFTS, kinds=[],
        )  # fmt: skip
        assert outbox.deliver_due(engine, policy=FAST, env={}) == 1
        datagram, _ = receiver.recvfrom(65535)
        body = check_message(datagram, alert_id, run, full=True)
        assert body == row(engine, alert_id).payload
        assert len(datagram) <= syslog.UDP_MAX
        # a big alert: the summary and the link in one datagram of at most 2048 bytes
        many = [
            Drift(i, f"192.0.2.{i % 250}", "previous", "service_opened", f"tcp/{i}")
            for i in range(300)
        ]
        [big_id] = outbox.enqueue(
            engine, run_id=run, schedule_id=None, channels=[f"syslog:udp://{HOST}:{port}"],
            drifts=many, kinds=[],
        )  # fmt: skip
        assert outbox.deliver_due(engine, policy=FAST, env={}) == 1
        big, _ = receiver.recvfrom(65535)
    assert len(big) <= syslog.UDP_MAX
    short = check_message(big, big_id, run, full=False)["summary"]
    assert (
        short
        == f"shinsa: 300 changes on site plant-b (service opened 300) in run {run}; /runs/{run}"
    )
    assert b'drifts="300"' in big


def test_tcp_octet_counted_frames(engine: sa.Engine) -> None:
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        listener.settimeout(5)
        port = listener.getsockname()[1]
        run = add_run(engine)
        spec = f"syslog:tcp://{HOST}:{port}"
        first = outbox.enqueue(
            engine, run_id=run, schedule_id=None, channels=[spec], drifts=DRIFTS, kinds=[]
        )
        second = outbox.enqueue(
            engine, run_id=run, schedule_id=None, channels=[spec], drifts=DRIFTS[1:], kinds=[]
        )
        assert outbox.deliver_due(engine, policy=FAST, env={}) == 2
        streams = []
        for _ in range(2):  # one connection per alert, each closed by the sender
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                streams.append(read_all(conn))
    messages = [m for data in streams for m in octet_frames(data)]
    assert len(messages) == 2
    bodies = {}
    for msg in messages:
        found = MESSAGE.match(msg)
        assert found is not None
        bodies[int(found["alert"])] = check_message(msg, int(found["alert"]), run, full=True)
    assert set(bodies) == {first[0], second[0]}
    assert [d["kind"] for d in bodies[second[0]]["drift"]] == ["new_device"]


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, str, list[bytes]]]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(ctx)
    got: list[bytes] = []
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)
            try:
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    got.append(read_all(conn))
            except (OSError, ssl.SSLError):  # an untrusting client hangs up: nothing got
                raw.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1], str(ca_file), got
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def test_tls_with_the_sites_ca(
    engine: sa.Engine, tls_receiver: tuple[int, str, list[bytes]]
) -> None:
    port, ca_file, got = tls_receiver
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=[f"syslog:tls://{HOST}:{port}"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    # without the CA the certificate is not trusted: nothing sent, the row says why
    assert outbox.deliver_due(engine, policy=FAST, env={}) == 0
    failed = row(engine, alert_id)
    assert (failed.state, failed.attempts) == ("pending", 1)
    assert "CERTIFICATE_VERIFY_FAILED" in failed.last_error
    later = datetime.now(UTC) + timedelta(seconds=31)
    env = {"SHINSA_SYSLOG_CA": ca_file}
    assert outbox.deliver_due(engine, now=later, policy=FAST, env=env) == 1
    for _ in range(50):  # the receiver thread finishes reading after the sender closed
        if got:
            break
        threading.Event().wait(0.1)
    [data] = got
    [msg] = octet_frames(data)
    body = check_message(msg, alert_id, run, full=True)
    assert body == row(engine, alert_id).payload
    assert row(engine, alert_id).state == "sent"
