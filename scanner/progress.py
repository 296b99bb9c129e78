"""What the user sees while a scan runs: a live rich display, or nothing (tests, --quiet)."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

if TYPE_CHECKING:
    from scanner.assess import Assessment
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


class RichReporter(Reporter):
    """Live bars for discovery, devices and checks, on stderr."""

    def __init__(self, devices: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            console=self.console,
            transient=False,
        )
        self._disc: TaskID = self._progress.add_task("discovery", total=None, extra="")
        self._dev: TaskID = self._progress.add_task("devices", total=devices, extra="")
        self._chk: TaskID = self._progress.add_task("checks", total=None, extra="")
        self._ports = 0
        self._verdicts: Counter[str] = Counter()
        self._progress.start()

    def discovery(self, total: int) -> None:
        self._progress.update(self._disc, total=total)

    def discovery_advance(self, n: int) -> None:
        self._progress.advance(self._disc, n)

    def services_found(self, address: str, services: tuple[Service, ...]) -> None:
        self._ports += len(services)
        self._progress.update(self._dev, extra=f"{self._ports} open services")

    def result(self, result: Result) -> None:
        self._verdicts[result.verdict.value] += 1
        summary = " ".join(f"{k} {v}" for k, v in sorted(self._verdicts.items()))
        self._progress.update(self._chk, advance=1, extra=summary)

    def device_done(self, address: str) -> None:
        self._progress.advance(self._dev, 1)

    def notice(self, message: str) -> None:
        self._progress.console.print(f"[yellow]notice:[/yellow] {message}", markup=True)

    def close(self) -> None:
        self._progress.update(self._disc, total=self._progress.tasks[0].completed)
        self._progress.update(self._chk, total=self._progress.tasks[2].completed)
        self._progress.stop()


_STATUS_SHORT = {
    "not_satisfied": "[red]✗ {n} not satisfied[/red]",
    "error": "[magenta]! {n} error[/magenta]",
    "partially_assessed": "◐ {n} partial",
    "satisfied": "[green]✓ {n} satisfied[/green]",
    "not_applicable": "– {n} n/a",
    "not_assessed": "? {n} not assessed",
}


def summary_table(
    assessment: Assessment, labels: dict[str, str], services: dict[str, int]
) -> Table:
    """One row per device: services, check verdicts, requirement statuses."""
    table = Table(title=f"shinsa: profile {assessment.profile.id}", show_lines=False)
    for col in ("device", "services", "pass", "fail", "inconcl.", "error", "requirements"):
        table.add_column(col)
    for address, label in labels.items():
        verdicts = Counter(
            j.result.verdict.value for j in assessment.results if j.result.target == address
        )
        statuses = Counter(s.status.value for s in assessment.for_target(address))
        name = address if label in ("", address) else f"{address} ({label})"
        table.add_row(
            escape(name),
            str(services.get(address, 0)),
            str(verdicts["pass"]),
            f"[red]{verdicts['fail']}[/red]" if verdicts["fail"] else "0",
            str(verdicts["inconclusive"]),
            f"[magenta]{verdicts['error']}[/magenta]" if verdicts["error"] else "0",
            "\n".join(fmt.format(n=statuses[s]) for s, fmt in _STATUS_SHORT.items() if statuses[s]),
        )
    return table
