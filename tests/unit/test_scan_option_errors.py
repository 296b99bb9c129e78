"""Bad values of the options that reach the engine are usage errors (exit 2, one line naming
the option) before any packet leaves: nothing listens on 127.0.80.250, nothing is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scanner import cli

if TYPE_CHECKING:
    from pathlib import Path

TARGET = "127.0.80.250"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-rate", "0"),
        ("--max-rate", "-5"),
        ("--max-rate", "nan"),
        ("--scan-delay", "-1"),
        ("--scan-delay", "inf"),
        ("--exclude", ""),
    ],
)
def test_a_bad_pace_or_exclusion_is_a_usage_error(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as exc:
        cli.main(["scan", TARGET, "--ports", "9", option, value])
    assert exc.value.code == 2
    assert option in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--checks", "ssh.kexx"], "--checks 'ssh.kexx' matches no check"),
        (["--exclude-checks", "nope.*"], "--exclude-checks 'nope.*' matches no check"),
        (["--exclude", "127.0.80.9-1"], "the range ends before it starts"),
        (["--excludefile", "/nonexistent/x.txt"], "--excludefile /nonexistent/x.txt"),
    ],
)
def test_a_selection_or_exclusion_that_names_nothing_is_a_usage_error(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    code = cli.main(["scan", TARGET, "--ports", "9", "-q", "--out", str(tmp_path), *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "shinsa.sqlite").exists()  # refused before the run began
