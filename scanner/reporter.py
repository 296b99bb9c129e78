"""The engine's progress callbacks. This base shows nothing but notices; the command line's
live display (`scanner.cli.progress.RichReporter`) fills them in."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scanner.model import Result, Service


class Reporter:
    """Progress callbacks from the engine. This base class shows nothing."""

    def discovery(self, total: int) -> None: ...
    def discovery_advance(self, n: int) -> None: ...
    def device_started(self, address: str) -> None: ...
    def services_found(self, address: str, services: tuple[Service, ...]) -> None: ...
    def result(self, result: Result) -> None: ...
    def device_done(self, address: str) -> None: ...
    def notice(self, message: str) -> None:
        # Even a quiet scan says when it did less than asked (e.g. no SYN scan without root).
        print(f"notice: {message}", file=sys.stderr)

    def close(self) -> None: ...
