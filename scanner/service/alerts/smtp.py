"""E-mail alerts: one message per alert, English then Japanese, the `shinsa-alert/1` body
attached as JSON; sent through the site's mail server with STARTTLS and authentication.

Settings (docs/alerts.md): SHINSA_SMTP_HOST, SHINSA_SMTP_PORT (587), SHINSA_SMTP_FROM,
SHINSA_SMTP_USER and SHINSA_SMTP_PASSWORD (both or neither), SHINSA_SMTP_CA (a CA bundle;
the system's otherwise). STARTTLS is required: a server that does not offer it gets
nothing, so neither the password nor the list of weak devices crosses the network in clear.
"""

from __future__ import annotations

import base64
import json
import re
import smtplib
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from scanner.service.alerts.channels import DeliveryError
from scanner.service.alerts.payload import kind_text, summary
from scanner.service.alerts.tls import client_context

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

HOST = "SHINSA_SMTP_HOST"
PORT = "SHINSA_SMTP_PORT"
FROM = "SHINSA_SMTP_FROM"
USER = "SHINSA_SMTP_USER"
PASSWORD = "SHINSA_SMTP_PASSWORD"  # noqa: S105 (the variable's name, not a secret)
CA = "SHINSA_SMTP_CA"
DEFAULT_PORT = 587
_MAX_LINES = 200  # drifts listed in the text; the attachment carries all of them


def _line(drift: dict[str, Any], *, ja: bool) -> str:
    change = ""
    if drift.get("before") or drift.get("after"):
        change = f": {drift.get('before') or '-'} -> {drift.get('after') or '-'}"
    severity = f" [{drift['severity']}]" if drift.get("severity") else ""
    against = drift.get("against", "")
    if ja:
        against = {"baseline": "ベースライン比", "previous": "前回比"}.get(against, against)
    return (
        f"- {drift.get('address', '')} {kind_text(str(drift.get('kind', '')), ja=ja)}: "
        f"{drift.get('subject', '')}{change}{severity} ({against})"
    )


def text(body: dict[str, Any]) -> str:
    """The message's text: the English part, then the Japanese part."""
    drifts: list[dict[str, Any]] = body.get("drift", [])
    shown = drifts[:_MAX_LINES]
    more = len(drifts) - len(shown)
    schedule = body.get("schedule") or {}
    en = [
        summary(body),
        "",
        f"Site: {body.get('site', '')}",
        f"Run: {body.get('run_id', '')} ({body.get('links', {}).get('run', '')})",
        f"Schedule: {schedule.get('name', '-') if schedule else '-'}",
        f"Alert: {body.get('alert_id', '')}, made {body.get('created', '')}",
        "",
        *(_line(d, ja=False) for d in shown),
    ]
    if more:
        en.append(f"... and {more} more (see the attached JSON)")
    ja = [
        summary(body, ja=True),
        "",
        f"サイト: {body.get('site', '')}",
        f"実行: {body.get('run_id', '')} ({body.get('links', {}).get('run', '')})",
        f"スケジュール: {schedule.get('name', '-') if schedule else '-'}",
        f"アラート: {body.get('alert_id', '')}（作成 {body.get('created', '')}）",
        "",
        *(_line(d, ja=True) for d in shown),
    ]
    if more:
        ja.append(f"ほか {more} 件（添付の JSON を参照）")
    return "\n".join([*en, "", "-" * 40, "", *ja, ""])


def message(body: dict[str, Any], *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The e-mail for one alert (Subject RFC 2047-encoded where Japanese, body UTF-8)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = f"{summary(body)} / {summary(body, ja=True)}"
    msg["Date"] = formatdate(usegmt=True)
    domain = sender.rpartition("@")[2] or "shinsa.invalid"
    run = re.sub(r"[^A-Za-z0-9.-]", "-", str(body.get("run_id", "")))[:64]
    # the same Message-ID on every retry: a mail system can drop a repeat
    msg["Message-ID"] = f"<shinsa.alert.{body.get('alert_id', 0)}.{run}@{domain}>"
    msg["X-Shinsa-Alert-Id"] = str(body.get("alert_id", ""))
    msg.set_content(text(body), charset="utf-8")
    attachment = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True).encode()
    msg.add_attachment(
        attachment,
        maintype="application",
        subtype="json",
        filename=f"shinsa-alert-{body.get('alert_id', 0)}.json",
    )
    return msg


def _settings(env: Mapping[str, str]) -> tuple[str, int, str, str, str]:
    host = env.get(HOST, "").strip()
    sender = env.get(FROM, "").strip()
    if not host or not sender:
        raise DeliveryError(f"set {HOST} and {FROM} to send e-mail alerts")
    port_text = env.get(PORT, "").strip() or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DeliveryError(f"{PORT}={port_text!r}: a port number 1-65535")
    user, password = env.get(USER, ""), env.get(PASSWORD, "")
    if bool(user) != bool(password):
        raise DeliveryError(f"set both {USER} and {PASSWORD}, or neither")
    return host, int(port_text), sender, user, password


def send(
    recipients: Sequence[str],
    body: dict[str, Any],
    *,
    env: Mapping[str, str],
    timeout: float,
) -> str:
    """Send the alert; returns a note (recipients the server refused) or "" when all took it.
    Raises DeliveryError when the message was not accepted."""
    host, port, sender, user, password = _settings(env)
    ctx = client_context(env, CA)
    msg = message(body, sender=sender, recipients=recipients)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as server:
            server.ehlo()
            if not server.has_extn("starttls"):
                raise DeliveryError(
                    f"{host}:{port} does not offer STARTTLS: refusing to send the alert "
                    "(and any password) in clear"
                )
            server.starttls(context=ctx)
            server.ehlo()
            if user:
                _login(server, user, password)
            refused = server.send_message(msg, from_addr=sender, to_addrs=list(recipients))
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{host}:{port} refused the login of {user!r}: {_reply(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"{host}:{port} refused every recipient: {exc.recipients}") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{host}:{port}: {_reply(exc)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{host}:{port}: {type(exc).__name__}: {exc}"[:500]) from None
    if refused:
        return f"delivered, but {host}:{port} refused {sorted(refused)}"
    return ""


def _login(server: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH under TLS. smtplib encodes credentials as ASCII only; a UTF-8 name or password
    (RFC 4616 allows it) goes as AUTH PLAIN written here."""
    if (user + password).isascii():
        server.login(user, password)
        return
    if "plain" not in server.esmtp_features.get("auth", "").lower().split():
        raise DeliveryError("the server does not offer AUTH PLAIN, needed for a non-ASCII login")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    code, answer = server.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return f"{exc.smtp_code} {text}"[:300]
