"""--checks/--exclude-checks: only the selected checks are planned (with the probes that
provide what they need), a pattern that matches nothing is a usage error, and what was
left out reads as not assessed, never as passed."""

from __future__ import annotations

import pytest

from probes.registry import REGISTRY, all_checks
from scanner.errors import ConfigError
from scanner.judging.assess import JudgedResult, Status, status_of
from scanner.judging.profiles import Coverage, MappedCheck, Requirement
from scanner.model import Result, Service, Verdict
from scanner.plan import plan, select_checks

KNOWN = sorted(all_checks())
HTTP = Service("tcp", 80, "http")
SSH = Service("tcp", 22, "ssh")


def test_globs_select_and_exclude_checks():
    chosen = select_checks(KNOWN, ["creds.default.*", "ssh.kex"], ["creds.default.rtsp"])
    assert "creds.default.ssh" in chosen
    assert "ssh.kex" in chosen
    assert "creds.default.rtsp" not in chosen
    assert "ssh.ciphers" not in chosen
    # only exclusions: every other check
    rest = select_checks(KNOWN, [], ["tls.*"])
    assert rest == {c for c in KNOWN if not c.startswith("tls.")}


@pytest.mark.parametrize(
    ("chosen", "left_out", "message"),
    [
        (["creds.defualt.*"], [], "--checks 'creds.defualt.\\*' matches no check"),
        (["ssh.kex"], ["nothing.*"], "--exclude-checks 'nothing.\\*' matches no check"),
        (["ssh.kex"], ["ssh.*"], "leave no check to run"),
    ],
)
def test_a_pattern_matching_nothing_is_a_usage_error(
    chosen: list[str], left_out: list[str], message: str
):
    with pytest.raises(ConfigError, match=message):
        select_checks(KNOWN, chosen, left_out)


def _planned(selected: frozenset[str] | None) -> set[str]:
    jobs = plan(REGISTRY, [HTTP, SSH], address="127.0.10.1", selected=selected)
    return {f"{type(j.probe).__name__}@{j.service_key}" for j in jobs}


def test_only_selected_checks_are_planned_with_the_probes_providing_their_facts():
    everything = _planned(None)
    assert _planned(frozenset({"ssh.kex"})) == {"SshConfig@tcp/22"}
    # a session check needs a login first: the login probes and the login-surface finder
    # that provide what it uses are planned too (their own results are not kept)
    session = _planned(frozenset({"session.logout"}))
    assert "WebSessionChecks@tcp/80" in session
    assert "DefaultHttpLogin@tcp/80" in session
    assert "LoginSurfaces@tcp/80" in session
    assert "TlsQuality@tcp/80" not in session
    assert "SshConfig@tcp/22" not in session
    assert session < everything


def _req(*checks: str) -> Requirement:
    return Requirement(
        "CR 1.1", "x", Coverage.FULL, tuple(MappedCheck(c, "direct", "why") for c in checks)
    )


def _pass(check: str) -> JudgedResult:
    return JudgedResult(Result(check, "127.0.10.1", SSH, Verdict.PASS, "ok"))


def test_a_requirement_with_checks_left_out_is_never_satisfied():
    both = _req("ssh.kex", "ssh.ciphers")
    assert status_of(both, [_pass("ssh.kex"), _pass("ssh.ciphers")])[0] is Status.SATISFIED
    status, reason, reason_ja = status_of(both, [_pass("ssh.kex")], left_out={"ssh.ciphers"})
    assert status is Status.PARTIALLY_ASSESSED
    assert "left out ssh.ciphers" in reason
    assert "ssh.ciphers を対象外" in reason_ja
    # every direct check left out: nothing measured
    status, _, _ = status_of(both, [], left_out={"ssh.kex", "ssh.ciphers"})
    assert status is Status.NOT_ASSESSED
    # a fail of a check that ran still decides
    failed = JudgedResult(Result("ssh.kex", "127.0.10.1", SSH, Verdict.FAIL, "weak"))
    assert status_of(both, [failed], left_out={"ssh.ciphers"})[0] is Status.NOT_SATISFIED
