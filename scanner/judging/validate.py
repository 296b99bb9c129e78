"""`shinsa validate`: every built-in framework, profile and credential list, and the files a
user names, each read as what its `format:` says (or, for a framework file, its `framework:`).
`--strict` also lists what a report would leave out: requirements nobody has authored.
Above `profiles` and `manual`, which it reads both of (kept out of `profiles` so that
profiles and manual evidence do not import each other)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner import credential_lists, plugin_data, yaml_typed
from scanner.errors import ConfigError
from scanner.judging import manual
from scanner.judging.profiles import (
    BUILTIN_DIR,
    CHECK_ID,
    Framework,
    Profile,
    catalog_problems,
    framework_paths,
    load_framework,
    load_profile,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from scanner.probe import Check


def unauthored(framework: Framework) -> list[str]:
    """`--strict`: each requirement of `framework` nobody has authored (`title: null`), which
    every report leaves out until someone writes its title from the standard's text."""
    return [
        f"{framework.path}{f' line {r.line}' if r.line else ''}: requirement {r.id} has no "
        "title (not authored): reports leave it out until its title is written"
        for r in framework.requirements
        if not r.authored
    ]


def validate_all(
    checks: Mapping[str, Check], extra: Sequence[Path] = (), *, strict: bool = False
) -> list[str]:
    """Every built-in framework and profile (and `extra` files): a list of problems, empty
    when all is well. Also: every registered check is mapped by some framework, and no two
    framework files claim the same framework ID. `strict` adds the requirements nobody has
    authored (`unauthored`)."""
    problems: list[str] = []
    mapped: set[str] = set()
    ids: dict[str, Path] = {}
    for fpath in framework_paths():
        try:
            fw = load_framework(fpath, checks)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if fw.id in ids:
            problems.append(f"{fpath}: framework {fw.id} is also defined in {ids[fw.id]}")
        ids.setdefault(fw.id, fpath)
        mapped |= {m.check for r in fw.requirements for m in r.checks}
        if fpath.is_relative_to(BUILTIN_DIR):  # a plugin's framework has no catalog here
            problems += catalog_problems(fw, checks)
        if strict:
            problems += unauthored(fw)
    for cid in sorted(set(checks) - mapped):
        problems.append(f"check {cid} is not mapped by any framework")
    for cid in checks:
        if not CHECK_ID.match(cid):
            problems.append(f"check ID {cid!r} does not match {CHECK_ID.pattern}")
    refs = [str(p) for p in BUILTIN_DIR.glob("*.yaml")]
    refs += [str(p) for p in (BUILTIN_DIR / "devices").glob("*.yaml")]
    refs += [
        str(p)
        for d in plugin_data.profile_dirs()
        for sub in (d, d / "devices")
        for p in sub.glob("*.yaml")
    ]
    for ref in refs:
        try:
            load_profile(ref, checks)
        except ConfigError as exc:
            problems.append(str(exc))
    for path in sorted((BUILTIN_DIR / "credentials").glob("*.yaml")):
        try:
            credential_lists.load_list(path)
        except ConfigError as exc:
            problems.append(str(exc))
    for path in extra:
        try:
            named = _validate_file(path, checks)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if strict and named is not None:
            problems += unauthored(named)
    return problems


def _validate_file(path: Path, checks: Mapping[str, Check]) -> Framework | None:
    """A file given to `shinsa validate`, read as what its `format:` says: a credential list,
    a manual evidence file (its requirement IDs against every built-in framework), a framework
    (a `framework:` key; returned, for `--strict`), else a profile."""
    from scanner import credential_lists

    data, _ = yaml_typed.read(path)
    kind = data.get("format") if isinstance(data, dict) else None
    if isinstance(data, dict) and kind is None and "framework" in data:
        return load_framework(path, checks)
    if kind == credential_lists.FORMAT:
        credential_lists.load_list(path, user=True)
    elif kind == manual.FORMAT:
        frameworks = tuple((load_framework(f, checks), None) for f in framework_paths())
        every = Profile("every built-in framework", "", frameworks, {}, (), False, ())
        manual.load_evidence(path, every)
    else:
        load_profile(str(path), checks)
    return None
