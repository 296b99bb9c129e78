"""The single-box recipe: `shinsa scan ... --db URL --baseline NAME --alert CHANNEL` records
the run, its drift and its alerts; a real webhook receiver on 127.0.94.40 gets them."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from lab.personality import load_builtin
from scanner.cli.app import main
from scanner.service import schema as t
from scanner.service.db import open_db
from tests.service.lab_runs import running, scan

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


RECEIVER = "127.0.94.40"
CAMERA = "127.0.94.41"


@contextlib.contextmanager
def receiver() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """An HTTP webhook receiver (http:// is allowed to loopback): its URL and the bodies."""
    bodies: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            bodies.append(json.loads(self.rfile.read(min(length, 1_000_000))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((RECEIVER, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://{RECEIVER}:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_scan_with_db_records_drift_and_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHINSA_WEBHOOK_SECRET", "test-signing-key-0123456789")
    monkeypatch.delenv("SHINSA_DB", raising=False)
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    out = tmp_path / "out"
    factory = load_builtin("weak-camera")
    quiet = dataclasses.replace(
        factory, services=tuple(s for s in factory.services if s.protocol != "telnet")
    )
    with receiver() as (hook, bodies):
        alert = f"webhook:{hook}"
        with running([quiet], CAMERA) as lab:
            first, _ = scan(lab, out, "--db", url, "--site", "plant-1", "--alert", alert)
        assert main(["baseline", "accept", "latest", "--db", url]) == 0
        assert f"run {first}, every device" in capsys.readouterr().out
        assert bodies == []  # the first run had nothing before it: nothing drifted
        with running([factory], CAMERA) as lab:
            second, _ = scan(lab, out, "--db", url, "--site", "plant-1", "--alert", alert)
    engine = open_db(url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(sa.select(t.runs.c.id, t.runs.c.site, t.runs.c.trigger)).all()
            kinds = set(
                conn.execute(
                    sa.select(t.drift.c.kind, t.drift.c.subject).where(t.drift.c.run_id == second)
                ).all()
            )
            alerts = conn.execute(sa.select(t.alerts.c.state, t.alerts.c.run_id)).all()
    finally:
        engine.dispose()
    assert sorted(runs) == [(first, "plant-1", "cli"), (second, "plant-1", "cli")]
    assert ("service_opened", "tcp/23 telnet") in kinds
    assert ("new_failure", "creds.default.telnet on tcp/23") in kinds
    assert [tuple(a) for a in alerts] == [("sent", second)]
    (body,) = bodies
    text = json.dumps(body)
    assert second in text
    assert "service_opened" in text
    assert "creds.default.telnet on tcp/23" in text
    # -q prints nothing but the alerts said
    said = capsys.readouterr().out
    assert f"drift of run {second}: {len(kinds)} change(s) against baseline 'default'" in said
    assert "1 alert(s) raised, 1 sent now" in said
    # what `shinsa drift` says is what was stored and sent
    assert main(["drift", second, "--db", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(d["kind"], d["subject"]) for d in listed} == kinds
    assert {d["against"] for d in listed} == {"baseline"}  # the previous run is the baseline


def test_site_baseline_and_alert_need_db(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SHINSA_DB", raising=False)
    code = main(["scan", CAMERA, "--alert", "webhook:http://127.0.94.40:9/x", "--no-config"])
    assert code == 2
    assert "--alert need(s) --db URL" in capsys.readouterr().err
    code = main(["scan", CAMERA, "--drift-persist", "3", "--baseline", "b", "--no-config"])
    assert code == 2
    assert "--baseline, --drift-persist need(s) --db URL" in capsys.readouterr().err
    for bad in ("0", "31", "x"):
        with pytest.raises(SystemExit) as exit_:
            main(["scan", CAMERA, "--db", "sqlite://", "--drift-persist", bad, "--no-config"])
        assert exit_.value.code == 2
        assert "--drift-persist" in capsys.readouterr().err


def test_a_bad_channel_is_refused_before_the_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    out = tmp_path / "out"
    code = main(["scan", CAMERA, "--out", str(out), "--db", url, "--alert", "carrier-pigeon:x"])
    assert code == 2
    assert "carrier-pigeon" in capsys.readouterr().err
    assert not (out / "shinsa.sqlite").exists()  # no scan started


def test_a_plain_scan_never_imports_the_service_libraries() -> None:
    code = (
        "import sys\n"
        "from scanner.cli import app, commands\n"
        "app.build_parser()\n"
        "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy imported'\n"
        "assert 'fastapi' not in sys.modules, 'fastapi imported'\n"
        # the parser's numbers only (scanner/service/drift_settings.py: no imports)
        "extra = {m for m in sys.modules if m.startswith('scanner.service')}\n"
        "assert extra <= {'scanner.service', 'scanner.service.drift_settings'}, extra\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
