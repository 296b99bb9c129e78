"""Profiles and frameworks load, extend, and fail with messages naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.exposed_services import AllowedServices
from probes.registry import all_checks
from scanner.errors import ConfigError
from scanner.judging.profiles import load_profile
from scanner.judging.validate import validate_all


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_profiles_and_frameworks_are_valid():
    assert validate_all(all_checks()) == []


def test_device_profile_extends_base_and_overrides_params():
    profile = load_profile("acme-cam-200", all_checks())
    allowed = profile.params["services.unexpected"]
    assert isinstance(allowed, AllowedServices)
    assert allowed.allowed == ("tcp/443 https", "tcp/22 ssh", "tcp/554 rtsp")
    assert {fw.id for fw, _ in profile.frameworks} == {
        "iec-62443-4-2",
        "nist-sp-800-171r2",
        "etsi-en-303-645",
        "jc-star",
    }
    # three profiles (acme-cam-200, acceptance, base), four frameworks
    assert len(profile.files) == 7
    assert len(profile.digest) == 64


def test_extends_cycle_is_reported(tmp_path: Path):
    write(tmp_path, "a.yaml", "profile: a\nextends: b\n")
    write(tmp_path, "b.yaml", "profile: b\nextends: a\n")
    with pytest.raises(ConfigError, match="extends cycle"):
        load_profile(str(tmp_path / "a.yaml"), all_checks())


def test_unknown_parameter_names_the_file_and_check(tmp_path: Path):
    p = write(
        tmp_path,
        "p.yaml",
        "profile: p\nextends: base\nparams:\n  services.unexpected: {allow: [ssh]}\n",
    )
    with pytest.raises(
        ConfigError,
        match=r"p\.yaml line 4: params\.services\.unexpected: unknown parameter\(s\) allow",
    ):
        load_profile(str(p), all_checks())


def test_bad_allowed_entry_is_rejected_at_load(tmp_path: Path):
    p = write(
        tmp_path, "p.yaml", "profile: p\nparams:\n  services.unexpected: {allowed: ['tcp/99999']}\n"
    )
    with pytest.raises(ConfigError, match="ports must be 1-65535"):
        load_profile(str(p), all_checks())


def test_unknown_check_in_params_or_accepted(tmp_path: Path):
    p = write(tmp_path, "p.yaml", "profile: p\nparams:\n  creds.nope: {}\n")
    with pytest.raises(ConfigError, match=r"unknown check 'creds\.nope'"):
        load_profile(str(p), all_checks())


def test_broken_yaml_gives_a_line_not_a_traceback(tmp_path: Path):
    p = write(tmp_path, "p.yaml", "profile: p\nparams: [\n")
    with pytest.raises(ConfigError, match=r"p\.yaml line \d+"):
        load_profile(str(p), all_checks())


def test_accepted_needs_an_expiry_date(tmp_path: Path):
    p = write(
        tmp_path,
        "p.yaml",
        "profile: p\naccepted:\n  - {check: services.unexpected, reason: r, approved_by: x}\n",
    )
    with pytest.raises(
        ConfigError, match=r"p\.yaml line 3: accepted\[0\]\.expires: must be a date"
    ):
        load_profile(str(p), all_checks())


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ConfigError, match="acme-cam-200"):
        load_profile("no-such-profile", all_checks())


def test_catalog_check_catches_unknown_ids_and_roles_the_crosswalk_does_not_support():
    from scanner.judging.profiles import (
        Coverage,
        Framework,
        MappedCheck,
        Requirement,
        catalog_problems,
    )

    fw = Framework(
        "iec-62443-4-2",
        "t",
        (
            Requirement("CR 99.9", "nope", Coverage.PARTIAL),
            Requirement(
                "CR 7.7",
                "Least functionality",
                Coverage.PARTIAL,
                (MappedCheck("creds.default.ssh", "direct", "w"),),
            ),
            Requirement(
                "CR 7.6",
                "Network and security configuration settings",
                Coverage.PARTIAL,
                (MappedCheck("services.unexpected", "direct", "w"),),
            ),
        ),
        Path("fw.yaml"),
        "iec-62443-4-2.yaml",
        "iec-62443-4-2",
    )
    problems = catalog_problems(fw, all_checks())
    assert any("CR 99.9 is not in iec-62443-4-2.yaml" in p for p in problems)
    assert any("CR 7.7 maps creds.default.ssh" in p and "does not list" in p for p in problems)
    assert any("CR 7.6 maps services.unexpected as direct" in p for p in problems)


def test_an_impossible_date_is_a_config_error_not_a_traceback(tmp_path):
    from probes.registry import all_checks
    from scanner.errors import ConfigError
    from scanner.judging.profiles import load_profile

    bad = tmp_path / "p.yaml"
    bad.write_text(
        "profile: p\nextends: base\naccepted:\n"
        "  - {check: services.unexpected, reason: r, approved_by: a, expires: 2026-13-01}\n"
    )
    with pytest.raises(
        ConfigError, match=r"p\.yaml line 4: accepted\[0\]\.expires: must be a date .*'2026-13-01'"
    ):
        load_profile(str(bad), all_checks())
