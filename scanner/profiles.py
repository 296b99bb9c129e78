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
import os
import re
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from scanner.credentials import Credential
from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from scanner.probe import Check, Params

BUILTIN_DIR = Path(str(resources.files("profiles")))


class Coverage(enum.StrEnum):
    FULL = "full"  # the mapped checks can show the whole requirement
    PARTIAL = "partial"  # the network shows part of it: never reported satisfied
    NONE = "none"  # needs a person's evidence


Role = Literal["direct", "supporting"]


@dataclass(frozen=True, slots=True)
class MappedCheck:
    check: str
    role: Role  # direct: a fail is a finding; supporting: shown as related evidence only
    why: str


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    title: str
    coverage: Coverage
    checks: tuple[MappedCheck, ...] = ()
    levels: tuple[int, ...] = ()  # IEC 62443 security levels at which it applies; () = all

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

    def selected(self, level: int | None) -> tuple[Requirement, ...]:
        if level is None:
            return self.requirements
        return tuple(r for r in self.requirements if not r.levels or level in r.levels)


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
    files: tuple[tuple[str, str], ...]  # (path, sha256) of every YAML file used
    test_account: TestAccount | None = None
    digest: str = field(default="")

    def accepted_for(self, check_id: str, target: str, service_key: str) -> Accepted | None:
        return next((a for a in self.accepted if a.covers(check_id, target, service_key)), None)


@dataclass(frozen=True, slots=True)
class TestAccount:
    """A device account the tester set up for the checks that need a login. The profile
    names the environment variable holding the password, never the password itself."""

    username: str
    password_env: str

    def credential(self) -> Credential | None:
        """The account as a credential, or None while its variable is unset."""
        password = os.environ.get(self.password_env)
        if password is None:
            return None
        return Credential(
            self.username, password, source=f"profile test_account (${self.password_env})"
        )


_ID_PATTERNS = {
    "iec-62443-4-2": r"^(CR|SAR|EDR|HDR|NDR) \d+\.\d+( RE\(\d+\))?$",
    "nist-sp-800-171r2": r"^3\.\d+\.\d+$",
    "etsi-en-303-645": r"^\d+(\.\d+)?-\d+[A-Z]?$",
    "jc-star": r"^S1\.\d+-\d{2}$",
}
_CHECK_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9-]+)+$")


def _read_yaml(path: Path) -> tuple[dict[str, Any], str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data, hashlib.sha256(raw).hexdigest()


def _str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value


def load_framework(path: Path, checks: Mapping[str, Check]) -> Framework:
    data, _ = _read_yaml(path)
    fid = _str(data, "framework", str(path))
    pattern = re.compile(_ID_PATTERNS.get(fid, r"^\S.*$"))
    reqs: list[Requirement] = []
    seen: set[str] = set()
    raw_reqs = data.get("requirements")
    if not isinstance(raw_reqs, list):
        raise ConfigError(f"{path}: 'requirements' must be a list")
    for i, raw in enumerate(raw_reqs):
        where = f"{path}: requirements[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping")
        rid = _str(raw, "id", where)
        where = f"{path}: requirement {rid}"
        if not pattern.match(rid):
            raise ConfigError(f"{where}: ID does not match {pattern.pattern}")
        if rid in seen:
            raise ConfigError(f"{where}: listed twice")
        seen.add(rid)
        try:
            coverage = Coverage(str(raw.get("coverage")))
        except ValueError:
            raise ConfigError(f"{where}: coverage must be one of full, partial, none") from None
        mapped: list[MappedCheck] = []
        for entry in raw.get("checks") or []:
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: each check entry must be a mapping")
            cid = _str(entry, "check", where)
            if cid not in checks:
                raise ConfigError(f"{where}: unknown check {cid!r}")
            role = entry.get("role", "direct")
            if role not in ("direct", "supporting"):
                raise ConfigError(f"{where}: check {cid}: role must be direct or supporting")
            mapped.append(MappedCheck(cid, role, _str(entry, "why", f"{where}: check {cid}")))
        if coverage is Coverage.NONE and any(m.role == "direct" for m in mapped):
            raise ConfigError(f"{where}: coverage none cannot have direct checks")
        levels = raw.get("levels") or []
        if not isinstance(levels, list) or any(lv not in (1, 2, 3, 4) for lv in levels):
            raise ConfigError(f"{where}: levels must be a list of 1-4")
        reqs.append(
            Requirement(rid, _str(raw, "title", where), coverage, tuple(mapped), tuple(levels))
        )
    return Framework(fid, _str(data, "title", str(path)), tuple(reqs), path)


def build_params(check: Check, block: object, where: str) -> Params:
    """The check's Params dataclass from a YAML block; unknown keys are errors."""
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: parameters must be a mapping")
    known = {f.name for f in dataclasses.fields(check.params)}
    unknown = sorted(set(block) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            f"{where}: unknown parameter(s) {', '.join(unknown)} (allowed: {allowed})"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in block.items()}
    try:
        return check.params(**values)
    except (TypeError, ValueError, ConfigError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _resolve(ref: str, near: Path | None) -> Path:
    """A profile reference: a file path, or a name looked up beside the referrer and built-in."""
    as_path = Path(ref)
    if as_path.suffix in (".yaml", ".yml") and as_path.exists():
        return as_path
    candidates = []
    if near is not None:
        candidates.append(near.parent / f"{ref}.yaml")
    candidates += [BUILTIN_DIR / f"{ref}.yaml", BUILTIN_DIR / "devices" / f"{ref}.yaml"]
    for c in candidates:
        if c.exists():
            return c
    names = ", ".join(builtin_profile_names())
    raise ConfigError(f"profile {ref!r} not found (a YAML file, or one of: {names})")


def builtin_profile_names() -> list[str]:
    names = [p.stem for p in BUILTIN_DIR.glob("*.yaml")]
    names += [p.stem for p in (BUILTIN_DIR / "devices").glob("*.yaml")]
    return sorted(names)


def framework_paths() -> list[Path]:
    return sorted((BUILTIN_DIR / "frameworks").glob("*.yaml"))


def load_profile(ref: str, checks: Mapping[str, Check], *, today: date | None = None) -> Profile:
    """Load a profile by name or path, following `extends` to the root."""
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
        parent = data.get("extends")
        if parent is not None and not isinstance(parent, str):
            raise ConfigError(f"{path}: 'extends' must be a profile name or file")
        current, near = parent, path

    frameworks_sel: dict[str, int | None] = {}
    params_raw: dict[str, tuple[Path, object]] = {}
    accepted: list[Accepted] = []
    allow_intrusive = False
    test_account: TestAccount | None = None
    for path, data, _ in reversed(chain):  # root first, so children override
        _str(data, "profile", str(path))
        fw = data.get("frameworks") or {}
        if not isinstance(fw, dict):
            raise ConfigError(f"{path}: 'frameworks' must map framework IDs to options")
        for fid, opts in fw.items():
            level = (opts or {}).get("security_level") if isinstance(opts, dict) else None
            if level is not None and level not in (1, 2, 3, 4):
                raise ConfigError(f"{path}: frameworks.{fid}.security_level must be 1-4")
            frameworks_sel[str(fid)] = level
        p = data.get("params") or {}
        if not isinstance(p, dict):
            raise ConfigError(f"{path}: 'params' must map check IDs to parameters")
        for cid, block in p.items():
            params_raw[str(cid)] = (path, block)
        accepted += _accepted(path, data.get("accepted") or [], checks)
        if "allow_intrusive" in data:
            allow_intrusive = bool(data["allow_intrusive"])
        if "test_account" in data:
            test_account = _test_account(path, data["test_account"])

    params: dict[str, Params] = {}
    for cid, (path, block) in params_raw.items():
        if cid not in checks:
            raise ConfigError(f"{path}: params: unknown check {cid!r}")
        params[cid] = build_params(checks[cid], block, f"{path}: params.{cid}")

    files: list[tuple[str, str]] = [(str(p), d) for p, _, d in chain]
    frameworks: list[tuple[Framework, int | None]] = []
    by_id = {}
    for fpath in framework_paths():
        fdata, fdigest = _read_yaml(fpath)
        by_id[str(fdata.get("framework"))] = (fpath, fdigest)
    for fid, level in frameworks_sel.items():
        if fid not in by_id:
            known = ", ".join(sorted(by_id))
            raise ConfigError(f"{chain[0][0]}: unknown framework {fid!r} (known: {known})")
        fpath, fdigest = by_id[fid]
        frameworks.append((load_framework(fpath, checks), level))
        files.append((str(fpath), fdigest))
    digest = hashlib.sha256("".join(d for _, d in files).encode()).hexdigest()
    head = chain[0][1]
    return Profile(
        id=_str(head, "profile", str(chain[0][0])),
        title=str(head.get("title") or head["profile"]),
        frameworks=tuple(frameworks),
        params=params,
        accepted=tuple(accepted),
        allow_intrusive=allow_intrusive,
        files=tuple(files),
        digest=digest,
        test_account=test_account,
    )


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _test_account(path: Path, raw: object) -> TestAccount | None:
    where = f"{path}: test_account"
    if raw is None:
        return None  # a child profile switching off its parent's account
    if not isinstance(raw, dict) or set(raw) - {"username", "password_env"}:
        raise ConfigError(f"{where}: must be a mapping with username and password_env")
    username, env = raw.get("username"), raw.get("password_env")
    if not isinstance(username, str) or not username:
        raise ConfigError(f"{where}.username: must be a non-empty string")
    if not isinstance(env, str) or not _ENV_NAME.match(env):
        raise ConfigError(
            f"{where}.password_env: must name an environment variable (the password itself "
            "never goes into a profile)"
        )
    return TestAccount(username, env)


def _accepted(path: Path, raw: object, checks: Mapping[str, Check]) -> list[Accepted]:
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'accepted' must be a list")
    out = []
    for i, entry in enumerate(raw):
        where = f"{path}: accepted[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        cid = _str(entry, "check", where)
        if cid not in checks:
            raise ConfigError(f"{where}: unknown check {cid!r}")
        expires = entry.get("expires")
        if not isinstance(expires, date):
            raise ConfigError(f"{where}: 'expires' must be a date (YYYY-MM-DD)")
        target, service = entry.get("target"), entry.get("service")
        out.append(
            Accepted(
                check=cid,
                reason=_str(entry, "reason", where),
                approved_by=_str(entry, "approved_by", where),
                expires=expires,
                target=str(target) if target is not None else None,
                service=str(service) if service is not None else None,
            )
        )
    return out


#: framework ID -> (catalog file in profiles/standards, its key in crosswalk.yaml)
CATALOGS = {
    "iec-62443-4-2": ("iec62443-4-2.yaml", "iec62443_4_2"),
    "nist-sp-800-171r2": ("nist-sp800-171r2.yaml", "nist_sp800_171r2"),
    "etsi-en-303-645": ("etsi-en303645.yaml", "etsi_en303645"),
    "jc-star": ("jc-star.yaml", "jc_star"),
}
#: check-ID prefix -> the probe kind crosswalk.yaml lists it under (longest prefix wins)
CROSSWALK_KIND = {
    "services.": "exposed_services",
    "creds.": "default_credentials",
    "ssh.": "ssh_config",
    "web.login.": "https_login",
    "web.hsts": "https_login",
    "web.secrets-in-url": "secrets_in_url",
    "web.https-redirect": "https_login",
    "web.access-control": "anonymous_access",
    "web.xss.": "xss_reflection",
    "session.": "session_expiry",
    "session.cookie-flags": "session_integrity",
    "session.fixation": "session_integrity",
    "session.id-in-url": "session_integrity",
    "tls.": "tls_quality",
    "banner.version-disclosure": "banner_disclosure",
    "banner.login-notice": "system_use_notification",
}


def crosswalk_kind(check_id: str) -> str | None:
    matches = [p for p in CROSSWALK_KIND if check_id.startswith(p)]
    return CROSSWALK_KIND[max(matches, key=len)] if matches else None


def catalog_problems(framework: Framework) -> list[str]:
    """Requirement IDs missing from the standard's catalog, and roles the crosswalk does
    not support (direct where it says supporting, or an ID it does not list at all)."""
    if framework.id not in CATALOGS:
        return [f"{framework.path}: no catalog known for framework {framework.id}"]
    catalog_file, key = CATALOGS[framework.id]
    standards = BUILTIN_DIR / "standards"
    catalog, _ = _read_yaml(standards / catalog_file)
    crosswalk, _ = _read_yaml(standards / "crosswalk.yaml")
    known = {str(r["id"]) for r in catalog.get("requirements") or catalog.get("provisions") or []}
    problems: list[str] = []
    for req in framework.requirements:
        if req.id not in known:
            problems.append(f"{framework.path}: requirement {req.id} is not in {catalog_file}")
        for m in req.checks:
            kind = crosswalk_kind(m.check)
            listed = {
                str(e["id"]): str(e["confidence"])
                for e in (crosswalk["probes"].get(kind or "", {}) or {}).get(key) or []
            }
            if req.id not in listed:
                problems.append(
                    f"{framework.path}: {req.id} maps {m.check}, but crosswalk.yaml does not list "
                    f"{req.id} for {kind or 'its probe kind'}"
                )
            elif m.role == "direct" and listed[req.id] != "direct":
                problems.append(
                    f"{framework.path}: {req.id} maps {m.check} as direct, but crosswalk.yaml "
                    "says supporting"
                )
    return problems


def validate_all(checks: Mapping[str, Check], extra: Sequence[Path] = ()) -> list[str]:
    """Every built-in framework and profile (and `extra` files): a list of problems, empty
    when all is well. Also: every registered check is mapped by some framework."""
    problems: list[str] = []
    mapped: set[str] = set()
    for fpath in framework_paths():
        try:
            fw = load_framework(fpath, checks)
            mapped |= {m.check for r in fw.requirements for m in r.checks}
            problems += catalog_problems(fw)
        except ConfigError as exc:
            problems.append(str(exc))
    for cid in sorted(set(checks) - mapped):
        problems.append(f"check {cid} is not mapped by any framework")
    for cid in checks:
        if not _CHECK_ID.match(cid):
            problems.append(f"check ID {cid!r} does not match {_CHECK_ID.pattern}")
    refs = [str(p) for p in BUILTIN_DIR.glob("*.yaml")]
    refs += [str(p) for p in (BUILTIN_DIR / "devices").glob("*.yaml")]
    refs += [str(p) for p in extra]
    for ref in refs:
        try:
            load_profile(ref, checks)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems
