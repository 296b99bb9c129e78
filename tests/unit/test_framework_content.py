"""What the shipped frameworks say to a reader: a Japanese title for every requirement, no
placeholder or roadmap text and no local path in anything a report renders, requirements
nobody has authored kept out of every assessment (and listed by `validate --strict`), and
`satisfied` reachable wherever a framework claims full coverage."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

import pytest

from probes.registry import all_checks
from scanner.cli import main
from scanner.errors import ConfigError
from scanner.judging.assess import Status, assess
from scanner.judging.profiles import (
    Coverage,
    Framework,
    Profile,
    Requirement,
    framework_paths,
    load_framework,
    load_profile,
)
from scanner.model import Result, Service, Verdict

if TYPE_CHECKING:
    from pathlib import Path

FRAMEWORKS = [load_framework(p, all_checks()) for p in framework_paths()]
#: hiragana, katakana and the CJK ideographs: what makes a title Japanese
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: words that told a reader the work was unfinished (the issue found 36 and 9 of them)
PLACEHOLDERS = ("Not checked by shinsa yet", "Title not established", "not established")
#: an absolute local path: a slash opening a word (`v1/v2c` and `TCP/IP` do not)
LOCAL_PATH = re.compile(r"(?:^|[\s(\"'`])/[\w.]")
DEVICE = "127.0.77.1"


def rendered_text(fw: Framework) -> list[tuple[str, str]]:
    """Every text of a framework that a report can show, with where it comes from."""
    out = [(f"{fw.id}: title", fw.title), (f"{fw.id}: title_ja", fw.title_ja)]
    for r in fw.requirements:
        for name in ("title", "title_ja", "ja", "note", "note_ja"):
            out.append((f"{fw.id} {r.id}: {name}", getattr(r, name)))
        out += [(f"{fw.id} {r.id}: why of {m.check}", m.why) for m in r.checks]
        out += [(f"{fw.id} {r.id}: why_ja of {m.check}", m.why_ja) for m in r.checks]
    return out


def test_the_shipped_frameworks_are_all_here():
    assert {fw.id for fw in FRAMEWORKS} >= {
        "en-18031-1",
        "etsi-en-303-645",
        "iec-62443-4-2",
        "jc-star",
        "nist-sp-800-171r2",
        "nist-sp-800-171r3",
    }


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.id)
def test_every_authored_requirement_has_a_japanese_title(fw: Framework):
    authored = [r for r in fw.requirements if r.authored]
    assert authored
    untitled = [r.id for r in authored if not JAPANESE.search(r.title_ja)]
    assert untitled == []
    # the Japanese title is a translation, not the English one copied over
    assert [r.id for r in authored if r.title_ja == r.title] == []


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.id)
def test_every_note_and_why_has_its_japanese(fw: Framework):
    assert JAPANESE.search(fw.title_ja)
    assert [r.id for r in fw.requirements if r.note and not JAPANESE.search(r.note_ja)] == []
    assert [r.id for r in fw.requirements if r.note_ja and not r.note] == []
    assert [
        (r.id, m.check) for r in fw.requirements for m in r.checks if not JAPANESE.search(m.why_ja)
    ] == []


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.id)
def test_no_placeholder_roadmap_or_local_path_in_rendered_text(fw: Framework):
    texts = rendered_text(fw)
    assert [w for w, t in texts if any(p.lower() in t.lower() for p in PLACEHOLDERS)] == []
    assert [(w, t) for w, t in texts if LOCAL_PATH.search(t)] == []


def test_the_path_pattern_finds_what_it_is_for():
    assert LOCAL_PATH.search("read from /work/wt/profiles/base.yaml")
    assert not LOCAL_PATH.search("SNMP v1/v2c and TCP/IP, Basic/Digest")


@pytest.mark.parametrize("name", ["base", "acceptance", "jc-star", "acme-cam-200"])
def test_a_profile_names_its_files_without_a_local_path(name: str):
    files = load_profile(name, all_checks()).files
    assert files
    assert [p for p, _ in files if not p.startswith("profiles/")] == []


def test_unauthored_requirements_stay_out_of_every_assessment():
    jc = next(fw for fw in FRAMEWORKS if fw.id == "jc-star")
    unauthored = {r.id for r in jc.requirements if not r.authored}
    assert unauthored  # JC-STAR keeps the six whose subject is not established
    assert unauthored.isdisjoint(r.id for r in jc.selected(None))
    assert all(not r.title_ja and not r.checks for r in jc.requirements if not r.authored)
    a = assess([], load_profile("jc-star", all_checks()), [DEVICE], today=date(2026, 12, 6))
    assert unauthored.isdisjoint(req.id for fw, req in a.requirements if fw == "jc-star")
    assert {s.requirement.id for s in a.statuses} >= {"S1.1-01", "S1.1-16"}


SYNTHETIC = """\
framework: synthetic-fw
title: A framework of two requirements
requirements:
  - id: X-1
    title: Services limited
    title_ja: サービスを制限すること
    coverage: partial
    checks:
      - check: services.unexpected
        why: An open port outside the allowed list.
  - id: X-2
    title: null
    coverage: none
    checks: []
"""


def test_validate_strict_lists_an_unauthored_requirement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "synthetic.yaml"
    path.write_text(SYNTHETIC, encoding="utf-8")
    fw = load_framework(path, all_checks())
    assert [(r.id, r.authored) for r in fw.requirements] == [("X-1", True), ("X-2", False)]
    assert [r.id for r in fw.selected(None)] == ["X-1"]
    assert main(["validate", str(path)]) == 0  # not authored is not invalid
    capsys.readouterr()
    assert main(["validate", "--strict", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path} line 11: requirement X-2 has no title (not authored)" in err
    assert "X-1" not in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "extra", ["    title_ja: 何か\n", "    checks:\n      - {check: services.unexpected, why: w}\n"]
)
def test_an_unauthored_requirement_carries_nothing_else(tmp_path: Path, extra: str):
    text = SYNTHETIC.replace("    checks: []\n", "").replace("    coverage: none\n", "")
    text += "    coverage: none\n" if "checks" not in extra else "    coverage: partial\n"
    path = tmp_path / "synthetic.yaml"
    path.write_text(text + extra, encoding="utf-8")
    with pytest.raises(ConfigError, match="not authored"):
        load_framework(path, all_checks())


def test_a_missing_title_is_still_an_error(tmp_path: Path):
    path = tmp_path / "synthetic.yaml"
    path.write_text(SYNTHETIC.replace("    title: null\n", ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="'title' must be a non-empty string"):
        load_framework(path, all_checks())


FULL = [
    (fw, r)
    for fw in FRAMEWORKS
    for r in fw.requirements
    if r.coverage is Coverage.FULL and r.authored and not r.withdrawn
]
#: the services of a clean device: each check gets one result per service
SERVICES = (Service("tcp", 443, "https", tls=True), Service("tcp", 22, "ssh"))


def clean_run(req: Requirement, failing: str | None = None) -> list[Result]:
    """A device on which every direct check of `req` passed on every service, except
    `failing`, which fails on the first."""
    results = []
    for check in req.direct:
        for i, svc in enumerate(SERVICES):
            verdict = Verdict.FAIL if (check == failing and i == 0) else Verdict.PASS
            results.append(Result(check, DEVICE, svc, verdict, f"{check} on {svc.key}: {verdict}"))
    return results


def test_some_requirement_is_testable_in_full():
    assert FULL, "no framework claims coverage: full, so satisfied can never appear"


@pytest.mark.parametrize(("fw", "req"), FULL, ids=lambda x: getattr(x, "id", ""))
def test_a_clean_device_satisfies_a_fully_covered_requirement(fw: Framework, req: Requirement):
    profile = load_profile(fw.id, all_checks())  # the built-in profile judging it alone
    status = status_on(profile, req, clean_run(req))
    assert status is Status.SATISFIED


@pytest.mark.parametrize(("fw", "req"), FULL, ids=lambda x: getattr(x, "id", ""))
def test_one_direct_fail_makes_it_not_satisfied(fw: Framework, req: Requirement):
    profile = load_profile(fw.id, all_checks())
    for check in req.direct:
        assert status_on(profile, req, clean_run(req, failing=check)) is Status.NOT_SATISFIED


@pytest.mark.parametrize(("fw", "req"), FULL, ids=lambda x: getattr(x, "id", ""))
def test_a_fully_covered_requirement_with_an_undecided_check_is_not_satisfied(
    fw: Framework, req: Requirement
):
    profile = load_profile(fw.id, all_checks())
    results = clean_run(req)
    first = results[0]
    results[0] = Result(first.check_id, DEVICE, first.service, Verdict.INCONCLUSIVE, "unclear")
    assert status_on(profile, req, results) is Status.PARTIALLY_ASSESSED


def test_the_same_clean_run_leaves_partial_requirements_partially_assessed():
    """The contrast that gives `satisfied` its meaning: passes of the very same checks on a
    partially covered requirement (of any shipped framework) are never more than partially
    assessed."""
    for _fw, req in FULL:
        for other in FRAMEWORKS:
            cited = [
                r
                for r in other.selected(None)
                if r.coverage is Coverage.PARTIAL and set(r.direct) & set(req.direct)
            ]
            for r in cited:
                mine = [x for x in clean_run(req) if x.check_id in r.direct]
                profile = load_profile(other.id, all_checks())
                assert status_on(profile, r, mine) is Status.PARTIALLY_ASSESSED, (other.id, r.id)


def status_on(profile: Profile, req: Requirement, results: list[Result]) -> Status:
    a = assess(results, profile, [DEVICE], today=date(2026, 12, 6))
    return next(s.status for s in a.statuses if s.requirement.id == req.id)
