"""Manual evidence: what a person states for requirements a network cannot show.

A YAML file (`format: shinsa-evidence/1`) lists statements: who (`by`) says what
(`statement`) about which requirement, when (`date`) and on the strength of which document
(`document`), optionally for some devices only (addresses or labels). The scan never checks a
statement; the report lists it as manual evidence, apart from measured results, and the
assessment only lets it lift a requirement nothing measured from `not_assessed` to
`partially_assessed` (the rules are in `scanner/assess.py`).

Errors name the file, the line and the field; requirement IDs are checked against the
profile's frameworks, so a typo (`CR 3.02`) is caught before a report claims evidence for a
requirement that does not exist.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import yaml

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from scanner.model import JSONValue
    from scanner.profiles import Profile
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


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates left as text: `_date` reads them, so 2026-13-01 is an error that
    names its line instead of a ValueError from inside the YAML library."""


def _as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _parse(path: Path) -> tuple[Any, yaml.Node | None, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    loader = _Loader(raw)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{where}: {problem}") from None
    finally:
        loader.dispose()
    return data, node, hashlib.sha256(raw).hexdigest()


def _key_lines(node: yaml.Node) -> dict[str, int]:
    """Each key of a mapping node -> the line its value starts on."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): _line(v) for k, v in node.value}


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise ConfigError(f"{where}: longer than {MAX_TEXT} characters")
    return value.strip()


def _date(value: object, where: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: must be a date (YYYY-MM-DD)")


def _at(path: Path, index: int, node: yaml.Node, key: str) -> str:
    """`FILE line N: statements[I].KEY`, N the line of that field (of the entry without it)."""
    line = _key_lines(node).get(key, _line(node))
    return f"{path} line {line}: statements[{index}].{key}"


def _hint(rid: str, known: set[str]) -> str:
    """IEC 62443-4-2's CR 3.2 is a heading over SAR/EDR/HDR/NDR 3.2: name those."""
    number = rid.split(" ", 1)[-1]
    near = sorted(k for k in known if k.split(" ", 1)[-1] == number)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def _requirement_ids(profile: Profile) -> dict[str, set[str]]:
    return {fw.id: {r.id for r in fw.requirements} for fw, _ in profile.frameworks}


def load_evidence(path: Path, profile: Profile) -> EvidenceFile:
    """A `shinsa-evidence/1` file, every statement checked against the profile's frameworks."""
    data, root, digest = _parse(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT or root is None:
        raise ConfigError(f"{path}: not a manual evidence file (expected format: {FORMAT})")
    lines = _key_lines(root)
    extra = sorted(set(map(str, data)) - {"format", "statements"})
    if extra:
        raise ConfigError(f"{path} line {lines[extra[0]]}: unknown key(s) {', '.join(extra)}")
    raw = data.get("statements")
    if not isinstance(raw, list):
        where = f"line {lines['statements']}: " if "statements" in lines else ""
        raise ConfigError(f"{path}: {where}'statements' must be a list")
    nodes = next(v.value for k, v in root.value if k.value == "statements")
    known = _requirement_ids(profile)
    out: list[Statement] = []
    for i, (entry, node) in enumerate(zip(raw, nodes, strict=True)):
        where = f"{path} line {_line(node)}: statements[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        at = functools.partial(_at, path, i, node)
        unknown = sorted(set(map(str, entry)) - set(_FIELDS))
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
                date=_date(entry.get("date"), at("date")),
                document=_text(entry, "document", at("document")),
                devices=tuple(d.strip() for d in devices),
                source=f"{path.name} line {_line(node)}",
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
