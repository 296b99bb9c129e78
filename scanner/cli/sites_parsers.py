"""`shinsa worker`: a site's worker (scanner/sites/worker.py; docs/sites.md).

Parsing only; imported by the parser, so it imports nothing heavy: Celery and Redis load
when the command runs (scanner/cli/worker_commands.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.cli import options
from scanner.cli.service_parsers import DB_HELP

if TYPE_CHECKING:
    import argparse

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def add_parsers(sub: SubParsers) -> None:
    p = sub.add_parser(
        "worker",
        help="run a site's worker: scan the devices a run sends to this network segment",
    )
    p.add_argument(
        "--site",
        metavar="NAME",
        help="the site this worker serves: it takes only the tasks of this site's queue",
    )
    p.add_argument(
        "--broker",
        metavar="URL",
        help="the Redis broker: redis://[:PASSWORD@]HOST:PORT/DB, rediss:// for TLS "
        "(or $SHINSA_BROKER)",
    )
    p.add_argument("--db", metavar="URL", help=DB_HELP + "; the service's central database")
    p.add_argument(
        "--concurrency",
        type=options.count(1, 256),
        default=2,
        metavar="N",
        help="devices this worker scans at once, of up to N tasks (each of the scan's "
        "--site-batch devices) (default: %(default)s)",
    )
    p.add_argument(
        "--pool",
        choices=("threads", "prefork"),
        default="threads",
        help="scan the devices in threads of one process (default: shares the profile and "
        "the CPU) or in a process each (prefork: a crash takes no other device with it)",
    )
    p.add_argument(
        "--name",
        metavar="NAME@HOST",
        help="the worker's name on the broker (default: SITE-PID@HOSTNAME)",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the running workers (site, version, load, devices now) and exit",
    )
    p.set_defaults(func="scanner.cli.worker_commands:cmd_worker")
