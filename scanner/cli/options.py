"""argparse types for numbers and lists a user types: a bad value is a usage error (exit 2,
one line naming the option), never a hang (`--concurrency 0` waited forever on a semaphore
of size 0) or a traceback."""

from __future__ import annotations

import argparse
import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def count(low: int, high: int) -> Callable[[str], int]:
    """A whole number within [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
        return value

    return parse


def seconds(low: float, high: float) -> Callable[[str], float]:
    """A finite number of seconds, more than `low` and at most `high`."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or not low < value <= high:
            raise argparse.ArgumentTypeError(
                f"{text.strip()} s is outside the range (more than {low:g}, at most {high:g})"
            )
        return value

    return parse


def nonempty(text: str) -> str:
    """A value that says something: an empty `--ports ""` or `--allow ""` is a mistake in a
    script (an unset variable), not a request for the default."""
    if not text.strip().strip(","):
        raise argparse.ArgumentTypeError("empty value")
    return text


#: The shape scanner.store.new_run_id gives (a run's directory is named after it, so
#: nothing else is let in: no separator, no "..").
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")


def run_id(text: str) -> str:
    """A new run's ID, in the store's own shape."""
    if not RUN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a run ID (YYYYMMDD-HHMMSS-xxxx)")
    return text
