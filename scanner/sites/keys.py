"""The names the sites use on the broker, in one place, and the broker URL's checks.

Queues: one per site, `shinsa.site.NAME`: a worker consumes only its own, so a task for
a device of site A is never taken by a worker of site B (and no result crosses sites).

Redis keys (all under `shinsa:`, each with an expiry, so nothing is left behind for ever):
- `shinsa:version`: the version of the service or scan that sends tasks; a worker of
  another version refuses to start (its engine would judge by other rules).
- `shinsa:worker:HOSTNAME`: a worker's heartbeat (site, version, load), every few seconds.
- `shinsa:lock:RUN:ADDRESS`: the worker scanning that device now (one at a time).
- `shinsa:pace:RUN:SITE` and `...:ADDRESS`: the next free probe slot of the site and device.
- `shinsa:stop:RUN` and `shinsa:stop:RUN:SITE`: the run (or one site of it) was stopped:
  a task of it not yet started is dropped, one running ends its device.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from scanner.errors import ConfigError

BROKER_VARIABLE = "SHINSA_BROKER"
QUEUE_PREFIX = "shinsa.site."
#: the task's name on the broker (a worker of another build still knows it by this name)
SCAN_TASK = "shinsa.scan_device"

#: devices of a site per task: a worker scans them with one engine, as a local scan does,
#: so discovery, the task's set-up and its waits are shared (bench/sites: one device per
#: task cost the workers three times the in-process CPU per device)
DEFAULT_BATCH = 8

#: the worker's setting (on its Celery app's configuration): devices a pool process scans
#: at once, for all its tasks (slots.py): --concurrency with the threads pool (one
#: process), 1 with prefork (a process per task, as many as that)
SLOTS_SETTING = "shinsa_device_slots"

VERSION_KEY = "shinsa:version"
WORKER_PREFIX = "shinsa:worker:"

#: how often a worker says it is alive, and how long its word lasts
HEARTBEAT_SECONDS = 5.0
HEARTBEAT_TTL = 20
#: a device lock lasts this long unless its worker renews it (every third of it)
LOCK_TTL_SECONDS = 30.0
#: keys of a run (pace, stop) outlive it by a day at most
RUN_KEY_TTL = 86400

#: how long a task may be unacknowledged before the broker gives it to another worker: a
#: worker lost mid-device (SIGKILL, power) is noticed after this. A task still running
#: when it passes is given out again, and the second delivery finds the device's lock held
#: and comes back later: never two scans of one device at once. Five minutes: longer than
#: most devices take (each redelivery of a running one is a retry every few seconds until
#: it ends; bench/sites measured 61 of 2,000 at one minute), short enough for a lost one.
VISIBILITY_SECONDS = float(os.environ.get("SHINSA_TASK_VISIBILITY", "300"))


def queue_of(site: str) -> str:
    return QUEUE_PREFIX + site


def worker_key(hostname: str) -> str:
    return WORKER_PREFIX + hostname


def lock_key(run_id: str, address: str) -> str:
    return f"shinsa:lock:{run_id}:{address}"


def pace_key(run_id: str, site: str) -> str:
    return f"shinsa:pace:{run_id}:{site}"


def stop_key(run_id: str, site: str = "") -> str:
    return f"shinsa:stop:{run_id}:{site}" if site else f"shinsa:stop:{run_id}"


def broker_url(given: str | None) -> str:
    """--broker, else $SHINSA_BROKER; a clear error for anything but redis:// or rediss://."""
    url = given or os.environ.get(BROKER_VARIABLE, "")
    if not url:
        raise ConfigError(f"give --broker redis://HOST:PORT/DB (or ${BROKER_VARIABLE})")
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(
            f"--broker {masked(url)!r}: give redis://[:PASSWORD@]HOST:PORT/DB (rediss:// for TLS)"
        )
    return url


def masked(url: str) -> str:
    """The broker URL with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}***@{host}").geturl()
