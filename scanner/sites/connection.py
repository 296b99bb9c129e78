"""Connections to the broker: TLS and the Redis client beside Celery's.

TLS to Redis: a `rediss://` URL, verified against $SHINSA_BROKER_CA (else the system's
CAs), with a client certificate from $SHINSA_BROKER_CERT and $SHINSA_BROKER_KEY where the
server asks for one. The password is in the URL (redis://:PASSWORD@HOST...), which comes
from the environment ($SHINSA_BROKER), never from the command line of a long-running
process (`ps` shows it to every user of the machine).
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import redis


def tls_options(url: str) -> dict[str, Any] | None:
    """The TLS settings for a rediss:// broker (None for redis://)."""
    if not url.startswith("rediss://"):
        return None
    options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    for setting, variable in (
        ("ssl_ca_certs", "SHINSA_BROKER_CA"),
        ("ssl_certfile", "SHINSA_BROKER_CERT"),
        ("ssl_keyfile", "SHINSA_BROKER_KEY"),
    ):
        if os.environ.get(variable):
            options[setting] = os.environ[variable]
    return options


def client(url: str) -> redis.Redis:
    """A Redis client for the locks, the pace, the stop flags and the heartbeats."""
    tls = tls_options(url) or {}
    return redis.Redis.from_url(
        url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=10, **tls
    )


def announce_version(url: str) -> None:
    """Record this version on the broker (the service and every `scan --broker` do): a
    worker of another version refuses to start (worker.check_version)."""
    from scanner import __version__
    from scanner.errors import ConfigError
    from scanner.sites import keys

    try:
        client(url).set(keys.VERSION_KEY, __version__)
    except redis.RedisError as exc:
        raise ConfigError(f"--broker {keys.masked(url)}: does not answer ({exc})") from None
