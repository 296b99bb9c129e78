"""How `shinsa serve` runs: the database, the data directory, where it listens, TLS, and
the session and login limits that `scanner.service.auth` enforces.

The defaults follow what shinsa's own `acceptance` profile checks on a device: an idle
session ends within 5 minutes (`session.idle-timeout`), a login locks within 5 failures
(`auth.lockout`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ConfigError

#: the session cookie over TLS: `__Host-` makes browsers insist on Secure, Path=/ and no
#: Domain, so no sibling host can plant or read it
TLS_COOKIE = "__Host-shinsa"
#: the session cookie over plain HTTP (--insecure-http, or loopback without TLS): browsers
#: refuse a Secure or `__Host-` cookie there, so it is neither (and serve warns)
PLAIN_COOKIE = "shinsa"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    db_url: str
    data_dir: Path = Path("shinsa-service")
    listen: str = "127.0.0.1:8443"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_http: bool = False
    session_idle: int = 300  # seconds without a request before a session ends
    session_lifetime: int = 8 * 3600  # seconds after login a session ends regardless
    login_max_failures: int = 5  # failed logins in a row that lock the name
    login_lock_seconds: int = 300  # how long a locked name stays locked
    max_sessions: int = 10  # a user's sessions at once: a new login ends the oldest beyond
    tz: str = ""  # the zone pages show times in; "": per language (scanner/service/clock.py)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def cookie_name(self) -> str:
        return TLS_COOKIE if self.tls else PLAIN_COOKIE


def split_listen(listen: str) -> tuple[str, int]:
    """HOST and PORT of a `--listen HOST:PORT` (`[v6]:PORT` for IPv6)."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"--listen {listen!r}: give HOST:PORT, e.g. 127.0.0.1:8443")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ConfigError(f"--listen {listen!r}: the port must be 0-65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; a name other than localhost is not
    trusted to stay on the machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(config: ServiceConfig) -> str:
    """Refuse a configuration that would send passwords and session cookies in clear over a
    network; the warning to print (or "") for one that is allowed but plain HTTP."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("give both --tls-cert and --tls-key, or neither")
    host, _port = split_listen(config.listen)
    if config.tls:
        return ""
    if not is_loopback(host) and not config.insecure_http:
        raise ConfigError(
            f"refusing to listen on {host} without TLS: passwords and session cookies would "
            "cross the network in clear. Give --tls-cert FILE --tls-key FILE, or "
            "--insecure-http if a TLS proxy in front of the service terminates it"
        )
    return (
        f"warning: serving plain HTTP on {host}: the session cookie is {PLAIN_COOKIE!r} "
        "without the Secure flag; use --tls-cert/--tls-key for anything but local testing"
    )
