"""Webhook alerts: the `shinsa-alert/1` body POSTed as JSON over HTTPS, signed.

    X-Shinsa-Timestamp: 1765036800              (Unix seconds, when it was signed)
    X-Shinsa-Signature: sha256=HEX              (HMAC-SHA256, key SHINSA_WEBHOOK_SECRET,
                                                 over TIMESTAMP + "." + BODY)
    X-Shinsa-Alert-Id: 17                       (the same on every retry)

A receiver recomputes the HMAC over the raw body, compares in constant time and rejects a
timestamp far from its clock (replays). Without SHINSA_WEBHOOK_SECRET nothing is sent
unless SHINSA_WEBHOOK_UNSIGNED=1 says an unsigned body is wanted: a receiver could not
tell our alert from anyone's. 2xx is delivered; anything else (3xx included: redirects
are not followed, the signature was made for this URL) is an attempt that failed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING

import httpx

from scanner import __version__
from scanner.service.alerts.channels import DeliveryError, env_flag
from scanner.service.alerts.tls import client_context

if TYPE_CHECKING:
    from collections.abc import Mapping

SECRET = "SHINSA_WEBHOOK_SECRET"  # noqa: S105 (the variable's name, not a secret)
UNSIGNED = "SHINSA_WEBHOOK_UNSIGNED"
CA = "SHINSA_WEBHOOK_CA"
_ERROR_BODY = 300  # characters of a refusing receiver's answer kept in last_error


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The X-Shinsa-Signature value: sha256= and the hex HMAC of TIMESTAMP.BODY."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(
    body: bytes, *, alert_id: int, env: Mapping[str, str], now: float | None = None
) -> dict[str, str]:
    """The request's headers, signed; DeliveryError when no secret and unsigned not allowed."""
    stamp = str(int(time.time() if now is None else now))
    out = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"shinsa/{__version__}",
        "X-Shinsa-Alert-Id": str(alert_id),
        "X-Shinsa-Timestamp": stamp,
    }
    secret = env.get(SECRET, "")
    if secret:
        out["X-Shinsa-Signature"] = signature(secret.encode(), stamp, body)
    elif not env_flag(env, UNSIGNED):
        raise DeliveryError(
            f"{SECRET} is not set: refusing to send an unsigned webhook "
            f"(set {UNSIGNED}=1 if the receiver does not check signatures)"
        )
    return out


def send(url: str, body: bytes, *, alert_id: int, env: Mapping[str, str], timeout: float) -> None:
    """POST the body; returns when the receiver answered 2xx, raises DeliveryError else."""
    hdrs = headers(body, alert_id=alert_id, env=env)
    verify = client_context(env, CA) if url.lower().startswith("https:") else True
    # trust_env=False: no proxy or netrc from the environment reaches the alert, whose
    # body names weak devices (a proxy is not supported: docs/alerts.md)
    limits = httpx.Timeout(timeout)
    try:
        with (
            httpx.Client(
                verify=verify, timeout=limits, trust_env=False, follow_redirects=False
            ) as client,
            client.stream("POST", url, content=body, headers=hdrs) as response,
        ):
            if 200 <= response.status_code < 300:
                return
            answer = _bounded_text(response)
            raise DeliveryError(f"HTTP {response.status_code} from the receiver: {answer}")
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:500]) from None


def _bounded_text(response: httpx.Response) -> str:
    """The first few hundred characters of the answer, read without reading it all."""
    got = b""
    for chunk in response.iter_bytes():
        got += chunk
        if len(got) >= _ERROR_BODY:
            break
    text = got[:_ERROR_BODY].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text).strip() or "(empty)"
