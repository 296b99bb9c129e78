"""`shinsa runs`, the `latest`/`previous` aliases wherever a run ID is, `--report-dir DIR`
and `OUT/latest`: the stable paths a CI job reads (scanner/cli/runs.py, issue 13 #5, #6)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import cli
from scanner.store import Store

if TYPE_CHECKING:
    import pytest

QUIET = "127.0.79.13"  # nothing listens there


def _scan(out: Path, *extra: str) -> int:
    return cli.main(["scan", QUIET, "-p", "9", "-q", "--format", "json", "--out", str(out), *extra])


def _run_ids(out: Path) -> list[str]:
    with Store(out / "shinsa.sqlite") as store:
        return [r.id for r in store.runs()]


def test_runs_lists_each_run_with_its_alias_and_exit_code(tmp_path: Path, capsys):
    assert _scan(tmp_path) == 0
    assert _scan(tmp_path, "--profile", "installation") == 0
    first, second = _run_ids(tmp_path)
    capsys.readouterr()
    assert cli.main(["runs", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RUN", "ID", "STARTED", "PROFILE", "TARGETS", "STATE", "EXIT"]
    assert lines[1].startswith(first)
    assert lines[1].split()[-5:] == ["base", "1", "complete", "0", "previous"]
    assert lines[2].startswith(second)
    assert lines[2].split()[-5:] == ["installation", "1", "complete", "0", "latest"]

    assert cli.main(["runs", "--out", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == [first, second]
    assert [r["alias"] for r in listed] == ["previous", "latest"]
    assert listed[1]["profile"] == "installation"
    assert listed[1]["exit_code"] == 0
    assert listed[1]["targets"] == 1


def test_runs_of_an_out_without_a_store_is_a_usage_error(tmp_path: Path, capsys):
    assert cli.main(["runs", "--out", str(tmp_path / "none")]) == 2
    assert "no shinsa store at" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_out_latest_links_to_the_last_runs_reports(tmp_path: Path):
    assert _scan(tmp_path) == 0
    assert _scan(tmp_path) == 0
    latest = tmp_path / "latest"
    assert latest.is_symlink()
    assert os.readlink(latest) == _run_ids(tmp_path)[-1]  # relative: the OUT can move
    report = json.loads((latest / "report.json").read_text(encoding="utf-8"))
    assert report["run"]["id"] == _run_ids(tmp_path)[-1]


def test_out_latest_is_a_directory_of_copies_where_links_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    assert _scan(tmp_path) == 0
    assert _scan(tmp_path) == 0
    latest = tmp_path / "latest"
    assert latest.is_dir()
    assert not latest.is_symlink()
    report = json.loads((latest / "report.json").read_text(encoding="utf-8"))
    assert report["run"]["id"] == _run_ids(tmp_path)[-1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".latest")]  # no leftovers


def test_aliases_work_wherever_a_run_id_does(tmp_path: Path, capsys):
    assert _scan(tmp_path) == 0
    assert _scan(tmp_path) == 0
    first, second = _run_ids(tmp_path)
    capsys.readouterr()
    assert cli.main(["report", "previous", "--out", str(tmp_path), "--format", "csv"]) == 0
    assert (tmp_path / first / "report.csv").is_file()
    assert not (tmp_path / second / "report.csv").exists()
    assert cli.main(["diff", "previous", "latest", "--out", str(tmp_path)]) == 0
    assert f"{first} -> {second}" in capsys.readouterr().out
    assert _scan(tmp_path, "--resume", "latest") == 0
    assert _run_ids(tmp_path) == [first, second]  # resumed, not a new run


def test_an_alias_with_too_few_runs_is_a_usage_error(tmp_path: Path, capsys):
    assert _scan(tmp_path) == 0
    capsys.readouterr()
    assert cli.main(["report", "previous", "--out", str(tmp_path)]) == 2
    assert "no previous run: " in capsys.readouterr().err


def test_report_dir_holds_the_reports_of_the_last_run_written_there(tmp_path: Path):
    ci = tmp_path / "ci"
    out = tmp_path / "out"
    assert _scan(out, "--report-dir", str(ci), "--format", "json,csv") == 0
    (first,) = _run_ids(out)
    assert sorted(p.name for p in ci.iterdir()) == ["report.csv", "report.json"]
    assert (ci / "report.json").read_bytes() == (out / first / "report.json").read_bytes()
    # a later render with other formats: the directory never mixes two runs' reports
    args = ["report", "latest", "--out", str(out), "--format", "junit", "--report-dir", str(ci)]
    assert cli.main(args) == 0
    assert sorted(p.name for p in ci.iterdir()) == ["report.junit.xml"]


def test_a_given_run_id_names_the_new_run_and_is_checked(tmp_path: Path, capsys):
    # --run-id is the service runner's (scanner/service/runner.py): hidden, but held to the
    # store's shape and never reused
    assert _scan(tmp_path, "--run-id", "20261206-193000-beef") == 0
    assert _run_ids(tmp_path) == ["20261206-193000-beef"]
    assert (tmp_path / "20261206-193000-beef" / "report.json").is_file()
    capsys.readouterr()
    assert _scan(tmp_path, "--run-id", "20261206-193000-beef") == 2
    assert "already in" in capsys.readouterr().err
    assert _scan(tmp_path, "--run-id", "20261206-193000-beef", "--resume", "latest") == 2
    assert "--run-id names a new run" in capsys.readouterr().err
    for bad in ("../../etc", "20261206-193000-BEEF", "x"):
        try:
            code = _scan(tmp_path, "--run-id", bad)
        except SystemExit as exit_:  # argparse's own way out
            code = int(str(exit_.code))
        assert code == 2
        assert "is not a run ID" in capsys.readouterr().err
    assert _run_ids(tmp_path) == ["20261206-193000-beef"]
