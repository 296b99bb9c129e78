"""The `scan` options that reach the engine: exclusions, pacing, check selection and the
traffic log. Parsing here; what they do lives in the engine's floors (scanner/scope.py,
scanner/pacing.py, scanner/plan.py, scanner/traffic_log.py). Imported by the parser, so it
imports nothing heavy."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from scanner.cli import options
from scanner.errors import ConfigError
from scanner.service.drift_settings import DEFAULT_PERSIST, MAX_PERSIST


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
    add_sites(p)


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
        help="the site the devices belong to, with --db; with --broker, the site whose "
        "workers scan every device that names none (a target file's site=)",
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
                # with --broker, --site routes the devices (sites_step)
                ("--site", site if getattr(args, "broker", None) is None else None),
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


def add_sites(p: argparse.ArgumentParser) -> None:
    """--broker, --site-wait: the devices scanned by their sites' workers (scanner/sites/)."""
    from scanner.sites.keys import DEFAULT_BATCH  # names and checks only, no Celery

    g = p.add_argument_group(
        "sites", "scan each device from a worker in its network segment (docs/sites.md)"
    )
    g.add_argument(
        "--broker",
        metavar="URL",
        nargs="?",
        const="",
        help="send each device to its site's workers on this Redis broker (redis://HOST:PORT"
        "/DB, rediss:// for TLS; --broker alone: $SHINSA_BROKER); results land in --db (or "
        "$SHINSA_DB, else the embedded database), which the workers share (default: scan "
        "from this machine)",
    )
    g.add_argument(
        "--site-wait",
        type=options.seconds(0, 86400),
        metavar="S",
        default=60.0,
        help="with --broker: a site with no running worker for S seconds has its devices "
        "reported pending (default: %(default)s)",
    )
    g.add_argument(
        "--site-batch",
        type=options.count(1, 256),
        metavar="N",
        default=DEFAULT_BATCH,
        help="with --broker: a site's devices go to its workers N to a task, scanned together "
        "as a local scan scans them (default: %(default)s)",
    )
    # the service's runner: when the maintenance window closes (epoch seconds), so that no
    # worker starts a device after it; not for people, so not listed
    g.add_argument("--window-ends", type=float, help=argparse.SUPPRESS)


@dataclass(frozen=True, slots=True)
class SitesOptions:
    """What --broker and its companions ask: the central database, the default site."""

    broker: str
    db: str
    site: str
    wait: float
    window_ends: float | None
    batch: int


def sites_options(args: argparse.Namespace, db: str) -> SitesOptions | None:
    """The sites step when --broker is given (None without); `db`: the database the
    workers share (--db, $SHINSA_DB, else the embedded default)."""
    broker = getattr(args, "broker", None)
    if broker is None:
        if getattr(args, "window_ends", None) is not None:
            raise ConfigError("--window-ends needs --broker")
        return None
    from scanner.sites.keys import broker_url  # checks it: redis:// or rediss://

    return SitesOptions(
        broker_url(str(broker)),
        db,
        getattr(args, "site", None) or "",
        float(args.site_wait),
        getattr(args, "window_ends", None),
        int(args.site_batch),
    )
