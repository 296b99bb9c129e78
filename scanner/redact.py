"""Secrets out of everything a scan keeps: one masking for URLs, one for known secrets.

Devices echo what they are given: a login redirects to `/home?user=admin&pw=…`, a cookie
carries the password base64-encoded, a page or an MOTD repeats it upper-cased or cut to a
field width, an SNMP agent names its community in sysDescr. Checks quote what they saw,
so every result passes `Redactor.result` in the engine before the store and the reports
see it (`scanner/engine.py`, `land()`), and checks that quote a URL show `mask_url(url)`.

The mask is the one every login detail already uses (`scanner.credentials.MASK`, the
four dots of `Credential.masked()`): a masked value reads the same everywhere and its
length is hidden.

Which secrets, and how hard they are looked for (`Redactor`):

- *strong* secrets (4 characters or more, not a common word, not all digits below 8, not
  also a user name): every occurrence in any case, anywhere in a string, percent-,
  form- and HTML-encoded; base64-encoded (at any of the three byte alignments, so also
  inside `user:password`); and a prefix of 4 or more characters at the end of a string
  (devices cut passwords to a field width, and `bound_text` cuts device text with "…"),
  or of 6 or more standing as a word anywhere (an MOTD goes on after the cut; 4 or 5
  characters alone are too often a word of their own); never a cut that is a word of
  `COMMON`: shinsa's own facts say "lock" and "wrong", and a test account's password
  "Lock-…" must not blank them.
- *weak* secrets (shorter than 4, all digits shorter than 8, a word from `COMMON`): only
  where text puts them as a value — the whole string, after `=` or `:`, or between
  quotes — plus their base64 forms when those are 6 characters or more. Masking `admin`
  or `1234` wherever it occurs would mask port numbers and half of every page; a common
  word shown beside a masked login tells a reader nothing the public lists do not.
- a secret that is also the user name of a known login (`admin/admin`): only in URLs
  and base64. Reports show user names by design (`admin/••••`, `login: admin`), so the
  password is as good as shown there; masking it would only blank the user name.

Every URL in any text has its values masked (`mask_urls`), whatever the secrets.

Not covered: a secret the device shows before the scan knows it is one (a factory
password found later in the scan, shown earlier by another check's device text), and
secrets in forms not listed here (hex, ROT13, reversed).
"""

from __future__ import annotations

import base64
import functools
import html
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from scanner.credential_lists import BUILTIN
from scanner.credentials import MASK as MASK  # the one mask every login detail shows
from scanner.facts import UDP_ANSWERS, VALID_CREDENTIALS
from scanner.model import Evidence

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.credential_lists import CredentialCatalog
    from scanner.credentials import Credential, TestAccount
    from scanner.facts import Facts
    from scanner.model import JSONValue, Result, Service

#: Shorter than this, a secret is weak (see the module doc); also the shortest truncation.
MIN_STRONG = 4
#: All-digit secrets shorter than this are weak: they are port numbers, counts and times.
MIN_DIGITS = 8
#: A prefix at least this long is a cut secret wherever it stands as a word of its own (an
#: MOTD or a multi-line reply goes on after the cut); shorter ones only at a string's end.
MIN_CUT_WORD = 6
#: Longest prefix of a secret looked for as its truncation (a device cuts to a field width).
MAX_TRUNCATED = 64
#: Longer forms are not put in the trie of `_alternation` (its recursion is this deep).
MAX_TRIE = 400
#: A base64 form shorter than this is not looked for: too likely to occur by chance.
MIN_BASE64 = 6

#: Words too common in device text and in shinsa's own sentences to mask wherever they
#: occur: default logins that are also user names, product and protocol words, verdicts,
#: and the values of the lockout timeline and reaction facts.
COMMON = frozenset(
    {
        "accepted",
        "account",
        "admin",
        "administrator",
        "anonymous",
        "answered",
        "camera",
        "changeme",
        "cisco",
        "default",
        "delay",
        "demo",
        "device",
        "enable",
        "error",
        "fail",
        "guest",
        "lock",
        "login",
        "manager",
        "master",
        "monitor",
        "none",
        "operator",
        "pass",
        "passwd",
        "password",
        "private",
        "public",
        "rejected",
        "right",
        "root",
        "secret",
        "security",
        "service",
        "session",
        "super",
        "supervisor",
        "support",
        "system",
        "tech",
        "test",
        "throttle",
        "ubnt",
        "user",
        "welcome",
        "wrong",
    }
)

#: RFC 3986 appendix B: splits any string (never raises) into scheme, authority, path,
#: query and fragment.
_URL_PARTS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:)?(//[^/?#]*)?([^?#]*)(\?[^#]*)?(#.*)?\Z", re.S)
#: An absolute URL, or a path with a query, inside text.
_URL_IN_TEXT = re.compile(
    r"(?:\b[A-Za-z][A-Za-z0-9+.-]*://|(?<![\w.:/~%-])/)[^\s\"'<>`]*",
)
#: Closing punctuation after a URL in a sentence: not part of the URL.
_TRAILING = ".,;:!?)]}"
_PATH_PARAM = re.compile(r";([^;/=]*)=([^;/]*)")
_ALNUM = "A-Za-z0-9"
_B64 = r"[A-Za-z0-9+/_-]"


def _mask_pairs(text: str) -> str:
    """`a=1&b=2` as `a=••••&b=••••`; a bare segment (`?3f9a0c`) has no name to keep."""
    out: list[str] = []
    for piece in re.split(r"([&;])", text):
        if piece in ("&", ";", ""):
            out.append(piece)
            continue
        name, eq, value = piece.partition("=")
        out.append(f"{name}={MASK if value else ''}" if eq else MASK)
    return "".join(out)


def mask_url(url: str) -> str:
    """`url` as evidence may show it: scheme, host, path and parameter names kept, every
    value that may be a secret masked — query values, `;name=value` path parameters
    (`;jsessionid=`), the password in `user:password@`, and fragment values
    (`#access_token=`). Never raises: a malformed URL is masked as far as it parses."""
    m = _URL_PARTS.match(url)
    if m is None:  # unreachable (every group is optional), kept for the type checker
        return MASK
    scheme, authority, path, query, fragment = (g or "" for g in m.groups())
    if "@" in authority:
        userinfo, _, host = authority[2:].rpartition("@")
        user, colon, password = userinfo.partition(":")
        authority = f"//{user}{colon}{MASK if password else ''}@{host}"
    path = _PATH_PARAM.sub(lambda p: f";{p[1]}={MASK if p[2] else ''}", path)
    if query:
        query = "?" + _mask_pairs(query[1:])
    if fragment:
        route, qmark, rest = fragment[1:].partition("?")
        if qmark:
            fragment = f"#{route}?{_mask_pairs(rest)}"
        elif "=" in route:
            fragment = "#" + _mask_pairs(route)
    return f"{scheme}{authority}{path}{query}{fragment}"


def mask_urls(text: str) -> str:
    """Every URL in `text` (absolute, or a path with a query) through `mask_url`."""

    def one(m: re.Match[str]) -> str:
        found = m[0]
        stripped = found.rstrip(_TRAILING)
        if not any(c in stripped for c in "?#@;"):
            return found
        return mask_url(stripped) + found[len(stripped) :]

    return _URL_IN_TEXT.sub(one, text)


def _base64_cores(secret: str) -> set[str]:
    """The base64 text that encodes `secret` wherever it sits in the encoded bytes: for
    each of the three alignments, the characters that depend on its bytes alone."""
    raw = secret.encode()
    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        first = -(-8 * shift // 6)  # ceil: the first character made of the secret's bits
        last = (8 * (shift + len(raw))) // 6  # exclusive
        core = encoded[first:last]
        if len(core) >= MIN_BASE64:
            cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


def _encodings(secret: str) -> set[str]:
    """The textual forms a device may echo `secret` in (matched ignoring case)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
    }
    return {f for f in forms if f}


def is_weak(secret: str) -> bool:
    """Whether `secret` is masked only where text puts it as a value (module doc)."""
    return (
        len(secret) < MIN_STRONG
        or (secret.isdigit() and len(secret) < MIN_DIGITS)
        or secret.lower() in COMMON
    )


def _alternation(forms: Iterable[str]) -> str:
    """One pattern matching any of `forms`, the longest where several fit, as a trie: a
    site list of a thousand passwords is one pass over the text, not a thousand. Forms
    longer than `MAX_TRIE` (no password is) are plain alternatives."""
    root: dict[str, dict[str, Any]] = {}
    long: list[str] = []
    for form in forms:
        if len(form) > MAX_TRIE:
            long.append(form)
            continue
        node = root
        for ch in form:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, dict[str, Any]]) -> str:
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    parts = [re.escape(f) for f in sorted(long, key=len, reverse=True)]
    if root:
        parts.append(render(root))
    return "|".join(parts)


def _truncations(secret: str) -> list[str]:
    """`secret`'s prefixes of MIN_STRONG characters or more that are not common words
    themselves ("pass" of "password99" ends many a sentence)."""
    cut = secret[:MAX_TRUNCATED]
    return [cut[:k] for k in range(MIN_STRONG, len(cut)) if cut[:k].lower() not in COMMON]


class Redactor:
    """Masks the given secrets, in the forms devices echo them in, in results and
    services; and every URL's values (`mask_urls`). One device's is `DeviceRedactor`'s."""

    def __init__(self, secrets: Iterable[str], usernames: Iterable[str] = ()) -> None:
        self.secrets = frozenset(s for s in secrets if s)
        anywhere: set[str] = set()
        as_value: set[str] = set()
        cores: set[str] = set()
        truncated: set[str] = set()
        shown = {n.lower() for n in usernames}
        for secret in self.secrets:
            for variant in {secret, secret.upper(), secret.lower()}:
                cores |= _base64_cores(variant)
            if secret.lower() in shown:
                continue  # a user name too: reports show it (module doc)
            if is_weak(secret):
                as_value |= _encodings(secret)
                continue
            anywhere |= _encodings(secret)
            truncated.update(_truncations(secret))
        parts: list[str] = []
        if anywhere:
            parts.append(_alternation(anywhere))
        if as_value:
            # the whole string; after `=` or `:` (a query, a cookie, `user:password`,
            # "password: x"); between quotes. Never a part of a word, and never the user
            # name at the start of `admin/••••`.
            values = _alternation(as_value)
            parts.append(
                rf"^(?:{values})\Z"
                rf"|(?:(?<=[=:])|(?<=[=:] ))(?:{values})(?![{_ALNUM}])"
                rf"|(?<=['\"])(?:{values})(?=['\"])"
            )
        if truncated:
            # at the end of the string (closing quotes, brackets, dots or "…" after it),
            # or, when long enough, as a word of its own anywhere
            ends = _alternation(truncated)
            words = _alternation(t for t in truncated if len(t) >= MIN_CUT_WORD)
            parts.append(rf"(?<![{_ALNUM}])(?:{ends})(?=[\s\"'.…)\]>]*\Z)")
            if words:
                parts.append(rf"(?<![{_ALNUM}])(?:{words})(?![{_ALNUM}])")
        self._folded = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        # a base64 core takes the partial character and the padding that end its run
        self._exact = (
            re.compile(rf"(?:{_alternation(cores)})(?:{_B64}={{0,2}}(?!{_B64}))?")
            if cores
            else None
        )

    def text(self, value: str) -> str:
        value = mask_urls(value)
        if self._folded is not None:
            value = self._folded.sub(MASK, value)
        if self._exact is not None:
            value = self._exact.sub(MASK, value)
        return value

    def json(self, value: JSONValue) -> JSONValue:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.json(v) for k, v in value.items()}
        return value

    def evidence(self, ev: Evidence) -> Evidence:
        details = {self.text(k): self.json(v) for k, v in ev.details.items()}
        return Evidence(ev.kind, self.text(ev.summary), details, self.text(ev.summary_ja))

    def result(self, result: Result) -> Result:
        return replace(
            result,
            service=self.service(result.service) if result.service else None,
            reason=self.text(result.reason),
            reason_ja=self.text(result.reason_ja),
            evidence=tuple(self.evidence(e) for e in result.evidence),
        )

    def service(self, service: Service) -> Service:
        return replace(
            service,
            banner=self.text(service.banner),
            product=self.text(service.product),
            note=self.text(service.note),
        )


def site_logins(catalog: CredentialCatalog) -> list[Credential]:
    """The logins of the operator's own `--credentials` lists: their site's passwords.
    The lists shipped with shinsa (also when named with `--credentials mirai-2016`) are
    published words, not secrets; one of them that opens a device is masked as found."""
    shipped = BUILTIN.parent.resolve()
    paths = [Path(f) for f in catalog.files]
    own = {p.name for p in paths if p.parent != shipped}
    published = {p.name for p in paths if p.parent == shipped} - own
    return [
        cred
        for entry in catalog.entries
        if entry.user
        for cred in entry.pairs
        if cred.source.split(":", 1)[0] not in published
    ]


class DeviceRedactor:
    """The `Redactor` of one device: the profile's test account and the site's lists from
    the start, then every login and SNMP community the device is found to accept (a
    default login found by one check is masked in every result that lands after it)."""

    def __init__(
        self, test_account: TestAccount | None, catalog: CredentialCatalog, facts: Facts
    ) -> None:
        account = test_account.credential() if test_account is not None else None
        self._fixed = [*site_logins(catalog), *([account] if account else [])]
        self._facts = facts
        self._key: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._redactor = Redactor(())

    def current(self) -> Redactor:
        found = [f.credential for f in self._facts.get(VALID_CREDENTIALS) or ()]
        logins = [*self._fixed, *found]
        communities = [a.snmp_community for a in self._facts.get(UDP_ANSWERS) or ()]
        secrets = tuple(sorted({c.password for c in logins} | set(communities)))
        names = tuple(sorted({c.username for c in logins if c.username}))
        if (secrets, names) != self._key:
            self._key = (secrets, names)
            self._redactor = _redactor(secrets, names)
        return self._redactor

    def result(self, result: Result) -> Result:
        return self.current().result(result)

    def service(self, service: Service) -> Service:
        return self.current().service(service)


@functools.lru_cache(maxsize=32)
def _redactor(secrets: tuple[str, ...], names: tuple[str, ...]) -> Redactor:
    """Devices of one scan mostly share their secrets (the test account, the site's lists):
    their patterns are compiled once, not per device."""
    return Redactor(secrets, names)
