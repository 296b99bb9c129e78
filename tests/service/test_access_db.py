"""Taking access away on both databases (`any_engine`: SQLite and PostgreSQL, upgraded by
the migrations): disable, enable and revoke as scanner/service/auth.py writes them, and two
admins disabling each other at the same moment: one goes, the other is refused (on
PostgreSQL the admins' rows are locked, on SQLite the second write waits for the first;
either way the count comes after the wait)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from scanner.service import auth
from scanner.service import schema as t

PASSWORD = "correct horse battery"  # a test account's


def _disabled(engine: sa.Engine) -> dict[str, bool]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.users.c.name, t.users.c.disabled)).all()
    return {r.name: bool(r.disabled) for r in rows}


def test_disable_enable_revoke_and_list(any_engine: sa.Engine) -> None:
    with any_engine.begin() as conn:
        ada = auth.add_user(conn, "ada", "admin", PASSWORD)
        olga = auth.add_user(conn, "olga", "operator", PASSWORD)
        for _ in range(2):
            auth.start_session(conn, olga, remote="127.0.0.1")
        auth.start_session(conn, ada, remote="127.0.0.1")
        value = auth.add_token(conn, "siem", "viewer", actor="user:ada")
    with any_engine.begin() as conn:
        assert auth.disable_user(conn, olga, actor="user:ada") == "olga"
    with any_engine.connect() as conn:
        left = conn.execute(sa.select(t.sessions.c.user_id)).scalars().all()
    assert left == [ada]  # both of olga's sessions, none of ada's
    assert _disabled(any_engine) == {"ada": False, "olga": True}
    with pytest.raises(auth.Refused):  # noqa: SIM117
        with auth.audited(any_engine, "user.disable", "ada", actor="cli") as conn:
            auth.disable_user(conn, "ada", actor="cli")
    with any_engine.begin() as conn:
        auth.enable_user(conn, "olga", actor="user:ada")
        row = auth.revoke_token(conn, "siem", actor="user:ada")
        assert auth.token_principal(conn, value) is None
        tokens = auth.list_tokens(conn)
    assert _disabled(any_engine) == {"ada": False, "olga": False}
    assert row.revoked
    assert [(k.name, k.revoked, k.prefix) for k in tokens] == [("siem", True, value[:10])]
    assert tokens[0].created.utcoffset() is not None
    with any_engine.connect() as conn:
        audit = conn.execute(
            sa.select(t.audit_log.c.action, t.audit_log.c.subject, t.audit_log.c.outcome)
            .where(t.audit_log.c.action.in_(("user.disable", "user.enable", "token.revoke")))
            .order_by(t.audit_log.c.id)
        ).all()
    assert [tuple(a) for a in audit] == [
        ("user.disable", "olga", "ok"),
        ("user.disable", "ada", "fail"),
        ("user.enable", "olga", "ok"),
        ("token.revoke", "siem", "ok"),
    ]


def test_two_admins_disabling_each_other_at_once_leave_one(any_engine: sa.Engine) -> None:
    with any_engine.begin() as conn:
        auth.add_user(conn, "ada", "admin", PASSWORD)
        auth.add_user(conn, "abe", "admin", PASSWORD)
    first_done = threading.Event()
    outcome: dict[str, BaseException | None] = {}

    def first() -> None:  # ada disables abe, and holds her transaction open a moment
        try:
            with any_engine.begin() as conn:
                auth.disable_user(conn, "abe", actor="user:ada")
                first_done.set()
                threading.Event().wait(1.0)
            outcome["first"] = None
        except Exception as exc:
            outcome["first"] = exc
        finally:
            first_done.set()

    def second() -> None:  # abe disables ada while ada's change is not committed yet
        first_done.wait(30)
        try:
            with any_engine.begin() as conn:
                auth.disable_user(conn, "ada", actor="user:abe")
            outcome["second"] = None
        except Exception as exc:
            outcome["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcome["first"] is None, outcome
    assert _disabled(any_engine) == {"ada": False, "abe": True}
    # the second waited for the first's commit and counted what it left
    assert isinstance(outcome["second"], auth.Refused), outcome
    assert "ada is the last enabled admin" in str(outcome["second"])
