-- The PostgreSQL rights of the sites' workers (docs/sites.md, "Database credentials").
--
-- The service's role (here `shinsa`) owns the schema: it runs `shinsa db upgrade` and
-- queues each run's devices (INSERT and DELETE on site_tasks). A worker needs far less:
-- it reads the schema's version (`shinsa worker` refuses a database not at its own), marks
-- its devices running and ended in site_tasks, lands results in site_results (INSERT ...
-- ON CONFLICT DO UPDATE: a final result is never overwritten) and keeps the central login
-- ledger in site_logins. Nothing else: not the runs, the users, the tokens, the audit log.
--
-- Run as the database's owner (or a superuser), after `shinsa db upgrade`, in the service's
-- database:  psql -v ON_ERROR_STOP=1 -d shinsa -f deploy/postgres-sites.sql
-- then one login role per site (its password from the site's worker env file only):
--   CREATE ROLE shinsa_site_plant_a LOGIN PASSWORD '...' IN ROLE shinsa_site;
-- A worker sets `synchronous_commit = off` on each of its sessions (docs/sites.md, "Nothing
-- lost, nothing twice"); behind PgBouncer in transaction mode, which does not keep a
-- session's settings, set it on each site's login role instead (a group role's settings
-- are not inherited):
--   ALTER ROLE shinsa_site_plant_a SET synchronous_commit = off;
--
-- Tested against PostgreSQL 15 by tests/service/test_sites_central.py (every read and
-- write of a worker made as a site's role, and what it must not do refused).
-- A later schema revision that adds a column or table the workers write needs this file
-- run again (the grants on columns name them).

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shinsa_site') THEN
    CREATE ROLE shinsa_site NOLOGIN;
  END IF;
END
$$;

GRANT CONNECT ON DATABASE shinsa TO shinsa_site;
GRANT USAGE ON SCHEMA public TO shinsa_site;

-- the schema's version: `shinsa worker` checks it is at its own before taking a task
GRANT SELECT ON alembic_version TO shinsa_site;

-- a device's task: read, then marked running (claim) and ended (settle); the rows are
-- made and removed by the service only
GRANT SELECT ON site_tasks TO shinsa_site;
GRANT UPDATE (state, worker, attempts, reason, reason_ja, services, identity, updated)
  ON site_tasks TO shinsa_site;

-- results, keyed by (run, device, service, check): new, or over a non-final one
GRANT SELECT, INSERT ON site_results TO shinsa_site;
GRANT UPDATE (verdict, data, worker, written, landed) ON site_results TO shinsa_site;

-- the central login ledger: a slot reserved before a login attempt, released after it
GRANT SELECT, INSERT ON site_logins TO shinsa_site;
GRANT UPDATE (held) ON site_logins TO shinsa_site;
GRANT USAGE ON SEQUENCE site_logins_id_seq TO shinsa_site;
