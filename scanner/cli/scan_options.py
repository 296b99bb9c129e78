"""The `scan` options that reach the engine: exclusions, pacing, check selection and the
traffic log. Parsing here; what they do lives in the engine's floors (scanner/scope.py,
scanner/pacing.py, scanner/plan.py, scanner/traffic_log.py). Imported by the parser, so it
imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.cli import options
from scanner.errors import ConfigError
from scanner.service.drift_settings import DEFAULT_PERSIST, MAX_PERSIST

if TYPE_CHECKING:
    import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--exclude",
        action="append",
        type=options.nonempty,
        metavar="ADDR",
        help="never send a packet to these: addresses, CIDRs or ranges (127.0.10.5-9), "
        "repeatable or comma-separated; enforced like the allow-list (default: none)",
    )
    p.add_argument(
        "--excludefile",
        action="append",
        metavar="FILE",
        help="exclusions from a file, one or more per line, # comments (default: none)",
    )
    p.add_argument(
        "--max-rate",
        type=_rate,
        metavar="N",
        help="at most N probes (connection attempts, datagrams, HTTP requests) a second over "
        "the whole scan, discovery included (default: no cap)",
    )
    p.add_argument(
        "--scan-delay",
        type=options.seconds(0, 3600),
        metavar="S",
        help="at least S seconds between two probes to the same device, for fragile OT "
        "devices (default: none)",
    )
    p.add_argument(
        "--checks",
        action="append",
        metavar="IDS",
        help="run only these checks: IDs or globs (creds.default.*), repeatable or "
        "comma-separated; a pattern matching no check is an error (default: every check)",
    )
    p.add_argument(
        "--exclude-checks",
        action="append",
        metavar="IDS",
        help="leave these checks out (IDs or globs); their requirements read as not "
        "assessed, never as passed (default: none)",
    )
    add_logging(p)
    add_service(p)


def add_service(p: argparse.ArgumentParser) -> None:
    """--db, --site, --baseline, --alert: a scheduled scan on a single box records its run,
    drift and alerts in the service's database (scanner/cli/scan_service.py)."""
    g = p.add_argument_group(
        "service database", "record the run, its drift and alerts (docs/operation.md)"
    )
    g.add_argument(
        "--db",
        metavar="URL",
        help="after the scan, import the run into this database (sqlite:///PATH or "
        "postgresql://USER@HOST/DB; made or upgraded as needed), store its drift against "
        "the baseline and the previous run, and send --alert channels what drifted "
        "(default: none)",
    )
    g.add_argument(
        "--site",
        metavar="NAME",
        help="the site the devices belong to, with --db (default: default)",
    )
    g.add_argument(
        "--baseline",
        metavar="NAME",
        help="the baseline drift is measured against, with --db (default: default)",
    )
    g.add_argument(
        "--alert",
        action="append",
        metavar="CHANNEL",
        help="with --db: webhook:URL, smtp:ADDR[,ADDR] or syslog:udp|tcp|tls://HOST:PORT, "
        "sent when anything drifted (repeatable; default: none)",
    )
    g.add_argument(
        "--drift-persist",
        type=options.count(1, MAX_PERSIST),
        metavar="N",
        help="with --db: runs in a row a pass -> inconclusive flip must last before it is "
        f"drift (default: {DEFAULT_PERSIST})",
    )


@dataclass(frozen=True, slots=True)
class ServiceStep:
    """What --db and its companions ask of a scan: record the run, its drift and alerts."""

    url: str
    site: str = "default"
    baseline: str = "default"
    alerts: tuple[str, ...] = ()
    drift_persist: int = DEFAULT_PERSIST


def service_step(args: argparse.Namespace) -> ServiceStep | None:
    """The service step when --db is given, else None; --site, --baseline, --alert or
    --drift-persist without --db is a usage error (they would do nothing)."""
    alerts = tuple(getattr(args, "alert", None) or ())
    site, baseline = getattr(args, "site", None), getattr(args, "baseline", None)
    persist = getattr(args, "drift_persist", None)
    url = getattr(args, "db", None)
    if not url:
        given = [
            n
            for n, v in (
                ("--site", site),
                ("--baseline", baseline),
                ("--alert", alerts),
                ("--drift-persist", persist),
            )
            if v
        ]
        if given:
            raise ConfigError(f"{', '.join(given)} need(s) --db URL (the service's database)")
        return None
    return ServiceStep(
        str(url), site or "default", baseline or "default", alerts, persist or DEFAULT_PERSIST
    )


def add_logging(p: argparse.ArgumentParser) -> None:
    """-v, --debug and --log-file (their own group: -q's neighbours)."""
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each connection, request and login attempt (to standard error, or "
        "--log-file); passwords and communities masked as ***",
    )
    p.add_argument(
        "--debug",
        action="store_true",
        help="log what was sent and received per connection too, in bounded excerpts "
        "(default file: OUT/shinsa-debug.log); secrets masked as ***",
    )
    p.add_argument("--log-file", metavar="FILE", help="where -v or --debug log (default: above)")


def _rate(text: str) -> float:
    """--max-rate: more than 0 and at most a million probes a second."""
    return options.seconds(0, 1_000_000)(text)


def exclusions(args: argparse.Namespace) -> list[str]:
    """Every --exclude entry and every entry of every --excludefile, as given."""
    found = [e.strip() for arg in args.exclude or () for e in arg.split(",") if e.strip()]
    for name in args.excludefile or ():
        path = Path(name)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"--excludefile {path}: {exc.strerror}") from exc
        for line in lines:
            words = line.split("#", 1)[0].replace(",", " ").split()
            found += words
    return found


def check_patterns(values: list[str] | None) -> list[str]:
    """`--checks a,b --checks c` -> [a, b, c]."""
    return [v.strip() for arg in values or () for v in arg.split(",") if v.strip()]
