"""The nouns every stage passes along: frozen data, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None
Transport: TypeAlias = Literal["tcp", "udp"]

#: Longest device-supplied string kept anywhere (banner, title, header): devices lie and flood.
MAX_DEVICE_TEXT = 512


def device_str(raw: bytes) -> str:
    """Device bytes as text: UTF-8, and each byte that is not UTF-8 as the escape `\\xNN`, the
    form bound_text gives control characters. U+FFFD ("replace") would hide which byte the
    device sent, and would read differently from a control byte's escape."""
    return raw.decode("utf-8", "backslashreplace")


def quoted(text: str) -> str:
    """Device text already made printable (bound_text, device_text) in quotes, for a
    sentence: repr() would escape its escapes again (`\\x00` shown as `\\\\x00`)."""
    return f"'{text}'"


def bound_text(raw: bytes | str, limit: int = MAX_DEVICE_TEXT) -> str:
    """Device bytes as printable text of at most `limit` characters.

    Control characters become escapes so a banner can never move a terminal cursor or
    break a log line, as do bytes that are not UTF-8 (device_str); the caller still
    escapes for HTML.
    """
    text = device_str(raw) if isinstance(raw, bytes) else raw
    out: list[str] = []
    for ch in text[: limit * 2]:
        if ch in "\t" or ch.isprintable():
            out.append(ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else "\ufffd")
    joined = "".join(out).strip()
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105 -- a verdict, not a password; positive evidence it holds
    FAIL = "fail"  # positive evidence it does not
    INCONCLUSIVE = "inconclusive"  # the probe ran, the evidence does not decide
    ERROR = "error"  # the probe could not finish: timeout, reset, crash
    NOT_APPLICABLE = "not_applicable"  # nothing to test: service absent, feature unsupported
    SKIPPED = "skipped"  # not run by choice: intrusive and not allowed


class Status(enum.StrEnum):
    """A requirement's status on a device (scanner.judging.assess decides it from verdicts)."""

    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"
    PARTIALLY_ASSESSED = "partially_assessed"
    NOT_ASSESSED = "not_assessed"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


#: what `--fail-on` accepts: requirement statuses and check verdicts (error and not_applicable
#: are both, and match either). Here, not in scanner.judging.assess, so that building the command
#: line does not import the profile loader.
FAIL_ON_NAMES = tuple(dict.fromkeys([*(s.value for s in Status), *(v.value for v in Verdict)]))


@dataclass(frozen=True, slots=True)
class Target:
    """One device address admitted by scope, with the name the operator used for it."""

    address: str  # an IP address, never a host name: scope is decided on addresses
    label: str = ""  # host name or inventory label; the address when none was given
    # the profile this device is planned and judged by (a name or a YAML file, from a target
    # file's `profile=`); empty: the run's own profile
    profile: str = ""
    # the site whose workers scan it (a target file's `site=`, `shinsa scan --broker`);
    # empty: the run's --site
    site: str = ""

    @property
    def name(self) -> str:
        return self.label or self.address


@dataclass(frozen=True, slots=True)
class Service:
    """One open port on a target, as discovery found it and fingerprinting named it."""

    transport: Transport
    port: int
    protocol: str = "unknown"  # "ssh", "http", "https", "telnet", "ftp", "mqtt", ... or "unknown"
    banner: str = ""  # device text: bounded on read, escaped on render
    tls: bool = False  # a TLS handshake succeeded on this port
    product: str = ""  # server software as the device named it (Server header, SSH software)
    note: str = ""  # why identification failed or is uncertain (timeout, reset, garbage)

    @property
    def key(self) -> str:
        return f"{self.transport}/{self.port}"

    @property
    def identified(self) -> bool:
        return self.protocol != "unknown"

    def __str__(self) -> str:
        return f"{self.transport}/{self.port} {self.protocol}"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Small, structured, masked proof for a result."""

    kind: str  # "banner", "http_exchange", "auth_attempt", "timing", "exception", "policy"
    summary: str  # one line for the report
    details: Mapping[str, JSONValue] = field(default_factory=dict)  # masked, bounded at creation
    summary_ja: str = ""  # the summary in Japanese, for `--lang ja` (empty: not translated)


@dataclass(frozen=True, slots=True)
class Result:
    """One check on one target (and service)."""

    check_id: str
    target: str  # Target.address
    service: Service | None  # None for device-level checks
    verdict: Verdict
    reason: str  # a full sentence naming the device, the service and what was seen
    evidence: tuple[Evidence, ...] = ()
    started: datetime | None = None
    duration: float | None = None
    reason_ja: str = ""  # the reason in Japanese, for `--lang ja` (empty: not translated)

    @property
    def service_key(self) -> str:
        return self.service.key if self.service else ""
