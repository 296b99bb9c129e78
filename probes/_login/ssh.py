"""SSH login with asyncssh: several passwords per connection, password and keyboard-interactive.

One connection (one key exchange, the expensive part for the server) carries successive
password attempts for one username until the server's MaxAuthTries ends it, so the
credentials are grouped by username: a connection takes the earliest untried credential,
then every later one with the same username. Keyboard-interactive is answered when the
prompts ask for a password (PAM setups offer only that).

Oracle: ACCEPTED is SSH_MSG_USERAUTH_SUCCESS (`auth_completed`), after which the connection
is closed without opening a session; a password-change request also proves the password
(it is reported ACCEPTED, "must be changed"). REJECTED is SSH_MSG_USERAUTH_FAILURE, or the
server's own per-connection limit ("Too many authentication failures", dropbear's "Max auth
tries reached") arriving as the answer to a password: those name the attempt they refuse.
Any other disconnect, reset or refusal is never a rejection: the credential is retried on a
new connection (after 0.5 s, 1 s, 2 s), then THROTTLED. The host key is recorded (its
fingerprint in the accepted detail), never checked: `known_hosts=None`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import asyncssh
from asyncssh.encryption import get_default_encryption_algs, get_encryption_algs
from asyncssh.kex import get_default_kex_algs, get_kex_algs
from asyncssh.mac import get_default_mac_algs, get_mac_algs
from asyncssh.public_key import get_default_public_key_algs, get_public_key_algs

from probes._login import common
from probes._login.common import (
    DETAIL_LIMIT,
    NOBODY,
    PACE,
    Pace,
    Scheduler,
    attempt,
    device_text,
    looks_locked,
    run_workers,
)
from scanner.credentials import Credential, LoginRun, Outcome
from scanner.fingerprint.ssh_ident import NOT_SSH, describe_ssh_failure, garbled
from scanner.model import bound_text, quoted
from scanner.net import close_ssh

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import Service
    from scanner.net import DeviceNetwork

log = logging.getLogger(__name__)

METHOD = "ssh password"
#: A server's per-connection attempt limit, sent as the answer to the last password.
_MAX_TRIES = re.compile(
    r"too many authentication failures|max(?:imum)? auth(?:entication)? tries"
    r"|maximum (?:number of )?authentication attempts",
    re.I,
)
_PASSWORD_PROMPT = re.compile(r"pass(?:word|code|phrase)?|pin\b|パスワード", re.I)


class _Feed:
    """The credentials one connection sends, and what became of each."""

    def __init__(self, scheduler: Scheduler, first: tuple[int, Credential], timeout: float) -> None:
        self.scheduler = scheduler
        self.username = first[1].username
        self.first: tuple[int, Credential] | None = first
        self.pending: tuple[int, Credential] | None = None
        self.sent_at = 0.0
        self.timeout = timeout
        self.deadline: asyncio.Timeout | None = None
        self.judged = 0
        self.asked = False  # the server asked for a password (or kbd-int) at all
        self.server = ""  # the server's SSH identification string
        self.banner = ""  # its auth banner, bounded
        self.host_key = ""

    def context(self) -> str:
        bits = [b for b in (self.server, self.banner and f"banner {quoted(self.banner)}") if b]
        return f" ({'; '.join(bits)})" if bits else ""

    def judge(self, outcome: Outcome, detail: str) -> None:
        if self.pending is None:
            return
        index, credential = self.pending
        self.pending = None
        self.judged += 1
        self.scheduler.record(index, attempt(credential, outcome, detail, self.sent_at))

    def next_credential(self) -> Credential | None:
        """The next password to send: an answered FAILURE judges the one before."""
        if self.pending is not None:
            self.judge(Outcome.REJECTED, f"SSH authentication failure{self.context()}")
        self.asked = True
        if self.scheduler.stopped.is_set():
            return None
        if self.first is not None:
            held, self.first = self.first, None
        else:
            taken = self.scheduler.take(self.username)
            if taken is None:
                return None
            held = taken
        self.pending = held
        self.sent_at = time.monotonic()
        if self.deadline is not None:
            self.deadline.reschedule(asyncio.get_running_loop().time() + self.timeout)
        return held[1]


class _Client(asyncssh.SSHClient):
    def __init__(self, feed: _Feed) -> None:
        self._feed = feed
        self._conn: asyncssh.SSHClientConnection | None = None
        self._answered = False

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    def auth_banner_received(self, msg: str, lang: str) -> None:
        self._feed.banner = bound_text(msg, 120)

    def _note_server(self) -> None:
        if self._conn is not None and not self._feed.server:
            version = self._conn.get_extra_info("server_version")
            self._feed.server = bound_text(str(version or ""), 80)

    async def password_auth_requested(self) -> str | None:
        self._note_server()
        credential = self._feed.next_credential()
        return credential.password if credential is not None else None

    async def kbdint_auth_requested(self) -> str | None:
        self._note_server()
        self._answered = False
        return "" if self._feed.next_credential() is not None else None

    def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str] | None:
        pending = self._feed.pending
        if not prompts:
            return []  # an information message: nothing to answer
        if pending is None:
            return None
        if self._answered:
            self._feed.judge(Outcome.REJECTED, "keyboard-interactive: password asked again")
            return None
        if all(_PASSWORD_PROMPT.search(prompt) for prompt, _echo in prompts):
            self._answered = True
            return [pending[1].password] * len(prompts)
        shown = device_text(" | ".join(p for p, _ in prompts), pending[1])
        self._feed.judge(
            Outcome.ERROR, f"keyboard-interactive prompt not answered: {quoted(shown)}"
        )
        return None

    def password_change_requested(self, prompt: str, lang: str) -> tuple[str, str]:
        self._feed.judge(
            Outcome.ACCEPTED,
            f"password accepted but expired: the server demands a change{self._feed.context()}",
        )
        return NotImplemented  # type: ignore[no-any-return]

    def auth_completed(self) -> None:
        if self._conn is not None:
            key = self._conn.get_server_host_key()
            if key is not None:
                self._feed.host_key = key.get_fingerprint()
        self._feed.judge(
            Outcome.ACCEPTED,
            "SSH authentication success"
            + self._feed.context()
            + (f"; host key {self._feed.host_key} (recorded, not verified)"),
        )


def _modern_then_legacy(every: list[bytes], default: list[bytes]) -> list[str]:
    """asyncssh's defaults first, then everything else it supports (GSS-API aside): an
    audit must be able to log in to the old devices it audits; ssh.* flags the algorithms."""
    extra = [a for a in every if a not in default and not a.startswith(b"gss-")]
    return [a.decode() for a in (*default, *extra)]


#: OpenSSH's host key preference, the order devices are tested with: dropbear 2022.83
#: started with an ed25519 key only still offers rsa-sha2-256, and dies on an assertion
#: (`key != NULL`) before the login when a client picks it, as asyncssh's own order did.
_OPENSSH_HOSTKEY_FIRST = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)


def _openssh_order(algorithms: list[str]) -> list[str]:
    first = [a for a in _OPENSSH_HOSTKEY_FIRST if a in algorithms]
    return [*first, *(a for a in algorithms if a not in first)]


_LEGACY_TOO = {
    "kex": _modern_then_legacy(get_kex_algs(), get_default_kex_algs()),
    "encryption": _modern_then_legacy(get_encryption_algs(), get_default_encryption_algs()),
    "mac": _modern_then_legacy(get_mac_algs(), get_default_mac_algs()),
    "hostkey": _openssh_order(
        _modern_then_legacy(get_public_key_algs(), get_default_public_key_algs())
    ),
}

#: asyncssh.connect() options of every password login shinsa makes: old algorithms too,
#: nothing from this machine's SSH setup (config, agent, keys, GSS), no keepalives (a probe
#: that measures idle time must stay silent), and the host key recorded, never trusted.
PASSWORD_LOGIN: dict[str, Any] = {
    "known_hosts": None,
    "kex_algs": _LEGACY_TOO["kex"],
    "encryption_algs": _LEGACY_TOO["encryption"],
    "mac_algs": _LEGACY_TOO["mac"],
    "server_host_key_algs": _LEGACY_TOO["hostkey"],
    "config": None,
    "client_keys": None,
    "agent_path": None,
    "gss_host": None,
    "host_based_auth": False,
    "public_key_auth": False,
    "password_auth": True,
    "kbdint_auth": True,
    "preferred_auth": ("password", "keyboard-interactive"),
    "keepalive_interval": 0,
}


async def _connect(dev: DeviceNetwork, service: Service, feed: _Feed) -> BaseException | None:
    """One connection carrying as many passwords as the server takes; the exception that
    ended it (None after a success or once this username has no credentials left)."""
    try:
        async with asyncio.timeout(feed.timeout) as deadline:
            feed.deadline = deadline
            conn = await dev.ssh_connection(
                service.port,
                # the feed's deadline, rescheduled per answer, is the one that applies
                timeout=feed.timeout * 100,
                username=feed.username,
                client_factory=lambda: _Client(feed),
                login_timeout=feed.timeout * 100,  # our own deadline applies per answer
                **PASSWORD_LOGIN,
            )
    except (OSError, asyncssh.Error, TimeoutError, EOFError, ValueError) as exc:
        # ValueError: asyncssh refusing device bytes (a 0xff in the identification line,
        # a packet that does not decode); `_worker` says so, never raises it.
        return exc
    feed.deadline = None
    await close_ssh(conn)
    return None


def _why(exc: BaseException) -> str:
    if garbled(exc):
        return describe_ssh_failure(exc)
    if isinstance(exc, asyncssh.DisconnectError):
        return bound_text(f"disconnect: {exc.reason}", DETAIL_LIMIT)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return bound_text(f"{type(exc).__name__}: {exc}", DETAIL_LIMIT)


async def _worker(
    dev: DeviceNetwork, service: Service, scheduler: Scheduler, timeout: float
) -> None:
    held: tuple[int, Credential] | None = None
    drops, free_used = 0, False
    while not scheduler.stopped.is_set():
        if held is None:
            held = scheduler.take()
            drops, free_used = 0, False
            if held is None:
                return
        feed = _Feed(scheduler, held, timeout)
        exc = await _connect(dev, service, feed)
        if exc is None or (isinstance(exc, asyncssh.PermissionDenied) and feed.first is None):
            # Success, or this username's credentials are used up (a pending one was
            # refused by a FAILURE that offered no more password methods).
            feed.judge(Outcome.REJECTED, f"SSH authentication failure{feed.context()}")
            held = None
            continue
        if garbled(exc):
            # Not a drop worth a retry: the server's bytes are not SSH (see scanner/ssh_ident).
            scheduler.stop(device_text(_why(exc), feed.pending[1] if feed.pending else NOBODY))
            return
        if isinstance(exc, asyncssh.PermissionDenied) and not feed.asked:
            scheduler.stop(
                "the SSH server offers neither password nor keyboard-interactive authentication"
            )
            return
        delivered = feed.pending is not None  # a password was on the wire when it failed
        if feed.pending is not None:
            reason = exc.reason if isinstance(exc, asyncssh.DisconnectError) else ""
            if reason and _MAX_TRIES.search(reason):
                feed.judge(
                    Outcome.REJECTED,
                    f"refused with the server's per-connection limit: "
                    f"{device_text(reason, feed.pending[1])}",
                )
                held = None
                continue
            if reason and looks_locked(reason):
                feed.judge(Outcome.LOCKED, device_text(_why(exc), feed.pending[1]))
                return
            if isinstance(exc, TimeoutError):
                feed.judge(Outcome.ERROR, f"no answer to the password within {timeout:g} s")
                held = None
                continue
            held = feed.pending  # dropped before an answer: the same credential again
            if feed.judged and not free_used:
                free_used = True  # the server hung up after N failures: reconnect at once
                continue
        elif feed.first is None:
            held = None  # nothing was in flight
            continue
        if drops >= len(common.BACKOFF):
            index, credential = held
            waited = "+".join(f"{d:g}" for d in common.BACKOFF)
            throttled = attempt(
                credential,
                Outcome.THROTTLED,
                f"{device_text(_why(exc), credential)} "
                f"(still after {len(common.BACKOFF)} retries over {waited} s)",
            )
            scheduler.record(index, replace(throttled, delivered=delivered))
            return
        log.debug("ssh %s: %s; retrying %s", dev.address, _why(exc), held[1].masked())
        await asyncio.sleep(common.BACKOFF[drops])
        drops += 1


async def try_logins(
    dev: DeviceNetwork, service: Service, credentials: Sequence[Credential], pace: Pace = PACE
) -> LoginRun:
    """Try `credentials` on an SSH service; see the module docstring.

    `timeout` bounds the key exchange and each answer to a password; `connections`
    concurrent connections (still capped by the device's permits) share the list.
    """
    timeout, connections = pace.timeout, pace.connections
    scheduler = Scheduler(credentials)
    await run_workers(scheduler, lambda: _worker(dev, service, scheduler, timeout), connections)
    run = scheduler.run(METHOD)
    if run.note.startswith(NOT_SSH):
        # Nothing could be judged: not "no login surface", not a rejection (inconclusive).
        return replace(run, unconfirmed=run.note)
    return run
