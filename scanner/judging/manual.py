"""Manual evidence: what a person states for requirements a network cannot show.

A YAML file (`format: shinsa-evidence/1`) lists statements: who (`by`) says what
(`statement`) about which requirement, when (`date`) and on the strength of which document
(`document`), optionally for some devices only (addresses or labels). The scan never checks a
statement; the report lists it as manual evidence, apart from measured results, and the
assessment only lets it lift a requirement nothing measured from `not_assessed` to
`partially_assessed` (the rules are in `scanner/judging/assess.py`).

Errors name the file, the line and the field; requirement IDs are checked against the
profile's frameworks, so a typo (`CR 3.02`) is caught before a report claims evidence for a
requirement that does not exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from scanner import yaml_typed
from scanner.errors import ConfigError
from scanner.yaml_typed import Mark

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from scanner.judging.profiles import Profile
    from scanner.model import JSONValue
    from scanner.store import Store

FORMAT = "shinsa-evidence/1"
MAX_TEXT = 2000  # a statement is a sentence or a paragraph, not the document itself
_FIELDS = ("requirement", "framework", "statement", "by", "date", "document", "devices")
_REQUIRED = ("requirement", "framework", "statement", "by", "date", "document")


@dataclass(frozen=True, slots=True)
class Statement:
    """One person's statement about one requirement."""

    framework: str
    requirement: str
    statement: str
    by: str
    date: date
    document: str
    devices: tuple[str, ...] = ()  # addresses or labels; () = every device of the run
    source: str = ""  # "FILE line N", where it was written

    def applies_to(self, address: str, label: str) -> bool:
        return (
            not self.devices or address in self.devices or (bool(label) and label in self.devices)
        )


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A loaded file: what it said and the digest of the bytes it said it in."""

    path: str
    sha256: str
    statements: tuple[Statement, ...]


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        # `requirement: 3.10` is the number 3.1 to YAML: say so rather than look it up
        raise ConfigError(f"{where}: must be a non-empty string, not {yaml_typed.describe(value)}")
    if not value.strip():
        raise ConfigError(f"{where}: must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise ConfigError(f"{where}: longer than {MAX_TEXT} characters")
    return value.strip()


def _at(path: Path, index: int, entry: object, key: str) -> str:
    """`FILE line N: statements[I].KEY`, N the line of that field (of the entry without it)."""
    return f"{yaml_typed.at(entry, key, Mark(path))}: statements[{index}].{key}"


def _hint(rid: str, known: set[str]) -> str:
    """IEC 62443-4-2's CR 3.2 is a heading over SAR/EDR/HDR/NDR 3.2: name those."""
    number = rid.split(" ", 1)[-1]
    near = sorted(k for k in known if k.split(" ", 1)[-1] == number)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def _requirement_ids(profile: Profile) -> dict[str, set[str]]:
    return {fw.id: {r.id for r in fw.requirements} for fw, _ in profile.frameworks}


def load_evidence(path: Path, profile: Profile) -> EvidenceFile:
    """A `shinsa-evidence/1` file, every statement checked against the profile's frameworks."""
    data, digest = yaml_typed.read(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a manual evidence file (expected format: {FORMAT})")
    top = Mark(path)
    extra = sorted(set(data) - {"format", "statements"})
    if extra:
        raise ConfigError(
            f"{yaml_typed.at(data, extra[0], top)}: unknown key(s) {', '.join(extra)}"
        )
    raw = data.get("statements")
    if not isinstance(raw, list):
        mark = yaml_typed.at(data, "statements")
        where = f"line {mark.line}: " if mark is not None and "statements" in data else ""
        raise ConfigError(f"{path}: {where}'statements' must be a list")
    known = _requirement_ids(profile)
    out: list[Statement] = []
    for i, entry in enumerate(raw):
        mark = yaml_typed.at(raw, i, top) or top
        where = f"{mark}: statements[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        at = functools.partial(_at, path, i, entry)
        unknown = sorted(set(entry) - set(_FIELDS))
        if unknown:
            raise ConfigError(
                f"{at(unknown[0])}: unknown field(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(_FIELDS)})"
            )
        missing = [k for k in _REQUIRED if k not in entry]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        fid = _text(entry, "framework", at("framework"))
        rid = _text(entry, "requirement", at("requirement"))
        if fid not in known:
            raise ConfigError(
                f"{at('framework')}: {fid!r} is not a framework of profile {profile.id} "
                f"(its frameworks: {', '.join(sorted(known))})"
            )
        if rid not in known[fid]:
            raise ConfigError(
                f"{at('requirement')}: {fid} has no requirement {rid!r}{_hint(rid, known[fid])}"
            )
        devices = entry.get("devices") or []
        if not isinstance(devices, list) or not all(
            isinstance(d, str) and d.strip() for d in devices
        ):
            raise ConfigError(f"{at('devices')}: must be a list of addresses or labels")
        out.append(
            Statement(
                framework=fid,
                requirement=rid,
                statement=_text(entry, "statement", at("statement")),
                by=_text(entry, "by", at("by")),
                date=yaml_typed.date_of(
                    entry.get("date"), yaml_typed.at(entry, "date"), f"statements[{i}].date"
                ),
                document=_text(entry, "document", at("document")),
                devices=tuple(d.strip() for d in devices),
                source=f"{path.name} line {mark.line}" if mark.line else path.name,
            )
        )
    return EvidenceFile(str(path), digest, tuple(out))


# --- with the run in the store, and back -----------------------------------------------------


def statement_to_dict(s: Statement) -> dict[str, JSONValue]:
    return {
        "framework": s.framework,
        "requirement": s.requirement,
        "statement": s.statement,
        "by": s.by,
        "date": s.date.isoformat(),
        "document": s.document,
        "devices": list(s.devices),
        "source": s.source,
    }


def statement_from_dict(d: Mapping[str, Any]) -> Statement:
    return Statement(
        framework=str(d["framework"]),
        requirement=str(d["requirement"]),
        statement=str(d["statement"]),
        by=str(d["by"]),
        date=date.fromisoformat(str(d["date"])),
        document=str(d["document"]),
        devices=tuple(str(x) for x in d.get("devices") or ()),
        source=str(d.get("source", "")),
    )


def save(store: Store, run_id: str, files: Iterable[EvidenceFile]) -> None:
    for f in files:
        store.add_evidence(run_id, f.path, f.sha256, [statement_to_dict(s) for s in f.statements])


def stored(store: Store, run_id: str) -> tuple[EvidenceFile, ...]:
    """The evidence files kept with a run, as they were when given."""
    return tuple(
        EvidenceFile(path, sha256, tuple(statement_from_dict(d) for d in data))
        for path, sha256, data in store.evidence(run_id)
    )


def merge(files: Iterable[EvidenceFile]) -> tuple[EvidenceFile, ...]:
    """Files in order, a file whose bytes were given before dropped (the same file passed
    at scan time and again to `report`)."""
    seen: set[str] = set()
    out: list[EvidenceFile] = []
    for f in files:
        if f.sha256 not in seen:
            seen.add(f.sha256)
            out.append(f)
    return tuple(out)


def statements(files: Sequence[EvidenceFile]) -> tuple[Statement, ...]:
    return tuple(s for f in files for s in f.statements)


def numbered(files: Sequence[EvidenceFile]) -> dict[Statement, str]:
    """Each statement's ID in a report, `M1`, `M2` … in the order given (a repeated
    statement keeps its first ID)."""
    ids: dict[Statement, str] = {}
    for s in statements(files):
        ids.setdefault(s, f"M{len(ids) + 1}")
    return ids
