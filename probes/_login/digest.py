"""Digest access authentication (RFC 7616, RFC 2617, RFC 2069), for HTTP and RTSP logins.

One reader of `WWW-Authenticate` values (several challenges on one line or on several
lines, quoted or bare parameters, any case) and one writer of the `Authorization` answer:
MD5, SHA-256 and SHA-512-256, each also in its `-sess` form; `qop=auth`, `qop=auth-int`
(the body hashed in) and none at all for RFC 2069 servers; the nonce count and client nonce;
`opaque` echoed; `userhash` when the server offers it; `username*` (RFC 8187) for a name
that is not ASCII when the server names `charset=UTF-8`.

Every value is device text: parameters and challenges are bounded in number, and a challenge
this module cannot answer is set aside, never guessed at.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Iterable

#: hashlib names of the algorithms, by their RFC 7616 name without `-sess`.
HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
#: Preference among them when a server offers several (RFC 7616 §3.7: the strongest).
STRENGTH = {"MD5": 1, "SHA-256": 2, "SHA-512-256": 3}
#: Parameters kept of one challenge, and challenges kept of one answer (a value's length is
#: the transport's header bound; cutting a nonce would only make a wrong answer).
MAX_PARAMS = 32
MAX_CHALLENGES = 16

_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# One item of a challenge list after its separator: `name=value` (value quoted or bare) or a
# bare token, which is the next challenge's scheme or, right after a scheme, a token68
# (Negotiate's blob).
_ITEM = re.compile(rf"""([\s,]*)(?:({_TCHARS})\s*=\s*("(?:[^"\\]|\\.)*"?|[^\s,]*)|({_TCHARS}=*))""")


@dataclass(frozen=True, slots=True)
class AuthChallenge:
    """One challenge of a `WWW-Authenticate` value: its scheme (lower case) and parameters
    (names in lower case, quoted values unquoted)."""

    scheme: str
    params: dict[str, str]


def parse_challenges(values: Iterable[str]) -> list[AuthChallenge]:
    """Every challenge of the given `WWW-Authenticate` values, in order."""
    found: list[AuthChallenge] = []
    for value in values:
        current: AuthChallenge | None = None
        token68 = False
        pos = 0
        while pos < len(value) and len(found) <= MAX_CHALLENGES:
            match = _ITEM.match(value, pos)
            if match is None or match.end() == pos:
                pos += 1  # a stray character: skip it, as lenient clients do
                continue
            pos = match.end()
            separator, name, raw, bare = match.groups()
            if bare is not None:
                scheme_only = current is not None and not current.params and not token68
                if scheme_only and "," not in separator:
                    token68 = True
                    continue
                current, token68 = AuthChallenge(bare.lower(), {}), False
                found.append(current)
                continue
            if current is None or len(current.params) >= MAX_PARAMS:
                continue
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:].removesuffix('"'))
            current.params.setdefault(name.lower(), raw)
    return found[:MAX_CHALLENGES]


def _base(algorithm: str) -> str:
    return algorithm.upper().removesuffix("-SESS")


@dataclass(slots=True)
class DigestChallenge:
    """A Digest challenge this module can answer, and the nonce count used on it."""

    realm: str
    nonce: str
    algorithm: str  # as the server spelled it, echoed back verbatim ("MD5" when unnamed)
    qop: str  # "auth", "auth-int" or "" (RFC 2069)
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False
    utf8: bool = False  # charset=UTF-8 offered
    named: bool = False  # whether the challenge named its algorithm
    nc: int = field(default=0)

    @classmethod
    def of(cls, challenge: AuthChallenge) -> DigestChallenge | None:
        """The challenge as a Digest one, or None when it is not one or cannot be answered
        (an unknown algorithm, no nonce, only qop values other than auth and auth-int)."""
        params = challenge.params
        if challenge.scheme != "digest" or "nonce" not in params:
            return None
        algorithm = params.get("algorithm") or "MD5"
        if _base(algorithm) not in HASHES:
            return None
        qops = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
        qop = "auth" if "auth" in qops else ("auth-int" if "auth-int" in qops else "")
        if qops and not qop:
            return None
        return cls(
            realm=params.get("realm", ""),
            nonce=params["nonce"],
            algorithm=algorithm,
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
            userhash=params.get("userhash", "").lower() == "true",
            utf8=params.get("charset", "").lower() == "utf-8",
            named="algorithm" in params,
        )

    @property
    def strength(self) -> int:
        return STRENGTH[_base(self.algorithm)]

    def hash(self, text: str) -> str:
        return hashlib.new(HASHES[_base(self.algorithm)], text.encode("utf-8")).hexdigest()

    def response(
        self, method: str, uri: str, username: str, password: str, nc: str, cnonce: str, body: bytes
    ) -> str:
        """The `response` value (RFC 7616 §3.4.1), `username` as the user typed it."""
        h = self.hash
        ha1 = h(f"{username}:{self.realm}:{password}")
        if self.algorithm.upper().endswith("-SESS"):
            ha1 = h(f"{ha1}:{self.nonce}:{cnonce}")
        if self.qop == "auth-int":
            body_hash = hashlib.new(HASHES[_base(self.algorithm)], body).hexdigest()
            ha2 = h(f"{method}:{uri}:{body_hash}")
        else:
            ha2 = h(f"{method}:{uri}")
        if self.qop:
            return h(f"{ha1}:{self.nonce}:{nc}:{cnonce}:{self.qop}:{ha2}")
        return h(f"{ha1}:{self.nonce}:{ha2}")

    def authorization(
        self,
        method: str,
        uri: str,
        username: str,
        password: str,
        *,
        cnonce: str | None = None,
        body: bytes = b"",
    ) -> str:
        """The `Authorization` value answering this challenge; counts one more use of its
        nonce. `cnonce` is random unless given (tests pin it)."""
        self.nc += 1
        nc = f"{self.nc:08x}"
        cnonce = cnonce or secrets.token_hex(8)
        response = self.response(method, uri, username, password, nc, cnonce, body)
        if self.userhash:
            parts = [f'username="{self.hash(f"{username}:{self.realm}")}"']
        elif self.utf8 and not username.isascii():
            parts = [f"username*=UTF-8''{quote(username, safe='')}"]
        else:
            parts = [f'username="{_quoted(username)}"']
        parts += [
            f'realm="{_quoted(self.realm)}"',
            f'nonce="{_quoted(self.nonce)}"',
            f'uri="{_quoted(uri)}"',
        ]
        if self.named or self.qop:
            # RFC 2069 servers name no algorithm and may not know the parameter.
            parts.append(f"algorithm={self.algorithm}")
        parts.append(f'response="{response}"')
        if self.opaque is not None:
            parts.append(f'opaque="{_quoted(self.opaque)}"')
        if self.qop:
            parts += [f"qop={self.qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        if self.userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def best_digest(challenges: Iterable[AuthChallenge]) -> DigestChallenge | None:
    """The strongest Digest challenge that can be answered, the first of equals."""
    usable = [c for c in map(DigestChallenge.of, challenges) if c is not None]
    return max(usable, key=lambda c: c.strength) if usable else None
