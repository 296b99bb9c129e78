"""What every machine format says about a failed result besides its verdict: the check's
severity (and why), the fix for this finding in both report languages, and its references
(the check's weakness IDs and specifications, then the requirement clauses of the profile it
is evidence for). One place, so JSON, CSV, SARIF, JUnit and OSCAL never disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.model import Verdict

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scanner.judging.assess import Assessment
    from scanner.judging.profiles import Framework
    from scanner.judging.report_data import ReportData
    from scanner.model import Result
    from scanner.probe import Check, Severity


CWE = re.compile(r"^CWE-(\d+)$", re.I)
_RFC = re.compile(r"^RFC (\d+)$", re.I)
#: public pages for references that are not a CWE or an RFC, by prefix
_REFERENCE_PAGES = (
    ("NIST SP 800-53", "https://csrc.nist.gov/pubs/sp/800/53/r5/upd1/final"),
    ("NIST SP 800-52 Rev. 2", "https://csrc.nist.gov/pubs/sp/800/52/r2/final"),
    ("NIST SP 800-131A Rev. 2", "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"),
    ("MQTT 3.1.1", "https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html"),
    ("MQTT 5.0", "https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html"),
)


def reference_url(reference: str) -> str | None:
    """A public page for a reference: MITRE's for a CWE, the RFC Editor's for an RFC."""
    if m := CWE.match(reference):
        return f"https://cwe.mitre.org/data/definitions/{int(m.group(1))}.html"
    if m := _RFC.match(reference):
        return f"https://www.rfc-editor.org/rfc/rfc{int(m.group(1))}"
    return next((url for prefix, url in _REFERENCE_PAGES if reference.startswith(prefix)), None)


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    severity_reason: str
    remedy_en: str
    remedy_ja: str
    references: tuple[str, ...]  # CWE IDs first, then other specifications, then clauses


# A designator token: has a digit ("62443-4-2:2019", "V2.1.1") or is a capitalised
# abbreviation ("IEC", "JC-STAR"); "Rev." keeps the revision number that follows it.
_ABBREVIATION = re.compile(r"^[A-Z][A-Z0-9-]*$")


def citation(fw: Framework) -> str:
    """How a reader cites the framework: the standard's designator from its title
    ("IEC 62443-4-2:2019 Technical ..." -> "IEC 62443-4-2"), else its ID."""
    words: list[str] = []
    for token in fw.title.split():
        if token.lower() in ("rev.", "rev"):
            words.append(token)
            continue
        if not (_ABBREVIATION.match(token) or any(c.isdigit() for c in token)):
            break
        head, colon, _ = token.partition(":")  # ":2019" is the edition, ": Protecting" prose
        words.append(head)
        if colon:
            break
    text = " ".join(w for w in words if w)
    return text or fw.id


def clauses(assessment: Assessment) -> dict[str, tuple[str, ...]]:
    """check ID -> the requirement clauses of the profile it gives evidence for, direct ones
    first, in profile order ("IEC 62443-4-2 CR 7.7")."""
    direct: dict[str, list[str]] = {}
    supporting: dict[str, list[str]] = {}
    for fw, level in assessment.profile.frameworks:
        name = citation(fw)
        for req in fw.selected(level):
            for cid in req.direct:
                direct.setdefault(cid, []).append(f"{name} {req.id}")
            for cid in req.supporting:
                supporting.setdefault(cid, []).append(f"{name} {req.id}")
    return {
        cid: tuple(dict.fromkeys([*direct.get(cid, ()), *supporting.get(cid, ())]))
        for cid in {*direct, *supporting}
    }


def check_references(check: Check) -> tuple[str, ...]:
    """The check's own references, CWE IDs first (code-scanning tools and SIEMs key on them)."""
    cwe = [r for r in check.references if r.upper().startswith("CWE-")]
    return (*cwe, *(r for r in check.references if r not in cwe))


def finding(check: Check, result: Result, cited: Mapping[str, tuple[str, ...]]) -> Finding:
    """The severity, fix and references of `result`, a result of `check`."""
    remedy = check.remedy_for(result)
    return Finding(
        check.severity,
        check.severity_reason,
        remedy.en,
        remedy.ja,
        tuple(dict.fromkeys([*check_references(check), *cited.get(check.id, ())])),
    )


@dataclass(frozen=True, slots=True)
class Findings:
    """The findings of one report: `of(result)` for a failed result of a known check."""

    checks: Mapping[str, Check]
    cited: Mapping[str, tuple[str, ...]]

    @classmethod
    def of_report(cls, data: ReportData) -> Findings:
        return cls(data.checks, clauses(data.assessment))

    def of(self, result: Result) -> Finding | None:
        """None unless the result failed: a pass or an undecided result has no fix to make
        (and a check no longer registered has no declared severity)."""
        check = self.checks.get(result.check_id)
        if result.verdict is not Verdict.FAIL or check is None:
            return None
        return finding(check, result, self.cited)

    def references(self, check: Check) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*check_references(check), *self.cited.get(check.id, ())]))
