"""One device's login bookkeeping: every protocol of a device asks the same `AuthState`.

A real device keeps one account database and one failure counter (pam_faillock, a web
server's lockout table) behind all its front doors, so failing over telnet locks the web
login too. SSH sessions run in threads, hence the lock.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import Personality

#: Attempts remembered for inspection; older ones are dropped.
MAX_LOG = 10_000
#: Sources or accounts tracked at once; a flood of invented names cannot grow memory further.
MAX_KEYS = 10_000


class AuthResult(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    LOCKED = "locked"  # the account (or source) is locked: even the right password fails
    THROTTLED = "throttled"  # too many recent failures from this source: not even checked


@dataclass(frozen=True, slots=True)
class LoggedAttempt:
    protocol: str
    username: str
    source: str
    result: AuthResult


class AuthState:
    """Failure counters, locks and throttles of one device, shared by all its protocols."""

    def __init__(
        self, personality: Personality, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._personality = personality
        self._policy = personality.auth
        self._clock = clock
        self._lock = threading.Lock()
        self._streak: dict[str, int] = {}  # lockout key -> failures in a row
        self._locked_until: dict[str, float] = {}  # lockout key -> unlock time
        self._recent: dict[str, deque[float]] = {}  # source -> failure times (throttle)
        self._failures: dict[str, int] = {}  # username -> failures ever (locked ones too)
        self._ever_locked_accounts: set[str] = set()
        self._ever_locked_sources: set[str] = set()
        self._throttled_sources: set[str] = set()
        self._delay_streak: dict[str, int] = {}  # source -> failures in a row (delay policy)
        self._delays: dict[str, float] = {}  # source -> the pause owed to its last answer
        self.log: deque[LoggedAttempt] = deque(maxlen=MAX_LOG)

    # --- what the protocol servers call ---------------------------------------------------

    def retry_after(self, source: str) -> int | None:
        """Seconds a throttled source should wait before trying again; None if not throttled."""
        throttle = self._policy.throttle
        if throttle is None:
            return None
        with self._lock:
            now = self._clock()
            recent = self._recent.get(source)
            if not recent:
                return None
            while recent and now - recent[0] > throttle.window:
                recent.popleft()
            if len(recent) < throttle.after:
                return None
            remaining = recent[-1] + throttle.retry_after - now
            if remaining <= 0:
                return None
            self._throttled_sources.add(source)
            return max(1, round(remaining))

    def attempt(
        self,
        protocol: str,
        username: str,
        password: str,
        source: str,
        *,
        correct: bool | None = None,
    ) -> AuthResult:
        """Check one login against the accounts and the device's lockout and throttle.

        `correct` is for logins whose password never travels (HTTP/RTSP digest): the caller
        has already checked the proof against the accounts.
        """
        if self.retry_after(source) is not None:
            self._record(protocol, username, source, AuthResult.THROTTLED)
            return AuthResult.THROTTLED
        if correct is None:
            correct = self._personality.check_login(username, password)
        lockout = self._policy.lockout
        with self._lock:
            now = self._clock()
            key = ""
            if lockout is not None:
                key = username if lockout.scope == "account" else source
                until = self._locked_until.get(key)
                if until is not None and now >= until:
                    del self._locked_until[key]  # the lock expired: a fresh start
                    self._streak.pop(key, None)
                if key in self._locked_until:
                    result = AuthResult.LOCKED
                    self._count_failure(username, source, now)
                    self._note_delay(source)  # a locked login is slow too (pam_faillock)
                    self._log(protocol, username, source, result)
                    return result
            if correct:
                if key:
                    self._streak.pop(key, None)
                self._delay_streak.pop(source, None)
                self._log(protocol, username, source, AuthResult.ACCEPTED)
                return AuthResult.ACCEPTED
            self._count_failure(username, source, now)
            self._note_delay(source)
            if lockout is not None and len(self._streak) < MAX_KEYS:
                self._streak[key] = self._streak.get(key, 0) + 1
                if self._streak[key] >= lockout.after:
                    self._locked_until[key] = now + lockout.seconds
                    if lockout.scope == "account":
                        self._ever_locked_accounts.add(username)
                    else:
                        self._ever_locked_sources.add(source)
            self._log(protocol, username, source, AuthResult.REJECTED)
            return AuthResult.REJECTED

    def take_delay(self, source: str) -> float:
        """The pause the server owes `source` before answering its last login (delay policy);
        the servers sleep it off (asyncio or thread) so one slow answer blocks no one else."""
        with self._lock:
            return self._delays.pop(source, 0.0)

    def note_anonymous(self, protocol: str, username: str, source: str) -> None:
        """An anonymous login a service allows without checking an account."""
        self._record(protocol, username, source, AuthResult.ACCEPTED)

    # --- what tests inspect ---------------------------------------------------------------

    def locked_accounts(self) -> set[str]:
        """Usernames locked at any time since the device started (scope: account)."""
        with self._lock:
            return set(self._ever_locked_accounts)

    def locked_sources(self) -> set[str]:
        """Client addresses locked at any time since the device started (scope: source)."""
        with self._lock:
            return set(self._ever_locked_sources)

    def throttled_sources(self) -> set[str]:
        """Client addresses that were refused as throttled at any time."""
        with self._lock:
            return set(self._throttled_sources)

    def is_locked(self, key: str) -> bool:
        """Whether `key` (a username, or a source address with scope: source) is locked now."""
        with self._lock:
            until = self._locked_until.get(key)
            return until is not None and self._clock() < until

    def failures(self, username: str) -> int:
        """Failed logins for `username` so far, on every protocol (refusals while locked too)."""
        with self._lock:
            return self._failures.get(username, 0)

    def attempts(self) -> list[LoggedAttempt]:
        with self._lock:
            return list(self.log)

    # --- internals --------------------------------------------------------------------------

    def _count_failure(self, username: str, source: str, now: float) -> None:
        if username in self._failures or len(self._failures) < MAX_KEYS:
            self._failures[username] = self._failures.get(username, 0) + 1
        if self._policy.throttle is not None:
            if source not in self._recent and len(self._recent) >= MAX_KEYS:
                return
            recent = self._recent.setdefault(source, deque(maxlen=1000))
            recent.append(now)

    def _note_delay(self, source: str) -> None:
        """One more failure from `source` under the delay policy (lock held by the caller)."""
        delay = self._policy.delay
        if delay is None or (
            source not in self._delay_streak and len(self._delay_streak) >= MAX_KEYS
        ):
            return
        streak = self._delay_streak.get(source, 0) + 1
        self._delay_streak[source] = streak
        self._delays[source] = delay.for_streak(streak)

    def _record(self, protocol: str, username: str, source: str, result: AuthResult) -> None:
        with self._lock:
            self._log(protocol, username, source, result)

    def _log(self, protocol: str, username: str, source: str, result: AuthResult) -> None:
        self.log.append(LoggedAttempt(protocol, username[:64], source, result))
