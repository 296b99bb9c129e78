"""shinsa(1), written from the parser itself, so the manual page can never name an option
the command line lacks or miss one it has. `make man` writes build/shinsa.1;
`python -m scanner.cli.manpage` prints it.

A small generator rather than a package: the page is roff with one section per subcommand,
and the parts argparse does not hold (environment, files) come from scanner/cli/settings.py.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

from scanner import __version__
from scanner.cli import exits, settings

if TYPE_CHECKING:
    from collections.abc import Iterator


def escape(text: str) -> str:
    """Text roff shows as written: backslashes doubled, and a line that would start with a
    control character ('.' or "'") made plain."""
    lines = text.replace("\\", "\\e").replace("-", "\\-").splitlines()
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in lines)


def _option(action: argparse.Action) -> str:
    names = ", ".join(f"\\fB{escape(o)}\\fR" for o in action.option_strings)
    if action.nargs == 0:
        return names
    metavar = action.metavar or action.dest.upper()
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    return f"{names} \\fI{escape(str(metavar))}\\fR"


def _positional(action: argparse.Action) -> str:
    name = action.metavar or action.dest
    return f"\\fI{escape(str(name))}\\fR"


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    if action.help in (None, argparse.SUPPRESS):
        return ""
    return " ".join(formatter._expand_help(action).split())


def _actions(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        head = _option(action) if action.option_strings else _positional(action)
        yield f".TP\n{head}\n{escape(_help(parser, action))}"


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = " ".join(parser.format_usage().split())
    return usage.removeprefix("usage: ")


def _commands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[str]:
    for name, sub in settings.subcommands(parser).items():
        title = f"{prefix} {name}"
        yield f'.SS "{escape(title)}"'
        yield f".nf\n{escape(_usage(sub))}\n.fi"
        description = sub.description or _summary(parser, name)
        if description:
            yield escape(" ".join(description.split()))
        yield from _actions(sub)
        yield from _commands(sub, title)  # `lab up`, `lab status`, `lab down`


def _summary(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def render(parser: argparse.ArgumentParser, today: date | None = None) -> str:
    day = (today or date.today()).isoformat()
    keys = sorted(settings.settable(parser))
    parts = [
        f'.TH SHINSA 1 "{day}" "shinsa {escape(__version__)}" "User Commands"',
        ".SH NAME",
        "shinsa \\- " + escape(parser.description or ""),
        ".SH SYNOPSIS",
        ".nf\n" + escape(_usage(parser)) + "\n.fi",
        ".SH DESCRIPTION",
        escape(
            "shinsa scans the devices it is given, and only those (an allow-list refuses "
            "anything else before a packet leaves), and judges what it finds against the "
            "requirements of security standards: IEC 62443-4-2, NIST SP 800-171, "
            "ETSI EN 303 645, JC-STAR. Every subcommand is described below with its options."
        ),
        ".SH OPTIONS",
        *_actions(parser),
        ".SH COMMANDS",
        *_commands(parser, "shinsa"),
        ".SH EXIT STATUS",
        ".nf\n" + escape(exits.epilog(None).rstrip()) + "\n.fi",
        escape(
            "Commands other than scan and report list their own exit codes at the end of "
            "their --help; all exit 2 on a usage or configuration error."
        ),
        ".SH ENVIRONMENT",
        ".TP\n\\fBSHINSA_CONFIG\\fR\n" + escape("the config file to read (below --config)."),
        ".TP\n\\fBXDG_CONFIG_HOME\\fR\n"
        + escape("where the default config file is: $XDG_CONFIG_HOME/shinsa/config.yaml."),
        ".TP\n\\fBSHINSA_\\fR\\fIKEY\\fR\n"
        + escape(
            "the default of an option, below the command line and above the config file: "
            + ", ".join(settings.env_name(k) for k in keys)
            + "."
        ),
        ".SH FILES",
        ".TP\n\\fI~/.config/shinsa/config.yaml\\fR\n"
        + escape(
            "defaults, one option per line (" + ", ".join(keys) + "); an unknown key or a bad "
            "value is a usage error naming the file and line."
        ),
        ".TP\n\\fIOUT/shinsa.sqlite\\fR, \\fIOUT/RUN_ID/report.*\\fR, \\fIOUT/latest\\fR\n"
        + escape("the store of every run, each run's reports, and the last scan's."),
        ".SH SEE ALSO",
        escape("nmap(1); the README and docs/ of the shinsa source."),
    ]
    return "\n".join(parts) + "\n"


def main() -> int:
    from scanner.cli.app import build_parser

    sys.stdout.write(render(build_parser()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
