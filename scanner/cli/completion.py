"""`shinsa completion SHELL`: the completion script for bash, zsh, fish, tcsh or PowerShell,
written by shtab from the parser itself, so it completes every subcommand and option the
command line has. shtab is a small, maintained library that writes static scripts: a
completion costs the shell no Python start-up, unlike argcomplete's call back into the
program at each Tab. Imported only by this command."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")

#: metavars whose values are paths: completed as files or directories
_FILES = frozenset({"FILE"})
_DIRECTORIES = frozenset({"DIR"})
_DIRECTORY_DESTS = frozenset({"out", "state_dir"})


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    command: Callable[[argparse.Namespace], int],
) -> None:
    """Register `completion`; `command` runs it (the app's, which holds the parser)."""
    p = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description="Print the completion script for SHELL. Install it, for example: "
        "`shinsa completion bash > ~/.local/share/bash-completion/completions/shinsa`, "
        "`shinsa completion zsh > ~/.zfunc/_shinsa` (with ~/.zfunc in fpath), "
        "`shinsa completion fish > ~/.config/fish/completions/shinsa.fish`.",
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(func=command)


def _mark_paths(parser: argparse.ArgumentParser) -> None:
    """Tell shtab which options take files and which directories (it completes nothing
    for an option it knows nothing about)."""
    import shtab

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub)
        elif action.dest in _DIRECTORY_DESTS or action.metavar in _DIRECTORIES:
            action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
        elif action.metavar in _FILES:
            action.complete = shtab.FILE  # type: ignore[attr-defined]


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of `parser` (shinsa's, fresh: its paths get marked) for `shell`."""
    import shtab

    _mark_paths(parser)
    return str(shtab.complete(parser, shell=shell))
