"""What `shinsa worker` does (options: scanner/cli/sites_parsers.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from scanner.cli.service_parsers import db_url
from scanner.errors import ConfigError
from scanner.sites import keys, worker

if TYPE_CHECKING:
    import argparse


def cmd_worker(args: argparse.Namespace) -> int:
    broker = keys.broker_url(args.broker)
    if args.list:
        from scanner.sites.connection import client

        found = worker.workers(client(broker))
        if not found:
            print("no worker is running")
        for w in found:
            print(json.dumps(w, sort_keys=True))
        return 0
    if not args.site:
        raise ConfigError("give --site NAME: the site this worker serves")
    return worker.run(
        args.site,
        broker,
        db_url(args),
        concurrency=args.concurrency,
        hostname=args.name,
        pool=args.pool,
    )
