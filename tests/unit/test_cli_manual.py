"""The manual page and the shell completion are written from the parser: every subcommand
and every option appears in both, and what they are written in reads them without
complaint (groff, bash)."""

from __future__ import annotations

import argparse
import subprocess
from datetime import date
from pathlib import Path

import pytest

from scanner.cli import completion, manpage, settings
from scanner.cli.app import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _parsers(
    parser: argparse.ArgumentParser, name: str = "shinsa"
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(name, parser)]
    for sub_name, sub in settings.subcommands(parser).items():
        found.extend(_parsers(sub, f"{name} {sub_name}"))
    return found


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings]


def test_the_manual_page_lists_every_subcommand_and_option():
    parser = build_parser()
    page = manpage.render(parser, today=date(2026, 12, 6))
    assert page.startswith('.TH SHINSA 1 "2026-12-06"')
    parsers = _parsers(parser)
    assert {"shinsa scan", "shinsa runs", "shinsa completion", "shinsa lab up"} <= {
        n for n, _ in parsers
    }
    for name, sub in parsers:
        if name != "shinsa":
            assert f'.SS "{manpage.escape(name)}"' in page, name  # `run\-now`
        section = page.split(f'.SS "{manpage.escape(name)}"', 1)[-1].split(".SS ", 1)[0]
        for option in _options(sub):
            assert f"\\fB{manpage.escape(option)}\\fR" in section, (name, option)
    for key in settings.settable(parser):
        assert manpage.escape(settings.env_name(key)) in page  # ENVIRONMENT


def test_the_manual_page_renders_without_a_warning(tmp_path: Path):
    page = tmp_path / "shinsa.1"
    page.write_text(manpage.render(build_parser()), encoding="utf-8")
    # groff-base: .ci/install-daemons.sh
    done = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stderr == ""


def test_a_line_starting_with_a_dot_is_not_a_roff_request():
    assert manpage.escape(".hidden\n'quoted\nplain \\ text -x") == (
        "\\&.hidden\n\\&'quoted\nplain \\e text \\-x"
    )


def test_bash_completion_completes_subcommands_options_and_shells(tmp_path: Path):
    script = tmp_path / "shinsa.bash"
    script.write_text(completion.script(build_parser(), "bash"), encoding="utf-8")
    asks = {
        "shinsa r": ["report", "runs"],
        "shinsa scan --rep": ["--report-dir"],
        "shinsa scan -": [],  # checked below: every option of scan
        "shinsa completion ": list(completion.SHELLS),
    }
    probe = "\n".join(
        f"COMP_WORDS=({' '.join(repr(w) for w in line.split(' '))}); "
        f"COMP_CWORD={len(line.split(' ')) - 1}; COMP_LINE={line!r}; "
        'COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _shtab_shinsa; echo "${COMPREPLY[*]}"'
        for line in asks
    )
    done = subprocess.run(
        ["bash", "-c", f"source {script}\n{probe}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = done.stdout.splitlines()
    assert len(answers) == len(asks), done.stderr
    for (line, expected), answer in zip(asks.items(), answers, strict=True):
        if expected:
            assert sorted(answer.split()) == sorted(expected), line
    scan = settings.subcommands(build_parser())["scan"]
    assert set(_options(scan)) - {"-h", "-p", "-q"} <= set(answers[2].split())


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_every_shell_gets_a_script_naming_every_subcommand(shell: str):
    text = completion.script(build_parser(), shell)
    for name in settings.subcommands(build_parser()):
        assert name in text, (shell, name)
    assert "--report-dir" in text
