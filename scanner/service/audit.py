"""The audit log: who did what, when, from where, and whether it worked.

Every change the service makes on someone's behalf calls `record` inside the same
transaction as the change, so a change without its audit row cannot be committed.
`actor` is `user:NAME`, `token:NAME`, `cli` or `system`; `action` a dotted verb
(`login`, `logout`, `user.add`, `token.add`, `schedule.add`, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scanner.service import schema as t
from scanner.service.db import now

if TYPE_CHECKING:
    import sqlalchemy as sa


def record(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    subject: str = "",
    outcome: str = "ok",
    remote: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one row to audit_log on `conn` (the caller's transaction)."""
    conn.execute(
        t.audit_log.insert().values(
            at=now(),
            actor=actor[:128],
            action=action[:64],
            subject=subject[:255],
            outcome=outcome[:16],
            remote=remote[:64],
            detail=detail or {},
        )
    )
