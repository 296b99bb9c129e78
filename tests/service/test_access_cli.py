"""`shinsa user disable|enable NAME`, `shinsa token list [--json]`, `shinsa token revoke
NAME` run as a user runs them (a child `python -m scanner`, as `test_cli_user_and_token` in
tests/service/test_web_access.py): --db or $SHINSA_DB, exit 2 with a clear message for an
unknown name or a refused change, the change in the database and the audit log (actor
`cli`, a refusal too), and no token value or hash in a listing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import sqlalchemy as sa

from scanner.service import auth, schema
from scanner.service.db import open_db
from tests.service.web_serving import add_token, add_user, shinsa

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "cli-access-password"


def _rows(db: str, query: sa.Select[tuple[object, ...]]) -> list[tuple[object, ...]]:
    engine = open_db(db)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]
    finally:
        engine.dispose()


def _audit(db: str, *actions: str) -> list[tuple[object, ...]]:
    a = schema.audit_log
    return _rows(
        db,
        sa.select(a.c.actor, a.c.action, a.c.subject, a.c.outcome)
        .where(a.c.action.in_(actions))
        .order_by(a.c.id),
    )


def test_user_disable_and_enable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    add_user(db, "root", "admin", PASSWORD)
    add_user(db, "olga", "operator", PASSWORD)
    engine = open_db(db)
    try:
        with engine.begin() as conn:  # olga is logged in
            olga_id = conn.execute(
                sa.select(schema.users.c.id).where(schema.users.c.name == "olga")
            ).scalar_one()
            auth.start_session(conn, olga_id, remote="127.0.0.1")
    finally:
        engine.dispose()
    done = shinsa("user", "disable", "olga", "--db", db)
    assert done.returncode == 0, done.stderr
    assert "olga disabled" in done.stderr
    users = schema.users
    assert _rows(db, sa.select(users.c.name, users.c.disabled).order_by(users.c.name)) == [
        ("olga", True),
        ("root", False),
    ]
    assert _rows(db, sa.select(schema.sessions.c.id_hash)) == []  # her session ended
    # $SHINSA_DB as well as --db (the helper drops an inherited SHINSA_DB)
    done = subprocess.run(
        [sys.executable, "-m", "scanner", "user", "enable", "olga"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SHINSA_DB": db},
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert _rows(db, sa.select(users.c.disabled).where(users.c.name == "olga")) == [(False,)]
    unknown = shinsa("user", "disable", "nobody", "--db", db)
    assert unknown.returncode == 2
    assert "no user named 'nobody'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    assert shinsa("user", "enable", "nobody", "--db", db).returncode == 2
    last = shinsa("user", "disable", "root", "--db", db)
    assert last.returncode == 2
    assert "root is the last enabled admin" in last.stderr
    assert _rows(db, sa.select(users.c.disabled).where(users.c.name == "root")) == [(False,)]
    no_db = shinsa("user", "disable", "olga")
    assert no_db.returncode == 2
    assert "--db" in no_db.stderr
    assert _audit(db, "user.disable", "user.enable") == [
        ("cli", "user.disable", "olga", "ok"),
        ("cli", "user.enable", "olga", "ok"),
        ("cli", "user.disable", "nobody", "fail"),
        ("cli", "user.enable", "nobody", "fail"),
        ("cli", "user.disable", "root", "fail"),
    ]


def test_token_list_and_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    empty = shinsa("token", "list", "--db", db)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "no tokens"
    assert json.loads(shinsa("token", "list", "--json", "--db", db).stdout) == []
    siem = add_token(db, "siem", "viewer")
    ci = add_token(db, "ci", "operator")
    hashes = [auth.digest(siem), auth.digest(ci)]

    listed = shinsa("token", "list", "--db", db)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "ROLE", "PREFIX"]
    assert [line.split()[0] for line in lines[1:]] == ["ci", "siem"]
    assert re.search(rf"siem\s+viewer\s+{re.escape(siem[:10])}\.\.\.", listed.stdout)
    assert "never" in lines[2]
    assert "active" in lines[2]

    done = shinsa("token", "revoke", "siem", "--db", db)
    assert done.returncode == 0, done.stderr
    assert "siem revoked" in done.stderr
    again = shinsa("token", "revoke", "siem", "--db", db)  # nothing more to do: not an error
    assert again.returncode == 0
    unknown = shinsa("token", "revoke", "nope", "--db", db)
    assert unknown.returncode == 2
    assert "no API token named 'nope'" in unknown.stderr

    as_json = shinsa("token", "list", "--json", "--db", db)
    assert as_json.returncode == 0, as_json.stderr
    tokens = json.loads(as_json.stdout)
    assert [(x["name"], x["role"], x["revoked"], x["created_by"]) for x in tokens] == [
        ("ci", "operator", False, "cli"),
        ("siem", "viewer", True, "cli"),
    ]
    assert set(tokens[0]) == {
        "name", "role", "prefix", "created", "created_by", "last_used", "revoked"
    }  # fmt: skip
    assert tokens[1]["prefix"] == siem[:10]
    assert tokens[1]["created"].endswith("+00:00")
    assert tokens[1]["last_used"] is None
    text = shinsa("token", "list", "--db", db).stdout
    assert "revoked" in text.splitlines()[2]
    for secret in (siem, ci, *hashes):
        assert secret not in as_json.stdout
        assert secret not in text
    # the database: revoked, and the token no longer finds a principal
    engine = open_db(db)
    try:
        with engine.begin() as conn:
            assert auth.token_principal(conn, siem) is None
            assert auth.token_principal(conn, ci) is not None
    finally:
        engine.dispose()
    assert _audit(db, "token.revoke") == [
        ("cli", "token.revoke", "siem", "ok"),
        ("cli", "token.revoke", "siem", "ok"),
        ("cli", "token.revoke", "nope", "fail"),
    ]


def test_token_add_refuses_a_name_too_long(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    done = shinsa("token", "add", "x" * 129, "--role", "viewer", "--db", db)
    assert done.returncode == 2
    assert "1 to 128 characters" in done.stderr
    assert not re.search(r"shs_\S+", done.stdout)
