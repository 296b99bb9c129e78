"""`shinsa serve`, `shinsa user add|disable|enable`, `shinsa token add|list|revoke`: the
operation service and who may use it (see scanner/cli/service_parsers.py for the options).
Every change is audited with the actor `cli`, a refused one too (scanner.service.auth);
an unknown name or a refused change is a usage error (exit code 2).

TLS: the certificate chain and key come from files; the server speaks TLS 1.2 and 1.3
only, with forward-secret AEAD suites only (what the `tls.versions`, `tls.ciphers` and
`tls.forward-secrecy` checks ask of a device). Without TLS the service listens on a
loopback address only, unless `--insecure-http` says a TLS proxy in front of it does the
job; the refusal comes before anything is bound. Over plain HTTP the session cookie is
`shinsa` without the Secure flag (browsers refuse a Secure or `__Host-` cookie on http://),
and serve prints a warning saying so.
"""

from __future__ import annotations

import getpass
import json
import os
import ssl
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.cli.service_parsers import db_url
from scanner.errors import ConfigError
from scanner.judging.report_meta import zone

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from datetime import datetime

    import sqlalchemy as sa
    import uvicorn

    from scanner.service.config import ServiceConfig

PASSWORD_VARIABLE = "SHINSA_PASSWORD"  # noqa: S105 (the variable's name)
#: TLS 1.2 suites: ECDHE (forward secrecy) with AES-GCM or ChaCha20-Poly1305 (AEAD) only;
#: TLS 1.3's suites are all of that already
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!SHA1:!SHA256:!SHA384"


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server's TLS context: TLS 1.2+, AEAD + ECDHE suites, no compression, no
    renegotiation, the server's suite order."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    try:
        ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"--tls-cert {cert} / --tls-key {key}: cannot load: {exc}") from exc
    return ctx


def service_config(args: argparse.Namespace) -> ServiceConfig:
    from scanner.service.config import ServiceConfig

    for name in (
        "session_idle",
        "session_lifetime",
        "login_failures",
        "login_lock",
        "max_sessions",
    ):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    return ServiceConfig(
        db_url=db_url(args),
        data_dir=Path(args.data),
        listen=args.listen,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        insecure_http=bool(args.insecure_http),
        session_idle=args.session_idle,
        session_lifetime=args.session_lifetime,
        login_max_failures=args.login_failures,
        login_lock_seconds=args.login_lock,
        max_sessions=args.max_sessions,
        tz=zone(args.tz).key if args.tz else "",  # an unknown zone refused before binding
    )


def uvicorn_config(config: ServiceConfig) -> uvicorn.Config:
    """The uvicorn settings for `config` (checked: a refusal is raised here, before any
    socket is bound)."""
    import uvicorn

    from scanner.service.app import create_app
    from scanner.service.config import check_transport, split_listen

    warning = check_transport(config)
    if warning:
        print(warning, file=sys.stderr)
    host, port = split_listen(config.listen)
    factory: Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext] | None
    factory = None
    if config.tls_cert is not None and config.tls_key is not None:
        context = server_context(config.tls_cert, config.tls_key)  # fails early on bad files

        def factory(
            _config: uvicorn.Config, _default: Callable[[], ssl.SSLContext]
        ) -> ssl.SSLContext:
            return context

    return uvicorn.Config(
        create_app(config),
        host=host,
        port=port,
        ssl_context_factory=factory,
        server_header=False,  # no banner naming the server and its version
        proxy_headers=False,  # the client address is the peer's, not a header's claim
        forwarded_allow_ips="",
        log_level="info",
        timeout_graceful_shutdown=5,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    config = service_config(args)
    settings = uvicorn_config(config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    if args.broker:
        _announce(args.broker)
    server = uvicorn.Server(settings)
    server.run()
    return 0 if server.started else 4


def _announce(broker: str) -> None:
    """--broker: scheduled runs go to the sites' workers (the runner reads $SHINSA_BROKER,
    which its child scans inherit), and this version is recorded on the broker, so that a
    worker of another version refuses to start before the first run is sent."""
    from scanner.sites import keys
    from scanner.sites.connection import announce_version

    url = keys.broker_url(broker)
    announce_version(url)
    os.environ[keys.BROKER_VARIABLE] = url


def read_password() -> str:
    """$SHINSA_PASSWORD, else asked twice at the terminal (never a command-line argument:
    those are visible to every user of the machine and kept in shell history)."""
    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None:
        if not sys.stdin.isatty():
            raise ConfigError(f"set {PASSWORD_VARIABLE} or run at a terminal to be asked")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise ConfigError("the two passwords differ")
    if len(password) < 8:
        raise ConfigError("a password is at least 8 characters")
    return password


def cmd_user_add(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from scanner.service import auth
    from scanner.service.app import upgrade
    from scanner.service.db import open_db

    password = read_password()
    engine = open_db(db_url(args))
    try:
        upgrade(engine)
        with engine.begin() as conn:
            auth.add_user(conn, args.name, args.role, password, actor="cli")
    except sa.exc.IntegrityError as exc:
        raise ConfigError(f"user {args.name!r} exists already") from exc
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        engine.dispose()
    print(f"user {args.name} added ({args.role})", file=sys.stderr)
    return 0


def cmd_token_add(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from scanner.service import auth
    from scanner.service.app import upgrade
    from scanner.service.db import open_db

    engine = open_db(db_url(args))
    try:
        upgrade(engine)
        with engine.begin() as conn:
            token = auth.add_token(conn, args.name, args.role, actor="cli")
    except sa.exc.IntegrityError as exc:
        raise ConfigError(f"token {args.name!r} exists already") from exc
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        engine.dispose()
    print(f"token {args.name} ({args.role}); shown once, keep it secret:", file=sys.stderr)
    print(token)
    return 0


def _change_access(
    args: argparse.Namespace, action: str, change: Callable[[sa.Connection], object]
) -> None:
    """Run `change` on the database of `args` as the actor `cli`, audited (a refusal too);
    an unknown name or a refusal becomes a ConfigError (exit code 2)."""
    from scanner.service import auth
    from scanner.service.app import upgrade
    from scanner.service.db import open_db

    engine = open_db(db_url(args))
    try:
        upgrade(engine)
        with auth.audited(engine, action, args.name, actor="cli") as conn:
            change(conn)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        engine.dispose()


def cmd_user_disable(args: argparse.Namespace) -> int:
    from scanner.service import auth

    _change_access(
        args, "user.disable", lambda conn: auth.disable_user(conn, args.name, actor="cli")
    )
    print(f"user {args.name} disabled; their sessions have ended", file=sys.stderr)
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    from scanner.service import auth

    _change_access(args, "user.enable", lambda conn: auth.enable_user(conn, args.name, actor="cli"))
    print(f"user {args.name} enabled", file=sys.stderr)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from scanner.service import auth

    _change_access(
        args, "token.revoke", lambda conn: auth.revoke_token(conn, args.name, actor="cli")
    )
    print(f"token {args.name} revoked", file=sys.stderr)
    return 0


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at else None


def cmd_token_list(args: argparse.Namespace) -> int:
    """The API tokens, by name: never a value or a hash (neither can be read back)."""
    from scanner.service import auth
    from scanner.service.app import upgrade
    from scanner.service.db import open_db

    engine = open_db(db_url(args))
    try:
        upgrade(engine)
        with engine.connect() as conn:
            tokens = auth.list_tokens(conn)
    finally:
        engine.dispose()
    if args.json:
        rows = [
            {
                "name": tok.name,
                "role": tok.role,
                "prefix": tok.prefix,
                "created": _iso(tok.created),
                "created_by": tok.created_by,
                "last_used": _iso(tok.last_used),
                "revoked": tok.revoked,
            }
            for tok in tokens
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not tokens:
        print("no tokens")
        return 0
    head = ("NAME", "ROLE", "PREFIX", "CREATED (UTC)", "BY", "LAST USED (UTC)", "STATE")
    body = [
        (
            tok.name,
            tok.role,
            tok.prefix + "...",
            tok.created.strftime("%Y-%m-%d %H:%M"),
            tok.created_by,
            tok.last_used.strftime("%Y-%m-%d %H:%M") if tok.last_used else "never",
            "revoked" if tok.revoked else "active",
        )
        for tok in tokens
    ]
    widths = [max(len(row[i]) for row in (head, *body)) for i in range(len(head))]
    for row in (head, *body):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0
