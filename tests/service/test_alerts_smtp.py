"""E-mail alerts against a real SMTP receiver (aiosmtpd on 127.0.92.2, a port the kernel
picked, a throwaway CA from trustme) that requires STARTTLS and AUTH: the message arrives
with its English and Japanese text and the shinsa-alert/1 body attached; a wrong password
and a server without STARTTLS get nothing, and the row says why."""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default as default_policy
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
import sqlalchemy as sa
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from scanner.service import schema as t
from scanner.service.alerts import outbox, payload
from scanner.service.alerts.outbox import RetryPolicy
from scanner.service.drift import Drift

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HOST = "127.0.92.2"
USER, PASSWORD = "shinsa-alerts", "pa55 wörd"
FAST = RetryPolicy(delays=(30.0, 120.0), timeout=5.0)
DRIFTS = [
    Drift(1, "192.0.2.10", "baseline", "service_opened", "tcp/23 telnet", after="open"),
    Drift(2, "192.0.2.20", "previous", "cert_expiring", "tcp/443 CN=plc", after="12 days"),
]
TO = ["ops@example.com", "audit@example.com"]


@dataclass
class Mailbox:
    port: int
    ca_file: str
    mails: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


class Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _start(tmp_path: Path, *, tls: bool) -> tuple[Controller, Mailbox]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    box = Mailbox(port=_free_port(), ca_file=str(ca_file))

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        box.logins.append((login, auth_data.password.decode()))
        ok = (login, auth_data.password.decode()) == (USER, PASSWORD)
        return AuthResult(success=ok, handled=False)

    kwargs: dict[str, Any] = {}
    if tls:
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(HOST).configure_cert(server_ctx)
        kwargs = {
            "tls_context": server_ctx,
            "require_starttls": True,
            "auth_required": True,
            "auth_require_tls": True,
            "authenticator": authenticator,
        }
    controller = Controller(Handler(box), hostname=HOST, port=box.port, **kwargs)
    controller.start()
    return controller, box


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    controller, box = _start(tmp_path, tls=True)
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def plain_mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    controller, box = _start(tmp_path, tls=False)
    try:
        yield box
    finally:
        controller.stop()


def add_run(engine: sa.Engine, run_id: str = "20261206-run2") -> str:
    with engine.begin() as conn:
        schedule = conn.execute(
            t.schedules.insert().values(
                name="nightly 夜間",
                cron="0 2 * * *",
                definition={},
                created=datetime.now(UTC),
                created_by="test",
            )
        ).inserted_primary_key
        conn.execute(
            t.runs.insert().values(
                id=run_id, site="工場A", trigger="schedule", started=datetime.now(UTC),
                status="complete", profile_id="base", profile_digest="d",
                scanner_version="0.1.0", request={}, summary={},
                schedule_id=schedule[0] if schedule else None,
            )
        )  # fmt: skip
    return run_id


def schedule_id(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        found: int = conn.execute(sa.select(t.schedules.c.id)).scalar_one()
        return found


def env_for(box: Mailbox, *, password: str = PASSWORD) -> dict[str, str]:
    return {
        "SHINSA_SMTP_HOST": HOST,
        "SHINSA_SMTP_PORT": str(box.port),
        "SHINSA_SMTP_FROM": "shinsa@example.com",
        "SHINSA_SMTP_USER": USER,
        "SHINSA_SMTP_PASSWORD": password,
        "SHINSA_SMTP_CA": box.ca_file,
    }


def row(engine: sa.Engine, alert_id: int) -> sa.Row[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.alerts).where(t.alerts.c.id == alert_id)).one()


def test_the_mail_arrives_over_starttls_after_auth(engine: sa.Engine, mailbox: Mailbox) -> None:
    run = add_run(engine)
    sid = schedule_id(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=sid, channels=["smtp:" + ",".join(TO)],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    assert mailbox.mails == []
    assert outbox.deliver_due(engine, policy=FAST, env=env_for(mailbox)) == 1
    assert mailbox.logins == [(USER, PASSWORD)]  # aiosmtpd takes AUTH only under TLS
    [(sender, rcpts, raw)] = mailbox.mails
    assert sender == "shinsa@example.com"
    assert rcpts == TO
    mail = message_from_bytes(raw, policy=default_policy)
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject.startswith("shinsa: 2 changes on site 工場A (service opened 1, ")
    assert "サイト 工場A で変化 2 件" in subject
    assert mail["To"] == "ops@example.com, audit@example.com"
    assert mail["X-Shinsa-Alert-Id"] == str(alert_id)
    text_part = mail.get_body(preferencelist=("plain",))
    assert text_part is not None
    assert text_part.get_content_charset() == "utf-8"
    text = text_part.get_content()
    assert "Schedule: nightly 夜間" in text
    assert "- 192.0.2.20 certificate expiring: tcp/443 CN=plc: - -> 12 days (previous)" in text
    assert "- 192.0.2.20 証明書の期限が近い: tcp/443 CN=plc: - -> 12 days (前回比)" in text
    assert text.index("Run: ") < text.index("実行: ")
    [attachment] = list(mail.iter_attachments())
    body = json.loads(attachment.get_content())
    jsonschema.validate(body, payload.json_schema(), cls=jsonschema.Draft202012Validator)
    assert body["schedule"] == {"id": sid, "name": "nightly 夜間"}
    assert body == row(engine, alert_id).payload
    assert row(engine, alert_id).state == "sent"


def test_a_wrong_password_is_retried_then_failed(engine: sa.Engine, mailbox: Mailbox) -> None:
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=["smtp:ops@example.com"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    env = env_for(mailbox, password="wrong secret")
    at = datetime.now(UTC) + timedelta(seconds=1)
    for attempt, wait in enumerate((30, 120, 0), start=1):
        assert outbox.deliver_due(engine, now=at, policy=FAST, env=env) == 0
        state = row(engine, alert_id)
        assert state.attempts == attempt
        assert "refused the login of 'shinsa-alerts': 535" in state.last_error
        assert "wrong secret" not in state.last_error
        at += timedelta(seconds=wait)
    assert state.state == "failed"
    assert state.next_attempt is None
    assert mailbox.mails == []
    tried = len(mailbox.logins)
    assert tried >= 3  # smtplib tries each mechanism the server offers, per attempt
    assert set(mailbox.logins) == {(USER, "wrong secret")}
    # failed is final: later deliveries leave it alone
    assert outbox.deliver_due(engine, now=at + timedelta(days=1), policy=FAST, env=env) == 0
    assert len(mailbox.logins) == tried


def test_a_server_without_starttls_gets_nothing(engine: sa.Engine, plain_mailbox: Mailbox) -> None:
    run = add_run(engine)
    [alert_id] = outbox.enqueue(
        engine, run_id=run, schedule_id=None, channels=["smtp:ops@example.com"],
        drifts=DRIFTS, kinds=[],
    )  # fmt: skip
    assert outbox.deliver_due(engine, policy=FAST, env=env_for(plain_mailbox)) == 0
    assert plain_mailbox.mails == []
    stored = row(engine, alert_id)
    assert stored.state == "pending"
    assert f"{HOST}:{plain_mailbox.port} does not offer STARTTLS" in stored.last_error
