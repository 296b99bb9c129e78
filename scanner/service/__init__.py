"""The operation service (`shinsa serve`) and what it keeps: a face on top of the engine,
the store and the reports, which never import it (tests/unit/test_architecture.py).

- schema.py, db.py, migrations/: the database (SQLite or PostgreSQL) and its upgrades
- importer.py, identity.py, retention.py: runs into the database; devices followed across
  addresses; old runs pruned
- baselines.py, drift.py: accepted states and what changed against them
- schedules.py, runner.py, scheduler.py: scan definitions, one run of one, the clock
- alerts/: webhook, e-mail and syslog channels and the outbox that retries them
- app.py, auth.py, api.py, pages.py, templates/, static/: the web face (REST API with its
  OpenAPI document, the dashboard) and who may use it
"""
