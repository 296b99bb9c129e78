"""The parsers of the operation commands: `serve`, `db`, `import`, `user`, `token`,
`schedule`, `baseline`, `drift`. Their options are a fixed interface (scripts and the
documentation rely on them); each command's function lives in the module named after its
area (`serve_commands`, `db_commands`, `schedule_commands`, `baseline_commands`), imported
only when that command runs.

Every command that takes `--db` also reads `SHINSA_DB` (`db_url`); the option wins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.cli import options
from scanner.errors import ConfigError
from scanner.service.drift_settings import DEFAULT_PERSIST, MAX_PERSIST

if TYPE_CHECKING:
    import argparse

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

DB_VARIABLE = "SHINSA_DB"
ROLES = ("viewer", "operator", "admin")
DB_HELP = (
    "the service's database: sqlite:///PATH or postgresql://USER@HOST/DB (or $SHINSA_DB; "
    "default: the embedded sqlite:///shinsa-service/shinsa.sqlite, in --data where given)"
)
#: the service's data directory when none is given (`serve --data`)
DEFAULT_DATA = "shinsa-service"


def db_url(args: argparse.Namespace) -> str:
    """--db, else $SHINSA_DB, else the embedded SQLite file DATA/shinsa.sqlite (DATA: the
    command's --data, or shinsa-service). A command that makes the database (`serve`, `db
    upgrade`, `user add`, `token add`) makes that file; any other refuses a default file
    that does not exist yet, rather than reading an empty database."""
    url = getattr(args, "db", None) or os.environ.get(DB_VARIABLE, "")
    if url:
        return str(url)
    path = Path(getattr(args, "data", None) or DEFAULT_DATA) / "shinsa.sqlite"
    if not getattr(args, "makes_db", False) and not path.is_file():
        raise ConfigError(
            f"give --db URL (or set {DB_VARIABLE}): there is no database at the default "
            f"{path} yet (`shinsa serve` or `shinsa db upgrade` makes it)"
        )
    return f"sqlite:///{path}"


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help=DB_HELP)


def _fn(module: str, name: str) -> str:
    return f"scanner.cli.{module}:{name}"


def add_parsers(sub: SubParsers) -> None:
    p = sub.add_parser("serve", help="run the operation service: dashboard, REST API, schedules")
    _db(p)
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default="127.0.0.1:8443",
        help="address to listen on; a non-loopback address needs --tls-cert/--tls-key "
        "(or --insecure-http)",
    )
    p.add_argument("--tls-cert", metavar="FILE", help="the server certificate chain (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    p.add_argument(
        "--insecure-http",
        action="store_true",
        help="serve plain HTTP on a non-loopback address (passwords and session cookies "
        "cross the network in clear)",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        default=DEFAULT_DATA,
        help="where scheduled runs keep their per-run stores and reports",
    )
    p.add_argument(
        "--session-idle",
        type=int,
        metavar="SECONDS",
        default=300,
        help="a session unused this long ends (default: %(default)s, as the acceptance "
        "profile's session.idle-timeout asks)",
    )
    p.add_argument(
        "--session-lifetime",
        type=int,
        metavar="SECONDS",
        default=8 * 3600,
        help="a session ends this long after its login, used or not (default: %(default)s)",
    )
    p.add_argument(
        "--login-failures",
        type=int,
        metavar="N",
        default=5,
        help="failed logins in a row that lock a user name (default: %(default)s)",
    )
    p.add_argument(
        "--login-lock",
        type=int,
        metavar="SECONDS",
        default=300,
        help="how long a locked user name stays locked (default: %(default)s)",
    )
    p.add_argument(
        "--max-sessions",
        type=int,
        metavar="N",
        default=10,
        help="sessions one user may have at once; a new login ends the oldest beyond "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--tz",
        metavar="ZONE",
        default="",
        help="IANA time zone the dashboard shows times in (default: Asia/Tokyo on Japanese "
        "pages, this machine's zone on English ones)",
    )
    p.add_argument(
        "--broker",
        metavar="URL",
        help="the sites' Redis broker (docs/sites.md): every scheduled run's devices are "
        "scanned by their site's workers (default: $SHINSA_BROKER; none: scans run here)",
    )
    p.set_defaults(func=_fn("serve_commands", "cmd_serve"), makes_db=True)

    p = sub.add_parser("db", help="the service's database: upgrade, prune")
    db_sub = p.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="create the schema or upgrade it to this version")
    _db(up)
    up.set_defaults(func=_fn("db_commands", "cmd_db_upgrade"), makes_db=True)
    prune = db_sub.add_parser(
        "prune", help="delete runs older than N days, except baselines; say what it freed"
    )
    _db(prune)
    prune.add_argument("--older-than", type=int, metavar="DAYS", required=True)
    prune.add_argument(
        "--data",
        metavar="DIR",
        default=DEFAULT_DATA,
        help="the service's --data directory: the pruned runs' stores and reports there are "
        "deleted too (default: %(default)s, when it exists)",
    )
    prune.set_defaults(func=_fn("db_commands", "cmd_db_prune"))

    p = sub.add_parser("import", help="import the runs of a scan's output directory")
    p.add_argument("out", metavar="OUT", help="a `shinsa scan --out` directory")
    _db(p)
    p.add_argument("--site", default="default", help="the site its devices belong to")
    p.add_argument("--run", action="append", metavar="RUN_ID", help="only this run (repeatable)")
    p.set_defaults(func=_fn("db_commands", "cmd_import"))

    p = sub.add_parser("user", help="local users of the service")
    user_sub = p.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser(
        "add", help="add a user; the password from $SHINSA_PASSWORD or a prompt"
    )
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    _db(add)
    add.set_defaults(func=_fn("serve_commands", "cmd_user_add"), makes_db=True)
    for verb, what in (
        ("disable", "stop NAME from logging in; their sessions end at once"),
        ("enable", "let the disabled user NAME log in again"),
    ):
        one = user_sub.add_parser(verb, help=what)
        one.add_argument("name")
        _db(one)
        one.set_defaults(func=_fn("serve_commands", f"cmd_user_{verb}"))

    p = sub.add_parser("token", help="API tokens of the service")
    token_sub = p.add_subparsers(dest="token_command", required=True)
    add = token_sub.add_parser("add", help="make an API token; printed once, stored hashed")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    _db(add)
    add.set_defaults(func=_fn("serve_commands", "cmd_token_add"), makes_db=True)
    lst = token_sub.add_parser(
        "list", help="the API tokens: name, role, prefix, created, last used, revoked"
    )
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    _db(lst)
    lst.set_defaults(func=_fn("serve_commands", "cmd_token_list"))
    rev = token_sub.add_parser("revoke", help="revoke the API token NAME for good")
    rev.add_argument("name")
    _db(rev)
    rev.set_defaults(func=_fn("serve_commands", "cmd_token_revoke"))

    p = sub.add_parser("schedule", help="scheduled scan definitions")
    sched = p.add_subparsers(dest="schedule_command", required=True)
    add = sched.add_parser("add", help="add a scan definition run on a cron schedule")
    add.add_argument("name")
    add.add_argument("targets", nargs="+", metavar="TARGET", help="as for `shinsa scan`")
    add.add_argument("--cron", required=True, metavar="EXPR", help="five-field cron expression")
    add.add_argument("--tz", default="UTC", metavar="ZONE", help="the cron's IANA time zone")
    add.add_argument("--ports", "-p", metavar="SPEC", help="as for `shinsa scan`")
    add.add_argument("--profile", default="base", help="as for `shinsa scan`")
    add.add_argument("--site", default="default", help="the site its devices belong to")
    add.add_argument(
        "--alert",
        action="append",
        metavar="CHANNEL",
        help="webhook:URL, smtp:ADDR or syslog:URL (repeatable)",
    )
    add.add_argument(
        "--window",
        action="append",
        metavar="'DAYS HH:MM-HH:MM'",
        help="maintenance window in --tz, e.g. 'mon-fri 22:00-06:00' (repeatable; runs never "
        "start outside them and are stopped when theirs closes; default: any time)",
    )
    add.add_argument(
        "--jitter", type=int, default=0, metavar="S", help="start up to S seconds late, at random"
    )
    add.add_argument("--format", default="json", help="report formats, as for `shinsa scan`")
    add.add_argument(
        "--drift-kinds",
        metavar="KINDS",
        help="comma-separated drift kinds that raise an alert (default: every kind)",
    )
    add.add_argument(
        "--scan-delay", type=float, metavar="S", help="as for `shinsa scan` (fragile devices)"
    )
    add.add_argument(
        "--baseline",
        default="default",
        metavar="NAME",
        help="the baseline its drift is measured against (default: %(default)s)",
    )
    add.add_argument(
        "--drift-persist",
        type=options.count(1, MAX_PERSIST),
        default=DEFAULT_PERSIST,
        metavar="N",
        help="runs in a row a pass -> inconclusive flip must last before it is drift "
        "(default: %(default)s)",
    )
    _db(add)
    add.set_defaults(func=_fn("schedule_commands", "cmd_schedule_add"))
    lst = sched.add_parser("list", help="the scan definitions and their next runs")
    _db(lst)
    lst.set_defaults(func=_fn("schedule_commands", "cmd_schedule_list"))
    for verb, what in (
        ("pause", "stop starting runs of NAME until resumed"),
        ("resume", "start runs of NAME on its schedule again"),
        ("remove", "delete the definition NAME (its runs stay)"),
    ):
        one = sched.add_parser(verb, help=what)
        one.add_argument("name")
        _db(one)
        one.set_defaults(func=_fn("schedule_commands", f"cmd_schedule_{verb}"))
    now = sched.add_parser(
        "run-now", help="run NAME now; its run ID is the last line of standard output"
    )
    now.add_argument("name")
    now.add_argument(
        "--wait", action="store_true", help="return when the run and its alerts are done"
    )
    now.add_argument(
        "--data",
        metavar="DIR",
        default=DEFAULT_DATA,
        help="where the run keeps its per-run store and reports (as `shinsa serve --data`)",
    )
    _db(now)
    now.set_defaults(func=_fn("schedule_commands", "cmd_schedule_run_now"))

    p = sub.add_parser("baseline", help="accepted states that drift is measured against")
    base = p.add_subparsers(dest="baseline_command", required=True)
    acc = base.add_parser("accept", help="accept a run (or one device of it) as the baseline")
    acc.add_argument("run_id", metavar="RUN_ID", help="a run ID, or latest")
    acc.add_argument("--device", metavar="ADDR", help="only this device's state")
    _db(acc)
    acc.set_defaults(func=_fn("baseline_commands", "cmd_baseline_accept"))

    p = sub.add_parser("drift", help="what changed in a run against the baseline and the last run")
    p.add_argument("run_id", metavar="RUN_ID", help="a run ID, or latest")
    _db(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_fn("baseline_commands", "cmd_drift"))
