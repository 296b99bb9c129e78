"""The TLS client context every alert channel uses: the system's trust store, or a CA
bundle named by an environment variable (SHINSA_WEBHOOK_CA, SHINSA_SMTP_CA,
SHINSA_SYSLOG_CA); certificate and host name always checked; TLS 1.2 or newer."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from scanner.service.alerts.channels import DeliveryError

if TYPE_CHECKING:
    from collections.abc import Mapping


def client_context(env: Mapping[str, str], ca_variable: str) -> ssl.SSLContext:
    cafile = env.get(ca_variable, "").strip() or None
    try:
        ctx = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"{ca_variable}={cafile}: cannot read the CA bundle ({exc})") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
