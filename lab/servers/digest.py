"""HTTP Digest access authentication (RFC 7616; qop=auth, MD5 and SHA-256), for HTTP and RTSP.

The server keeps the nonces it issued (a bounded, oldest-first table), so a response to a
nonce it never gave out is no login at all: the client is challenged again.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lab.personality import Account

#: Algorithms offered, strongest first (RFC 7616 §3.7: one challenge per algorithm).
ALGORITHMS = ("SHA-256", "MD5")
MAX_NONCES = 1024
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def _hash(algorithm: str, text: str) -> str:
    name = "sha256" if algorithm.upper() == "SHA-256" else "md5"
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def parse_params(header: str) -> tuple[str, dict[str, str]]:
    """(scheme, {parameter: value}) of an Authorization / WWW-Authenticate header."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest) and len(params) < 32:
        match = _PARAM.match(rest, pos)
        if not match or match.end() == pos:
            break
        value = match.group(2) if match.group(2) is not None else match.group(3) or ""
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        pos = match.end()
    return scheme, params


def response_for(
    params: dict[str, str], method: str, username: str, realm: str, password: str
) -> str:
    """The `response` a client knowing `password` would send for these parameters."""
    algorithm = params.get("algorithm", "MD5")
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    ha2 = _hash(algorithm, f"{method}:{params.get('uri', '')}")
    if "qop" in params:
        fields = (ha1, params["nonce"], params.get("nc", ""), params.get("cnonce", ""))
        return _hash(algorithm, ":".join((*fields, params["qop"], ha2)))
    return _hash(algorithm, f"{ha1}:{params['nonce']}:{ha2}")  # RFC 2069 clients


class DigestAuth:
    """Challenges and verification for one realm."""

    def __init__(self, realm: str) -> None:
        self.realm = realm.replace('"', "'")
        self.opaque = secrets.token_hex(16)
        self._nonces: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def challenges(self, *, stale: bool = False) -> list[str]:
        """WWW-Authenticate values, one per algorithm, sharing one fresh nonce."""
        nonce = secrets.token_hex(16)
        with self._lock:
            self._nonces[nonce] = None
            while len(self._nonces) > MAX_NONCES:
                self._nonces.popitem(last=False)
        extra = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", qop="auth", algorithm={algorithm}, '
            f'nonce="{nonce}", opaque="{self.opaque}"{extra}'
            for algorithm in ALGORITHMS
        ]

    def credentials(self, header: str) -> tuple[str, dict[str, str]] | None:
        """(username, parameters) of a well-formed Digest answer to one of our nonces."""
        scheme, params = parse_params(header)
        if scheme.lower() != "digest":
            return None
        if not all(params.get(k) for k in ("username", "nonce", "uri", "response")):
            return None
        if params.get("realm", self.realm) != self.realm:
            return None
        if params.get("algorithm", "MD5").upper() not in ALGORITHMS:
            return None
        if "qop" in params and (params["qop"] != "auth" or not params.get("cnonce")):
            return None
        with self._lock:
            if params["nonce"] not in self._nonces:
                return None
        return params["username"], params

    def verify(self, params: dict[str, str], method: str, accounts: Iterable[Account]) -> bool:
        """Whether some account with this username produced `response`."""
        return any(
            secrets.compare_digest(
                response_for(params, method, a.username, self.realm, a.password).encode(),
                params["response"].lower().encode("utf-8", "replace"),
            )
            for a in accounts
            if a.username == params["username"]
        )
