"""The acceptance self-scan (issue 14, item 8): shinsa scans the running service with its
own `acceptance` profile and a test account, over TLS, and every web, session, TLS and
lockout check passes or is not applicable; none fails, none errors.

The profile used extends `acceptance` and changes only what makes the run short or what a
scanner cannot know by itself (written next to the run, see PROFILE):
- test_account: the account this test adds (its password from SHINSA_TEST_PASSWORD);
- tls.cert.trust ca_file: the throwaway CA that signed the service's certificate;
- session.idle-timeout max_idle_seconds 20 (the service runs with --session-idle 15)
  instead of 300, and session.absolute-timeout max_session_seconds 45 (--session-lifetime
  40; acceptance sets none): the same checks, timed in seconds rather than minutes;
- auth.lockout max_wait_seconds 60 and the service's --login-lock 12 (more than the
  10 s Retry-After the login probe waits out by itself, so the lock is seen as one);
- creds.default.http generic_top 10 with its lock of 12 s known: the whole-list pacing
  of acceptance, over fewer factory logins (the service has no factory login at all).
- session.concurrent-limit max_sessions 10: acceptance sets no limit (the check would be
  skipped); the service keeps 10 sessions per user by default (--max-sessions), ending the
  oldest at a new login (CR 2.7), and the check holds it to that.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import TYPE_CHECKING

import pytest

from tests.service.web_serving import serve, shinsa, worker_address

if TYPE_CHECKING:
    from pathlib import Path

ADDRESS = worker_address(50)
PASSWORD = "self-scan-password-1"
PROFILE = """\
profile: service-selfscan
extends: acceptance
title: shinsa serve scanned by itself (tests/service/test_self_scan.py)
test_account: {{username: qa-tester, password_env: SHINSA_TEST_PASSWORD}}
params:
  tls.cert.trust: {{ca_file: {ca}}}
  session.idle-timeout: {{max_idle_seconds: 20}}
  session.absolute-timeout: {{max_session_seconds: 45}}
  session.concurrent-limit: {{max_sessions: 10}}
  auth.lockout: {{max_attempts: 5, max_wait_seconds: 60}}
  creds.default.http: {{pacing: whole-list, generic_top: 10, connections: 4, lockout_seconds: 12}}
"""
FAMILIES = ("web.", "session.", "tls.", "auth.", "creds.", "services.", "banner.")
#: must have been measured and passed: the checks item 8 names
MUST_PASS = (
    "tls.versions",
    "tls.ciphers",
    "tls.forward-secrecy",
    "tls.cert.trust",
    "web.hsts",
    "web.secrets-in-url",
    "web.access-control",
    "session.cookie-flags",
    "session.fixation",
    "session.logout",
    "session.id-in-url",
    "session.idle-timeout",
    "session.absolute-timeout",
    "session.concurrent-limit",
    "auth.lockout",
)


@pytest.mark.slow
def test_the_service_passes_its_own_acceptance_scan(tmp_path: Path) -> None:
    users = (("qa-tester", "viewer", PASSWORD),)
    options = ("--session-idle", "15", "--session-lifetime", "40", "--login-lock", "12",
               "--max-sessions", "10")  # fmt: skip
    with serve(tmp_path / "svc", ADDRESS, *options, users=users) as served:
        profile = tmp_path / "selfscan.yaml"
        profile.write_text(PROFILE.format(ca=served.ca))
        out = tmp_path / "out"
        done = shinsa(
            "scan",
            ADDRESS,
            "-p",
            str(served.port),
            "--profile",
            str(profile),
            "--out",
            str(out),
            "--allow",
            f"{ADDRESS}/32",
            "-q",
            env={"SHINSA_TEST_PASSWORD": PASSWORD},
            timeout=420,
        )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    with contextlib.closing(sqlite3.connect(out / "shinsa.sqlite")) as db:
        rows = db.execute("SELECT check_id, verdict, data FROM results").fetchall()
    verdicts = {check: verdict for check, verdict, _ in rows}
    reasons = {check: json.loads(data).get("reason", "") for check, _, data in rows}
    ours = {c: v for c, v in verdicts.items() if c.startswith(FAMILIES)}
    bad = {c: f"{v}: {reasons[c]}" for c, v in ours.items() if v not in ("pass", "not_applicable")}
    assert not bad, bad
    missing = [c for c in MUST_PASS if verdicts.get(c) != "pass"]
    assert not missing, {c: verdicts.get(c) for c in missing}
    assert done.returncode == 0, done.stdout[-3000:]
