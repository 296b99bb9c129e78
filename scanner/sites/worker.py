"""`shinsa worker --site NAME --broker URL --db URL [--concurrency N]`: a site's worker.

Before it takes a task it checks, and refuses to start with a clear message (exit 2):
- the site's name, the broker URL and the database URL (the database must be at this
  version's schema: `shinsa db upgrade` first);
- the version: the service (or `shinsa scan --broker`) records its version on the broker;
  a worker of another version would scan by other rules, so it does not start.

Then it runs a Celery worker that consumes only its site's queue, scanning `--concurrency`
devices at once (slots.py) of up to as many tasks, each of a few of the site's devices (the
scan's `--site-batch`), in threads of one process (or `--pool prefork` processes, a device
at a time each), and a heartbeat thread that says every
few seconds, on the broker, which site it serves, its version and its load: the machine
that starts a run reads them to know whether a site has a worker (dispatch.py), and an
operator reads them with `shinsa worker --list`... or `celery inspect` and Flower.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

import redis

from scanner import __version__
from scanner.discovery.targets import checked_site
from scanner.errors import ConfigError
from scanner.service import migrate
from scanner.service.db import mask_url, open_db
from scanner.sites import keys
from scanner.sites.app import DB_SETTING, SITE_SETTING, make_app
from scanner.sites.connection import client

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("shinsa.sites")


#: Celery pools a worker may run its devices in. threads (the default): one process, a
#: thread and an event loop per device at once; the profile, the probes and the database
#: pool are loaded once, and most of a device's time is waiting on the network, so the
#: threads share the process's CPU well (bench/sites/README.md measured both). prefork: a
#: process per device at once; a device that crashes its process takes no other with it.
POOLS = ("threads", "prefork")


def check_version(r: redis.Redis) -> None:
    """Refuse a worker whose version differs from the one the service recorded."""
    try:
        raw = r.get(keys.VERSION_KEY)
    except redis.RedisError as exc:
        raise ConfigError(f"the broker does not answer ({exc})") from None
    theirs = raw.decode() if isinstance(raw, bytes) else raw
    if theirs and theirs != __version__:
        raise ConfigError(
            f"this worker is shinsa {__version__}, the service on this broker is shinsa "
            f"{theirs}: install the same version on the worker (or upgrade the service) "
            "before starting it"
        )


def heartbeat(
    r: redis.Redis,
    hostname: str,
    site: str,
    concurrency: int,
    active: Callable[[], int],
) -> dict[str, str]:
    """One heartbeat: what the worker says about itself, written with an expiry."""
    load1, _, _ = os.getloadavg()
    said = {
        "site": site,
        "version": __version__,
        "hostname": hostname,
        "pid": str(os.getpid()),
        "concurrency": str(concurrency),
        "active": str(active()),
        "load": f"{load1:.2f}",
        "seen": f"{time.time():.3f}",
    }
    key = keys.worker_key(hostname)
    with r.pipeline() as pipe:
        pipe.hset(key, mapping=dict(said))  # type: ignore[arg-type]  # stubs: invariant Mapping
        pipe.expire(key, keys.HEARTBEAT_TTL)
        pipe.execute()
    return said


def workers(r: redis.Redis) -> list[dict[str, str]]:
    """Every worker with a live heartbeat: what each said about itself."""
    found: list[dict[str, str]] = []
    for key in r.scan_iter(match=keys.WORKER_PREFIX + "*", count=500):
        said = r.hgetall(key)
        if said:
            found.append({_text(k): _text(v) for k, v in said.items()})
    return sorted(found, key=lambda w: (w.get("site", ""), w.get("hostname", "")))


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _beat_forever(
    r: redis.Redis, hostname: str, site: str, concurrency: int, stop: threading.Event
) -> None:
    from celery.worker import state  # the requests the worker's pool is running now

    while not stop.is_set():
        try:
            heartbeat(r, hostname, site, concurrency, lambda: len(state.active_requests))
        except redis.RedisError as exc:  # the broker restarting: say it again soon
            log.warning("heartbeat not sent (%s)", exc)
        stop.wait(keys.HEARTBEAT_SECONDS)
    with contextlib.suppress(redis.RedisError):
        r.delete(keys.worker_key(hostname))  # gone: the site knows at once


def run(
    site: str,
    broker: str,
    db: str,
    *,
    concurrency: int = 2,
    hostname: str | None = None,
    loglevel: str = "INFO",
    pool: str = "threads",
) -> int:
    """Check, then run the worker until it is stopped (SIGTERM: warm shutdown)."""
    checked_site(site, "--site")
    if concurrency < 1:
        raise ConfigError("--concurrency must be 1 or more")
    r = client(broker)
    check_version(r)
    engine = open_db(db)
    try:
        migrate.require_head(engine)
    except ConfigError as exc:
        raise ConfigError(f"{mask_url(db)}: {exc}") from None
    finally:
        engine.dispose()  # the pool processes open their own after the fork
    if pool not in POOLS:
        raise ConfigError(f"--pool {pool!r}: give one of {', '.join(POOLS)}")
    # what every exchange sent and received (scanner/traffic_log.py) and the client
    # libraries' per-request lines are `shinsa scan -v`'s; in a worker's log they would
    # be most of its lines (and of its CPU): warnings only
    for noisy in ("shinsa.traffic", "httpx", "httpcore", "asyncssh", "paramiko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    name = hostname or f"{site}-{os.getpid()}@{socket.gethostname()}"
    app = make_app(broker)
    slots = concurrency if pool == "threads" else 1
    app.conf.update({SITE_SETTING: site, DB_SETTING: db, keys.SLOTS_SETTING: slots})
    stop = threading.Event()
    beat = threading.Thread(
        target=_beat_forever, args=(r, name, site, concurrency, stop), daemon=True
    )
    beat.start()
    log.info("worker %s of site %s: %s", name, site, json.dumps({"broker": keys.masked(broker)}))
    try:
        app.worker_main(
            [
                "worker",
                "--queues",
                keys.queue_of(site),
                "--concurrency",
                str(concurrency),
                "--pool",
                pool,
                "--hostname",
                name,
                "--loglevel",
                loglevel,
                "--without-mingle",
                "--without-gossip",
                "--task-events",
            ]
        )
    except SystemExit as exc:  # worker_main ends by exiting: its code is the command's
        return exc.code if isinstance(exc.code, int) else 0
    finally:
        stop.set()
        beat.join(timeout=5)
    # worker_main returns after a warm shutdown (SIGTERM), though its stubs say it never does
    return 0  # type: ignore[unreachable]
