"""Credentials: what a login attempt uses, what it got back, and how both are shown.

A password never reaches a log, a reason, evidence or the store in clear: everything that
prints a `Credential` prints `masked()`, including `repr()`.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scanner.model import JSONValue, Service


def control_character(text: str) -> str | None:
    """What is wrong with a username or password that holds a control character (None
    when it holds none).

    Every character of Unicode's Cc category is refused: C0 (NUL to US, CR and LF among
    them), DEL and C1. Line protocols frame by them (a CR/LF inside a Telnet or FTP
    password turns one list entry into several commands on the device), a terminal's line
    discipline edits with them (DEL and ^U erase what was typed, so the password tried is
    not the one listed), C strings end at NUL, and a client that encodes Latin-1 sends
    U+0085 as NEL, a line end. TAB too: it frames nothing, but no published factory login
    holds one, a TAB in a list is a pasted tab-separated row (`admin<TAB>admin` as one
    username), and a shell or login prompt may complete on it instead of sending it.
    """
    found = _CONTROL.search(text)
    if found is None:
        return None
    ch = found.group()
    name = _CONTROL_NAMES.get(ch, "a control character")
    return (
        f"holds U+{ord(ch):04X} ({name}) at character {found.start() + 1}, which a login "
        "must not send"
    )


#: Unicode's Cc category: C0, DEL and C1
#: What every login detail shows for a password: four dots, hiding its length.
MASK = "••••"

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\t": "TAB", "\n": "LF", "\r": "CR", "\x00": "NUL", "\x7f": "DEL"}


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and password to try, with where the pair came from."""

    username: str
    password: str = field(repr=False)
    source: str = ""  # "vendor-defaults.yaml: acme cam (manual §4.2)", "--credentials FILE"

    def masked(self) -> str:
        # The username is not a secret (it is printed on the device's label); the password
        # is. Its length is hidden too: every password shows as four dots.
        shown = self.username if self.username else "(empty user)"
        return f"{shown}/{MASK if self.password else '(empty)'}"

    def hint(self) -> str:
        """A candidate from a published list, shown so that two of one account can be told
        apart (`admin/p•••••••`): the first character and the length. Never for a secret
        of the operator's (a test account): only `masked()` is safe there."""
        shown = self.username if self.username else "(empty user)"
        if not self.password:
            return f"{shown}/(empty)"
        return f"{shown}/{self.password[0]}{'•' * (len(self.password) - 1)}"

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"Credential({self.masked()!r}, source={self.source!r})"


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # the protocol's success oracle says we are in
    REJECTED = "rejected"  # a definite "wrong credentials"
    THROTTLED = "throttled"  # rate limit, 429/Retry-After, dropped or refused connection, delay
    LOCKED = "locked"  # the device says the account or the source is locked
    ERROR = "error"  # the attempt could not complete: timeout, reset, unparseable answer

    @property
    def ja(self) -> str:
        """The outcome in Japanese, for the reasons of a `--lang ja` report."""
        return _OUTCOME_JA[self]


_OUTCOME_JA = {
    Outcome.ACCEPTED: "受理",
    Outcome.REJECTED: "拒否",
    Outcome.THROTTLED: "制限",
    Outcome.LOCKED: "ロック",
    Outcome.ERROR: "エラー",
}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt and what the device answered."""

    credential: Credential
    outcome: Outcome
    detail: str  # the device's answer, bounded; never contains the password
    latency: float  # seconds from sending the credentials to the answer
    # False when the credentials never reached the device (the connection failed before
    # the login step): such an attempt cannot count toward a lockout.
    delivered: bool = True

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "login": self.credential.masked(),
            "source": self.credential.source,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "latency": round(self.latency, 3),
            "delivered": self.delivered,
        }


@dataclass(frozen=True, slots=True)
class LoginRun:
    """Everything one protocol client did on one service."""

    method: str  # "ssh password", "http basic", "http form POST /login", "snmp v2c", ...
    attempts: tuple[Attempt, ...] = ()
    control: Attempt | None = None  # a random bogus login tried first: accepted = no oracle
    note: str = ""  # why nothing (or not everything) could be tried
    #: why the login surface could not be confirmed: the control login's answer was not a
    #: recognised authentication failure (HTTP 404, an error page, ...); nothing was tried
    unconfirmed: str = ""


@dataclass(frozen=True, slots=True)
class FoundCredential:
    """A login a device accepted: published for later probes, shown only masked."""

    service: Service
    credential: Credential
    method: str


@dataclass(frozen=True, slots=True)
class TestAccount:
    """A device account the tester set up for the checks that need a login. The profile
    names the environment variable holding the password, never the password itself."""

    username: str
    password_env: str

    def credential(self) -> Credential | None:
        """The account as a credential, or None while its variable is unset."""
        password = os.environ.get(self.password_env)
        if password is None:
            return None
        return Credential(
            self.username, password, source=f"profile test_account (${self.password_env})"
        )
