"""The command-line face: `shinsa` and its subcommands (`app`), what each runs
(`commands`, `discover`, `demo`, `diff`), shared option parsing (`options`), exit codes
(`exits`) and live progress (`progress`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The `shinsa` entry point (`scanner.cli:main` in pyproject.toml). The parser and what
    it imports load here, not when a submodule of this package is imported."""
    from scanner.cli.app import main as run

    return run(argv)
