"""A check is one place: every built-in check declares, in its probe module, a problem-first
title, its method, severity, crosswalk kind, remediation in English and Japanese and public
references; nothing else in the repository repeats them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from probes.registry import all_checks
from scanner.probe import Check, Severity

ROOT = Path(__file__).parents[2]
CHECKS = all_checks()
#: CWE IDs, RFCs, NIST SP 800-53 controls and protocol specifications by section
REFERENCE = re.compile(
    r"^(CWE-\d+|RFC \d+|NIST SP 800-53 [A-Z]{2}-\d+|MQTT [\d.]+ section [\d.]+)$"
)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize("cid", sorted(CHECKS))
def test_every_fact_of_a_check_is_declared(cid: str):
    check = CHECKS[cid]
    assert check.title.strip()
    assert check.method.strip()
    assert check.kind, "the crosswalk kind"
    assert check.remediation.en.strip()
    assert JAPANESE.search(check.remediation.ja), "remediation in Japanese"
    assert check.references
    assert all(REFERENCE.match(r) for r in check.references), check.references


def _declared_keywords() -> dict[str, set[str]]:
    """check ID -> the keywords its Check(...) call gives, from the probe modules' source."""
    out: dict[str, set[str]] = {}
    for path in (ROOT / "probes").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Check":
                kw = {k.arg for k in node.keywords if k.arg}
                cid = next((k.value for k in node.keywords if k.arg == "id"), None)
                if isinstance(cid, ast.Constant) and isinstance(cid.value, str):
                    out[cid.value] = kw
                elif not kw:  # a helper's positional call: every fact passed through
                    out[f"<{path.name}:{node.lineno}>"] = {"positional"}
    return out


def test_severity_is_chosen_never_the_default():
    """Severity has a default for plugins; a built-in check states its own."""
    declared = _declared_keywords()
    defaulted = sorted(
        cid for cid, kw in declared.items() if "positional" not in kw and "severity" not in kw
    )
    assert defaulted == []
    assert {c.severity for c in CHECKS.values()} == set(Severity)  # the scale is used


def test_nothing_else_repeats_a_checks_facts():
    """No remediation file, no Japanese name table and no prefix-to-kind table outside the
    checks: the reports read them from `ReportData.checks`."""
    assert not (ROOT / "reports" / "remediation.yaml").exists()
    for path in [*(ROOT / "reports").rglob("*.py"), *(ROOT / "scanner").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for check in CHECKS.values():
            if len(check.remediation.en) > 30:
                assert check.remediation.en not in text, (path, check.id)


def test_a_check_without_the_new_facts_still_loads():
    """Plugins written before severity, remediation and references keep working."""
    old = Check("acme.thing", "The thing is exposed", "GET /thing")
    assert (old.severity, old.kind, old.references) == (Severity.MEDIUM, "", ())
