"""Factory-login lists: loaded from YAML, chosen by what the device says it is, and spent
under a per-account budget that keeps every scan below the lockout threshold.

Entry kinds (`kind:`, format shinsa-credentials/1):

- `vendor` (any entry with `match`): a product's published logins, used when its `match`
  fits what the device says about itself (`device_text`);
- `open`: "no login at all" and well-known shared secrets of one protocol (anonymous MQTT,
  an open RTSP stream, SNMP communities, anonymous FTP): tried first when nothing
  identifies the device;
- `generic`: logins ranked by how often the public data sets list them (a third value per
  pair, the count); `select()` takes the top N for the protocol;
- `legacy`: the short list `for_protocol()` has always appended (kept for its callers);
- `always` (an entry without `match` or `kind`, as in `--credentials` site lists): tried
  first, on every device.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner import plugin_data, yaml_typed
from scanner.credentials import Credential, control_character
from scanner.errors import ConfigError
from scanner.facts import HTTP_PAGES, IDENTITY, LINK, SERVICES, UDP_ANSWERS
from scanner.yaml_typed import Mark

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from scanner.facts import Facts

BUILTIN = Path(str(resources.files("profiles"))) / "credentials" / "factory-defaults.yaml"
PROTOCOLS = frozenset({"ssh", "telnet", "ftp", "http", "rtsp", "mqtt", "snmp"})
#: which text a `match` key looks at (`device_text` builds them from the facts):
#: http: Server headers, titles, realms, HTTP/RTSP products; scripts: script file names;
#: favicon: "mmh3:<n>" and "md5:<hex>" of /favicon.ico; ssh/telnet/ftp: banners;
#: snmp: sysDescr; snmp_oid: sysObjectID (dotted); upnp: SSDP SERVER and the device
#: description (manufacturer, modelName, ...); tls: certificate subject and issuer;
#: modbus/enip/s7/bacnet: what the industrial protocols say about the device;
#: vendor: manufacturer names the device states outright (UPnP manufacturer, Modbus
#: VendorName, BACnet vendor-name, SNMP enterprise, certificate subject O=, the IEEE
#: registry's name for the MAC address's prefix), one per line;
#: any: all of them.
MATCH_KEYS = frozenset(
    {
        "http",
        "scripts",
        "favicon",
        "ssh",
        "telnet",
        "ftp",
        "snmp",
        "snmp_oid",
        "upnp",
        "tls",
        "modbus",
        "enip",
        "s7",
        "bacnet",
        "vendor",
        "any",
    }
)
KINDS = frozenset({"vendor", "open", "generic", "legacy", "always"})
MAX_PATTERN = 400
FORMAT = "shinsa-credentials/1"


@dataclass(frozen=True, slots=True)
class CredentialEntry:
    vendor: str
    product: str
    protocols: frozenset[str]
    pairs: tuple[Credential, ...]
    source: str
    match: tuple[tuple[str, MatchPattern], ...] = ()
    kind: str = "always"
    #: per pair, how many times the public data sets list it (generic lists); 0: unknown
    counts: tuple[int, ...] = ()
    user: bool = False  # from a `--credentials` list, not a built-in one

    def matches(self, text: Mapping[str, str], lowered: Mapping[str, str] | None = None) -> bool:
        if lowered is None:
            text = _with_any(text)
            lowered = {k: v.lower() for k, v in text.items()}
        return any(p.search(text.get(key, ""), lowered.get(key, "")) for key, p in self.match)

    @property
    def label(self) -> str:
        """ "vendor product", as the selection names it."""
        if self.vendor and self.product.lower().startswith(self.vendor.lower()):
            return self.vendor + self.product[len(self.vendor) :]  # "hikvision (ssh)": the
        return f"{self.vendor} {self.product}".strip()  # vendor's own spelling


@dataclass(frozen=True, slots=True)
class CredentialSelection:
    """The candidates of one service, and why they were chosen."""

    identified: tuple[str, ...]  # "vendor product" labels whose match fit the device
    pairs: tuple[Credential, ...]  # the candidates, in the order to try them, each once
    list_name: str  # "vendor list: Hikvision IP cameras" or "generic top 25"


def _with_any(text: Mapping[str, str]) -> Mapping[str, str]:
    """`text` with its "any" key (every other key's text), when the caller left it out."""
    if "any" in text:
        return text
    return {**text, "any": "\n".join(v for k, v in text.items() if v)}


def _unique(entries: Iterable[CredentialEntry]) -> list[Credential]:
    seen: set[tuple[str, str]] = set()
    out: list[Credential] = []
    for entry in entries:
        for cred in entry.pairs:
            if (cred.username, cred.password) not in seen:
                seen.add((cred.username, cred.password))
                out.append(cred)
    return out


@dataclass(frozen=True, slots=True)
class CredentialCatalog:
    """Every list in use: the built-in ones, the profile's, and `--credentials` files."""

    entries: tuple[CredentialEntry, ...] = ()
    files: tuple[str, ...] = ()

    def for_protocol(self, protocol: str, text: Mapping[str, str]) -> list[Credential]:
        """Pairs for `protocol`: entries whose `match` fits the device first, then the
        ones without `match` (site lists, open and legacy entries), each pair once, in
        file order. The prevalence-ranked generic lists are `select()`'s."""
        usable = [e for e in self.entries if protocol in e.protocols and e.kind != "generic"]
        text = _with_any(text)
        lowered = {k: v.lower() for k, v in text.items()}
        ordered = [e for e in usable if e.match and e.matches(text, lowered)]
        ordered += [e for e in usable if not e.match]
        return _unique(ordered)

    def select(
        self, protocol: str, text: Mapping[str, str], *, generic_top: int
    ) -> CredentialSelection:
        """The candidates for one service, each once, in the order to try them.

        Site lists (`--credentials` entries without `match`) come first, always. Then, when
        the device is identified (a `vendor` entry for `protocol` whose `match` fits
        `text`), the identified products' pairs, user lists' before built-in ones, and
        nothing else. When nothing is identified: the protocol's `open` entries (no login
        at all, shared communities), then the `generic_top` most prevalent generic logins.
        """
        usable = [e for e in self.entries if protocol in e.protocols]
        site = [e for e in usable if e.kind == "always"]
        text = _with_any(text)
        lowered = {k: v.lower() for k, v in text.items()}
        found = [e for e in usable if e.kind == "vendor" and e.matches(text, lowered)]
        found.sort(key=lambda e: not e.user)  # stable: user lists first, then file order
        head = _unique(site)
        if found:
            labels = tuple(dict.fromkeys(e.label for e in found))
            pairs = _unique([*site, *found])
            shown = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if labels[3:] else "")
            return CredentialSelection(labels, tuple(pairs), f"vendor list: {shown}")
        opened = [e for e in usable if e.kind == "open"]
        ranked = self._ranked(protocol)
        seen = {(c.username, c.password) for c in _unique([*site, *opened])}
        top: list[Credential] = []
        for cred in ranked:
            if len(top) >= generic_top:
                break
            if (cred.username, cred.password) not in seen:
                seen.add((cred.username, cred.password))
                top.append(cred)
        pairs = [*_unique([*site, *opened]), *top]
        name = f"generic top {generic_top}"
        if head:
            name = f"your lists ({len(head)}) + {name}"
        return CredentialSelection((), tuple(pairs), name)

    def _ranked(self, protocol: str) -> list[Credential]:
        """The generic logins for `protocol`, most prevalent first (stable on ties)."""
        scored = [
            (count, cred)
            for e in self.entries
            if e.kind == "generic" and protocol in e.protocols
            for cred, count in zip(e.pairs, e.counts or (0,) * len(e.pairs), strict=True)
        ]
        best: dict[tuple[str, str], tuple[int, int, Credential]] = {}
        for order, (count, cred) in enumerate(scored):
            key = (cred.username, cred.password)
            if key not in best or count > best[key][0]:
                best[key] = (count, best[key][1] if key in best else order, cred)
        return [c for _, _, c in sorted(best.values(), key=lambda t: (-t[0], t[1]))]

    def prevalence(self, protocol: str) -> list[tuple[Credential, int]]:
        """The generic ranking for `protocol` with its counts (for reports and tests)."""
        counts: dict[tuple[str, str], int] = {}
        for e in self.entries:
            if e.kind == "generic" and protocol in e.protocols:
                for cred, n in zip(e.pairs, e.counts or (0,) * len(e.pairs), strict=True):
                    key = (cred.username, cred.password)
                    counts[key] = max(counts.get(key, 0), n)
        return [(c, counts[(c.username, c.password)]) for c in self._ranked(protocol)]


#: The importer's two pattern shapes: a word-bounded name anywhere, or at the start of a
#: line (`vendor` key). Their names are plain text, so a substring test on the lower-cased
#: text decides cheaply whether the regular expression is worth compiling at all: a scan
#: compiles the few dozen patterns whose name occurs, not the thousand it loads.
_GENERATED = re.compile(
    r"\(\?i\)\(\?<!\[a-z0-9\]\)\(\?:(?P<any>.+)\)\(\?!\[a-z0-9\]\)"
    r"|\(\?im\)\^\(\?:(?P<line>.+)\)\(\?!\[a-z0-9\]\)"
)
_ESCAPED_TEXT = re.compile(r"(?:\\.|[^\\.^$*+?{}\[\]|()])+")
_SEPARATOR = "[\\s_-]?"


def _hints(raw: str) -> tuple[str, ...] | None:
    """Lower-case words one of which the text must contain for `raw` to match, or None
    when `raw` is not one of the importer's shapes (then it is compiled at once)."""
    shape = _GENERATED.fullmatch(raw)
    if shape is None:
        return None
    hints: list[str] = []
    for alternative in (shape["any"] or shape["line"]).split("|"):
        first = alternative.split(_SEPARATOR)[0]
        if not first or not _ESCAPED_TEXT.fullmatch(first):
            return None
        hints.append(re.sub(r"\\(.)", r"\1", first).lower())
    return tuple(hints)


class MatchPattern:
    """A `match` regular expression, compiled when first needed."""

    __slots__ = ("_compiled", "hints", "raw")

    def __init__(self, raw: str, hints: tuple[str, ...] | None) -> None:
        self.raw = raw
        self.hints = hints
        self._compiled: re.Pattern[str] | None = None if hints else re.compile(raw)

    def search(self, text: str, lowered: str) -> bool:
        if not text or (self.hints and not any(h in lowered for h in self.hints)):
            return False
        if self._compiled is None:
            self._compiled = re.compile(self.raw)
        return self._compiled.search(text) is not None

    def __repr__(self) -> str:
        return f"MatchPattern({self.raw!r})"


_PATTERNS: dict[str, MatchPattern] = {}


def _pattern(raw: object, where: str, *, eager: bool) -> MatchPattern:
    """A `match` expression; `eager` compiles it now even when its shape would let the scan
    compile it later (a user's list: its mistake is found at load, not mid-scan)."""
    if not isinstance(raw, str) or len(raw) > MAX_PATTERN:
        raise ConfigError(f"{where}: a match must be a regular expression of ≤ {MAX_PATTERN} chars")
    cached = _PATTERNS.get(raw)  # thousands of entries share a thousand vendor patterns
    if cached is not None:
        return cached
    try:
        made = MatchPattern(raw, _hints(raw))
        if eager:
            re.compile(raw)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ConfigError(f"{where}: bad regular expression ({exc})") from None
    _PATTERNS[raw] = made
    return made


_FIELDS = frozenset({"vendor", "product", "protocols", "match", "pairs", "source", "kind"})
_LOGIN = ("username", "password")


def _pair(pair: object, mark: Mark | None, label: str) -> tuple[str, str, int]:
    """[username, password] or [username, password, count]: text, no control character
    (a CR/LF sent raw would be several logins), a count that is a whole number ≥ 0."""
    if not (isinstance(pair, list) and len(pair) in (2, 3)):
        raise ConfigError(f"{mark}: {label} must be [username, password] (or with a count)")
    count = pair[2] if len(pair) == 3 else 0
    if not yaml_typed.is_whole(count) or count < 0:
        raise yaml_typed.wrong(
            yaml_typed.at(pair, 2, mark),
            f"{label}: the third value",
            "a count (a whole number ≥ 0)",
            count,
        )
    values: list[str] = []
    for k, name in enumerate(_LOGIN):
        value, at = pair[k], yaml_typed.at(pair, k, mark)
        if not isinstance(value, str):
            # a password is not shown, even a wrong one: only what kind of value it is
            shown = yaml_typed.describe(value) if name == "username" else yaml_typed.kind(value)
            raise ConfigError(
                f'{at}: {label} {name}: must be text (quote it, "" for none), not {shown}'
            )
        problem = control_character(value)
        if problem is not None:
            raise ConfigError(f"{at}: {label} {name}: {problem}")
        values.append(value)
    return values[0], values[1], count


def _entry(raw: object, mark: Mark | None, path: Path, i: int, user: bool) -> CredentialEntry:
    label = f"credentials[{i}]"
    where = f"{mark}: {label}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ConfigError(
            f"{yaml_typed.at(raw, unknown[0], mark)}: {label}: "
            f"unknown field(s) {', '.join(unknown)}"
        )

    def here(key: str) -> str:
        return f"{yaml_typed.at(raw, key, mark)}: {label}"

    protocols = raw.get("protocols")
    if (
        not isinstance(protocols, list)
        or not protocols
        or not all(isinstance(p, str) and p in PROTOCOLS for p in protocols)
    ):
        raise ConfigError(
            f"{here('protocols')}: protocols must be a list from {', '.join(sorted(PROTOCOLS))}"
        )
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(
            f"{here('source')}: every entry needs a 'source' saying where it is published"
        )
    vendor = yaml_typed.optional_text(raw, "vendor", f"{label}.vendor", empty=True) or ""
    product = yaml_typed.optional_text(raw, "product", f"{label}.product", empty=True) or ""
    pairs = raw.get("pairs") or []
    if not isinstance(pairs, list):
        raise yaml_typed.wrong(yaml_typed.at(raw, "pairs", mark), f"{label}.pairs", "a list", pairs)
    triples = [
        _pair(p, yaml_typed.at(pairs, j, mark), f"{label}: pairs[{j}]") for j, p in enumerate(pairs)
    ]
    if not triples:
        raise ConfigError(f"{here('pairs')}: no pairs")
    match = raw.get("match") or {}
    if not isinstance(match, dict) or not set(match) <= MATCH_KEYS:
        raise ConfigError(
            f"{here('match')}: match keys must be from {', '.join(sorted(MATCH_KEYS))}"
        )
    kind = raw.get("kind") or ("vendor" if match else "always")
    if not isinstance(kind, str) or kind not in KINDS or (kind == "vendor") != bool(match):
        raise ConfigError(
            f"{here('kind')}: kind must be one of {', '.join(sorted(KINDS))}; "
            "'vendor' entries (and only they) have a match"
        )
    origin = f"{path.name}: {vendor} ({source})"
    return CredentialEntry(
        vendor=vendor,
        product=product,
        protocols=frozenset(protocols),
        pairs=tuple(Credential(u, p, origin) for u, p, _ in triples),
        source=source,
        match=tuple(
            (k, _pattern(v, f"{yaml_typed.at(match, k, mark)}: {label}: match.{k}", eager=user))
            for k, v in match.items()
        ),
        kind=kind,
        counts=tuple(n for _, _, n in triples) if any(n for _, _, n in triples) else (),
        user=user,
    )


_COMMENTS = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\r?\n)*")


def _json_body(text: str) -> object:
    """The document when it is JSON after the comment header (the imported data sets),
    read with the JSON parser, ten times faster than YAML's; None when it is not (then YAML
    reads it). NaN, infinity and repeated keys make it "not JSON" too: YAML then reads the
    file and says what is wrong with it, and where."""
    header = _COMMENTS.match(text)  # matches always, maybe empty
    body = text[header.end() :] if header else text
    if not body.startswith("{"):
        return None
    try:
        return json.loads(body, parse_constant=_refuse, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return None


def _refuse(name: str) -> object:
    raise ValueError(name)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


#: where an imported data set came from (tools/import_defaultcreds.py writes them): text
_PROVENANCE = ("licence", "upstream", "version", "imported")
_TOP_KEYS = frozenset({"format", "credentials", "include", *_PROVENANCE})


def _entries(data: object, path: Path, user: bool) -> tuple[list[CredentialEntry], list[str]]:
    """The entries of one list, and the names of the lists it includes."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a credential list (expected format: {FORMAT})")
    top = yaml_typed.at(data, -1, Mark(path))
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{yaml_typed.at(data, unknown[0], top)}: {unknown[0]}: unknown top-level key of a "
            f"credential list (allowed: {', '.join(sorted(_TOP_KEYS))})"
        )
    for key in _PROVENANCE:
        yaml_typed.optional_text(data, key, key)
    raw = data.get("credentials")
    if not isinstance(raw, list):
        raise ConfigError(
            f"{yaml_typed.at(data, 'credentials', top)}: 'credentials' must be a list"
        )
    entries = [_entry(r, yaml_typed.at(raw, i, top), path, i, user) for i, r in enumerate(raw)]
    includes = data.get("include") or []
    if not isinstance(includes, list):
        raise ConfigError(
            f"{yaml_typed.at(data, 'include', top)}: 'include' must be a list of file names "
            "beside it"
        )
    for j, name in enumerate(includes):
        if (
            not isinstance(name, str)
            or "\x00" in name
            or Path(name).name != name
            or name == path.name
        ):
            raise ConfigError(
                f"{yaml_typed.at(includes, j, top)}: include {yaml_typed.shown(str(name))} "
                "must name another file beside it"
            )
    return entries, includes


def load_list(
    path: Path, *, user: bool = False, _within: tuple[Path, ...] = ()
) -> tuple[CredentialEntry, ...]:
    """One list, and the lists it `include`s (file names beside it), in that order."""
    text = yaml_typed.decode(yaml_typed.read_bytes(path), path)
    fast = _json_body(text)
    if fast is None:
        entries, includes = _entries(yaml_typed.parse(text, path), path, user)
    else:
        try:
            entries, includes = _entries(fast, path, user)
        except ConfigError as fast_error:
            # JSON knows no lines: YAML reads the same document again to say where
            _entries(yaml_typed.parse(text, path), path, user)
            raise fast_error from None
    within = (*_within, path.resolve())
    for name in includes:
        target = path.parent / name
        if target.resolve() in within:
            raise ConfigError(f"{path}: include {name!r}: the lists include each other")
        entries += load_list(target, user=user, _within=within)
    return tuple(entries)


def resolve_list(ref: str) -> Path:
    """A `--credentials` argument: a file, or the name of a shipped list (`mirai-2016`)."""
    path = Path(ref)
    if path.exists():
        return path
    shipped = BUILTIN.parent / f"{ref}.yaml"
    if "/" not in ref and shipped.exists():
        return shipped
    offered = plugin_data.credential_paths()  # installed plugins' lists, by name too
    if "/" not in ref:
        for plugin_list in offered:
            if plugin_list.stem == ref:
                return plugin_list
    names = ", ".join(sorted({p.stem for p in [*BUILTIN.parent.glob("*.yaml"), *offered]}))
    raise ConfigError(f"credential list {ref!r} not found (a file, or one of: {names})")


def load_catalog(extra: Iterable[Path] = (), *, builtin: bool = True) -> CredentialCatalog:
    """User lists first (they know their devices), then the built-in one (which includes
    the imported data sets)."""
    extra = list(extra)
    entries = [e for p in extra for e in load_list(p, user=True)]
    if builtin:
        entries += load_list(BUILTIN)
    paths = [*extra, *([BUILTIN] if builtin else [])]
    return CredentialCatalog(tuple(entries), tuple(str(p.resolve()) for p in paths))


def device_text(facts: Facts) -> dict[str, str]:
    """What the scan saw the device say about itself, by `match` key."""
    text: dict[str, list[str]] = {k: [] for k in MATCH_KEYS}
    for page in facts.get(HTTP_PAGES) or ():
        text["http"] += [page.server, page.title, page.auth_realm]
    # Other services' banners stay out: a print server's PJL answer names the printer
    # behind it, not the router it runs on.
    for svc in facts.get(SERVICES) or ():
        if svc.protocol in ("ssh", "telnet", "ftp"):
            text[svc.protocol] += [svc.banner, svc.product]
        elif svc.protocol in ("http", "https", "rtsp"):
            text["http"].append(svc.product)
    for answer in facts.get(UDP_ANSWERS) or ():
        kind = {"snmp": "snmp", "ssdp": "upnp", "enip": "enip", "bacnet": "bacnet"}.get(
            answer.service.protocol
        )
        if kind:
            text[kind].append(answer.response_summary)
    for signal in facts.get(IDENTITY) or ():
        if signal.kind in text and signal.kind != "any":
            text[signal.kind].append(signal.text)
    link = facts.get(LINK)
    if link is not None and link.vendor:
        # The maker of the network interface, from the IEEE registry: most devices carry
        # their own maker's prefix; one built on a bought-in module names the module's
        # maker, which selects a list only when a list names that maker.
        text["vendor"].append(link.vendor)
    joined = {k: "\n".join(dict.fromkeys(v for v in vs if v)) for k, vs in text.items()}
    joined["any"] = "\n".join(v for k, v in joined.items() if v and k != "any")
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
        return self.reserve_many([username], limit, 1)[0]

    def reserve_many(self, usernames: Sequence[str], limit: int, most: int) -> list[bool]:
        """A slot for each of `usernames` in turn, while its account holds fewer than
        `limit` and fewer than `most` were taken here: which were. One call, so a ledger
        kept in a database reserves a probe's whole plan in one transaction."""
        taken = take_slots(usernames, self._failures, limit, most)
        self._failures.update(u for u, ok in zip(usernames, taken, strict=True) if ok)
        return taken

    def release(self, username: str) -> None:
        self.release_many([username])

    def release_many(self, usernames: Sequence[str]) -> None:
        """One slot given back per name (a login that succeeded, or was never sent)."""
        for username in usernames:
            if self._failures[username] > 0:
                self._failures[username] -= 1

    def failures(self, username: str) -> int:
        return self._failures[username]


def take_slots(
    usernames: Sequence[str], held: Mapping[str, int], limit: int, most: int
) -> list[bool]:
    """Which of `usernames`, in turn, get a slot: their account holds fewer than `limit`
    (those `held` plus those taken before it here) and fewer than `most` were taken."""
    counts = Counter({u: held.get(u, 0) for u in usernames})
    taken: list[bool] = []
    chosen = 0
    for username in usernames:
        ok = chosen < most and counts[username] < limit
        if ok:
            counts[username] += 1
            chosen += 1
        taken.append(ok)
    return taken


def budget_plan(
    credentials: Sequence[Credential], ledger: AttemptLedger, per_account: int, max_pairs: int
) -> tuple[list[Credential], list[Credential]]:
    """(pairs to try, pairs skipped because their account's budget is spent), reserving
    the slots for the ones to try now, in order, synchronously (no await in between), in
    one call to the ledger (bench/sites: a round trip to the central database per pair
    was a fifth of a worker's CPU)."""
    taken = ledger.reserve_many([c.username for c in credentials], per_account, max_pairs)
    chosen = [c for c, ok in zip(credentials, taken, strict=True) if ok]
    skipped = [c for c, ok in zip(credentials, taken, strict=True) if not ok]
    return chosen, skipped
