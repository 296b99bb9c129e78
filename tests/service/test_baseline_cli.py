"""`shinsa baseline accept` and `shinsa drift` as an operator runs them (scanner.cli.app.main,
--db and $SHINSA_DB)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import sqlalchemy as sa

from scanner.cli.app import main
from scanner.service import schema as t
from tests.service.test_baselines import add_run

if TYPE_CHECKING:
    import pytest


def _service(engine: sa.Engine, run_id: str, device_id: int, port: int, protocol: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.services.insert().values(
                run_id=run_id,
                device_id=device_id,
                transport="tcp",
                port=port,
                protocol=protocol,
                data={"transport": "tcp", "port": port, "protocol": protocol},
            )
        )


def _two_runs(engine: sa.Engine) -> None:
    """r0 and r1: both devices answer on tcp/80; in r1 the first one opens telnet."""
    for n in range(2):
        add_run(engine, f"r{n}", n)
        for device_id in (1, 2):
            _service(engine, f"r{n}", device_id, 80, "http")
    _service(engine, "r1", 1, 23, "telnet")


def test_accept_and_drift(
    any_engine: sa.Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine, url = any_engine, db_url
    _two_runs(engine)
    monkeypatch.delenv("SHINSA_DB", raising=False)
    assert main(["baseline", "accept", "r0", "--db", url]) == 0
    assert capsys.readouterr().out == "baseline default of site default: run r0, every device\n"
    assert main(["drift", "latest", "--db", url]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == "shinsa drift r1"
    assert text[1] == "127.0.94.50 (device 1)"
    assert text[2].split() == ["service_opened", "baseline", "tcp/23", "telnet"]
    assert len(text) == 3  # the second device did not change; previous run = baseline
    assert main(["drift", "r1", "--db", url, "--json"]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert only == {
        "device_id": 1,
        "address": "127.0.94.50",
        "against": "baseline",
        "against_run_id": "r0",
        "kind": "service_opened",
        "subject": "tcp/23 telnet",
        "before": "",
        "after": "",
        "severity": "",
        "detail": {},
    }
    # stored once: asking again gives the same rows, not twice as many
    assert main(["drift", "r1", "--db", url, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.drift)).scalar() == 1


def test_accept_one_device_from_the_environments_database(
    any_engine: sa.Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _two_runs(any_engine)
    monkeypatch.setenv("SHINSA_DB", db_url)
    assert main(["baseline", "accept", "r0"]) == 0
    assert main(["baseline", "accept", "latest", "--device", "127.0.94.50"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "baseline default of site default: run r1, device 127.0.94.50"
    # the device's own baseline is r1 itself: nothing drifted; r0 is the previous run
    assert main(["drift", "r1", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["against"], d["kind"], d["subject"]) for d in listed] == [
        ("previous", "service_opened", "tcp/23 telnet")
    ]
    assert main(["drift", "r1"]) == 0


def test_errors_exit_2_with_a_message(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SHINSA_DB", raising=False)
    assert main(["drift", "latest"]) == 2
    assert "give --db URL (or set SHINSA_DB)" in capsys.readouterr().err
    url = str(engine.url)
    assert main(["drift", "latest", "--db", url]) == 2
    assert "no finished run" in capsys.readouterr().err
    _two_runs(engine)
    assert main(["baseline", "accept", "r0", "--device", "127.0.94.99", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "run r0 has no device at 127.0.94.99" in err
    assert "Traceback" not in err
    assert main(["drift", "r0", "--db", url]) == 0
    assert capsys.readouterr().out == "shinsa drift r0\nno drift\n"
