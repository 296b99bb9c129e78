"""One run, mixed profiles (a target file's `profile=`): each device judged by its own
profile's acceptances and frameworks, one requirement object per (framework, id) across
profiles, and the counts of each device over its own requirements."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from probes.registry import all_checks
from scanner.judging.assess import Status, assess
from scanner.judging.profiles import load_profile
from scanner.model import Result, Service, Verdict

if TYPE_CHECKING:
    from pathlib import Path

PLAIN, FRAGILE = "127.0.10.70", "127.0.10.71"
TELNET = Service("tcp", 23, "telnet")


def _fragile(tmp_path: Path) -> Path:
    path = tmp_path / "fragile.yaml"
    path.write_text(
        "profile: fragile\nextends: base\ntitle: Fragile\ninherit_frameworks: false\n"
        "frameworks:\n  etsi-en-303-645: {}\n"
        "accepted:\n  - check: creds.default.telnet\n    reason: bench\n"
        "    approved_by: QA-1\n    expires: 2099-12-31\n"
    )
    return path


def test_each_device_is_judged_by_its_own_profile(tmp_path: Path):
    base = load_profile("base", all_checks())
    fragile = load_profile(str(_fragile(tmp_path)), all_checks())
    results = [
        Result("creds.default.telnet", t, TELNET, Verdict.FAIL, "factory login")
        for t in (PLAIN, FRAGILE)
    ]
    a = assess(results, base, [PLAIN, FRAGILE], today=date(2026, 1, 1), profiles={FRAGILE: fragile})
    assert a.profile_for(PLAIN) is base
    assert a.profile_for(FRAGILE) is fragile
    # the fragile device: ETSI only, and its factory login an accepted deviation
    assert {fw for fw, _ in a.requirements_for(FRAGILE)} == {"etsi-en-303-645"}
    assert {s.framework for s in a.for_target(FRAGILE)} == {"etsi-en-303-645"}
    assert all(s.status is not Status.NOT_SATISFIED for s in a.for_target(FRAGILE))
    (accepted,) = a.results_for(FRAGILE)
    assert accepted.accepted is not None
    # the plain device: every framework of base, the factory login a plain fail
    plain_frameworks = {fw for fw, _ in a.requirements_for(PLAIN)}
    assert {"iec-62443-4-2", "etsi-en-303-645"} <= plain_frameworks
    assert any(s.status is Status.NOT_SATISFIED for s in a.for_target(PLAIN))
    # every device counted over its own requirements
    for target in (PLAIN, FRAGILE):
        assert sum(a.status_counts(target).values()) == len(a.requirements_for(target))
    # one object per requirement: the ETSI requirements the two devices share are the same
    plain_etsi = {r.id: r for fw, r in a.requirements_for(PLAIN) if fw == "etsi-en-303-645"}
    for _, r in a.requirements_for(FRAGILE):
        assert r is plain_etsi[r.id]
    assert [fw.id for fw, _ in a.all_frameworks()] == [fw.id for fw, _ in base.frameworks]


def test_a_run_without_own_profiles_is_judged_as_before():
    base = load_profile("base", all_checks())
    a = assess([], base, [PLAIN], today=date(2026, 1, 1))
    assert a.requirements_for(PLAIN) == a.requirements
    assert a.all_frameworks() == base.frameworks
    assert a.device_requirements == {}
