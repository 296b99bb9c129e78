"""Cost that grows linearly with the number of targets (issue 11 #11): the assessment stores
only statuses with evidence and indexes them by target, an empty device costs at most 2 KB of
JSON, JSON Lines is valid and streamed, and the allow-list of a long target list is looked up,
not scanned. Timings live in bench/scale; these pin the structure that makes them linear."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest

from probes.registry import all_checks
from reports import FORMATS, json_report, jsonl, streamer
from scanner import __version__
from scanner.cli.commands import write_reports
from scanner.cli.progress import MAX_ROWS, summary_table
from scanner.discovery.targets import parse_targets
from scanner.judging.assess import (
    Assessment,
    RequirementStatus,
    Status,
    assess,
    exit_code,
    status_of,
)
from scanner.judging.profiles import load_profile
from scanner.judging.report_data import Device, ReportData
from scanner.model import Result, Service, Verdict
from scanner.scope import Scope
from scanner.store import RunInfo
from tests.report_validation import validate_lines
from tests.unit.test_report_formats import report_data

if TYPE_CHECKING:
    from pathlib import Path

TODAY = date(2026, 12, 5)
BASE = load_profile("base", all_checks())


def _empty_targets(n: int) -> list[str]:
    first = ipaddress.IPv4Address("127.1.0.1")
    return [str(first + i) for i in range(n)]


def _data(devices: list[str], results: tuple[Result, ...] = ()) -> ReportData:
    run = RunInfo(
        id="20261205-060000-abcd",
        started=datetime(2026, 12, 5, 6, 0, tzinfo=UTC),
        finished=datetime(2026, 12, 5, 6, 1, tzinfo=UTC),
        status="complete",
        profile_id=BASE.id,
        profile_digest=BASE.digest,
        scanner_version=__version__,
        request={"allow": ["127.1.0.0/18"], "targets": [[a, ""] for a in devices], "ports": "80"},
    )
    return ReportData(
        run,
        __version__,
        tuple(Device(a, "", True, ()) for a in devices),
        assess(results, BASE, devices, today=TODAY),
        all_checks(),
        profile_changed=False,
    )


def _reference(a: Assessment, results: list[Result]) -> list[RequirementStatus]:
    """The assessment as it was before it was made linear: every requirement on every
    target, each filtering every result."""
    out = []
    for target in a.targets:
        for fw, req in a.requirements:
            mine = [j for j in a.results if j.result.target == target]
            direct = tuple(j for c in req.direct for j in mine if j.result.check_id == c)
            related = tuple(j for c in req.supporting for j in mine if j.result.check_id == c)
            status, reason, reason_ja = status_of(req, direct)
            out.append(
                RequirementStatus(
                    fw, req, target, status, reason, direct, related, reason_ja=reason_ja
                )
            )
    assert len(results) == len(a.results)
    return out


# --- the assessment --------------------------------------------------------------------------


def test_an_assessment_of_2000_empty_targets_holds_no_per_device_status():
    targets = _empty_targets(2000)
    a = assess([], BASE, targets, today=TODAY)
    n = len(a.requirements)
    assert n > 200  # the base profile: 287 requirements when this was written
    assert dict(a.evidenced) == {}  # nothing stored per device …
    assert dict(a.by_target) == {}
    # … yet every requirement of every device has its status
    assert a.status_counts() == {Status.NOT_ASSESSED: 2000 * n}
    one = a.for_target(targets[1234])
    assert len(one) == n
    assert {s.status for s in one} == {Status.NOT_ASSESSED}
    assert all(s.target == targets[1234] for s in one)
    assert exit_code(a) == 0


class _Recording(Mapping[str, Any]):
    """A mapping that remembers which keys were asked for."""

    def __init__(self, inner: Mapping[str, Any]) -> None:
        self.inner = inner
        self.asked: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.asked.append(key)
        return self.inner[key]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("iterated over every target")

    def __len__(self) -> int:
        raise AssertionError("counted every target")


def test_for_target_looks_at_its_own_target_only():
    a = report_data().assessment
    target = a.targets[1]
    evidenced, by_target = _Recording(a.evidenced), _Recording(a.by_target)
    spy = dataclasses.replace(a, evidenced=evidenced, by_target=by_target)
    statuses = spy.for_target(target)
    spy.results_for(target)
    assert statuses == a.for_target(target)
    assert set(evidenced.asked) == set(by_target.asked) == {target}


def test_the_linear_assessment_gives_every_status_the_quadratic_one_gave():
    data = report_data()
    a = data.assessment
    results = [j.result for j in a.results]
    assert a.statuses == tuple(_reference(a, results))
    # only statuses with evidence are stored; the rest are not assessed
    stored = [s for t in a.targets for s in a.evidenced_for(t)]
    assert all(s.has_evidence for s in stored)
    assert {s.status for s in a.statuses if not s.has_evidence} == {Status.NOT_ASSESSED}
    assert a.status_counts() == {
        s: n for s, n in Counter(x.status for x in a.statuses).items() if n
    }


def test_a_result_on_one_device_stores_statuses_for_that_device_only():
    targets = _empty_targets(500)
    telnet = Result(
        "services.cleartext-admin", targets[7], Service("tcp", 23, "telnet"), Verdict.FAIL, "open"
    )
    a = assess([telnet], BASE, targets, today=TODAY)
    assert set(a.evidenced) == {targets[7]}
    cited = {
        (fw, r.id) for fw, r in a.requirements if telnet.check_id in (*r.direct, *r.supporting)
    }
    assert {(s.framework, s.requirement.id) for s in a.evidenced_for(targets[7])} == cited
    assert Status.NOT_SATISFIED in a.status_counts(targets[7])
    assert exit_code(a) == 1


# --- the JSON report -------------------------------------------------------------------------


def test_an_empty_device_costs_at_most_2_kb_of_json():
    small, large = _data(_empty_targets(50)), _data(_empty_targets(150))
    report: Any = json_report.to_dict(large)
    for device in report["devices"]:
        assert len(json.dumps(device, indent=2).encode()) <= 2048
        assert device["requirements"] == []
        assert device["requirements_not_assessed"] == len(BASE_REQUIREMENTS)
    # what the whole report grows by per device (its entry, its target in the scope)
    growth = len(json_report.render(large)) - len(json_report.render(small))
    assert growth / 100 <= 2048
    assert len(report["requirements"]) == len(BASE_REQUIREMENTS)


BASE_REQUIREMENTS = assess([], BASE, [], today=TODAY).requirements


def test_a_device_lists_every_requirement_it_has_evidence_for_with_the_rest_counted():
    report: Any = json_report.to_dict(report_data())
    a = report_data().assessment
    top = [(r["framework"], r["id"]) for r in report["requirements"]]
    assert top == [(fw, r.id) for fw, r in a.requirements]
    for d in report["devices"]:
        listed = [(r["framework"], r["id"]) for r in d["requirements"]]
        assert listed == [(s.framework, s.requirement.id) for s in a.evidenced_for(d["address"])]
        assert len(listed) + d["requirements_not_assessed"] == len(top)
        # what a consumer rebuilds for the unlisted ones is what the assessment says
        by_key = {(s.framework, s.requirement.id): s for s in a.for_target(d["address"])}
        reasons = {
            (r["framework"], r["id"]): r["not_assessed_reason"] for r in report["requirements"]
        }
        for key in set(top) - set(listed):
            assert by_key[key].status is Status.NOT_ASSESSED
            assert by_key[key].reason == reasons[key]


# --- JSON Lines ------------------------------------------------------------------------------


def test_jsonl_has_a_header_a_line_per_result_and_device_and_a_summary():
    data = report_data()
    text = FORMATS["jsonl"][1](data)
    report = json.loads(json_report.render(data))
    objs = validate_lines(text, report)
    kinds = [o["type"] for o in objs]
    assert kinds.count("result") == len(data.assessment.results)
    assert kinds.count("device") == len(data.devices)
    # a device's results come just before its device line
    last_device: str | None = None
    for o in objs[1:-1]:
        if o["type"] == "result":
            assert o["address"] != last_device
        else:
            last_device = o["address"]
    assert all(line.isascii() for line in text.splitlines())
    assert len(text.splitlines()) == len(objs)  # no U+2028 or U+0085 splits a line


def test_jsonl_is_made_line_by_line(monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    real = json_report.device_dict

    def counting(d: Device, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(d.address)
        return real(d, *args, **kwargs)

    monkeypatch.setattr(jsonl, "device_dict", counting)
    lines = jsonl.lines(_data(_empty_targets(1000)))
    assert json.loads(next(lines))["type"] == "header"
    assert json.loads(next(lines))["type"] == "device"
    assert calls == ["127.1.0.1"]  # one device made, 999 not yet
    assert streamer("jsonl") is not None
    assert streamer("html") is not None
    assert streamer("sarif") is None  # rendered whole: one document of all results


@pytest.mark.parametrize("n", [0, 1, 40])
def test_the_json_report_made_device_by_device_is_the_document(n: int):
    data = report_data() if n == 1 else _data(_empty_targets(n))
    pieces = list(json_report.pieces(data))
    assert len(pieces) == (1 if not data.devices else len(data.devices) + 2)
    text = "".join(pieces)
    assert text == json.dumps(json_report.to_dict(data), indent=2, ensure_ascii=False) + "\n"
    assert streamer("json") is json_report.pieces


def test_jsonl_is_written_streamed_and_whole_or_not_at_all(tmp_path: Path, monkeypatch):
    data = _data(_empty_targets(30))
    write_reports(tmp_path, ["json", "jsonl"], data)
    text = (tmp_path / "report.jsonl").read_text(encoding="utf-8")
    validate_lines(text, json.loads((tmp_path / "report.json").read_text(encoding="utf-8")))
    assert text == jsonl.render(data)

    real = jsonl.lines

    def failing(data: ReportData) -> Iterator[str]:
        yield from list(real(data))[:5]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jsonl, "lines", failing)
    with pytest.raises(OSError, match="No space"):
        write_reports(tmp_path, ["jsonl"], data)
    assert (tmp_path / "report.jsonl").read_text(encoding="utf-8") == text  # unchanged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.jsonl"]


# --- other formats: linear in devices --------------------------------------------------------


@pytest.mark.parametrize("name", ["sarif", "oscal"])
def test_sarif_and_oscal_carry_nothing_per_empty_device_and_requirement(name):
    small, large = _data(_empty_targets(20)), _data(_empty_targets(60))
    render = FORMATS[name][1]
    growth = (len(render(large)) - len(render(small))) / 40
    assert growth <= 2048, f"{name}: {growth:.0f} bytes per empty device"


# --- targets and scope -----------------------------------------------------------------------


def test_a_range_is_allowed_as_its_few_cidr_blocks():
    tl = parse_targets(["127.1.0.1-127.1.39.16"])
    assert len(tl.targets) == 10_000
    assert len(tl.networks) <= 32
    scope = Scope(tl.networks)
    assert all(scope.admits(t.address) for t in tl.targets)
    assert not scope.admits("127.1.0.0")
    assert not scope.admits("127.1.39.17")


def test_a_scope_of_65536_single_addresses_is_looked_up_not_scanned():
    hosts = [ipaddress.ip_network(ipaddress.IPv4Address("127.1.0.0") + i) for i in range(65536)]
    scope = Scope((*hosts, ipaddress.ip_network("::1")))
    start = time.perf_counter()
    assert all(scope.admits(str(h.network_address)) for h in hosts[::16])
    assert scope.admits("::1")
    assert not scope.admits("127.2.0.1")
    assert not scope.admits("::ffff:127.1.0.1")  # an IPv6 form of an allowed IPv4 address
    # 4,096 checks; scanning 65,536 networks each took minutes, a lookup takes milliseconds
    assert time.perf_counter() - start < 5.0


# --- the summary table -----------------------------------------------------------------------


def test_the_summary_table_counts_empty_devices_in_one_row_and_lists_failing_ones_first():
    targets = _empty_targets(2000)
    telnet = Result(
        "services.cleartext-admin", targets[1500], Service("tcp", 23, "telnet"), Verdict.FAIL, "x"
    )
    ok = Result("services.unexpected", targets[3], Service("tcp", 80, "http"), Verdict.PASS, "y")
    a = assess([ok, telnet], BASE, targets, today=TODAY)
    labels = dict.fromkeys(targets, "")
    table = summary_table(a, labels, {targets[3]: 1, targets[1500]: 1})
    devices = list(table.columns[0].cells)
    assert devices == [targets[1500], targets[3], "1998 device(s) with nothing open"]
    many = summary_table(a, labels, dict.fromkeys(targets, 1))
    rows = list(many.columns[0].cells)
    assert len(rows) == MAX_ROWS + 1
    assert rows[0] == targets[1500]  # the failing device first, though it comes late
    assert rows[-1] == f"… {2000 - MAX_ROWS} more device(s) with services: see the reports"
