"""Alert channels without the network: `--alert` specs, the `shinsa-alert/1` body against
its JSON Schema, the webhook signature, the e-mail and the RFC 5424 message."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default as default_policy
from typing import Any

import jsonschema
import pytest

from scanner.errors import ConfigError
from scanner.service.alerts import payload, smtp, syslog, webhook
from scanner.service.alerts.channels import DeliveryError, parse_channel
from scanner.service.drift import KINDS, Drift

AT = datetime(2026, 12, 6, 16, 10, 35, 123456, tzinfo=UTC)


def _drifts() -> list[Drift]:
    return [
        Drift(2, "192.0.2.20", "previous", "fixed", "ssh.weak-kex", before="fail", after="pass"),
        Drift(
            1,
            "192.0.2.10",
            "baseline",
            "service_opened",
            "tcp/23 telnet",
            after="open",
            against_run_id="r0",
        ),
        Drift(1, "192.0.2.10", "baseline", "new_failure", "telnet.open", severity="high"),
    ]


def _body(**changes: Any) -> dict[str, Any]:
    body = payload.build(
        alert_id=7,
        run_id="20261206-161035-abcd",
        site="plant-a",
        schedule_id=3,
        schedule_name="nightly",
        created=AT,
        drifts=_drifts(),
    )
    body.update(changes)
    return body


# --- specs


@pytest.mark.parametrize(
    ("spec", "kind", "target"),
    [
        ("webhook:https://hooks.example.net/shinsa", "webhook", "https://hooks.example.net/shinsa"),
        (
            "webhook:https://[2001:db8::1]:8443/a?site=x",
            "webhook",
            "https://[2001:db8::1]:8443/a?site=x",
        ),
        ("webhook:http://127.0.0.1:9000/hook", "webhook", "http://127.0.0.1:9000/hook"),
        ("webhook:http://localhost/hook", "webhook", "http://localhost/hook"),
        ("webhook:http://[::1]:8080/", "webhook", "http://[::1]:8080/"),
        ("smtp:ops@example.com", "smtp", "ops@example.com"),
        (
            "smtp: ops@example.com , kansa@xn--wgv71a.jp ",
            "smtp",
            "ops@example.com,kansa@xn--wgv71a.jp",
        ),
        ("syslog:udp://192.0.2.1:514", "syslog", "udp://192.0.2.1:514"),
        ("syslog:tcp://log.example.net:601", "syslog", "tcp://log.example.net:601"),
        ("syslog:tls://[2001:db8::5]:6514", "syslog", "tls://[2001:db8::5]:6514"),
        ("SYSLOG:TLS://log:6514", "syslog", "tls://log:6514"),
    ],
)
def test_good_specs_are_read(spec: str, kind: str, target: str) -> None:
    channel = parse_channel(spec)
    assert (channel.kind, channel.target) == (kind, target)
    assert parse_channel(channel.spec) == channel  # what the outbox stores reads back


def test_the_parts_of_each_channel() -> None:
    assert parse_channel("smtp:a@example.com,b@example.com").recipients == (
        "a@example.com",
        "b@example.com",
    )
    tls = parse_channel("syslog:tls://[2001:db8::5]:6514")
    assert (tls.transport, tls.host, tls.port) == ("tls", "2001:db8::5", 6514)
    udp = parse_channel("syslog:udp://127.0.92.1:5514")
    assert (udp.transport, udp.host, udp.port) == ("udp", "127.0.92.1", 5514)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("pager:https://x.example", "give webhook:"),
        ("https://x.example", "give webhook:"),
        ("webhook:http://hooks.example.net/x", "only to a loopback"),
        ("webhook:http://192.0.2.1/x", "only to a loopback"),
        ("webhook:ftp://x.example/", "https://HOST"),
        ("webhook:https:///nohost", "https://HOST"),
        ("webhook:https://x.example:99999/", "not a URL"),
        ("webhook:https://x.example/a#frag", "fragment"),
        ("webhook:https://x.example/a b", "spaces or control"),
        ("smtp:", "one or more"),
        ("smtp:a@example.com,,b@example.com", "one or more"),
        ("smtp:not-an-address", "not an e-mail address"),
        ("smtp:a@localhost", "not an e-mail address"),
        ("smtp:監査@example.jp", "ASCII addresses"),
        ("smtp:<a@example.com>", "not an e-mail address"),
        ("smtp:a@example.com,A@example.com", "twice"),
        ("syslog:192.0.2.1:514", "udp|tcp|tls"),
        ("syslog:https://x:1", "udp|tcp|tls"),
        ("syslog:udp://192.0.2.1", "give the port"),
        ("syslog:tcp://host:0", "1-65535"),
        ("syslog:tcp://host:70000", "1-65535"),
        ("syslog:tcp://host:5x", "1-65535"),
        ("syslog:tls://host:6514/path", "only HOST:PORT"),
        ("syslog:tls://bad_host!:6514", "not a host name"),
        ("syslog:tls://[2001:db8::5:6514", "unclosed"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        parse_channel(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "webhook:https://user:hunter2@hooks.example.net/x",
        "webhook:https://hunter2@hooks.example.net/x",
        "webhook:https://hooks.example.net/x?token=hunter2",
        "webhook:https://hooks.example.net/x?site=a&API_KEY=hunter2",
        "webhook:https://hooks.example.net/x?sig=hunter2",
    ],
)
def test_a_credential_in_a_webhook_url_is_refused_and_not_echoed(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_channel(spec)
    assert "hunter2" not in str(caught.value)
    assert "SHINSA_WEBHOOK_SECRET" in str(caught.value)


# --- the body


def test_the_body_follows_its_published_schema() -> None:
    body = _body()
    jsonschema.Draft202012Validator.check_schema(payload.json_schema())
    jsonschema.validate(body, payload.json_schema(), cls=jsonschema.Draft202012Validator)
    assert body["schema"] == "shinsa-alert/1"
    assert body["created"] == "2026-12-06T16:10:35Z"
    assert body["schedule"] == {"id": 3, "name": "nightly"}
    assert body["links"] == {"run": "/runs/20261206-161035-abcd"}
    # worst news first, in the order of KINDS
    assert [d["kind"] for d in body["drift"]] == ["service_opened", "new_failure", "fixed"]
    assert body["counts"] == {"service_opened": 1, "new_failure": 1, "fixed": 1}
    assert body["drift"][0] == _drifts()[1].to_json()


def test_the_schema_knows_every_drift_kind_and_rejects_what_the_body_never_holds() -> None:
    schema = payload.json_schema()
    assert tuple(schema["$defs"]["kind"]["enum"]) == KINDS
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(_body(schedule=None))
    assert not validator.is_valid(_body(schema="shinsa-alert/2"))
    assert not validator.is_valid(_body(drift=[]))
    assert not validator.is_valid(_body(extra=1))
    assert not validator.is_valid(_body(counts={"made_up": 1}))
    assert not validator.is_valid(_body(created="2026-12-06 16:10:35"))
    bad_kind = dict(payload.build(
        alert_id=1, run_id="r", site="s", schedule_id=None, schedule_name=None, created=AT,
        drifts=_drifts()[:1],
    )["drift"][0], kind="made_up")  # fmt: skip
    assert not validator.is_valid(_body(drift=[bad_kind]))


def test_the_encoding_is_stable_and_keeps_japanese_as_is() -> None:
    body = _body(site="工場A")
    assert payload.encode(body) == payload.encode(json.loads(payload.encode(body)))
    assert "工場A".encode() in payload.encode(body)


# --- webhook signature


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    got = webhook.headers(body, alert_id=7, env={"SHINSA_WEBHOOK_SECRET": "s3"}, now=1765036800)
    assert got["X-Shinsa-Timestamp"] == "1765036800"
    want = hmac.new(b"s3", b'1765036800.{"a":1}', hashlib.sha256).hexdigest()
    assert got["X-Shinsa-Signature"] == "sha256=" + want
    assert got["X-Shinsa-Alert-Id"] == "7"
    # any change of body or time changes it
    assert webhook.signature(b"s3", "1765036801", body) != got["X-Shinsa-Signature"]
    assert webhook.signature(b"s3", "1765036800", b'{"a":2}') != got["X-Shinsa-Signature"]


def test_no_secret_no_send_unless_unsigned_is_asked_for() -> None:
    with pytest.raises(DeliveryError, match="SHINSA_WEBHOOK_SECRET is not set"):
        webhook.headers(b"{}", alert_id=1, env={})
    unsigned = webhook.headers(b"{}", alert_id=1, env={"SHINSA_WEBHOOK_UNSIGNED": "1"})
    assert "X-Shinsa-Signature" not in unsigned


# --- e-mail


def test_the_mail_is_english_then_japanese_with_the_body_attached() -> None:
    msg = smtp.message(_body(), sender="shinsa@example.com", recipients=["a@example.com"])
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    subject_raw = re.search(rb"\r\nSubject: (.*?)\r\n(?! )", head, re.DOTALL)
    assert subject_raw is not None
    assert subject_raw.group(1).isascii()
    assert b"=?utf-8?" in subject_raw.group(1)  # RFC 2047: the Japanese half is encoded
    parsed = message_from_bytes(raw, policy=default_policy)
    subject = str(make_header(decode_header(parsed["Subject"])))
    assert "shinsa: 3 changes on site plant-a" in subject
    assert "サイト plant-a で変化 3 件" in subject
    assert parsed["Message-ID"] == "<shinsa.alert.7.20261206-161035-abcd@example.com>"
    text_part = parsed.get_body(preferencelist=("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert text.index("Site: plant-a") < text.index("サイト: plant-a")
    assert "- 192.0.2.10 service opened: tcp/23 telnet: - -> open (baseline)" in text
    assert "- 192.0.2.10 新たな不適合: telnet.open [high] (ベースライン比)" in text
    attachments = list(parsed.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == "application/json"
    assert json.loads(attachments[0].get_content()) == _body()


def test_smtp_settings_missing_are_a_delivery_error_naming_them() -> None:
    with pytest.raises(DeliveryError, match="SHINSA_SMTP_HOST and SHINSA_SMTP_FROM"):
        smtp.send(["a@example.com"], _body(), env={}, timeout=1)
    half = {"SHINSA_SMTP_HOST": "h", "SHINSA_SMTP_FROM": "f@example.com", "SHINSA_SMTP_USER": "u"}
    with pytest.raises(DeliveryError, match="both"):
        smtp.send(["a@example.com"], _body(), env=half, timeout=1)


# --- syslog

HEADER = re.compile(
    rb"^<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) shinsa (\d+) drift "
    rb"(\[shinsa@32473 (?:[^\]\\]|\\.)*\]) \xef\xbb\xbf"
)


def test_the_syslog_message_is_rfc_5424_with_the_body() -> None:
    msg = syslog.message(_body(), limit=syslog.STREAM_MAX, hostname="scanner01", at=AT)
    head = HEADER.match(msg)
    assert head is not None, msg[:200]
    assert head.group(1) == b"132"  # local0 (16) * 8 + warning (4)
    assert head.group(2) == b"2026-12-06T16:10:35.123Z"
    assert head.group(3) == b"scanner01"
    assert head.group(5) == (
        b'[shinsa@32473 alertId="7" runId="20261206-161035-abcd" site="plant-a" drifts="3"]'
    )
    assert json.loads(msg[head.end() :]) == _body()


def test_syslog_severity_facility_and_escapes() -> None:
    calm = _body(counts={"fixed": 2})
    msg = syslog.message(calm, limit=9999, fac=syslog.facility({"SHINSA_SYSLOG_FACILITY": "user"}))
    assert msg.startswith(b"<13>1 ")  # user (1) * 8 + notice (5)
    tricky = syslog.message(_body(site='a"b]c\\d'), limit=9999, hostname="h o\u00e9st")
    assert b'site="a\\"b\\]c\\\\d"' in tricky
    assert b" host shinsa " in tricky  # printable US-ASCII only in the header
    with pytest.raises(DeliveryError, match="SHINSA_SYSLOG_FACILITY"):
        syslog.facility({"SHINSA_SYSLOG_FACILITY": "local9"})


def test_a_long_alert_becomes_a_summary_within_the_limit() -> None:
    many = [
        Drift(i, f"192.0.2.{i % 250}", "previous", "service_opened", f"tcp/{i} 機器")
        for i in range(300)
    ]
    body = payload.build(
        alert_id=9, run_id="r1", site="工場" * 40, schedule_id=None, schedule_name=None,
        created=AT, drifts=many,
    )  # fmt: skip
    msg = syslog.message(body, limit=syslog.UDP_MAX, hostname="h", at=AT)
    assert len(msg) <= syslog.UDP_MAX
    assert b"300 changes on site" in msg
    assert b"/runs/r1" in msg
    assert b'drifts="300"' in msg
    msg.decode("utf-8")  # never a character cut in half
    tiny = syslog.message(body, limit=200, hostname="h", at=AT)
    assert len(tiny) <= 200
    tiny.decode("utf-8")


def test_octet_counting_frames() -> None:
    assert syslog.frame(b"<13>1 - - - - - - hi") == b"20 <13>1 - - - - - - hi"
    assert syslog.frame("é".encode()) == b"2 \xc3\xa9"
