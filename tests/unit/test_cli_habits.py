"""The command line behaves as the tools people know: `-p` for ports, `-q` silent but for
errors, a closed pipe ends the output quietly, a wrong run ID or a bad file is a usage error
(exit 2) that leaves nothing behind (issue 13 #6)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

from scanner import cli
from scanner.cli import settings
from scanner.cli.app import SIGPIPE_EXIT, build_parser
from scanner.probe import Severity
from scanner.store import Store
from scanner.stored_request import all_checks

if TYPE_CHECKING:
    from pathlib import Path

# Nothing listens on these (this file's own block): a scan is quick and sends nothing elsewhere.
QUIET = "127.0.79.10"


def test_p_is_the_short_form_of_ports_wherever_ports_is():
    parser = build_parser()
    assert parser.parse_args(["scan", QUIET, "-p", "22,80"]).ports == "22,80"
    assert parser.parse_args(["discover", QUIET, "-p", "U:161"]).ports == "U:161"


def test_quiet_prints_nothing_when_nothing_went_wrong(tmp_path: Path, capsys):
    code = cli.main(["scan", QUIET, "-p", "9", "-q", "--format", "json", "--out", str(tmp_path)])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    with Store(tmp_path / "shinsa.sqlite") as store:
        (run,) = store.runs()
    assert (tmp_path / run.id / "report.json").is_file()  # silent, not idle


def test_quiet_still_prints_errors(tmp_path: Path, capsys):
    code = cli.main(["scan", QUIET, "-p", "9", "-q", "--format", "pdf", "--out", str(tmp_path)])
    assert code == 2
    assert "unknown report format(s) pdf" in capsys.readouterr().err


def test_a_reader_that_closes_the_pipe_ends_the_listing_quietly():
    # `shinsa checks | head -1`: the reader goes away after one line
    with subprocess.Popen(
        [sys.executable, "-m", "scanner", "checks"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert first.strip()  # the listing had started
    assert err == ""  # no traceback, no "Broken pipe" error line
    assert code == SIGPIPE_EXIT


def test_report_with_a_wrong_run_id_is_a_usage_error_that_writes_nothing(tmp_path: Path, capsys):
    scan = ["scan", QUIET, "-p", "9", "-q", "--format", "json", "--out", str(tmp_path)]
    assert cli.main(scan) == 0
    capsys.readouterr()
    before = sorted(p.name for p in tmp_path.iterdir())
    store_bytes = (tmp_path / "shinsa.sqlite").read_bytes()
    assert cli.main(["report", "20991231-000000-beef", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "run '20991231-000000-beef' is not in" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run directory
    assert (tmp_path / "shinsa.sqlite").read_bytes() == store_bytes

    nowhere = tmp_path / "elsewhere"
    assert cli.main(["report", "20991231-000000-beef", "--out", str(nowhere)]) == 2
    assert "no shinsa store at" in capsys.readouterr().err
    assert not nowhere.exists()  # no empty store made


def test_validate_exits_2_on_a_configuration_error(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    assert cli.main(["validate", str(bad)]) == 2
    assert cli.main(["validate", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml line" in err
    assert "missing.yaml: cannot read" in err


def test_checks_json_lists_every_check_with_its_facts(capsys):
    assert cli.main(["checks", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["format"] == "shinsa-checks/1"
    assert listing["profile"] == "base"
    checks = {c["id"]: c for c in listing["checks"]}
    assert set(checks) == set(all_checks())
    keys = {
        "id", "title", "title_ja", "method", "severity", "severity_reason", "kind", "origin",
        "references", "requirements", "remediation", "remedies",
    }  # fmt: skip
    for check in checks.values():
        assert set(check) == keys
        assert check["severity"] in {s.value for s in Severity}
        assert set(check["remediation"]) == {"en", "ja"}
    lockout = checks["auth.lockout"]
    assert lockout["severity"] == all_checks()["auth.lockout"].severity.value
    assert {"framework": "iec-62443-4-2", "requirement": "CR 1.11", "direct": True} in (
        lockout["requirements"]
    )
    assert "CWE-307" in lockout["references"]
    assert lockout["remediation"]["en"].startswith("Lock the account")


def test_every_subcommands_help_shows_its_exit_codes_and_defaults():
    parser = build_parser()
    for name, sub in settings.subcommands(parser).items():
        text = sub.format_help()
        assert "Exit codes" in text, name
        assert "2  usage or configuration error" in text, name
    scan_help = " ".join(settings.subcommands(parser)["scan"].format_help().split())
    assert "(1-65536) (default: 256)" in scan_help
    assert "(default: shinsa-" in scan_help  # argparse may wrap at the hyphen
    assert "--quiet print nothing but errors" in scan_help  # no "(default: False)"
    assert "(default: False)" not in scan_help
    assert "(default: None)" not in scan_help
