"""Profiles and frameworks: the mapping as data an auditor reads without Python.

A *framework* file lists requirements (CR x.y, 3.x.y), each with the checks that give evidence
for it, why, and how much a network scan can cover. A *profile* picks frameworks, sets the
parameters each check is judged by, records accepted deviations, and may extend another
profile. Everything here is validated when loaded: a mistake is a `ConfigError` naming the
file and the field, never a traceback mid-scan.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import ipaddress
import os
import re
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scanner import plugin_data, yaml_typed
from scanner.credentials import TestAccount, control_character
from scanner.errors import ConfigError
from scanner.judging import report_meta
from scanner.judging.report_meta import NO_META, ReportMeta

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import date

    from scanner.probe import Check, Params

BUILTIN_DIR = Path(str(resources.files("profiles")))


class Coverage(enum.StrEnum):
    # profiles/README.md, "What satisfied means", words these for a reader
    FULL = "full"  # its direct checks test all of it, for the scope it names: can be satisfied
    PARTIAL = "partial"  # the network shows part of it: never reported satisfied
    NONE = "none"  # needs a person's evidence


Role = Literal["direct", "supporting"]


@dataclass(frozen=True, slots=True)
class MappedCheck:
    check: str
    role: Role  # direct: a fail is a finding; supporting: shown as related evidence only
    why: str
    why_ja: str = ""  # `why` in Japanese, for `--lang ja`


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    title: str
    coverage: Coverage
    checks: tuple[MappedCheck, ...] = ()
    levels: tuple[int, ...] = ()  # IEC 62443 security levels at which it applies; () = all
    note: str = ""  # for the reader: why a network cannot assess it, or what else it needs
    # a withdrawn ID (SP 800-171 rev. 3 keeps them for traceability): the IDs now carrying it
    withdrawn_to: tuple[str, ...] | None = None
    line: int | None = field(default=None, compare=False)  # where it starts in its file
    ja: str = ""  # the source guidebook's name for it, a term (shown beside the title)
    title_ja: str = ""  # its title in Japanese (the official wording where one exists)
    note_ja: str = ""  # `note` in Japanese

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_to is not None

    @property
    def authored(self) -> bool:
        """False for a requirement whose subject nobody could establish (no `title`): it
        stays in the file for the catalog's completeness, out of every judgement and report,
        and `shinsa validate --strict` lists it."""
        return bool(self.title)

    @property
    def direct(self) -> tuple[str, ...]:
        return tuple(m.check for m in self.checks if m.role == "direct")

    @property
    def supporting(self) -> tuple[str, ...]:
        return tuple(m.check for m in self.checks if m.role == "supporting")


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    title: str
    requirements: tuple[Requirement, ...]
    path: Path
    #: the standard's requirement catalog (a file in profiles/standards) and its key in the
    #: crosswalk: a framework with a catalog must list every requirement of it, with the
    #: roles the crosswalk supports. None for a framework without one (a plugin's own).
    catalog: str | None = None
    crosswalk: str | None = None
    title_ja: str = ""  # the standard's title in Japanese

    def selected(self, level: int | None) -> tuple[Requirement, ...]:
        """The requirements judged at `level` (None: every level); never a withdrawn or an
        unauthored one."""
        return tuple(
            r
            for r in self.requirements
            if r.authored
            and not r.withdrawn
            and (level is None or not r.levels or level in r.levels)
        )

    @property
    def has_levels(self) -> bool:
        return any(r.levels for r in self.requirements)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A known deviation: a fail that a named person accepted until a date."""

    check: str
    reason: str
    approved_by: str
    expires: date
    target: str | None = None  # an address; None = every device
    service: str | None = None  # "tcp/23"; None = every service

    def covers(self, check_id: str, target: str, service_key: str) -> bool:
        return (
            self.check == check_id
            and (self.target is None or self.target == target)
            and (self.service is None or self.service == service_key)
        )

    def active(self, today: date) -> bool:
        return today <= self.expires


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    title: str
    frameworks: tuple[tuple[Framework, int | None], ...]  # framework and security level
    params: Mapping[str, Params]
    accepted: tuple[Accepted, ...]
    allow_intrusive: bool
    # (name, sha256) of every YAML file used; the name is `shown_path`'s, never a local
    # absolute path (reports handed to a customer carry it)
    files: tuple[tuple[str, str], ...]
    test_account: TestAccount | None = None
    digest: str = field(default="")
    level: int | None = None  # a security level given on the command line (--level), if any
    #: the report's title block (product, model, firmware, …): a child's fields over its parent's
    report: ReportMeta = NO_META

    def accepted_for(self, check_id: str, target: str, service_key: str) -> Accepted | None:
        return next((a for a in self.accepted if a.covers(check_id, target, service_key)), None)


#: a requirement ID of a framework file that names no `id_pattern`: one word at least
ANY_ID = r"^\S.*$"
_FRAMEWORK_KEYS = frozenset(
    {"framework", "title", "title_ja", "catalog", "crosswalk", "id_pattern", "requirements"}
)
CHECK_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9-]+)+$")
_REQUIREMENT_KEYS = {
    "id",
    "title",
    "title_ja",
    "ja",
    "levels",
    "coverage",
    "note",
    "note_ja",
    "checks",
    "withdrawn_to",
}
_CHECK_KEYS = {"check", "role", "why", "why_ja"}
PROFILE_KEYS = frozenset(
    {
        "profile",
        "title",
        "extends",
        "frameworks",
        "inherit_frameworks",
        "params",
        "accepted",
        "allow_intrusive",
        "test_account",
        "report",
    }
)
_ACCEPTED_KEYS = frozenset({"check", "reason", "approved_by", "expires", "target", "service"})


def _at(path: Path, node: object = None, key: str | int | None = None) -> str:
    """`FILE line N`: where a node (or one of its keys) was written, as far as it is known."""
    return str(yaml_typed.at(node, key if key is not None else -1, yaml_typed.Mark(path)))


def _read_yaml(path: Path) -> tuple[yaml_typed.Map, str]:
    return yaml_typed.read_mapping(path, "a profile or framework")


def _str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value


def load_framework(path: Path, checks: Mapping[str, Check]) -> Framework:
    """A framework file; a mistake is a ConfigError naming the file, the line and the field."""
    data, _ = _read_yaml(path)
    fid = _str(data, "framework", _at(path, data, "framework"))
    unknown = sorted(set(data) - _FRAMEWORK_KEYS)
    if unknown:
        raise ConfigError(
            f"{_at(path, data, unknown[0])}: {unknown[0]}: unknown top-level key of a framework "
            f"(allowed: {', '.join(sorted(_FRAMEWORK_KEYS))})"
        )
    pattern = _id_pattern(path, data)
    catalog = yaml_typed.optional_text(data, "catalog", "catalog (a file in profiles/standards)")
    crosswalk = yaml_typed.optional_text(data, "crosswalk", "crosswalk (its key in crosswalk.yaml)")
    if (catalog is None) != (crosswalk is None):
        raise ConfigError(
            f"{_at(path, data, 'catalog' if catalog is not None else 'crosswalk')}: a framework "
            "names both its catalog and its crosswalk key, or neither"
        )
    reqs: list[Requirement] = []
    seen: set[str] = set()
    raw_reqs = data.get("requirements")
    if not isinstance(raw_reqs, list):
        raise ConfigError(f"{_at(path, data, 'requirements')}: 'requirements' must be a list")
    for i, raw in enumerate(raw_reqs):
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{_at(path, data, 'requirements')}: requirements[{i}]: expected a mapping"
            )
        req = _requirement(path, raw, f"requirements[{i}]", pattern, checks)
        if req.id in seen:
            raise ConfigError(f"{_at(path, raw, 'id')}: requirement {req.id}: listed twice")
        seen.add(req.id)
        reqs.append(req)
    for req in reqs:
        for successor in req.withdrawn_to or ():
            if successor not in seen:
                where = f"{path} line {req.line}" if req.line else str(path)
                raise ConfigError(
                    f"{where}: requirement {req.id}, withdrawn_to: {successor} is not a "
                    "requirement of this framework"
                )
    title = _str(data, "title", _at(path, data, "title"))
    title_ja = yaml_typed.optional_text(data, "title_ja", "title_ja") or ""
    return Framework(fid, title, tuple(reqs), path, catalog, crosswalk, title_ja)


def _id_pattern(path: Path, data: dict[str, Any]) -> re.Pattern[str]:
    """The framework's `id_pattern`, compiled; a broken expression names its line."""
    text = yaml_typed.optional_text(data, "id_pattern", "id_pattern (a regular expression)")
    try:
        return re.compile(text if text is not None else ANY_ID)
    except re.error as exc:
        raise ConfigError(f"{_at(path, data, 'id_pattern')}: id_pattern: {exc}") from None


def _requirement(
    path: Path,
    raw: dict[str, Any],
    label: str,
    pattern: re.Pattern[str],
    checks: Mapping[str, Check],
) -> Requirement:
    def at(key: str) -> str:
        return f"{_at(path, raw, key)}: {label}"

    rid = _str(raw, "id", at("id"))
    label = f"requirement {rid}"
    if not pattern.match(rid):
        raise ConfigError(f"{at('id')}, id: does not match {pattern.pattern}")
    unknown = sorted(set(raw) - _REQUIREMENT_KEYS)
    if unknown:
        raise ConfigError(
            f"{at(unknown[0])}, {unknown[0]}: unknown field (allowed: "
            f"{', '.join(sorted(_REQUIREMENT_KEYS))})"
        )
    # `title: null` is a requirement nobody has authored (see Requirement.authored)
    title = "" if raw.get("title", "") is None else _str(raw, "title", f"{at('title')}, title")
    coverage = raw.get("coverage")
    if not isinstance(coverage, str) or coverage not in set(Coverage):
        raise ConfigError(
            f"{at('coverage')}, coverage: must be one of full, partial, none, "
            f"not {yaml_typed.describe(coverage)}"
        )
    coverage = Coverage(coverage)
    raw_checks = raw.get("checks")
    if raw_checks is None:
        raw_checks = []
    if not isinstance(raw_checks, list):
        raise ConfigError(f"{at('checks')}, checks: must be a list")
    mapped: list[MappedCheck] = []
    for j, entry in enumerate(raw_checks):
        field_name = f"checks[{j}]"
        where = f"{_at(path, raw_checks, j)}: {label}, {field_name}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping with check, role and why")
        extra = sorted(set(entry) - _CHECK_KEYS)
        if extra:
            raise ConfigError(
                f"{where}.{extra[0]}: unknown field (allowed: check, role, why, why_ja)"
            )
        cid = _str(entry, "check", f"{where}.check")
        if cid not in checks:
            raise ConfigError(f"{where}.check: unknown check {cid!r}")
        role = entry.get("role", "direct")
        if role != "direct" and role != "supporting":
            raise ConfigError(
                f"{where}.role: must be direct or supporting (check {cid}), "
                f"not {yaml_typed.describe(role)}"
            )
        if any(m.check == cid for m in mapped):
            raise ConfigError(f"{where}.check: {cid} is mapped twice")
        why_ja = yaml_typed.optional_text(entry, "why_ja", f"{label}, {field_name}.why_ja") or ""
        mapped.append(MappedCheck(cid, role, _str(entry, "why", f"{where}.why"), why_ja))
    if coverage is Coverage.NONE and mapped:
        raise ConfigError(
            f"{at('coverage')}, coverage: none means no check gives evidence, but "
            f"{len(mapped)} check(s) are mapped"
        )
    if coverage is not Coverage.NONE and not mapped:
        raise ConfigError(f"{at('coverage')}, coverage: {coverage} needs at least one check")
    if coverage is Coverage.FULL and not any(m.role == "direct" for m in mapped):
        raise ConfigError(f"{at('coverage')}, coverage: full needs at least one direct check")
    levels = raw.get("levels") or []
    if not isinstance(levels, list) or not all(
        yaml_typed.is_whole(lv) and 1 <= lv <= 4 for lv in levels
    ):
        raise ConfigError(f"{at('levels')}, levels: must be a list of 1-4")
    note = raw.get("note") or ""
    if not isinstance(note, str):
        raise ConfigError(f"{at('note')}, note: must be a string")
    note_ja = yaml_typed.optional_text(raw, "note_ja", f"{label}, note_ja") or ""
    if note_ja and not note:
        raise ConfigError(f"{at('note_ja')}, note_ja: translates a note, but there is none")
    withdrawn_to: tuple[str, ...] | None = None
    if "withdrawn_to" in raw:
        successors = raw["withdrawn_to"]
        if not isinstance(successors, list) or not all(
            isinstance(s, str) and s for s in successors
        ):
            raise ConfigError(f"{at('withdrawn_to')}, withdrawn_to: must be a list of IDs")
        if coverage is not Coverage.NONE:
            raise ConfigError(f"{at('coverage')}, coverage: a withdrawn requirement has none")
        withdrawn_to = tuple(successors)
    ja = yaml_typed.optional_text(raw, "ja", f"{label}, ja (the guidebook's term)") or ""
    title_ja = yaml_typed.optional_text(raw, "title_ja", f"{label}, title_ja") or ""
    if not title and (mapped or title_ja):
        raise ConfigError(
            f"{at('title')}, title: a requirement without a title is not authored, so it "
            "maps no check and has no title_ja"
        )
    line = mark.line if (mark := yaml_typed.at(raw, -1)) is not None else None
    return Requirement(
        rid,
        title,
        coverage,
        tuple(mapped),
        tuple(levels),
        note,
        withdrawn_to,
        line,
        ja,
        title_ja,
        note_ja,
    )


def build_params(check: Check, block: object, at: str, label: str) -> Params:
    """The check's Params dataclass from a YAML block; unknown keys are errors, and every
    value has the type its field is annotated with (a quoted "false" is not a boolean, 22 is
    not text, .nan is not a number), its error naming the line of the value. `at` is where
    the block is (`FILE line N`), `label` its name (`params.CHECK`)."""
    where = f"{at}: {label}"
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: parameters must be a mapping")
    kinds = _param_types(check.params)
    unknown = sorted(set(block) - set(kinds))
    if unknown:
        allowed = ", ".join(sorted(kinds)) or "none"
        raise ConfigError(
            f"{where}: unknown parameter(s) {', '.join(unknown)} (allowed: {allowed})"
        )
    values = {
        key: yaml_typed.coerce(kinds[key], value, yaml_typed.at(block, key), f"{label}.{key}")
        for key, value in block.items()
    }
    try:
        return check.params(**values)
    except (TypeError, ValueError, RecursionError, ConfigError) as exc:
        # the check's own words, bounded: they may quote a value of any length
        raise ConfigError(f"{where}: {yaml_typed.bounded(str(exc))}") from None


def _param_types(params: type[Params]) -> dict[str, object]:
    """Each field of a Params dataclass -> its annotation, resolved (once per class)."""
    kinds = _PARAM_TYPES.get(params)
    if kinds is None:
        hints = typing.get_type_hints(params)
        kinds = _PARAM_TYPES[params] = {f.name: hints[f.name] for f in dataclasses.fields(params)}
    return kinds


_PARAM_TYPES: dict[type[Params], dict[str, object]] = {}


#: names the built-in per-standard profiles had before each standard got one spelling (its
#: framework ID); still accepted, since users' scripts and schedules name them
FORMER_PROFILE_NAMES = {
    "iec62443-4-2": "iec-62443-4-2",
    "nist-800-171r2": "nist-sp-800-171r2",
    "nist-800-171r3": "nist-sp-800-171r3",
}


def _resolve(ref: str, near: Path | None) -> Path:
    """A profile reference: a file path, or a name looked up beside the referrer and built-in."""
    as_path = Path(ref)
    if as_path.suffix in (".yaml", ".yml") and _exists(as_path):
        return as_path
    ref = FORMER_PROFILE_NAMES.get(ref, ref)
    candidates = []
    if near is not None:
        candidates.append(near.parent / f"{ref}.yaml")
    candidates += [BUILTIN_DIR / f"{ref}.yaml", BUILTIN_DIR / "devices" / f"{ref}.yaml"]
    if "/" not in ref:  # a name: the installed plugins' profiles too (scanner/plugins.py)
        candidates += [
            d / sub / f"{ref}.yaml" for d in plugin_data.profile_dirs() for sub in ("", "devices")
        ]
    for c in candidates:
        if _exists(c):
            return c
    names = ", ".join(builtin_profile_names())
    raise ConfigError(
        f"profile {yaml_typed.shown(ref)} not found (a YAML file, or one of: {names})"
    )


def _exists(path: Path) -> bool:
    """A file is there; a name no file can have (a NUL in it, too long) is not."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def builtin_profile_names() -> list[str]:
    names = [p.stem for p in BUILTIN_DIR.glob("*.yaml")]
    names += [p.stem for p in (BUILTIN_DIR / "devices").glob("*.yaml")]
    return sorted(names)


def framework_paths() -> list[Path]:
    """Built-in framework files, then the installed plugins' (scanner/plugins.py)."""
    return sorted((BUILTIN_DIR / "frameworks").glob("*.yaml")) + plugin_data.framework_paths()


def device_profiles(
    refs: Iterable[str], checks: Mapping[str, Check], *, level: int | None = None
) -> dict[str, Profile]:
    """The profiles devices name for themselves (a target file's `profile=`), each loaded
    once, by the reference given: a mixed site's run plans and judges each device by its own.
    `level` (--level) applies to them as to the run's profile."""
    loaded: dict[str, Profile] = {}
    for ref in refs:
        if ref and ref not in loaded:
            loaded[ref] = load_profile(ref, checks, level=level)
    return loaded


def load_profile(
    ref: str,
    checks: Mapping[str, Check],
    *,
    today: date | None = None,
    level: int | None = None,
) -> Profile:
    """Load a profile by name or path, following `extends` to the root. `level` (the
    command line's --level) overrides the security level of every framework that has levels."""
    chain: list[tuple[Path, dict[str, Any], str]] = []
    seen: list[Path] = []
    near: Path | None = None
    current: str | None = ref
    while current is not None:
        path = _resolve(current, near).resolve()
        if path in seen:
            cycle = " -> ".join(str(p) for p in [*seen, path])
            raise ConfigError(f"extends cycle: {cycle}")
        seen.append(path)
        data, digest = _read_yaml(path)
        chain.append((path, data, digest))
        unknown = [k for k in data if k not in PROFILE_KEYS]
        if unknown:
            raise ConfigError(
                f"{_at(path, data, unknown[0])}: {unknown[0]}: unknown top-level key of a "
                f"profile (allowed: {', '.join(sorted(PROFILE_KEYS))})"
            )
        parent = yaml_typed.optional_text(data, "extends", "extends (a profile name or file)")
        current, near = parent, path

    frameworks_sel: dict[str, tuple[int | None, str]] = {}  # ID -> level, where it was chosen
    params_raw: dict[str, tuple[object, str]] = {}  # check -> parameters, where given
    accepted: list[Accepted] = []
    allow_intrusive = False
    test_account: TestAccount | None = None
    report = NO_META
    for path, data, _ in reversed(chain):  # root first, so children override
        _str(data, "profile", f"{_at(path, data, 'profile')}: profile")
        yaml_typed.optional_text(data, "title", "title")
        fw = yaml_typed.mapping(data, "frameworks", "frameworks (framework IDs to options)")
        if not yaml_typed.flag(
            data, "inherit_frameworks", "inherit_frameworks", True
        ):  # this profile judges only the frameworks it names itself
            frameworks_sel.clear()
        for fid, opts in fw.items():
            where = f"{_at(path, fw, str(fid))}: frameworks.{fid}"
            if opts is not None and not isinstance(opts, dict):
                raise ConfigError(f"{where}: must be a mapping of options (or empty)")
            unknown = sorted(set(opts or {}) - {"security_level"})
            if unknown:
                raise ConfigError(f"{where}.{unknown[0]}: unknown option (allowed: security_level)")
            fw_level = yaml_typed.whole(
                opts or {}, "security_level", f"frameworks.{fid}.security_level", low=1, high=4
            )
            frameworks_sel[str(fid)] = (fw_level, where)
        p = yaml_typed.mapping(data, "params", "params (check IDs to parameters)")
        for cid, block in p.items():
            # A child's block refines its parent's key by key: a model that names its own
            # lockout threshold keeps the lifecycle profile's pacing.
            inherited = params_raw.get(str(cid), (None, ""))[0]
            if isinstance(inherited, dict) and isinstance(block, dict):
                block = yaml_typed.merged(inherited, block)
            params_raw[str(cid)] = (block, _at(path, p, str(cid)))
        accepted += _accepted(path, yaml_typed.sequence(data, "accepted", "accepted"), checks)
        # a quoted "false" is text, and text is refused: bool("false") would be True
        allow_intrusive = yaml_typed.flag(
            data, "allow_intrusive", "allow_intrusive", allow_intrusive
        )
        if "test_account" in data:
            test_account = _test_account(path, data["test_account"])
        report = report_meta.parse(data).over(report)

    params: dict[str, Params] = {}
    for cid, (block, at) in params_raw.items():
        if cid not in checks:
            raise ConfigError(f"{at}: params: unknown check {cid!r}")
        params[cid] = build_params(checks[cid], block, at, f"params.{cid}")

    files: list[tuple[str, str]] = [(shown_path(p), d) for p, _, d in chain]
    frameworks: list[tuple[Framework, int | None]] = []
    by_id = _framework_index()
    for fid, (fw_level, where) in frameworks_sel.items():
        if fid not in by_id:
            known = ", ".join(sorted(by_id))
            raise ConfigError(f"{where}: unknown framework {fid!r} (known: {known})")
        fpath, fdigest = by_id[fid]
        framework = load_framework(fpath, checks)
        frameworks.append(
            (framework, level if level is not None and framework.has_levels else fw_level)
        )
        files.append((shown_path(fpath), fdigest))
    head_path, head = chain[0][0], chain[0][1]
    if level is not None:
        if level not in (1, 2, 3, 4):
            raise ConfigError(f"security level {level}: must be 1-4")
        if not any(fw.has_levels for fw, _ in frameworks):
            raise ConfigError(
                f"security level {level}: profile {head_path} selects no framework with "
                "security levels (IEC 62443-4-2 has them)"
            )
    # a level from the command line changes what is judged, so it is part of the identity
    parts = [d for _, d in files] + ([f"level={level}"] if level is not None else [])
    digest = hashlib.sha256("".join(parts).encode()).hexdigest()
    return Profile(
        id=_str(head, "profile", f"{_at(head_path, head, 'profile')}: profile"),
        title=yaml_typed.optional_text(head, "title", "title") or str(head["profile"]),
        frameworks=tuple(frameworks),
        params=params,
        accepted=tuple(accepted),
        allow_intrusive=allow_intrusive,
        files=tuple(files),
        digest=digest,
        test_account=test_account,
        level=level,
        report=report,
    )


def shown_path(path: Path) -> str:
    """How a report names a profile or framework file: a built-in one from the package
    (`profiles/frameworks/jc-star.yaml`), one under the working directory relative to it,
    any other by its file name (its sha256 beside it identifies it); never the absolute
    path of the machine that ran the scan."""
    for root, prefix in ((BUILTIN_DIR, "profiles/"), (Path.cwd(), "")):
        try:
            return prefix + path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return path.name


def _framework_index() -> dict[str, tuple[Path, str]]:
    """Framework ID -> (file, sha256) for every built-in framework file."""
    index: dict[str, tuple[Path, str]] = {}
    for fpath in framework_paths():
        fdata, fdigest = _read_yaml(fpath)
        index.setdefault(str(fdata.get("framework")), (fpath, fdigest))
    return index


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _test_account(path: Path, raw: object) -> TestAccount | None:
    where = f"{_at(path, raw)}: test_account"
    if raw is None:
        return None  # a child profile switching off its parent's account
    if not isinstance(raw, dict) or set(raw) - {"username", "password_env"}:
        raise ConfigError(f"{where}: must be a mapping with username and password_env")
    username = yaml_typed.text(raw, "username", "test_account.username")
    refuse_control(username, yaml_typed.at(raw, "username"), "test_account.username")
    env = raw.get("password_env")
    if not isinstance(env, str) or not _ENV_NAME.match(env):
        raise ConfigError(
            f"{_at(path, raw, 'password_env')}: test_account.password_env: must name an "
            "environment variable (the password itself never goes into a profile)"
        )
    password = os.environ.get(env)
    if password is not None:  # checked now, before a login sends it
        refuse_control(
            password, yaml_typed.at(raw, "password_env"), f"test_account: ${env} (the password)"
        )
    return TestAccount(username, env)


def refuse_control(value: str, mark: yaml_typed.Mark | None, label: str) -> None:
    """A username or password with a control character is refused where it was written:
    sent raw, a CR/LF would turn one Telnet or FTP login into several commands."""
    found = control_character(value)
    if found is not None:
        where = f"{mark}: " if mark is not None else ""
        raise ConfigError(f"{where}{label}: {found}")


def _accepted(path: Path, raw: list[Any], checks: Mapping[str, Check]) -> list[Accepted]:
    out = []
    for i, entry in enumerate(raw):
        label = f"accepted[{i}]"
        where = f"{_at(path, raw, i)}: {label}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        yaml_typed.only_keys(entry, _ACCEPTED_KEYS, label)
        cid = _str(entry, "check", where)
        if cid not in checks:
            raise ConfigError(f"{where}.check: unknown check {cid!r}")
        out.append(
            Accepted(
                check=cid,
                reason=_str(entry, "reason", where),
                approved_by=_str(entry, "approved_by", where),
                expires=yaml_typed.date_of(
                    entry.get("expires"), yaml_typed.at(entry, "expires"), f"{label}.expires"
                ),
                target=_address(entry, label),
                service=_service_key(entry, label),
            )
        )
    return out


def _address(entry: dict[str, Any], label: str) -> str | None:
    """An accepted deviation's device: an address, written as the scan writes it (`::1`, not
    `0:0::1`), so that it matches; a host name or a typo would silently match nothing."""
    text = yaml_typed.optional_text(entry, "target", f"{label}.target")
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ConfigError(
            f"{yaml_typed.at(entry, 'target')}: {label}.target: must be an IP address, not "
            f"{yaml_typed.describe(text)}"
        ) from None


_SERVICE_KEY = re.compile(r"^(tcp|udp)/(\d{1,5})$")


def _service_key(entry: dict[str, Any], label: str) -> str | None:
    """An accepted deviation's service: `tcp/PORT` or `udp/PORT`, as results name theirs."""
    text = yaml_typed.optional_text(entry, "service", f"{label}.service")
    if text is None:
        return None
    m = _SERVICE_KEY.match(text.strip().lower())
    if m is None or not 1 <= int(m[2]) <= 65535:
        raise ConfigError(
            f"{yaml_typed.at(entry, 'service')}: {label}.service: must be tcp/PORT or udp/PORT "
            f"(PORT 1-65535), not {yaml_typed.describe(text)}"
        )
    return f"{m[1]}/{int(m[2])}"


#: catalog entry types that are headings, not requirements (IEC CRs that only point to
#: SAR/EDR/HDR/NDR, or have no component-level requirement): a framework does not list them
CATALOG_HEADINGS = frozenset({"CR_heading"})


def catalog_entries(framework: Framework) -> list[dict[str, Any]]:
    """The requirements of a framework's catalog that its file must list, in catalog order
    (none for a framework without a catalog)."""
    if framework.catalog is None:
        return []
    catalog, _ = _read_yaml(BUILTIN_DIR / "standards" / framework.catalog)
    entries = catalog.get("requirements") or catalog.get("provisions") or []
    return [e for e in entries if e.get("type") not in CATALOG_HEADINGS]


def _crosswalk_probes() -> dict[str, Any]:
    """crosswalk.yaml's probe kinds, with shinsa's own kinds from crosswalk-additions.yaml."""
    standards = BUILTIN_DIR / "standards"
    probes = dict(_read_yaml(standards / "crosswalk.yaml")[0]["probes"])
    for kind, lists in _read_yaml(standards / "crosswalk-additions.yaml")[0]["probes"].items():
        if kind in probes:
            raise ConfigError(f"crosswalk-additions.yaml: {kind} is already in crosswalk.yaml")
        probes[kind] = lists
    return probes


def catalog_problems(framework: Framework, checks: Mapping[str, Check]) -> list[str]:
    """Where a framework file and its standard's catalog disagree: IDs the catalog does not
    have (or that the file leaves out), security levels other than the catalog's SL-C,
    withdrawn IDs and their successors, and roles the crosswalk does not support (direct
    where it says supporting, or an ID it does not list at all for the check's kind)."""
    catalog_file, key = framework.catalog, framework.crosswalk
    if catalog_file is None or key is None:
        return [f"{framework.path}: names no catalog and crosswalk key (catalog:, crosswalk:)"]
    if not _exists(BUILTIN_DIR / "standards" / catalog_file):
        return [f"{framework.path}: catalog {catalog_file} is not in profiles/standards"]
    probes = _crosswalk_probes()
    entries = {str(e["id"]): e for e in catalog_entries(framework)}
    listed_ids = {r.id for r in framework.requirements}
    problems = [
        f"{framework.path}: {rid} of {catalog_file} is not listed (list it, with coverage "
        "none if no check gives evidence for it)"
        for rid in entries
        if rid not in listed_ids
    ]
    for req in framework.requirements:
        where = f"{framework.path} line {req.line}" if req.line else str(framework.path)
        entry = entries.get(req.id)
        if entry is None:
            problems.append(f"{where}: requirement {req.id} is not in {catalog_file}")
            continue
        sl_c = entry.get("sl_c")
        if sl_c and tuple(sl_c) != req.levels:
            problems.append(
                f"{where}: requirement {req.id}, levels: {list(req.levels)}, but "
                f"{catalog_file} gives SL-C {sl_c}"
            )
        if bool(entry.get("withdrawn")) != req.withdrawn:
            state = "withdrawn" if entry.get("withdrawn") else "not withdrawn"
            problems.append(
                f"{where}: requirement {req.id}, withdrawn_to: {catalog_file} says it is {state}"
            )
        elif req.withdrawn and set(entry.get("successors") or ()) != set(req.withdrawn_to or ()):
            problems.append(
                f"{where}: requirement {req.id}, withdrawn_to: {list(req.withdrawn_to or ())}, "
                f"but {catalog_file} gives successors {entry.get('successors') or []}"
            )
        for m in req.checks:
            check = checks.get(m.check)
            kind = check.kind if check is not None else None
            listed = {
                str(e["id"]): str(e["confidence"])
                for e in (probes.get(kind or "") or {}).get(key) or []
            }
            if req.id not in listed:
                problems.append(
                    f"{where}: {req.id} maps {m.check}, but crosswalk.yaml does not list "
                    f"{req.id} for {kind or 'its probe kind'}"
                )
            elif m.role == "direct" and listed[req.id] != "direct":
                problems.append(
                    f"{where}: {req.id} maps {m.check} as direct, but crosswalk.yaml "
                    "says supporting"
                )
    return problems
