"""The lifecycle profiles of the source guidebook (manufacturing → `acceptance`, installation,
operation) and a per-model profile extending `acceptance`."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest

from probes.registry import all_checks
from scanner.judging.assess import Status, assess
from scanner.judging.profiles import Coverage, load_profile
from scanner.judging.validate import validate_all
from scanner.model import Result, Service, Verdict

if TYPE_CHECKING:
    from scanner.judging.profiles import Framework, Profile

LIFECYCLE = ("acceptance", "installation", "operation")


@pytest.fixture(scope="module")
def checks():
    return all_checks()


def test_the_lifecycle_and_model_profiles_validate(checks):
    # (problems elsewhere, such as a new check no framework maps yet, are test_profiles' part)
    ours = (*(f"{n}.yaml" for n in LIFECYCLE), "acme-cam-200.yaml")
    assert [p for p in validate_all(checks) if any(name in p for name in ours)] == []


@pytest.mark.parametrize("name", LIFECYCLE)
def test_each_lifecycle_profile_extends_base_and_keeps_its_frameworks(checks, name):
    profile = load_profile(name, checks)
    base = load_profile("base", checks)
    assert profile.id == name
    assert [p for p, _ in profile.files[:2]] == [f"profiles/{name}.yaml", "profiles/base.yaml"]
    assert [(fw.id, level) for fw, level in profile.frameworks] == [
        (fw.id, level) for fw, level in base.frameworks
    ]
    assert profile.digest != base.digest


def _iec(profile: Profile) -> tuple[Framework, int | None]:
    return next((fw, level) for fw, level in profile.frameworks if fw.id == "iec-62443-4-2")


def test_installation_covers_what_the_guidebook_says_an_installer_switches_on(checks):
    profile = load_profile("installation", checks)
    fw, level = _iec(profile)
    selected = {r.id: r for r in fw.selected(level)}
    # identification and authentication, initial authenticator change, password strength,
    # lockout; CR 3.2 (malware protection) is a heading: for an embedded device it is EDR 3.2
    for rid in ("CR 1.1", "CR 1.2", "CR 1.5", "CR 1.7", "CR 1.11", "EDR 3.2"):
        assert rid in selected, rid
    assert "auth.lockout" in selected["CR 1.11"].direct
    assert any(c.startswith("creds.default.") for c in selected["CR 1.5"].direct)
    assert selected["EDR 3.2"].coverage is Coverage.NONE  # a person's evidence


def test_lockout_is_tested_at_acceptance_and_installation_never_in_operation(checks):
    acceptance, installation, operation = (load_profile(n, checks) for n in LIFECYCLE)
    assert acceptance.allow_intrusive
    assert installation.allow_intrusive
    assert not operation.allow_intrusive
    for profile in (acceptance, installation):
        lockout = profile.params["auth.lockout"]
        assert lockout.max_attempts == 5  # type: ignore[attr-defined]


def test_thresholds_are_check_parameters(checks):
    acceptance = load_profile("acceptance", checks)
    operation = load_profile("operation", checks)
    assert acceptance.params["tls.versions"].min_version == "TLSv1.2"  # type: ignore[attr-defined]
    assert acceptance.params["web.hsts"].min_max_age == 15_552_000  # type: ignore[attr-defined]
    assert acceptance.params["tls.cert.validity"].min_days_left == 365  # type: ignore[attr-defined]
    installation = load_profile("installation", checks)
    idle = installation.params["session.idle-timeout"]
    assert idle.max_idle_seconds == 300  # type: ignore[attr-defined]
    assert "session.idle-timeout" not in operation.params  # needs a login; skipped
    # a scheduled scan warns a month before a certificate expires
    assert operation.params["tls.cert.validity"].min_days_left == 30  # type: ignore[attr-defined]


def test_a_model_profile_extends_acceptance_and_narrows_it(checks):
    profile = load_profile("acme-cam-200", checks)
    assert [p.rsplit("/", 1)[-1] for p, _ in profile.files[:3]] == [
        "acme-cam-200.yaml",
        "acceptance.yaml",
        "base.yaml",
    ]
    assert profile.allow_intrusive  # from acceptance
    assert profile.params["tls.cert.validity"].min_days_left == 365  # type: ignore[attr-defined]
    assert profile.params["auth.lockout"].max_attempts == 5  # type: ignore[attr-defined]
    assert profile.params["services.unexpected"].allowed == (  # type: ignore[attr-defined]
        "tcp/443 https",
        "tcp/22 ssh",
        "tcp/554 rtsp",
    )
    # the default-login checks stay below the camera's lockout: 3 tries per account
    assert profile.params["creds.default.ssh"].per_account == 3  # type: ignore[attr-defined]


def test_a_model_deviation_holds_until_its_expiry_then_fails_again(checks):
    profile = load_profile("acme-cam-200", checks)
    ssdp = Service("udp", 1900, "ssdp")
    fail = Result("services.unexpected", "127.0.10.3", ssdp, Verdict.FAIL, "udp/1900 is open")

    def cr77(today: date) -> Status:
        a = assess([fail], profile, ["127.0.10.3"], today=today)
        return next(
            s.status
            for s in a.statuses
            if s.framework == "iec-62443-4-2" and s.requirement.id == "CR 7.7"
        )

    assert cr77(date(2027, 6, 30)) is Status.PARTIALLY_ASSESSED  # accepted, partial coverage
    assert cr77(date(2027, 7, 1)) is Status.NOT_SATISFIED  # expired: the fail counts again
