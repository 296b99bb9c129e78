"""Where an alert goes: `--alert` specs read into `Channel`s.

    webhook:https://HOST[:PORT]/PATH   (http:// only to a loopback address)
    smtp:ADDR[,ADDR...]                (the server comes from SHINSA_SMTP_*)
    syslog:udp://HOST:PORT | syslog:tcp://HOST:PORT | syslog:tls://HOST:PORT

A spec never carries a secret: the webhook's signing key, the SMTP password and the CA
bundles come from the environment (docs/alerts.md), because a spec is stored in the
database (schedules.alerts, alerts.target) and shown on the dashboard. A URL with a user
name, password or credential-like query parameter is refused rather than stored.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

KINDS = ("webhook", "smtp", "syslog")
SYSLOG_TRANSPORTS = ("udp", "tcp", "tls")

#: query parameters that usually hold a credential (Slack-, Teams- and API-style hooks)
_SECRET_PARAMS = re.compile(
    r"^(token|access_token|api[_-]?key|apikey|key|secret|sig|signature|password|passwd|pass|"
    r"auth|authorization|code|credential|credentials)$",
    re.IGNORECASE,
)
# a pragmatic address check: one @, no spaces or angle brackets, a dotted domain or literal
# (ASCII only: an internationalised address needs SMTPUTF8, which few relays offer)
_ADDRESS = re.compile(r"^[!#-'*+\-./0-9=?A-Z^_`a-z{|}~]{1,64}@[A-Za-z0-9.-]{1,253}$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_MAX_SPEC = 2048


@dataclass(frozen=True, slots=True)
class Channel:
    """One alert destination, parsed and checked.

    `kind` is webhook | smtp | syslog; `target` is the spec after `KIND:` (the URL, the
    addresses joined by commas, or the syslog URL) as the `alerts.target` column holds it.
    """

    kind: str
    target: str
    url: str = ""  # webhook
    recipients: tuple[str, ...] = ()  # smtp
    transport: str = ""  # syslog: udp | tcp | tls
    host: str = ""  # syslog
    port: int = 0  # syslog

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.target}"


def parse_channel(spec: str) -> Channel:
    """The channel a `--alert` spec names; ConfigError saying what is wrong otherwise."""
    if len(spec) > _MAX_SPEC:
        raise ConfigError(f"--alert: a channel spec is at most {_MAX_SPEC} characters")
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in KINDS:
        raise ConfigError(
            f"--alert {_shown(spec)!r}: give webhook:https://HOST/PATH, smtp:ADDR[,ADDR], "
            "or syslog:udp|tcp|tls://HOST:PORT"
        )
    rest = rest.strip()
    if kind == "smtp":  # "a@x, b@y" reads as the user meant
        rest = ",".join(a.strip() for a in rest.split(","))
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in rest):
        raise ConfigError(f"--alert {_shown(spec)!r}: spaces or control characters in {kind}")
    if kind == "webhook":
        return _webhook(rest)
    if kind == "smtp":
        return _smtp(rest)
    return _syslog(rest)


def _shown(spec: str) -> str:
    """The spec for an error message, without anything that may be a credential."""
    kind, _, rest = spec.partition(":")
    parts = urlsplit(rest) if "://" in rest else None
    if parts is not None and (parts.username or parts.password or parts.query):
        host = parts.hostname or ""
        return f"{kind}:{parts.scheme}://{host}/..."
    return spec[:200]


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _webhook(url: str) -> Channel:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"--alert webhook: not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("https", "http") or not host:
        raise ConfigError("--alert webhook:URL needs an https://HOST/... URL")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"--alert webhook:{scheme}://{host}/...: no user or password in the URL (it is "
            "stored and shown); the receiver checks the X-Shinsa-Signature made with "
            "SHINSA_WEBHOOK_SECRET"
        )
    for name, _value in parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_PARAMS.match(name):
            raise ConfigError(
                f"--alert webhook:{scheme}://{host}/...: the query parameter {name!r} looks "
                "like a credential, and the URL is stored and shown; the receiver checks the "
                "X-Shinsa-Signature made with SHINSA_WEBHOOK_SECRET instead"
            )
    if parts.fragment:
        raise ConfigError(f"--alert webhook:{url}: a fragment (#...) is never sent; drop it")
    if scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"--alert webhook:{url}: plain http:// only to a loopback address (a relay on "
            "this host); use https:// (the alert body names weak devices)"
        )
    if port == 0:
        raise ConfigError(f"--alert webhook:{url}: port 0")
    return Channel(kind="webhook", target=url, url=url)


def _smtp(rest: str) -> Channel:
    addresses = tuple(a.strip() for a in rest.split(","))
    if not rest or any(not a for a in addresses):
        raise ConfigError("--alert smtp:ADDR[,ADDR]: give one or more e-mail addresses")
    bad = [a for a in addresses if not _ADDRESS.match(a) or "." not in a.rsplit("@", 1)[1]]
    if bad:
        raise ConfigError(
            f"--alert smtp: not an e-mail address: {', '.join(bad[:3])} (ASCII addresses; "
            "an internationalised domain in its xn-- form)"
        )
    if len({a.lower() for a in addresses}) != len(addresses):
        raise ConfigError("--alert smtp: an address is given twice")
    return Channel(kind="smtp", target=",".join(addresses), recipients=addresses)


def _syslog(rest: str) -> Channel:
    scheme, sep, hostport = rest.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SYSLOG_TRANSPORTS:
        raise ConfigError(f"--alert syslog:{rest}: give syslog:udp|tcp|tls://HOST:PORT")
    if "/" in hostport or "@" in hostport or "?" in hostport:
        raise ConfigError(f"--alert syslog:{rest}: only HOST:PORT after {scheme}://")
    if hostport.startswith("["):
        host, bracket, tail = hostport[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
        if not bracket:
            raise ConfigError(f"--alert syslog:{rest}: unclosed [ in the address")
    else:
        host, _, port_text = hostport.rpartition(":")
    if not host or not port_text:
        raise ConfigError(
            f"--alert syslog:{rest}: give the port too ({scheme}://HOST:PORT; syslog uses "
            "514 over UDP and TCP, 6514 over TLS)"
        )
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"--alert syslog:{rest}: the port is a number 1-65535")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.match(host):
            raise ConfigError(f"--alert syslog:{rest}: {host!r} is not a host name") from None
    return Channel(
        kind="syslog",
        target=f"{scheme}://{hostport}",
        transport=scheme,
        host=host,
        port=int(port_text),
    )


class DeliveryError(Exception):
    """An attempt to send an alert failed; the message goes to `alerts.last_error` (it never
    holds a secret) and the outbox tries again later."""


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no setting from the environment: 1, yes, true or on."""
    return env.get(name, "").strip().lower() in ("1", "yes", "true", "on")
