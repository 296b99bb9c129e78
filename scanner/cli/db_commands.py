"""(being built: see scanner/cli/service_parsers.py for the interface)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.errors import ShinsaError

if TYPE_CHECKING:
    import argparse


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")


def cmd_db_prune(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")


def cmd_import(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")
