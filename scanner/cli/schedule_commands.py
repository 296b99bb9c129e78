"""(being built: see scanner/cli/service_parsers.py for the interface)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.errors import ShinsaError

if TYPE_CHECKING:
    import argparse


def cmd_schedule_add(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")


def cmd_schedule_list(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")


def cmd_schedule_pause(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")


def cmd_schedule_resume(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")


def cmd_schedule_remove(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")


def cmd_schedule_run_now(args: argparse.Namespace) -> int:
    raise ShinsaError("not built yet")
