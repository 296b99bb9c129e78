"""What the user sees while a scan runs: a live rich display, or nothing (tests, --quiet)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from scanner.judging.assess import Status
from scanner.reporter import Reporter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scanner.judging.assess import Assessment
    from scanner.model import Result, Service


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


#: rows of the summary table before the rest is counted in one line: the reports have every
#: device; a terminal does not need 65,536 rows (nor rich the time to lay them out)
MAX_ROWS = 200


def summary_table(
    assessment: Assessment, labels: dict[str, str], services: dict[str, int]
) -> Table:
    """One row per device with services or results (devices with something failing or in
    error first, at most `MAX_ROWS`); devices with nothing open, and any beyond the limit,
    are counted in one row each rather than listed."""
    table = Table(title=f"shinsa: profile {assessment.profile.id}", show_lines=False)
    for col in ("device", "services", "pass", "fail", "inconcl.", "error", "requirements"):
        table.add_column(col)
    empty: Counter[str] = Counter()  # requirement statuses summed over the devices not listed
    n_empty = 0
    rows: list[tuple[bool, list[str]]] = []
    for address, label in labels.items():
        results = assessment.results_for(address)
        statuses = assessment.status_counts(address)
        if not results and not services.get(address, 0):
            n_empty += 1
            empty.update({s.value: n for s, n in statuses.items()})
            continue
        verdicts = Counter(j.result.verdict.value for j in results)
        name = address if label in ("", address) else f"{address} ({label})"
        bad = bool(verdicts["fail"] or verdicts["error"] or statuses.get(Status.NOT_SATISFIED))
        rows.append(
            (
                bad,
                [
                    escape(name),
                    str(services.get(address, 0)),
                    str(verdicts["pass"]),
                    f"[red]{verdicts['fail']}[/red]" if verdicts["fail"] else "0",
                    str(verdicts["inconclusive"]),
                    f"[magenta]{verdicts['error']}[/magenta]" if verdicts["error"] else "0",
                    _statuses({s.value: n for s, n in statuses.items()}),
                ],
            )
        )
    rows.sort(key=lambda r: not r[0])  # stable: failing devices first, in target order
    for _, row in rows[:MAX_ROWS]:
        table.add_row(*row)
    if len(rows) > MAX_ROWS:
        more = len(rows) - MAX_ROWS
        table.add_row(
            f"… {more} more device(s) with services: see the reports", "", "", "", "", "", ""
        )
    if n_empty:
        table.add_row(
            f"{n_empty} device(s) with nothing open", "0", "0", "0", "0", "0", _statuses(empty)
        )
    return table


def _statuses(counts: Mapping[str, int]) -> str:
    return "\n".join(
        fmt.format(n=counts[s]) for s, fmt in _STATUS_SHORT.items() if counts.get(s, 0)
    )
