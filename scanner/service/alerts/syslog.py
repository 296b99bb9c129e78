"""Syslog alerts: one RFC 5424 message per alert, over UDP (RFC 5426), TCP with octet
counting (RFC 6587) or TLS (RFC 5425).

    <132>1 2026-12-06T16:10:35.123Z scanner01 shinsa 4242 drift
        [shinsa@32473 alertId="7" runId="20261206-..." site="plant-a" drifts="3"] BOM{json}

The structured data names the alert, run and site so that a SIEM files it without reading
the JSON; the message is the `shinsa-alert/1` body. 32473 is the enterprise number RFC 5612
reserves for examples: shinsa has none of its own, and the SD-ID needs one.

Size: a UDP datagram is at most 2048 bytes (what RFC 5426 asks receivers to take; larger
ones are fragmented or dropped), a TCP/TLS message at most 8192 (rsyslog's default
maximum). A message that would be longer carries the one-line summary and the run's link
instead of the JSON; the structured data stays. UDP has no acknowledgement: "sent" means
the datagram left this host.

Settings: SHINSA_SYSLOG_CA (CA bundle for TLS), SHINSA_SYSLOG_FACILITY (a name such as
local0, the default, or a number 0-23).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scanner.service.alerts.channels import DeliveryError
from scanner.service.alerts.payload import encode, summary
from scanner.service.alerts.tls import client_context

if TYPE_CHECKING:
    from collections.abc import Mapping

CA = "SHINSA_SYSLOG_CA"
FACILITY = "SHINSA_SYSLOG_FACILITY"
UDP_MAX = 2048
STREAM_MAX = 8192
SD_ID = "shinsa@32473"
BOM = b"\xef\xbb\xbf"
FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13,
    "alert": 14, "clock": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
    "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
WARNING, NOTICE = 4, 5
#: drift kinds that are good or neutral news: an alert of only these is a notice
_CALM = {"fixed", "service_closed"}


def facility(env: Mapping[str, str]) -> int:
    value = env.get(FACILITY, "").strip().lower() or "local0"
    if value.isdigit() and int(value) <= 23:
        return int(value)
    if value in FACILITIES:
        return FACILITIES[value]
    raise DeliveryError(f"{FACILITY}={value!r}: a facility name (local0..local7, user...) or 0-23")


def header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII, bounded, "-" when empty."""
    kept = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return kept or "-"


def sd_escape(value: str) -> str:
    """An SD-PARAM value: '"', '\\' and ']' escaped (RFC 5424 6.3.3)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _cut(data: bytes, limit: int) -> bytes:
    """At most `limit` bytes without splitting a UTF-8 character."""
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", "ignore").encode()


def message(
    body: dict[str, Any],
    *,
    limit: int,
    fac: int = FACILITIES["local0"],
    hostname: str | None = None,
    at: datetime | None = None,
) -> bytes:
    """The RFC 5424 message for an alert, at most `limit` bytes (see the module's note)."""
    kinds = set(body.get("counts", {}))
    severity = NOTICE if kinds and kinds <= _CALM else WARNING
    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    host = header_field(hostname if hostname is not None else socket.gethostname(), 255)
    header = f"<{fac * 8 + severity}>1 {stamp[:23]}Z {host} shinsa {os.getpid()} drift"
    params = {
        "alertId": str(body.get("alert_id", "")),
        "runId": str(body.get("run_id", "")),
        "site": str(body.get("site", "")),
        "drifts": str(sum(body.get("counts", {}).values())),
    }
    sd = "[" + SD_ID + "".join(f' {k}="{sd_escape(v)}"' for k, v in params.items()) + "]"
    head = f"{header} {sd} ".encode()
    full = head + BOM + encode(body)
    if len(full) <= limit:
        return full
    short = f"{summary(body)}; {body.get('links', {}).get('run', '')}"
    return _cut(head + BOM + short.encode(), limit)


def frame(msg: bytes) -> bytes:
    """RFC 6587 octet counting: the length, a space, the message."""
    return str(len(msg)).encode("ascii") + b" " + msg


def send(
    transport: str,
    host: str,
    port: int,
    body: dict[str, Any],
    *,
    env: Mapping[str, str],
    timeout: float,
) -> str:
    """Send the alert; raises DeliveryError when the receiver cannot be reached."""
    fac = facility(env)
    try:
        if transport == "udp":
            msg = message(body, limit=UDP_MAX, fac=fac)
            family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.settimeout(timeout)
                sock.sendto(msg, addr)
            return ""
        data = frame(message(body, limit=STREAM_MAX, fac=fac))
        ctx = client_context(env, CA) if transport == "tls" else None
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if ctx is None:
                raw.sendall(data)
                raw.shutdown(socket.SHUT_WR)
            else:
                with ctx.wrap_socket(raw, server_hostname=host) as tls:
                    tls.sendall(data)
        return ""
    except OSError as exc:  # socket errors, timeouts, TLS errors (ssl.SSLError is one)
        raise DeliveryError(
            f"syslog {transport}://{host}:{port}: {type(exc).__name__}: {exc}"[:500]
        ) from None
