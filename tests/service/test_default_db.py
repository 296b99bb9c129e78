"""The embedded database by default: with neither --db nor SHINSA_DB, the service's
commands use sqlite:///DATA/shinsa.sqlite (DATA: --data, or ./shinsa-service). Those that
make the database (`serve`, `db upgrade`, `user add`, `token add`) make it and its
directory; the others refuse a default file that is not there yet, and create nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.cli.app import build_parser, main
from scanner.cli.serve_commands import service_config

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_the_default_database_is_made_by_the_makers_and_only_read_by_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SHINSA_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    # nothing there yet: a reader says what to do, and makes no file
    assert main(["schedule", "list"]) == 2
    err = capsys.readouterr().err
    assert "give --db URL (or set SHINSA_DB)" in err
    assert "shinsa-service/shinsa.sqlite" in err
    assert not (tmp_path / "shinsa-service").exists()
    # a maker makes the directory and the database
    assert main(["db", "upgrade"]) == 0
    assert "sqlite:///shinsa-service/shinsa.sqlite" in capsys.readouterr().out
    assert (tmp_path / "shinsa-service" / "shinsa.sqlite").is_file()
    monkeypatch.setenv("SHINSA_PASSWORD", "default database password")
    assert main(["user", "add", "ops", "--role", "admin"]) == 0
    assert main(["schedule", "list"]) == 0
    assert "no schedules" in capsys.readouterr().out
    assert main(["token", "list"]) == 0


def test_serve_keeps_its_database_in_its_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHINSA_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["serve"])
    assert service_config(args).db_url == "sqlite:///shinsa-service/shinsa.sqlite"
    data = tmp_path / "var"
    args = build_parser().parse_args(["serve", "--data", str(data)])
    assert service_config(args).db_url == f"sqlite:///{data}/shinsa.sqlite"
    monkeypatch.setenv("SHINSA_DB", "sqlite:///elsewhere.sqlite")  # the variable wins
    assert service_config(args).db_url == "sqlite:///elsewhere.sqlite"
    args = build_parser().parse_args(["serve", "--db", "sqlite:///given.sqlite"])
    assert service_config(args).db_url == "sqlite:///given.sqlite"  # and the option over it
