"""The Celery application of the sites, and the Redis client beside it.

Settings that make "nothing lost, nothing twice" hold (docs/sites.md):
- `task_acks_late`: a task is acknowledged when it has ended, not when it is taken, so a
  worker lost mid-device leaves it on the broker;
- `task_reject_on_worker_lost`: a task whose pool process died is put back, not failed;
- `worker_prefetch_multiplier = 1`: a worker holds no more tasks than it runs, so tasks
  left by a lost worker are few and the others are free for the site's other workers;
- the broker's `visibility_timeout` (keys.VISIBILITY_SECONDS): how soon an unacknowledged
  task of a lost worker is given to another (and the sweep that finds it runs every quarter
  of that, not kombu's default 100 s);
- JSON only: a task is data (a device and a request), never a pickled object;
- no result backend: results go to the central database as they land (central.py).

`celery -A scanner.sites.app inspect ping` and Flower (`celery -A scanner.sites.app
flower`) use the module-level `app`, which reads the broker from $SHINSA_BROKER.

TLS and passwords: connection.py.
"""

from __future__ import annotations

import os

from celery import Celery

from scanner.sites import keys
from scanner.sites.connection import tls_options

#: the worker's own settings, kept on the app's configuration under these names
SITE_SETTING = "shinsa_site"
DB_SETTING = "shinsa_db"


def make_app(broker: str) -> Celery:
    app = Celery("shinsa", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        broker_transport_options={
            "visibility_timeout": keys.VISIBILITY_SECONDS,
            # kombu sweeps for a lost worker's tasks every interval x throttle seconds (100
            # by default): every quarter of the visibility timeout instead, so the loss is
            # noticed within about 1.25 visibility timeouts
            "unacked_restore_interval": max(1.0, keys.VISIBILITY_SECONDS / 4),
            "unacked_restore_throttle": 1,
            # the sweep's lock, held by a worker killed mid-sweep, blocks the others this long
            "unacked_mutex_expire": 30,
            # a broker gone without closing the connection (failover, NAT) is noticed
            "socket_timeout": 30,
            "socket_connect_timeout": 10,
            "health_check_interval": 10,
        },
        broker_use_ssl=tls_options(broker),
        # a worker outlives a broker restart: it reconnects, for as long as it takes
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_channel_error_retry=True,
        # events for Flower and `celery events`; the sent event shows queued tasks too
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        # a task whose process leaked memory (a browser, a huge page) is not the next's
        worker_max_tasks_per_child=200,
        task_default_queue=keys.queue_of("default"),
    )
    from scanner.sites import tasks  # the task's body, registered on this app

    app.task(name=keys.SCAN_TASK, bind=True)(tasks.scan_device)
    return app


#: for `celery -A scanner.sites.app ...` (inspect, Flower): the broker of $SHINSA_BROKER
app = make_app(os.environ.get(keys.BROKER_VARIABLE) or "redis://127.0.0.1:6379/0")
