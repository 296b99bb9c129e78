"""The service database's versioned migrations (Alembic): `env.py` runs them,
`versions/` holds one file per revision, `scanner.service.migrate` drives them from
`shinsa db upgrade` and `shinsa serve`. Revision 0001 is the schema of
scanner/service/schema.py as first released; tests/service/test_migrations.py holds the
head to schema.py."""
