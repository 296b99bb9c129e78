"""Options that reach the engine, as a user gives them on the command line: targets from
standard input, --exclude, --max-rate/--scan-delay, per-device profiles, check selection and
the traffic log. Every address is in 127.0.80.x; nothing listens unless a test starts it."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest

from scanner import cli
from scanner.store import Store

if TYPE_CHECKING:
    from pathlib import Path

SCAN = ["scan", "--ports", "9", "-q", "--format", "json"]


def _stored_targets(out: Path) -> list[tuple[str, str, str]]:
    with Store(out / "shinsa.sqlite", create=False) as store:
        return store.targets(store.runs()[-1].id)


def _request(out: Path) -> dict[str, object]:
    with Store(out / "shinsa.sqlite", create=False) as store:
        return store.runs()[-1].request


@pytest.mark.parametrize("spelling", ["-", "@-"])
def test_targets_from_standard_input_read_like_a_target_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
):
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("# site B\n127.0.80.1 cam-a  # the lobby\n\n127.0.80.2-3\n")
    )
    assert cli.main([*SCAN, spelling, "--out", str(tmp_path)]) == 0
    assert _stored_targets(tmp_path) == [
        ("127.0.80.1", "cam-a", "done"),
        ("127.0.80.2", "", "done"),
        ("127.0.80.3", "", "done"),
    ]
    # the allow-list is what the lines named, as for targets on the command line
    assert _request(tmp_path)["allow"] == ["127.0.80.1/32", "127.0.80.2/31"]


def test_standard_input_given_twice_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr("sys.stdin", io.StringIO("127.0.80.1\n"))
    assert cli.main([*SCAN, "-", "@-", "--out", str(tmp_path)]) == 2
    assert "standard input (- or @-) is given twice" in capsys.readouterr().err
    assert not (tmp_path / "shinsa.sqlite").exists()


def test_a_bad_standard_input_line_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr("sys.stdin", io.StringIO("127.0.80.1\n127.0.80.2 cam colour=red\n"))
    assert cli.main([*SCAN, "-", "--out", str(tmp_path)]) == 2
    assert "standard input line 2: unknown setting colour=" in capsys.readouterr().err
