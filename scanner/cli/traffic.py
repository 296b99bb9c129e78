"""`-v`, `--debug` and `--log-file` of `shinsa scan`: the traffic log (scanner/traffic_log.py)
written to a file or standard error for the length of one scan, every secret of the scan's
credential lists and test accounts masked."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import traffic_log
from scanner.redact import site_logins

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from scanner.engine import ScanRequest

#: where `--debug` writes without `--log-file`, inside --out
DEBUG_LOG = "shinsa-debug.log"
FORMAT = "%(asctime)s %(levelname)s %(message)s"


def secrets_of(request: ScanRequest) -> tuple[set[str], set[str]]:
    """Every password and community the scan may send (each list's, each test account's),
    and the site's own among them (its --credentials lists, the test accounts)."""
    every = {c.password for e in request.credentials.entries for c in e.pairs if c.password}
    site = {c.password for c in site_logins(request.credentials) if c.password}
    for profile in (request.profile, *request.profiles.values()):
        account = profile.test_account.credential() if profile.test_account else None
        if account is not None and account.password:
            site.add(account.password)
    return every | site, site


@contextlib.contextmanager
def logging_for(args: argparse.Namespace, request: ScanRequest, out: Path) -> Iterator[None]:
    """The traffic log for one scan, as the options ask (nothing without -v or --debug)."""
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else None
    if level is None:
        yield
        return
    path = Path(args.log_file) if args.log_file else out / DEBUG_LOG if args.debug else None
    handler: logging.Handler
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    mask = traffic_log.SecretMask(*secrets_of(request))
    handler.addFilter(mask)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("shinsa")
    before = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    logger.propagate = False
    traffic_log.install(mask)
    try:
        yield
    finally:
        traffic_log.uninstall(mask)
        logger.removeHandler(handler)
        logger.setLevel(before)
        handler.close()
        if path is not None:
            print(f"traffic log: {path}", file=sys.stderr)
