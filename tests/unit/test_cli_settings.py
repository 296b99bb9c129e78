"""Defaults from a config file and SHINSA_* variables: the command line over the environment
over the file over the built-in default; an unknown key or a bad value is a usage error
naming the file and line, or the variable (scanner/cli/settings.py, issue 13 #6)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scanner import cli
from scanner.cli import settings
from scanner.cli.app import build_parser
from scanner.errors import ConfigError
from scanner.store import Store

if TYPE_CHECKING:
    import argparse

QUIET = "127.0.79.11"  # nothing listens there


def _parse(argv: list[str], environ: dict[str, str]) -> argparse.Namespace:
    parser = build_parser()
    settings.apply(parser, argv, environ)
    return parser.parse_args(argv)


def _config(tmp_path: Path, text: str) -> dict[str, str]:
    """An environment whose XDG config directory holds `text` as shinsa's config file."""
    (tmp_path / "shinsa").mkdir(exist_ok=True)
    (tmp_path / "shinsa" / "config.yaml").write_text(text, encoding="utf-8")
    return {"XDG_CONFIG_HOME": str(tmp_path)}


def test_the_command_line_wins_over_the_environment_over_the_file_over_the_default(
    tmp_path: Path,
):
    env = _config(tmp_path, "timeout: 5\nprofile: installation\nlang: ja\n")
    scan = ["scan", QUIET]
    args = _parse([*scan, "--timeout", "9"], {**env, "SHINSA_TIMEOUT": "7"})
    assert args.timeout == 9.0
    args = _parse(scan, {**env, "SHINSA_TIMEOUT": "7"})
    assert args.timeout == 7.0
    args = _parse(scan, env)
    assert args.timeout == 5.0
    assert args.profile == "installation"
    assert args.lang == "ja"
    args = _parse(scan, {})  # no file where XDG says, nothing set
    assert args.timeout == 3.0
    assert args.profile == "base"


def test_no_config_reads_no_file_but_the_environment_still_applies(tmp_path: Path):
    env = _config(tmp_path, "timeout: 5\nnonsense: 1\n")  # would be an error if read
    args = _parse(["scan", QUIET, "--no-config"], {**env, "SHINSA_PER_DEVICE": "4"})
    assert args.timeout == 3.0
    assert args.per_device == 4


def test_config_names_a_file_which_must_exist(tmp_path: Path):
    named = tmp_path / "ci.yaml"
    named.write_text("concurrency: 16\nmax_scan_time: 600\nquiet: true\n")
    args = _parse(["scan", QUIET, "--config", str(named)], {})
    assert args.concurrency == 16
    assert args.max_scan_time == 600.0
    assert args.quiet is True
    args = _parse(["scan", QUIET], {"SHINSA_CONFIG": str(named)})
    assert args.concurrency == 16
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        _parse(["scan", QUIET, f"--config={tmp_path / 'missing.yaml'}"], {})


def test_the_default_place_follows_xdg():
    assert settings.default_path({"XDG_CONFIG_HOME": "/etc/x"}) == Path("/etc/x/shinsa/config.yaml")
    home = Path.home() / ".config" / "shinsa" / "config.yaml"
    assert settings.default_path({}) == home
    assert settings.default_path({"XDG_CONFIG_HOME": "relative/dir"}) == home  # ignored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profile: base\nprofle: acme\n", "line 2: unknown setting 'profle'; known: "),
        ("timeout: -1\n", "line 1: --timeout: -1 s is outside the range"),
        ("lang: fr\n", "line 1: --lang: 'fr' is not one of en, ja"),
        ("quiet: maybe\n", "line 1: --quiet: expected true or false, not 'maybe'"),
        ("concurrency: [1, 2]\n", "line 1: concurrency: expected one value, not a"),
        ("resume: 20261205-000000-abcd\n", "unknown setting 'resume'"),  # never a default
        ("allow-intrusive: true\n", "unknown setting 'allow-intrusive'"),
        ("- timeout\n", "expected a mapping of option names to values"),
        ("timeout: [\n", "invalid YAML"),
    ],
)
def test_a_bad_config_file_is_a_usage_error_naming_the_file_and_line(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, text: str, message: str
):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    _config(tmp_path, text)
    assert cli.main(["scan", QUIET, "-p", "9", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"shinsa: error: {tmp_path / 'shinsa' / 'config.yaml'}")
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_a_bad_variable_is_a_usage_error_naming_it(capsys, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SHINSA_CONCURRENCY", "many")
    assert cli.main(["scan", QUIET, "-p", "9"]) == 2
    assert "SHINSA_CONCURRENCY: --concurrency: 'many' is not a whole number" in (
        capsys.readouterr().err
    )


def test_other_shinsa_variables_are_not_settings(tmp_path: Path):
    # credential lists read passwords from variables of their own
    args = _parse(["scan", QUIET], {"SHINSA_SITE_PASSWORD": "x", "SHINSA_NOT_A_SETTING": "1"})
    assert args.profile == "base"


def test_a_setting_applies_only_to_the_subcommand_run(tmp_path: Path):
    # 100 s is a scan's timeout; discover's own --timeout stops at 60: not an error for scan
    env = _config(tmp_path, "timeout: 100\nprofile: installation\n")
    assert _parse(["scan", QUIET], env).timeout == 100.0
    with pytest.raises(ConfigError, match="--timeout"):
        _parse(["discover", QUIET], env)
    # report judges with the scan's own profile unless told: the default profile stays out
    assert _parse(["report", "latest"], env).profile is None


def test_help_shows_the_default_in_force(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    _config(tmp_path, "timeout: 5\n")
    with pytest.raises(SystemExit):
        cli.main(["scan", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "most 600) (default: 5.0)" in help_text
    assert "(default: base)" in help_text


def test_a_scan_takes_its_out_and_format_from_the_environment_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    _config(tmp_path, "format: json,csv\nquiet: true\n")
    monkeypatch.setenv("SHINSA_OUT", str(tmp_path / "store"))
    assert cli.main(["scan", QUIET, "-p", "9"]) == 0
    assert capsys.readouterr().out == ""  # quiet, from the file
    with Store(tmp_path / "store" / "shinsa.sqlite") as store:
        (run,) = store.runs()
    assert sorted(p.name for p in (tmp_path / "store" / run.id).iterdir()) == [
        "report.csv",
        "report.json",
    ]
