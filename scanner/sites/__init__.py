"""The sites: a run's devices scanned by Celery workers inside each network segment.

A plant, a hospital or a building has zones a scan may not cross: each site runs its own
`shinsa worker --site NAME`, which consumes only that site's queue on the Redis broker, and
`shinsa scan --broker URL --site NAME` (or the service, for a schedule) splits a run into
one task per device, sent to the device's site. A worker calls the same engine the command
line calls, for one device, and writes every result into the central database the moment
it lands, keyed by (run, device, service, check): a task delivered twice never writes a
result twice nor overwrites a final one. The machine that started the run copies what
landed into its own per-run store and writes the reports from it, as a local scan does.

- keys.py: the names on the broker (queues, locks, the pace, heartbeats) and the versions
- central.py: the sites' tables in the service's database (written by workers, read back)
- pace.py: --max-rate and --scan-delay kept by all of a site's workers together
- app.py: the Celery application (late acknowledgement, requeue on worker loss)
- tasks.py: a few devices of a site scanned together in a worker
- worker.py: `shinsa worker`, its heartbeat (site, version, load) and the version check
- dispatch.py: a run split into tasks, and what lands gathered back

Nothing below the command line and the service imports this package: the engine knows
neither Celery nor Redis (tests/unit/test_architecture.py).
"""
