"""Framework files list every requirement of their standard's catalog, coverage and roles are
consistent, security levels select the right set, and a mistake names file, line and field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from probes.registry import all_checks
from scanner.cli import main
from scanner.cli.app import build_parser
from scanner.errors import ConfigError
from scanner.judging.profiles import (
    BUILTIN_DIR,
    FORMER_PROFILE_NAMES,
    Coverage,
    Framework,
    Requirement,
    catalog_entries,
    catalog_problems,
    framework_paths,
    load_framework,
    load_profile,
)

CREDS = ("ssh", "telnet", "ftp", "http", "mqtt", "snmp", "rtsp")
FRAMEWORKS = {load_framework(p, all_checks()).id: p for p in framework_paths()}
STANDARDS = BUILTIN_DIR / "standards"
#: the standards whose catalogs ship: every file of profiles/standards but the crosswalks
CATALOGS = sorted(p.stem for p in STANDARDS.glob("*.yaml") if not p.stem.startswith("crosswalk"))


def framework(fid: str) -> Framework:
    return load_framework(FRAMEWORKS[fid], all_checks())


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_every_catalog_has_a_framework_file():
    assert set(FRAMEWORKS) == set(CATALOGS)


@pytest.mark.parametrize("fid", CATALOGS)
def test_one_spelling_per_standard(fid: str):
    """The framework ID names its file, its catalog, its crosswalk key and the built-in
    profile that judges it alone."""
    fw = framework(fid)
    assert FRAMEWORKS[fid].stem == fid
    assert (fw.catalog, fw.crosswalk) == (f"{fid}.yaml", fid)
    crosswalk = yaml.safe_load((STANDARDS / "crosswalk.yaml").read_text())
    assert crosswalk["standards"][fid].split()[0] == f"{fid}.yaml"
    assert (BUILTIN_DIR / f"{fid}.yaml").is_file()


@pytest.mark.parametrize("fid", CATALOGS)
def test_every_catalog_id_is_listed_exactly_once(fid: str):
    raw = yaml.safe_load(FRAMEWORKS[fid].read_text())
    listed = Counter(str(r["id"]) for r in raw["requirements"])
    expected = [str(e["id"]) for e in catalog_entries(framework(fid))]
    assert set(listed) == set(expected)
    assert all(n == 1 for n in listed.values())
    assert catalog_problems(framework(fid), all_checks()) == []


def test_expected_requirement_counts():
    counts = {fid: len(framework(fid).requirements) for fid in CATALOGS}
    # IEC: 43 CRs, 49 REs, 30 SAR/EDR/HDR/NDR (the 15 CR headings are not requirements)
    assert counts == {
        "iec-62443-4-2": 122,
        "nist-sp-800-171r2": 110,
        "nist-sp-800-171r3": 130,
        "etsi-en-303-645": 68,
        "en-18031-1": 33,
        "jc-star": 16,
    }


@pytest.mark.parametrize("fid", CATALOGS)
def test_coverage_none_exactly_when_no_check_and_full_needs_a_direct_one(fid: str):
    for req in framework(fid).requirements:
        assert (req.coverage is Coverage.NONE) == (not req.checks), req.id
        if req.coverage is Coverage.FULL:
            assert req.direct, req.id


def test_every_check_has_a_crosswalk_kind():
    kinds = set(yaml.safe_load((STANDARDS / "crosswalk.yaml").read_text())["probes"])
    kinds |= set(yaml.safe_load((STANDARDS / "crosswalk-additions.yaml").read_text())["probes"])
    assert {cid: c.kind for cid, c in all_checks().items() if c.kind not in kinds} == {}


def test_iec_levels_are_the_catalog_sl_c():
    sl_c = {str(e["id"]): e["sl_c"] for e in catalog_entries(framework("iec-62443-4-2"))}
    for req in framework("iec-62443-4-2").requirements:
        assert list(req.levels) == sl_c[req.id], req.id


def test_a_requirement_for_sl_3_and_4_is_absent_at_sl_2_and_present_at_sl_3():
    fw = framework("iec-62443-4-2")
    re2 = next(r for r in fw.requirements if r.id == "CR 1.1 RE(2)")
    assert re2.levels == (3, 4)
    assert re2 not in fw.selected(2)
    assert re2 in fw.selected(3)
    assert re2 in fw.selected(None)
    sl2 = {r.id for r in fw.selected(2)}
    assert sl2 == {r.id for r in fw.requirements if 2 in r.levels}
    assert {r.id for r in fw.selected(1)} < sl2 < {r.id for r in fw.selected(3)}


def test_level_option_overrides_the_profile_security_level():
    checks = all_checks()
    at_2 = load_profile("iec-62443-4-2", checks)
    at_3 = load_profile("iec-62443-4-2", checks, level=3)
    ((fw2, level2),) = at_2.frameworks
    ((fw3, level3),) = at_3.frameworks
    assert (level2, level3) == (2, 3)
    assert "CR 1.1 RE(2)" not in {r.id for r in fw2.selected(level2)}
    assert "CR 1.1 RE(2)" in {r.id for r in fw3.selected(level3)}
    assert at_3.level == 3
    assert at_2.level is None
    assert at_2.digest != at_3.digest  # a scan at another level is judged differently


def test_level_leaves_frameworks_without_levels_alone():
    profile = load_profile("base", all_checks(), level=4)
    levels = {fw.id: level for fw, level in profile.frameworks}
    assert levels["iec-62443-4-2"] == 4
    assert levels["nist-sp-800-171r2"] is None


def test_level_on_a_profile_without_iec_is_an_error():
    with pytest.raises(ConfigError, match="no framework with security levels"):
        load_profile("jc-star", all_checks(), level=2)


def test_level_option_on_scan_and_report():
    parser = build_parser()
    assert parser.parse_args(["scan", "127.0.0.1", "--level", "3"]).level == 3
    assert parser.parse_args(["report", "RUN", "--level", "1"]).level == 1
    assert parser.parse_args(["scan", "127.0.0.1"]).level is None
    with pytest.raises(SystemExit):
        parser.parse_args(["scan", "127.0.0.1", "--level", "5"])


def test_rev3_withdrawn_ids_map_to_active_successors():
    fw = framework("nist-sp-800-171r3")
    by_id = {r.id: r for r in fw.requirements}
    withdrawn = [r for r in fw.requirements if r.withdrawn]
    catalog = {str(e["id"]): e for e in catalog_entries(framework("nist-sp-800-171r3"))}
    assert len(withdrawn) == 33
    assert {r.id for r in withdrawn} == {i for i, e in catalog.items() if e["withdrawn"]}
    for req in withdrawn:
        assert set(req.withdrawn_to or ()) == set(catalog[req.id].get("successors") or ())
        for successor in req.withdrawn_to or ():
            assert not by_id[successor].withdrawn, (req.id, successor)
        assert req.coverage is Coverage.NONE
        assert not req.checks
    assert by_id["03.04.09"].withdrawn_to == (
        "03.01.05",
        "03.01.06",
        "03.01.07",
        "03.04.08",
        "03.12.03",
    )


def test_withdrawn_requirements_are_never_judged():
    fw = framework("nist-sp-800-171r3")
    assert len(fw.selected(None)) == 97
    assert not any(r.withdrawn for r in fw.selected(None))


def test_rev2_evidence_carries_over_to_the_rev3_successors():
    """A check giving evidence for a rev. 2 requirement gives it for one of the rev. 3 IDs the
    catalog says carry that requirement."""
    r3 = {r.id: {m.check for m in r.checks} for r in framework("nist-sp-800-171r3").requirements}
    rev3_of = {str(e["id"]): e["rev3"] for e in catalog_entries(framework("nist-sp-800-171r2"))}
    missing = {}
    for req in framework("nist-sp-800-171r2").requirements:
        carried = set().union(*(r3[s] for s in rev3_of[req.id]))
        if lost := {m.check for m in req.checks} - carried:
            missing[req.id] = lost
    # crosswalk.yaml lists default logins under rev. 3 authenticator management (03.05.12),
    # not under account management (03.01.01), which 3.1.1 became
    assert missing == {"3.1.1": {f"creds.default.{p}" for p in CREDS}}


@pytest.mark.parametrize("fid", CATALOGS)
def test_builtin_profile_per_framework_selects_only_it(fid: str):
    profile = load_profile(fid, all_checks())
    assert [fw.id for fw, _ in profile.frameworks] == [fid]
    assert (
        profile.params["services.unexpected"]
        == load_profile("base", all_checks()).params["services.unexpected"]
    )  # base's parameters


def test_inherit_frameworks_false_drops_the_parents(tmp_path: Path):
    p = write(
        tmp_path,
        "p.yaml",
        "profile: p\nextends: base\ninherit_frameworks: false\nframeworks:\n  jc-star: {}\n",
    )
    assert [fw.id for fw, _ in load_profile(str(p), all_checks()).frameworks] == ["jc-star"]


# --- errors name the file, the line and the field ------------------------------------------

FW_HEAD = "framework: iec-62443-4-2\ntitle: t\nrequirements:\n"


def framework_error(tmp_path: Path, body: str, head: str = FW_HEAD) -> str:
    p = write(tmp_path, "fw.yaml", head + body)
    with pytest.raises(ConfigError) as info:
        load_framework(p, all_checks())
    return str(info.value)


def test_unknown_check_names_file_line_and_field(tmp_path: Path):
    message = framework_error(
        tmp_path,
        "  - id: CR 7.7\n    title: t\n    coverage: partial\n    checks:\n"
        "      - check: services.unexpected\n        why: w\n"
        "      - check: services.nope\n        why: w\n",
    )
    assert "fw.yaml line 10: requirement CR 7.7, checks[1].check" in message
    assert "unknown check 'services.nope'" in message


def test_bad_role_and_coverage_name_their_lines(tmp_path: Path):
    role = framework_error(
        tmp_path,
        "  - id: CR 7.7\n    title: t\n    coverage: partial\n    checks:\n"
        "      - check: services.unexpected\n        role: main\n        why: w\n",
    )
    assert "fw.yaml line 8: requirement CR 7.7, checks[0].role" in role
    coverage = framework_error(
        tmp_path, "  - id: CR 7.7\n    title: t\n    coverage: most\n    checks: []\n"
    )
    assert "fw.yaml line 6: requirement CR 7.7, coverage: must be one of" in coverage


def test_full_coverage_needs_a_direct_check(tmp_path: Path):
    message = framework_error(
        tmp_path,
        "  - id: CR 7.7\n    title: t\n    coverage: full\n    checks:\n"
        "      - check: services.unexpected\n        role: supporting\n        why: w\n",
    )
    assert "line 6: requirement CR 7.7, coverage: full needs at least one direct check" in message


def test_coverage_none_with_checks_and_partial_without_are_errors(tmp_path: Path):
    none = framework_error(
        tmp_path,
        "  - id: CR 7.7\n    title: t\n    coverage: none\n    checks:\n"
        "      - check: services.unexpected\n        role: supporting\n        why: w\n",
    )
    assert "coverage: none means no check gives evidence" in none
    partial = framework_error(
        tmp_path, "  - id: CR 7.7\n    title: t\n    coverage: partial\n    checks: []\n"
    )
    assert "line 6: requirement CR 7.7, coverage: partial needs at least one check" in partial


def test_unknown_requirement_field_is_named(tmp_path: Path):
    message = framework_error(
        tmp_path, "  - id: CR 7.7\n    title: t\n    coverage: none\n    coverge: none\n"
    )
    assert "fw.yaml line 7: requirement CR 7.7, coverge: unknown field" in message


def test_withdrawn_to_must_name_requirements_of_the_framework(tmp_path: Path):
    p = write(
        tmp_path,
        "fw.yaml",
        "framework: nist-sp-800-171r3\ntitle: t\nrequirements:\n"
        "  - id: 03.01.13\n    title: w\n    coverage: none\n    withdrawn_to: [03.13.08]\n",
    )
    with pytest.raises(ConfigError, match=r"line 4: requirement 03\.01\.13, withdrawn_to"):
        load_framework(p, all_checks())


def test_unknown_requirement_id_and_wrong_levels_name_the_line(tmp_path: Path):
    head = "framework: iec-62443-4-2\ntitle: t\ncatalog: iec-62443-4-2.yaml\n"
    head += "crosswalk: iec-62443-4-2\nrequirements:\n"
    p = write(
        tmp_path,
        "fw.yaml",
        head + "  - id: CR 99.9\n    title: t\n    coverage: none\n"
        "  - id: CR 1.1 RE(2)\n    title: t\n    levels: [2, 3, 4]\n    coverage: none\n",
    )
    problems = catalog_problems(load_framework(p, all_checks()), all_checks())
    assert any("fw.yaml line 6: requirement CR 99.9 is not in" in m for m in problems)
    assert any(
        "fw.yaml line 9: requirement CR 1.1 RE(2), levels: [2, 3, 4]" in m and "[3, 4]" in m
        for m in problems
    )
    assert any("CR 7.7 of iec-62443-4-2.yaml is not listed" in m for m in problems)


def test_a_framework_without_catalog_is_a_problem_for_the_built_in_check(tmp_path: Path):
    fw = load_framework(
        write(tmp_path, "fw.yaml", FW_HEAD + "  - id: X\n    title: t\n    coverage: none\n"),
        all_checks(),
    )
    assert fw.catalog is None
    assert catalog_problems(fw, all_checks()) == [
        f"{fw.path}: names no catalog and crosswalk key (catalog:, crosswalk:)"
    ]


def test_catalog_and_crosswalk_go_together_and_top_keys_are_known(tmp_path: Path):
    half = FW_HEAD.replace("requirements:", "catalog: iec-62443-4-2.yaml\nrequirements:")
    assert "names both its catalog and its crosswalk key, or neither" in framework_error(
        tmp_path, "", head=half
    )
    typo = FW_HEAD.replace("requirements:", "catalogue: x.yaml\nrequirements:")
    assert "fw.yaml line 3: catalogue: unknown top-level key of a framework" in framework_error(
        tmp_path, "", head=typo
    )


def test_a_new_standard_is_yaml_only(tmp_path: Path):
    """A framework file brings its own ID pattern and Japanese names: no Python table."""
    head = "framework: iso-27001\ntitle: ISO/IEC 27001 Annex A\nid_pattern: '^A\\.\\d+\\.\\d+$'\n"
    body = (
        "requirements:\n  - id: A.8.5\n    title: Secure authentication\n"
        "    ja: セキュリティを保った認証\n"
        "    coverage: partial\n    checks:\n      - check: creds.default.ssh\n        why: w\n"
    )
    fw = load_framework(write(tmp_path, "iso.yaml", head + body), all_checks())
    assert (fw.id, fw.requirements[0].ja) == ("iso-27001", "セキュリティを保った認証")
    with pytest.raises(ConfigError, match=r"iso\.yaml line 5: requirement A8, id: does not match"):
        load_framework(
            write(tmp_path, "iso.yaml", head + body.replace("A.8.5", "A8")), all_checks()
        )
    broken = head.replace("'^A", "'^(A")
    with pytest.raises(ConfigError, match=r"iso\.yaml line 3: id_pattern: missing \)"):
        load_framework(write(tmp_path, "iso.yaml", broken + body), all_checks())


@pytest.mark.parametrize(("former", "fid"), sorted(FORMER_PROFILE_NAMES.items()))
def test_former_profile_names_still_load(former: str, fid: str):
    assert load_profile(former, all_checks()).digest == load_profile(fid, all_checks()).digest


def test_catalog_check_flags_a_requirement_not_withdrawn_in_the_catalog():
    fw = Framework(
        "nist-sp-800-171r3",
        "t",
        (Requirement("03.01.01", "t", Coverage.NONE, withdrawn_to=("03.01.02",)),),
        Path("fw.yaml"),
        "nist-sp-800-171r3.yaml",
        "nist-sp-800-171r3",
    )
    assert any("03.01.01, withdrawn_to" in m for m in catalog_problems(fw, all_checks()))


def test_profile_errors_name_the_line(tmp_path: Path):
    p = write(tmp_path, "p.yaml", "profile: p\nframeworks:\n  iec-62443-4-2: {security_level: 7}\n")
    with pytest.raises(
        ConfigError, match=r"p\.yaml line 3: frameworks\.iec-62443-4-2\.security_level"
    ):
        load_profile(str(p), all_checks())
    p = write(tmp_path, "q.yaml", "profile: q\nframeworks:\n  iso-27001: {}\n")
    with pytest.raises(ConfigError, match=r"q\.yaml line 3: frameworks\.iso-27001: unknown"):
        load_profile(str(p), all_checks())


def test_duplicate_yaml_key_is_an_error(tmp_path: Path):
    p = write(tmp_path, "p.yaml", "profile: p\nallow_intrusive: false\nallow_intrusive: true\n")
    with pytest.raises(ConfigError, match=r"p\.yaml line 3 column 1: .*duplicate key"):
        load_profile(str(p), all_checks())


def test_validate_reports_bad_yaml_with_a_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    broken = write(tmp_path, "broken.yaml", "profile: b\nparams:\n  creds.default.ssh: [1, 2\n")
    assert main(["validate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml line 4" in err
    assert "invalid YAML" in err
    assert "Traceback" not in err


def test_validate_names_file_line_and_field_of_a_bad_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    bad = write(
        tmp_path,
        "bad.yaml",
        "profile: bad\nextends: base\nparams:\n  services.unexpected: {allowed: ['*']}\n"
        "  creds.nope: {}\n",
    )
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml line 5: params: unknown check 'creds.nope'" in err
