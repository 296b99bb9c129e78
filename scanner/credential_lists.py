"""Factory-login lists: loaded from YAML, ordered by what the device's fingerprint says,
and spent under a per-account budget that keeps every scan below the lockout threshold."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from scanner.credentials import Credential
from scanner.errors import ConfigError
from scanner.facts import HTTP_PAGES, SERVICES

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from scanner.facts import Facts

BUILTIN = Path(str(resources.files("profiles"))) / "credentials" / "factory-defaults.yaml"
PROTOCOLS = frozenset({"ssh", "telnet", "ftp", "http", "rtsp", "mqtt", "snmp"})
#: which fingerprint text a `match` key looks at
MATCH_KEYS = frozenset({"http", "ssh", "telnet", "ftp", "any"})
MAX_PATTERN = 200


@dataclass(frozen=True, slots=True)
class CredentialEntry:
    vendor: str
    product: str
    protocols: frozenset[str]
    pairs: tuple[Credential, ...]
    source: str
    match: tuple[tuple[str, re.Pattern[str]], ...] = ()

    def matches(self, text: Mapping[str, str]) -> bool:
        return any(p.search(text.get(key, "")) for key, p in self.match)


@dataclass(frozen=True, slots=True)
class CredentialCatalog:
    """Every list in use: the built-in one, the profile's, and `--credentials` files."""

    entries: tuple[CredentialEntry, ...] = ()
    files: tuple[str, ...] = ()

    def for_protocol(self, protocol: str, text: Mapping[str, str]) -> list[Credential]:
        """Pairs for `protocol`: entries whose `match` fits the device first, then the
        generic ones, each pair once, in file order."""
        usable = [e for e in self.entries if protocol in e.protocols]
        ordered = [e for e in usable if e.match and e.matches(text)]
        ordered += [e for e in usable if not e.match]
        seen: set[tuple[str, str]] = set()
        out: list[Credential] = []
        for entry in ordered:
            for cred in entry.pairs:
                if (cred.username, cred.password) not in seen:
                    seen.add((cred.username, cred.password))
                    out.append(cred)
        return out


def _pattern(raw: object, where: str) -> re.Pattern[str]:
    if not isinstance(raw, str) or len(raw) > MAX_PATTERN:
        raise ConfigError(f"{where}: a match must be a regular expression of ≤ {MAX_PATTERN} chars")
    try:
        return re.compile(raw)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regular expression ({exc})") from None


def _entry(raw: Any, path: Path, i: int) -> CredentialEntry:
    where = f"{path}: credentials[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = set(raw) - {"vendor", "product", "protocols", "match", "pairs", "source"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    protocols = raw.get("protocols")
    if not isinstance(protocols, list) or not protocols or not set(protocols) <= PROTOCOLS:
        raise ConfigError(f"{where}: protocols must be a list from {', '.join(sorted(PROTOCOLS))}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{where}: every entry needs a 'source' saying where it is published")
    vendor = str(raw.get("vendor") or "")
    pairs: list[Credential] = []
    for j, pair in enumerate(raw.get("pairs") or []):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ConfigError(f"{where}: pairs[{j}] must be [username, password]")
        user, password = ("" if v is None else str(v) for v in pair)
        pairs.append(Credential(user, password, f"{path.name}: {vendor} ({source})"))
    if not pairs:
        raise ConfigError(f"{where}: no pairs")
    match = raw.get("match") or {}
    if not isinstance(match, dict) or not set(match) <= MATCH_KEYS:
        raise ConfigError(f"{where}: match keys must be from {', '.join(sorted(MATCH_KEYS))}")
    return CredentialEntry(
        vendor=vendor,
        product=str(raw.get("product") or ""),
        protocols=frozenset(protocols),
        pairs=tuple(pairs),
        source=source,
        match=tuple((k, _pattern(v, f"{where}: match.{k}")) for k, v in match.items()),
    )


def load_list(path: Path) -> tuple[CredentialEntry, ...]:
    try:
        data = yaml.safe_load(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML") from None
    if not isinstance(data, dict) or data.get("format") != "shinsa-credentials/1":
        raise ConfigError(f"{path}: not a credential list (expected format: shinsa-credentials/1)")
    raw = data.get("credentials")
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'credentials' must be a list")
    return tuple(_entry(r, path, i) for i, r in enumerate(raw))


def resolve_list(ref: str) -> Path:
    """A `--credentials` argument: a file, or the name of a shipped list (`mirai-2016`)."""
    path = Path(ref)
    if path.exists():
        return path
    shipped = BUILTIN.parent / f"{ref}.yaml"
    if "/" not in ref and shipped.exists():
        return shipped
    names = ", ".join(sorted(p.stem for p in BUILTIN.parent.glob("*.yaml")))
    raise ConfigError(f"credential list {ref!r} not found (a file, or one of: {names})")


def load_catalog(extra: Iterable[Path] = (), *, builtin: bool = True) -> CredentialCatalog:
    """User lists first (they know their devices), then the built-in one."""
    paths = [*extra, *([BUILTIN] if builtin else [])]
    entries = tuple(e for p in paths for e in load_list(p))
    return CredentialCatalog(entries, tuple(str(p.resolve()) for p in paths))


def device_text(facts: Facts) -> dict[str, str]:
    """What fingerprinting saw, by `match` key, for picking vendor lists."""
    text: dict[str, list[str]] = {k: [] for k in MATCH_KEYS}
    for page in facts.get(HTTP_PAGES) or ():
        text["http"] += [page.server, page.title, page.auth_realm]
    for svc in facts.get(SERVICES) or ():
        if svc.protocol in ("ssh", "telnet", "ftp"):
            text[svc.protocol] += [svc.banner, svc.product]
        if svc.protocol in ("http", "https", "rtsp"):
            text["http"].append(svc.product)
    joined = {k: "\n".join(v for v in vs if v) for k, vs in text.items()}
    joined["any"] = "\n".join(joined.values())
    return joined


@dataclass(slots=True)
class AttemptLedger:
    """Failed logins per account on one device, shared by every protocol.

    Devices usually count failures per account across all their login surfaces, so the
    budget is per device, not per service: a probe reserves a slot before each attempt
    that could fail and gives it back when the login succeeded or was never sent.

    Login probes of one device take `turn`s (a FIFO lock): one probe's reservations are
    settled before the next reserves, so the order is the scan order and a slow probe
    never holds slots it will not use. Devices that fall over under parallel logins are
    spared too.
    """

    _failures: Counter[str] = field(default_factory=Counter)
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    def reserve(self, username: str, limit: int) -> bool:
        if self._failures[username] >= limit:
            return False
        self._failures[username] += 1
        return True

    def release(self, username: str) -> None:
        if self._failures[username] > 0:
            self._failures[username] -= 1

    def failures(self, username: str) -> int:
        return self._failures[username]


def budget_plan(
    credentials: Sequence[Credential], ledger: AttemptLedger, per_account: int, max_pairs: int
) -> tuple[list[Credential], list[Credential]]:
    """(pairs to try, pairs skipped because their account's budget is spent), reserving
    the slots for the ones to try now, in order, synchronously (no await in between)."""
    chosen: list[Credential] = []
    skipped: list[Credential] = []
    for cred in credentials:
        if len(chosen) < max_pairs and ledger.reserve(cred.username, per_account):
            chosen.append(cred)
        else:
            skipped.append(cred)
    return chosen, skipped
