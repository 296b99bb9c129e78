"""The login budget kept in the store, so it survives the scan.

`AttemptLedger` counts failed logins per account on one device in memory; a scan killed
in the middle of its default-credential attempts forgot them, and its `--resume` spent the
budget again (the device saw 4 failures for `admin` against a budget of 2). `StoredLedger`
writes each slot to the store before the login is sent and counts every slot held for the
device's account within `window` seconds, whichever run or process took it: a resume, or a
second scan of the same device from the same store, sees what was already spent.

The window is how long a device is assumed to remember failures: lockout counters
commonly reset after 5 to 30 minutes; an hour covers them with room to spare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.credential_lists import AttemptLedger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.store import Store

LEDGER_WINDOW = 3600.0


@dataclass(slots=True)
class StoredLedger(AttemptLedger):
    """An AttemptLedger whose every reservation is committed to the store first."""

    store: Store | None = field(default=None, kw_only=True)
    run_id: str = field(default="", kw_only=True)
    address: str = field(default="", kw_only=True)
    window: float = field(default=LEDGER_WINDOW, kw_only=True)

    def reserve_many(self, usernames: Sequence[str], limit: int, most: int) -> list[bool]:
        if self.store is None:
            return AttemptLedger.reserve_many(self, usernames, limit, most)
        return self.store.reserve_logins(
            self.address, self.run_id, usernames, limit, most, self.window
        )

    def release_many(self, usernames: Sequence[str]) -> None:
        if self.store is None:
            AttemptLedger.release_many(self, usernames)
        elif usernames:
            self.store.release_logins(self.address, self.run_id, usernames)

    def failures(self, username: str) -> int:
        if self.store is None:
            return AttemptLedger.failures(self, username)
        return self.store.login_failures(self.address, username, self.window, self.run_id)
