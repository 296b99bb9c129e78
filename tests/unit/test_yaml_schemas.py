"""The JSON Schemas of the YAML files a person writes (profiles/schema/, for editors that
validate while typing): every shipped profile, framework, credential list and the example
evidence file passes its schema, and a broken file fails both its schema and shinsa's own
loader, so the two say the same thing about what a file may hold."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scanner import yaml_typed
from scanner.credential_lists import load_list
from scanner.errors import ConfigError
from scanner.judging.manual import load_evidence
from scanner.judging.profiles import load_framework, load_profile
from scanner.plugins import installed

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "profiles" / "schema"
KINDS = ("profile", "framework", "evidence", "credentials")
_HEADER = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\r?\n)*")


def _validator(kind: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _document(path: Path) -> Any:
    """As shinsa reads it: dates stay text (yaml_typed); the imported credential data sets
    are JSON after their comment header."""
    text = path.read_text(encoding="utf-8")
    body = text[_HEADER.match(text).end() :]  # type: ignore[union-attr]
    if body.startswith("{"):
        return json.loads(body)
    return yaml_typed.parse(text, path)


def _kind(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    if document.get("format") == "shinsa-credentials/1":
        return "credentials"
    if document.get("format") == "shinsa-evidence/1":
        return "evidence"
    if "framework" in document and "requirements" in document:
        return "framework"
    if "profile" in document:
        return "profile"
    return None


def _shipped() -> list[Path]:
    places = [ROOT / "profiles", ROOT / "examples"]
    return sorted(
        p
        for place in places
        for p in place.rglob("*.yaml")
        if "standards" not in p.relative_to(ROOT).parts  # catalogs: not written by users
    )


def test_every_schema_is_a_valid_draft_2020_12_schema():
    for kind in KINDS:
        schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)


def test_every_shipped_file_passes_its_schema():
    seen: dict[str, int] = dict.fromkeys(KINDS, 0)
    for path in _shipped():
        document = _document(path)
        kind = _kind(document)
        if kind is None:
            continue  # a declarative check (shinsa-check/1) or personality: other formats
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _validator(kind).iter_errors(document)
        ]
        assert errors == [], f"{path.relative_to(ROOT)} ({kind}): {errors[:3]}"
        seen[kind] += 1
    # every kind was exercised: the built-in profiles, frameworks and lists, the example
    assert seen["profile"] >= 8
    assert seen["framework"] >= 6
    assert seen["credentials"] >= 4
    assert seen["evidence"] >= 1


GOOD_PROFILE = """\
profile: site
extends: base
frameworks:
  iec-62443-4-2: {security_level: 2}
accepted:
  - check: services.unexpected
    service: udp/1900
    reason: SSDP for ONVIF.
    approved_by: QA-1
    expires: 2027-06-30
"""
GOOD_FRAMEWORK = """\
framework: site-rules
title: Site rules
requirements:
  - id: R1
    title: No Telnet
    coverage: full
    checks:
      - {check: services.unexpected, role: direct, why: An open port is seen.}
"""
GOOD_EVIDENCE = """\
format: shinsa-evidence/1
statements:
  - requirement: EDR 3.2
    framework: iec-62443-4-2
    statement: Signed firmware only.
    by: QA
    date: 2026-11-20
    document: DOC-1
"""
GOOD_CREDENTIALS = """\
format: shinsa-credentials/1
credentials:
  - protocols: [ssh]
    pairs: [[admin, admin]]
    source: our fleet
"""

BROKEN = [
    ("profile", GOOD_PROFILE.replace("extends:", "extend:")),
    ("profile", GOOD_PROFILE.replace("    expires: 2027-06-30\n", "")),
    ("profile", GOOD_PROFILE.replace("security_level: 2", "security_level: 5")),
    ("profile", GOOD_PROFILE + "allow_intrusive: 'yes'\n"),
    ("profile", GOOD_PROFILE + "test_account: {username: qa, password: hunter2}\n"),
    ("framework", GOOD_FRAMEWORK.replace("coverage: full", "coverage: most")),
    ("framework", GOOD_FRAMEWORK.replace("coverage: full", "coverage: none")),
    ("framework", GOOD_FRAMEWORK.replace("role: direct", "role: main")),
    ("framework", GOOD_FRAMEWORK.replace(", why: An open port is seen.", "")),
    ("evidence", GOOD_EVIDENCE.replace("    by: QA\n", "")),
    ("evidence", GOOD_EVIDENCE.replace("date: 2026-11-20", "date: last week")),
    ("evidence", GOOD_EVIDENCE + "    signed: yes\n"),
    ("credentials", GOOD_CREDENTIALS.replace("[ssh]", "[smtp]")),
    ("credentials", GOOD_CREDENTIALS.replace("    source: our fleet\n", "")),
    ("credentials", GOOD_CREDENTIALS.replace("[[admin, admin]]", "[[admin]]")),
    ("credentials", GOOD_CREDENTIALS.replace("[[admin, admin]]", '[[admin, "a\\r\\nb"]]')),
]


def _load(kind: str, path: Path) -> object:
    """shinsa's own loader for the kind."""
    checks = installed().checks()
    if kind == "profile":
        return load_profile(str(path), checks)
    if kind == "framework":
        return load_framework(path, checks)
    if kind == "evidence":
        return load_evidence(path, load_profile("base", checks))
    return load_list(path, user=True)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("profile", GOOD_PROFILE),
        ("framework", GOOD_FRAMEWORK),
        ("evidence", GOOD_EVIDENCE),
        ("credentials", GOOD_CREDENTIALS),
    ],
)
def test_a_good_file_passes_both_the_schema_and_the_loader(tmp_path: Path, kind: str, text: str):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    assert list(_validator(kind).iter_errors(_document(path))) == []
    _load(kind, path)


@pytest.mark.parametrize(("kind", "text"), BROKEN)
def test_a_broken_file_fails_both_the_schema_and_the_loader(tmp_path: Path, kind: str, text: str):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    assert list(_validator(kind).iter_errors(_document(path))), text
    with pytest.raises(ConfigError):
        _load(kind, path)


def test_the_editor_hint_is_documented_for_each_schema():
    readme = (ROOT / "profiles" / "README.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert "# yaml-language-server: $schema=" in readme
        assert f"schema/{kind}.schema.json" in readme, kind
    example = (ROOT / "examples" / "evidence" / "acme-cam-200.yaml").read_text(encoding="utf-8")
    assert example.startswith(
        "# yaml-language-server: $schema=../../profiles/schema/evidence.schema.json\n"
    )
