"""Who may use the service, and how they prove it.

- Local users with Argon2id password hashes (argon2-cffi's defaults, RFC 9106's second
  recommended profile) and a role: viewer < operator < admin.
- Browser sessions: a random cookie value whose SHA-256 is the key of the `sessions` row
  (a stolen database holds no usable session), a new value at every login (the old session
  is removed: no fixation), an idle timeout and an absolute lifetime, a CSRF token per
  session checked on every unsafe request (form field `csrf` or header `X-CSRF-Token`).
- Login lockout: `login_max_failures` failed logins in a row lock the NAME for
  `login_lock_seconds`, whether or not that user exists (names that do not exist are
  counted in memory), and a failed login looks the same for both (a password is always
  verified against a hash): the answer tells nobody which names exist.
- API tokens: `shs_` + 43 random URL-safe characters, shown once, stored as SHA-256, sent
  as `Authorization: Bearer shs_...`; a token principal is exempt from CSRF (a browser
  never sends it by itself).
- Taking access away: `disable_user` (its sessions end at once: their rows are deleted,
  and a session of a disabled user is refused anyway), `enable_user`, `revoke_token` (a
  revoked token answers 401 from its next request). Nobody disables themselves, and the
  last enabled admin stays enabled (the service would have nobody to manage it). Each
  change is audited in its transaction; `audited` records a refusal in a transaction of
  its own (the refused change's is rolled back). `list_tokens` never reads a hash.

`require(role)` is the FastAPI dependency every page and API route uses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import argon2
import sqlalchemy as sa
from fastapi import Request  # noqa: TC002 (FastAPI reads require()'s annotation at run time)
from fastapi.concurrency import run_in_threadpool

from scanner.service import audit
from scanner.service import schema as t
from scanner.service.db import now, utc

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from scanner.service.config import ServiceConfig

ROLES = ("viewer", "operator", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
LANGS = ("en", "ja")
TOKEN_PREFIX = "shs_"  # noqa: S105 (a prefix, not a secret)
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_hasher = argon2.PasswordHasher()  # Argon2id, t=3, m=64 MiB, p=4
# verified when the name does not exist, so that a failure costs the same time either way
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str  # viewer | operator | admin
    kind: Literal["user", "token"]
    csrf: str  # the session's CSRF token; "" for a token principal
    lang: str = "en"  # en | ja

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return f"{self.kind}:{self.name}"

    def may(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


class LoginRequired(Exception):
    """No valid session or token: the app answers 401 (API) or a redirect to /login."""


class NotFound(ValueError):
    """No user or token of that name (or ID): the API answers 404, the CLI exits 2."""


class Refused(ValueError):
    """A change that would lock the service out: disabling yourself (`why` "self") or the
    last enabled admin ("last_admin"). The API answers 409, the CLI exits 2."""

    def __init__(self, message: str, *, why: Literal["self", "last_admin"], name: str) -> None:
        super().__init__(message)
        self.why = why
        self.name = name


class Forbidden(Exception):
    """A principal whose role is too low, or an unsafe request without its CSRF token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- passwords ---------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except argon2.exceptions.VerificationError:
        return False
    except argon2.exceptions.InvalidHashError:
        return False


def check_role(role: str) -> str:
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def add_user(
    conn: sa.Connection, name: str, role: str, password: str, *, actor: str = "cli"
) -> int:
    """A new user with an Argon2id hash of `password`; audited."""
    check_role(role)
    if not name or len(name) > 128:
        raise ValueError("a user name is 1 to 128 characters")
    if len(password) < 8:
        raise ValueError("a password is at least 8 characters")
    result = conn.execute(
        t.users.insert().values(
            name=name, role=role, password_hash=hash_password(password), created=now()
        )
    )
    audit.record(conn, actor=actor, action="user.add", subject=name, detail={"role": role})
    key = result.inserted_primary_key
    return int(key[0]) if key else 0


# --- sessions ----------------------------------------------------------------------------


def digest(secret: str) -> str:
    """SHA-256 hex of a session cookie value or an API token: what the database keeps."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSession:
    cookie: str  # the value for the browser, never stored
    csrf: str


def start_session(
    conn: sa.Connection,
    user_id: int,
    *,
    remote: str,
    replaces: str | None = None,
    keep: int = 0,
) -> NewSession:
    """A fresh session for `user_id`; the session whose cookie value was `replaces` (the
    one the browser came with, if any) is removed first. With `keep`, the user's oldest
    sessions beyond the newest `keep` are ended (IEC 62443-4-2 CR 2.7, concurrent session
    control: a login elsewhere does not fail, the forgotten session goes)."""
    if replaces:
        conn.execute(t.sessions.delete().where(t.sessions.c.id_hash == digest(replaces)))
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    at = now()
    conn.execute(
        t.sessions.insert().values(
            id_hash=digest(cookie),
            user_id=user_id,
            csrf=csrf,
            created=at,
            last_seen=at,
            remote=remote[:64],
        )
    )
    if keep > 0:
        s = t.sessions
        newest = (
            sa.select(s.c.id_hash)
            .where(s.c.user_id == user_id)
            .order_by(s.c.created.desc(), (s.c.id_hash == digest(cookie)).desc())
            .limit(keep)
        )
        kept = {str(h) for h in conn.execute(newest).scalars()} | {digest(cookie)}
        conn.execute(s.delete().where(s.c.user_id == user_id, s.c.id_hash.not_in(kept)))
    return NewSession(cookie, csrf)


def end_session(conn: sa.Connection, cookie: str) -> None:
    conn.execute(t.sessions.delete().where(t.sessions.c.id_hash == digest(cookie)))


def session_principal(
    conn: sa.Connection, cookie: str, config: ServiceConfig, *, at: datetime | None = None
) -> Principal | None:
    """The user of a live session (its last_seen moved on), or None; an expired session
    (idle or past its lifetime) is deleted."""
    at = at or now()
    row = conn.execute(
        sa.select(
            t.sessions.c.id_hash,
            t.sessions.c.csrf,
            t.sessions.c.created,
            t.sessions.c.last_seen,
            t.users.c.name,
            t.users.c.role,
            t.users.c.lang,
            t.users.c.disabled,
        )
        .join(t.users, t.users.c.id == t.sessions.c.user_id)
        .where(t.sessions.c.id_hash == digest(cookie))
    ).first()
    if row is None:
        return None
    created, last_seen = utc(row.created) or at, utc(row.last_seen) or at  # NOT NULL
    idle = at - last_seen > timedelta(seconds=config.session_idle)
    old = at - created > timedelta(seconds=config.session_lifetime)
    if idle or old or row.disabled:
        conn.execute(t.sessions.delete().where(t.sessions.c.id_hash == row.id_hash))
        return None
    conn.execute(
        t.sessions.update().where(t.sessions.c.id_hash == row.id_hash).values(last_seen=at)
    )
    lang = row.lang if row.lang in LANGS else "en"
    return Principal(row.name, row.role, "user", row.csrf, lang)


def prune_sessions(conn: sa.Connection, config: ServiceConfig) -> int:
    """Delete every session past its idle timeout or lifetime; how many."""
    at = now()
    result = conn.execute(
        t.sessions.delete().where(
            sa.or_(
                t.sessions.c.last_seen < at - timedelta(seconds=config.session_idle),
                t.sessions.c.created < at - timedelta(seconds=config.session_lifetime),
            )
        )
    )
    return int(result.rowcount or 0)


# --- login and lockout -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    locked: bool = False
    user_id: int = 0
    lang: str = "en"


class _UnknownNames:
    """Failure counts of names that are not users, so that they lock like real ones (an
    attacker cannot tell a real name by whether it locks). Bounded: the oldest entries
    go when it is full."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[int, datetime | None]] = {}

    def get(self, name: str) -> tuple[int, datetime | None]:
        with self._lock:
            return self._data.get(name, (0, None))

    def put(self, name: str, failures: int, locked_until: datetime | None) -> None:
        with self._lock:
            self._data.pop(name, None)
            while len(self._data) >= self.LIMIT:
                self._data.pop(next(iter(self._data)))
            self._data[name] = (failures, locked_until)


_unknown = _UnknownNames()


def login(
    engine: sa.Engine, name: str, password: str, config: ServiceConfig, *, remote: str
) -> LoginResult:
    """Check a name and password, counting failures and locking (see the module's
    docstring); audited either way. Slow by design (one Argon2id verification)."""
    name = name[:128]
    at = now()
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(
                t.users.c.id,
                t.users.c.password_hash,
                t.users.c.disabled,
                t.users.c.failed_logins,
                t.users.c.locked_until,
                t.users.c.lang,
            ).where(t.users.c.name == name)
        ).first()
        if row is None:
            failures, locked_until = _unknown.get(name)
        else:
            failures, locked_until = row.failed_logins, utc(row.locked_until)
        if locked_until is not None and locked_until > at:
            # the password is still verified: a lock answers in the same time as a failure
            verify_password(_DUMMY_HASH, password)
            audit.record(
                conn, actor=f"user:{name}", action="login", outcome="locked", remote=remote
            )
            return LoginResult(ok=False, locked=True)
        if locked_until is not None:  # the lock ran out: count afresh
            failures = 0
        ok = verify_password(row.password_hash if row else _DUMMY_HASH, password)
        ok = ok and row is not None and not row.disabled
        if ok and row is not None:
            conn.execute(
                t.users.update()
                .where(t.users.c.id == row.id)
                .values(failed_logins=0, locked_until=None)
            )
            audit.record(conn, actor=f"user:{name}", action="login", remote=remote)
            return LoginResult(ok=True, user_id=row.id, lang=row.lang)
        failures += 1
        lock: datetime | None = None
        if failures >= config.login_max_failures:
            lock = at + timedelta(seconds=config.login_lock_seconds)
        if row is None:
            _unknown.put(name, failures, lock)
        else:
            conn.execute(
                t.users.update()
                .where(t.users.c.id == row.id)
                .values(failed_logins=failures, locked_until=lock)
            )
        audit.record(
            conn,
            actor=f"user:{name}",
            action="login",
            outcome="fail",
            remote=remote,
            detail={"failures": failures, "locked": lock is not None},
        )
        return LoginResult(ok=False, locked=lock is not None)


# --- API tokens --------------------------------------------------------------------------


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def add_token(conn: sa.Connection, name: str, role: str, *, actor: str = "cli") -> str:
    """Make an API token; the only time its value exists outside the caller is this
    return value (the database keeps its SHA-256)."""
    check_role(role)
    if not name or len(name) > 128:
        raise ValueError("a token name is 1 to 128 characters")
    token = new_token()
    conn.execute(
        t.api_tokens.insert().values(
            name=name,
            role=role,
            prefix=token[:10],
            token_hash=digest(token),
            created=now(),
            created_by=actor,
        )
    )
    audit.record(conn, actor=actor, action="token.add", subject=name, detail={"role": role})
    return token


def token_principal(conn: sa.Connection, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(
        sa.select(t.api_tokens.c.id, t.api_tokens.c.name, t.api_tokens.c.role).where(
            t.api_tokens.c.token_hash == digest(token), t.api_tokens.c.revoked == sa.false()
        )
    ).first()
    if row is None:
        return None
    conn.execute(t.api_tokens.update().where(t.api_tokens.c.id == row.id).values(last_used=now()))
    return Principal(row.name, row.role, "token", "")


# --- taking access away -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRow:
    """An API token as lists show it: never its hash (nor its value: that was shown once)."""

    name: str
    role: str  # viewer | operator | admin
    prefix: str  # its first 10 characters ("shs_" + 6): enough to tell which token it is
    created: datetime
    created_by: str  # the audit log's actor: cli, user:NAME, token:NAME
    last_used: datetime | None
    revoked: bool


def _token_rows(conn: sa.Connection, *where: sa.ColumnElement[bool]) -> list[TokenRow]:
    tok = t.api_tokens
    rows = conn.execute(
        sa.select(
            tok.c.name,
            tok.c.role,
            tok.c.prefix,
            tok.c.created,
            tok.c.created_by,
            tok.c.last_used,
            tok.c.revoked,
        )
        .where(*where)
        .order_by(tok.c.name)
    ).all()
    return [
        TokenRow(
            name=r.name,
            role=r.role,
            prefix=r.prefix,
            created=utc(r.created) or now(),  # NOT NULL
            created_by=r.created_by,
            last_used=utc(r.last_used),
            revoked=bool(r.revoked),
        )
        for r in rows
    ]


def list_tokens(conn: sa.Connection) -> list[TokenRow]:
    """Every API token, revoked ones too, by name."""
    return _token_rows(conn)


@dataclass(frozen=True, slots=True)
class _UserRef:
    id: int
    name: str
    role: str
    disabled: bool


def _user(conn: sa.Connection, user: int | str) -> _UserRef:
    """The user of an ID (int) or a name (str); NotFound when there is none."""
    by_id = isinstance(user, int)
    row = conn.execute(
        sa.select(t.users.c.id, t.users.c.name, t.users.c.role, t.users.c.disabled).where(
            (t.users.c.id == user) if by_id else (t.users.c.name == user)
        )
    ).first()
    if row is None:
        raise NotFound(f"no user with ID {user}" if by_id else f"no user named {user!r}")
    return _UserRef(int(row.id), str(row.name), str(row.role), bool(row.disabled))


def disable_user(conn: sa.Connection, user: int | str, *, actor: str, remote: str = "") -> str:
    """Disable a user (by ID or name) and delete every session of theirs: their next
    request, even one already on its way, finds no session. Refused for the actor's own
    account and for the last enabled admin; NotFound for an unknown user. Audited as
    `user.disable` in `conn`'s transaction; the user's name."""
    row = _user(conn, user)
    if actor == f"user:{row.name}":
        raise Refused(
            f"you cannot disable your own account ({row.name}): ask another admin",
            why="self",
            name=row.name,
        )
    last_admin_check = row.role == "admin" and not row.disabled
    if last_admin_check:
        # Two admins disabling each other at once must not both succeed. PostgreSQL: every
        # admin's row is locked first (in ID order), so the second waits for the first's
        # commit and then counts what it left. SQLite (pysqlite begins its transaction at
        # the first write): the update below waits for the other writer, and the count
        # after it reads what that writer committed.
        conn.execute(
            sa.select(t.users.c.id)
            .where(t.users.c.role == "admin")
            .order_by(t.users.c.id)
            .with_for_update()
        ).all()
    conn.execute(t.users.update().where(t.users.c.id == row.id).values(disabled=True))
    if last_admin_check:
        left = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.users)
            .where(t.users.c.role == "admin", t.users.c.disabled == sa.false())
        ).scalar()
        if not left:  # the caller's transaction rolls the update back
            raise Refused(
                f"{row.name} is the last enabled admin: add or enable another admin first",
                why="last_admin",
                name=row.name,
            )
    ended = conn.execute(t.sessions.delete().where(t.sessions.c.user_id == row.id)).rowcount
    audit.record(
        conn,
        actor=actor,
        action="user.disable",
        subject=row.name,
        remote=remote,
        detail={"sessions_ended": int(ended or 0), "already": bool(row.disabled)},
    )
    return str(row.name)


def enable_user(conn: sa.Connection, user: int | str, *, actor: str, remote: str = "") -> str:
    """Let a disabled user (by ID or name) log in again (a lockout by failed logins still
    runs its course); NotFound for an unknown user. Audited as `user.enable`; the name."""
    row = _user(conn, user)
    conn.execute(t.users.update().where(t.users.c.id == row.id).values(disabled=False))
    audit.record(
        conn,
        actor=actor,
        action="user.enable",
        subject=row.name,
        remote=remote,
        detail={"already": not row.disabled},
    )
    return str(row.name)


def revoke_token(conn: sa.Connection, name: str, *, actor: str, remote: str = "") -> TokenRow:
    """Revoke the API token `name` for good (its row stays, for the record): its next
    request gets 401. NotFound for an unknown name. Audited as `token.revoke`."""
    tok = t.api_tokens
    row = conn.execute(sa.select(tok.c.id, tok.c.revoked).where(tok.c.name == name)).first()
    if row is None:
        raise NotFound(f"no API token named {name!r}")
    conn.execute(tok.update().where(tok.c.id == row.id).values(revoked=True))
    audit.record(
        conn,
        actor=actor,
        action="token.revoke",
        subject=name,
        remote=remote,
        detail={"already": bool(row.revoked)},
    )
    return _token_rows(conn, tok.c.id == row.id)[0]


@contextmanager
def audited(
    engine: sa.Engine, action: str, subject: str, *, actor: str, remote: str = ""
) -> Iterator[sa.Connection]:
    """A transaction for a change that audits itself (`disable_user`, `revoke_token`, ...).
    A ValueError out of it (NotFound, Refused, a value refused) rolls the change back, is
    recorded as `action` with outcome `fail` in a transaction of its own (about the
    refused user's name when known, else `subject`), and goes on."""
    try:
        with engine.begin() as conn:
            yield conn
    except ValueError as exc:
        with engine.begin() as conn:
            audit.record(
                conn,
                actor=actor,
                action=action,
                subject=exc.name if isinstance(exc, Refused) else subject,
                outcome="fail",
                remote=remote,
                detail={"error": str(exc)[:500]},
            )
        raise


# --- the request's principal ---------------------------------------------------------------


def remote_of(request: Request) -> str:
    return request.client.host if request.client else ""


def audit_request(
    request: Request,
    principal: Principal,
    action: str,
    subject: str,
    *,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record what `principal` did through this request (the dashboard's and the API's
    changes), in a transaction of its own."""
    engine: sa.Engine = request.app.state.engine
    with engine.begin() as conn:
        audit.record(
            conn,
            actor=principal.actor,
            action=action,
            subject=subject,
            outcome=outcome,
            remote=remote_of(request),
            detail=detail,
        )


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _lookup(request: Request) -> Principal | None:
    engine: sa.Engine = request.app.state.engine
    config: ServiceConfig = request.app.state.config
    token = bearer(request)
    cookie = request.cookies.get(config.cookie_name)
    if token is None and not cookie:
        return None
    with engine.begin() as conn:
        if token is not None:
            return token_principal(conn, token)
        return session_principal(conn, cookie or "", config)


async def current(request: Request) -> Principal | None:
    """The request's principal (cached on the request), or None."""
    cached: Any = getattr(request.state, "principal", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    principal = await run_in_threadpool(_lookup, request)
    request.state.principal = principal
    return principal


async def check_csrf(request: Request, principal: Principal) -> None:
    """An unsafe request of a session principal must carry the session's CSRF token."""
    if request.method in SAFE_METHODS or principal.kind != "user":
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent.encode(), principal.csrf.encode()):
        raise Forbidden("missing or wrong CSRF token")


def require(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the request's Principal with at least `role`; no principal
    -> LoginRequired (401 / redirect to /login), too low a role or no CSRF token on an
    unsafe request -> Forbidden (403)."""
    check_role(role)

    async def dependency(request: Request) -> Principal:
        principal = await current(request)
        if principal is None:
            raise LoginRequired
        await check_csrf(request, principal)
        if not principal.may(role):
            raise Forbidden(f"needs the {role} role")
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency
