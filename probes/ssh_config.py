"""SSH configuration: which algorithms does the server offer, and does it take passwords?

The algorithm lists come from the server's own SSH_MSG_KEXINIT (RFC 4253 §7.1), read raw:
send our ident line, read the server's (bounded), read its first binary packet (at most
64 KiB) and parse the ten name-lists. Nothing is negotiated, so a list shows everything the
server would accept, not just what one client happened to pick. The RSA host key size and the
authentication methods need a real handshake: asyncssh fetches the host key restricted to
the RSA algorithms offered, and connects as a random user with no credentials, recording
whether the server asks for a password or keyboard-interactive answer (none is ever sent).

Policy (a name offered anywhere in the list is a finding; `*` matches any suffix):

| check       | weak when offered                  | why (reference)                            |
|-------------|------------------------------------|--------------------------------------------|
| ssh.kex     | diffie-hellman-group1-sha1         | 1024-bit group, SHA-1 (RFC 9142: MUST NOT) |
|             | diffie-hellman-group14-sha1        | SHA-1 hash (RFC 9142: SHOULD NOT)          |
|             | diffie-hellman-group-exchange-sha1 | SHA-1 hash (RFC 9142: SHOULD NOT)          |
|             | gss-*-sha1-*                       | SHA-1 GSS-API kex (RFC 9142)               |
|             | rsa1024-sha1                       | 1024-bit RSA, SHA-1 (RFC 9142: MUST NOT)   |
| ssh.hostkey | ssh-dss                            | DSA (FIPS 186-5 drops DSA signing)         |
|             | ssh-rsa without any rsa-sha2-*     | SHA-1 signatures only (RFC 8332)           |
|             | RSA host key under 2048 bits       | NIST SP 800-131A r2 (disallowed)           |
| ssh.ciphers | *-cbc (aes, 3des, blowfish …)      | CBC in SSH (RFC 4344, CVE-2008-5161)       |
|             | 3des*                              | TDEA (NIST SP 800-131A r2)                 |
|             | arcfour*                           | RC4 (RFC 8758: MUST NOT)                   |
|             | blowfish*, cast128*, idea*         | 64-bit block (SWEET32)                     |
|             | none                               | no encryption (RFC 4253 §6.3)              |
| ssh.macs    | hmac-md5*                          | MD5 (RFC 6151)                             |
|             | hmac-sha1* (incl. -96, -etm)       | SHA-1; RFC 6668 SHA-2 MACs (policy)        |
|             | umac-64*                           | 64-bit tag (policy)                        |
|             | none                               | no integrity (RFC 4253 §6.4)               |

`ssh.password-auth`: a server that asks for a password or a keyboard-interactive answer
fails; one that offers neither (publickey only, for example) passes.

Verdicts: a server that never sends KEXINIT (a banner-only service, a dropped connection)
is `error` for every check, with the reason; one whose bytes are not SSH at all (an
identification line with no end, scanner/fingerprint/ssh_ident.py) is `inconclusive`; an algorithm
list that is empty is `inconclusive`. IEC 62443-4-2 CR 4.3 (use of cryptography), NIST
SP 800-171 3.13.8/3.13.11, ETSI EN 303 645 5.5-1.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import secrets
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import asyncssh
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from scanner.fingerprint.ssh_ident import NOT_SSH, describe_ssh_failure, garbled, ident_problem
from scanner.model import Evidence, JSONValue, Result, Verdict, bound_text, quoted
from scanner.net import ReadLimitExceeded
from scanner.probe import Check, ServiceProbe

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from scanner.model import Service
    from scanner.net import BoundedStream, DeviceNetwork
    from scanner.probe import ProbeContext

CLIENT_IDENT = b"SSH-2.0-shinsa_audit\r\n"
#: RFC 4253 §4.2: an ident line is at most 255 bytes; other lines may precede it.
MAX_IDENT_LINE = 1024
MAX_PRE_IDENT_LINES = 20
#: Characters of the server's ident kept for evidence and reasons.
SHOWN_IDENT = 120
#: A KEXINIT of real servers is 1-2 KiB; RFC 4253 §6.1 needs 35000 supported.
MAX_PACKET = 64 * 1024
TIMEOUT = 10.0
#: Connections that close before the ident line (a throttled or busy device) are retried.
#: 31.5 s in all: a device that throttles a source while the default-login probe is still
#: trying passwords on it (sshd's MaxStartups, the lab's throttled-camera) drops every
#: connection until those attempts stop; 7.5 s read that as an error.
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
MSG_KEXINIT = 20

T = TypeVar("T")

KEX = Check(
    id="ssh.kex",
    title="The SSH server offers no weak key exchange method",
    method=(
        "Reads the server's SSH_MSG_KEXINIT and flags SHA-1 and 1024-bit key exchanges "
        "(diffie-hellman-group1-sha1, diffie-hellman-group14-sha1, "
        "diffie-hellman-group-exchange-sha1, gss-*-sha1-*, rsa1024-sha1; RFC 9142)."
    ),
)
HOSTKEY = Check(
    id="ssh.hostkey",
    title="The SSH host key is strong: no DSA, no SHA-1-only RSA, RSA of at least 2048 bits",
    method=(
        "Reads the host key algorithms from the server's KEXINIT (flags ssh-dss, and ssh-rsa "
        "offered without rsa-sha2-256/512), then fetches the RSA host key, if one is offered, "
        "and flags one under 2048 bits (NIST SP 800-131A)."
    ),
)
CIPHERS = Check(
    id="ssh.ciphers",
    title="The SSH server offers no weak cipher",
    method=(
        "Reads both directions' ciphers from the server's KEXINIT and flags CBC modes, 3DES, "
        "arcfour/RC4, Blowfish, CAST-128, IDEA and none."
    ),
)
MACS = Check(
    id="ssh.macs",
    title="The SSH server offers no weak message authentication code",
    method=(
        "Reads both directions' MACs from the server's KEXINIT and flags hmac-md5*, "
        "hmac-sha1* (including -96 and -etm) and umac-64*, and none."
    ),
)
PASSWORD_AUTH = Check(
    id="ssh.password-auth",
    title="The SSH server does not offer password or keyboard-interactive authentication",
    method=(
        "Connects as a random username without credentials and records whether the server "
        "asks for a password or a keyboard-interactive answer; none is ever sent."
    ),
)

#: (pattern, why weak) per check; see the module docstring for the references.
WEAK_KEX: tuple[tuple[str, str], ...] = (
    ("diffie-hellman-group1-sha1", "1024-bit group with SHA-1 (RFC 9142: MUST NOT)"),
    ("diffie-hellman-group14-sha1", "SHA-1 exchange hash (RFC 9142: SHOULD NOT)"),
    ("diffie-hellman-group-exchange-sha1", "SHA-1 exchange hash (RFC 9142: SHOULD NOT)"),
    ("gss-*-sha1-*", "SHA-1 GSS-API key exchange (RFC 9142)"),
    ("rsa1024-sha1", "1024-bit RSA with SHA-1 (RFC 9142: MUST NOT)"),
)
WEAK_HOSTKEY: tuple[tuple[str, str], ...] = (
    ("ssh-dss", "DSA host key, 1024 bits in SSH (FIPS 186-5 drops DSA signing)"),
    ("ssh-dss-cert-v01@openssh.com", "DSA host key certificate"),
)
WEAK_CIPHERS: tuple[tuple[str, str], ...] = (
    ("*-cbc", "CBC mode, open to plaintext recovery in SSH (RFC 4344, CVE-2008-5161)"),
    ("*-cbc@*", "CBC mode, open to plaintext recovery in SSH (RFC 4344, CVE-2008-5161)"),
    ("rijndael-cbc@lysator.liu.se", "CBC mode"),
    ("3des*", "64-bit block TDEA (NIST SP 800-131A r2: disallowed)"),
    ("arcfour*", "RC4 (RFC 8758: MUST NOT)"),
    ("blowfish*", "64-bit block cipher (SWEET32)"),
    ("cast128*", "64-bit block cipher (SWEET32)"),
    ("idea*", "64-bit block cipher (SWEET32)"),
    ("none", "no encryption (RFC 4253 §6.3)"),
)
WEAK_MACS: tuple[tuple[str, str], ...] = (
    ("hmac-md5*", "MD5 based (RFC 6151)"),
    ("hmac-sha1*", "SHA-1 based; SHA-2 MACs exist since RFC 6668 (policy)"),
    ("umac-64*", "64-bit tag (policy)"),
    ("none", "no integrity protection (RFC 4253 §6.4)"),
)
RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
MIN_RSA_BITS = 2048


class KexinitError(ValueError):
    """The bytes are not an SSH_MSG_KEXINIT packet."""


@dataclass(frozen=True, slots=True)
class Kexinit:
    """The ten name-lists of a server's KEXINIT (RFC 4253 §7.1)."""

    kex: tuple[str, ...]
    hostkey: tuple[str, ...]
    ciphers_c2s: tuple[str, ...]
    ciphers_s2c: tuple[str, ...]
    macs_c2s: tuple[str, ...]
    macs_s2c: tuple[str, ...]
    compression_c2s: tuple[str, ...]
    compression_s2c: tuple[str, ...]
    languages_c2s: tuple[str, ...] = ()
    languages_s2c: tuple[str, ...] = ()
    first_kex_follows: bool = False

    @property
    def ciphers(self) -> tuple[str, ...]:
        return _union(self.ciphers_c2s, self.ciphers_s2c)

    @property
    def macs(self) -> tuple[str, ...]:
        return _union(self.macs_c2s, self.macs_s2c)

    def details(self) -> dict[str, JSONValue]:
        return {
            "kex": list(self.kex),
            "hostkey": list(self.hostkey),
            "ciphers_c2s": list(self.ciphers_c2s),
            "ciphers_s2c": list(self.ciphers_s2c),
            "macs_c2s": list(self.macs_c2s),
            "macs_s2c": list(self.macs_s2c),
            "compression_c2s": list(self.compression_c2s),
            "compression_s2c": list(self.compression_s2c),
        }


def _union(a: Sequence[str], b: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*a, *b]))


def parse_kexinit(payload: bytes) -> Kexinit:
    """A KEXINIT payload (message byte first) parsed exactly; `KexinitError` otherwise."""
    if len(payload) < 17 or payload[0] != MSG_KEXINIT:
        raise KexinitError(f"not a KEXINIT (message {payload[:1].hex() or 'empty'})")
    pos = 17  # message byte, 16-byte cookie
    lists: list[tuple[str, ...]] = []
    for i in range(10):
        if pos + 4 > len(payload):
            raise KexinitError(f"truncated before name-list {i + 1} of 10")
        (n,) = struct.unpack_from(">I", payload, pos)
        pos += 4
        if pos + n > len(payload):
            raise KexinitError(f"name-list {i + 1} claims {n} bytes, {len(payload) - pos} left")
        raw = payload[pos : pos + n]
        pos += n
        lists.append(_name_list(raw, i + 1))
    if pos + 5 > len(payload):
        raise KexinitError("truncated before first_kex_packet_follows")
    follows = payload[pos] != 0
    kex, hostkey, c2s, s2c, mac_c2s, mac_s2c, comp_c2s, comp_s2c, lang_c2s, lang_s2c = lists
    return Kexinit(
        kex, hostkey, c2s, s2c, mac_c2s, mac_s2c, comp_c2s, comp_s2c, lang_c2s, lang_s2c, follows
    )


def _name_list(raw: bytes, index: int) -> tuple[str, ...]:
    if not raw:
        return ()
    if any(b <= 0x20 or b >= 0x7F for b in raw):
        raise KexinitError(f"name-list {index} holds bytes that are not printable US-ASCII")
    names = tuple(raw.decode("ascii").split(","))
    if any(not n for n in names):
        raise KexinitError(f"name-list {index} has an empty name")
    return names


def parse_packet(data: bytes) -> tuple[bytes, int]:
    """(payload, bytes used) of one unencrypted binary packet (RFC 4253 §6) at the start of
    `data`; `KexinitError` for a bad length, `EOFError` when more bytes are needed."""
    if len(data) < 4:
        raise EOFError("packet length incomplete")
    (length,) = struct.unpack_from(">I", data)
    if length < 5 or length + 4 > MAX_PACKET:
        raise KexinitError(f"packet length {length} is outside 5..{MAX_PACKET - 4}")
    if len(data) < 4 + length:
        raise EOFError("packet incomplete")
    padding = data[4]
    if padding < 4 or padding > length - 1:
        raise KexinitError(f"padding length {padding} invalid for a {length}-byte packet")
    return data[5 : 4 + length - padding], 4 + length


def weak_names(offered: Sequence[str], table: Sequence[tuple[str, str]]) -> dict[str, str]:
    """{offered name: why weak} for the names the table flags."""
    out: dict[str, str] = {}
    for name in offered:
        for pattern, why in table:
            if fnmatch.fnmatchcase(name, pattern):
                out[name] = why
                break
    return out


def hostkey_algorithm_findings(offered: Sequence[str]) -> dict[str, str]:
    """Host key algorithms that are weak by name alone."""
    found = weak_names(offered, WEAK_HOSTKEY)
    if "ssh-rsa" in offered and not any(a.startswith("rsa-sha2-") for a in offered):
        found["ssh-rsa"] = "RSA with SHA-1 signatures only, no rsa-sha2-256/512 (RFC 8332)"
    return found


class NoKexinit(Exception):
    """The server did not get as far as its KEXINIT; the message says how far it got."""


class NotSsh(NoKexinit):
    """The server's first bytes are not SSH (an identification line with no end)."""


@dataclass(frozen=True, slots=True)
class Offer:
    ident: str
    kexinit: Kexinit


async def _read_exactly(stream: BoundedStream, n: int, buf: bytearray) -> None:
    while len(buf) < n:
        chunk = await stream.read_some(n - len(buf), timeout=TIMEOUT)
        if not chunk:
            raise NoKexinit(f"the connection closed after {len(buf)} bytes of the first packet")
        buf += chunk


async def read_offer(dev: DeviceNetwork, port: int) -> Offer:
    """The server's ident line and KEXINIT; `NoKexinit` (or `ConnectionError` when the server
    closed before any ident, worth a retry) otherwise."""
    async with dev.tcp(port) as stream:
        await stream.write(CLIENT_IDENT)
        ident = ""
        for _ in range(MAX_PRE_IDENT_LINES):
            try:
                line = await stream.read_until(b"\n", limit=MAX_IDENT_LINE, timeout=TIMEOUT)
            except ReadLimitExceeded:
                raise NoKexinit(
                    f"a line longer than {MAX_IDENT_LINE} bytes before the ident"
                ) from None
            if not line:
                raise ConnectionError("closed before the SSH identification line")
            if line.startswith(b"SSH-"):
                ident = bound_text(line.rstrip(b"\r\n"), SHOWN_IDENT)
                problem = ident_problem(line)
                if problem.startswith("its identification line is") and "long" in problem:
                    # No line end within 255 bytes: what follows is not a packet we can find.
                    raise NotSsh(f"{NOT_SSH}: {problem}")
                break
            if not line.endswith(b"\n"):
                raise NoKexinit("the connection closed before an SSH identification line")
        else:
            raise NoKexinit(f"no SSH identification line within {MAX_PRE_IDENT_LINES} lines")
        buf = bytearray()
        try:
            await _read_exactly(stream, 4, buf)
            (length,) = struct.unpack_from(">I", buf)
            if length < 5 or length + 4 > MAX_PACKET:
                raise KexinitError(f"packet length {length} is outside 5..{MAX_PACKET - 4}")
            await _read_exactly(stream, 4 + length, buf)
            payload, _ = parse_packet(bytes(buf))
            return Offer(ident, parse_kexinit(payload))
        except NoKexinit as exc:
            raise NoKexinit(f"after its ident {quoted(ident)}, {exc}") from None
        except KexinitError as exc:
            raise NoKexinit(
                f"after its ident {quoted(ident)}, a first packet that is not a KEXINIT: {exc}"
            ) from None
        except TimeoutError:
            raise NoKexinit(
                f"after its ident {quoted(ident)}, no KEXINIT within {TIMEOUT:g} s"
            ) from None


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Retry an attempt that the server dropped before saying anything."""
    for delay in (*BACKOFF, None):
        try:
            return await attempt()
        except (ConnectionError, asyncssh.ConnectionLost):
            if delay is None:
                raise
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _connect_options(**more: object) -> asyncssh.SSHClientConnectionOptions:
    return asyncssh.SSHClientConnectionOptions(
        known_hosts=None,  # the host key is recorded, never trusted
        config=None,
        agent_path=None,
        gss_host=None,
        host_based_auth=False,
        connect_timeout=TIMEOUT,
        login_timeout=TIMEOUT,
        keepalive_interval=0,
        **more,
    )


async def rsa_host_key_bits(dev: DeviceNetwork, port: int, algorithms: Sequence[str]) -> int:
    """The size of the server's RSA host key, fetched with only `algorithms` allowed."""
    dev.scope.check(dev.address, "SSH connection to")

    async def attempt() -> int:
        async with dev.permit(), asyncio.timeout(TIMEOUT * 2):
            key = await asyncssh.get_server_host_key(
                dev.address,
                port,
                server_host_key_algs=list(algorithms),
                options=_connect_options(),
            )
        if key is None:
            raise asyncssh.ProtocolError("no host key received")
        public = load_ssh_public_key(key.export_public_key("openssh"))
        if not isinstance(public, rsa.RSAPublicKey):
            raise TypeError(f"the host key is {type(public).__name__}, not RSA")
        return public.key_size

    return await _retrying(attempt)


@dataclass(slots=True)
class AuthMethods:
    password: bool = False
    keyboard_interactive: bool = False
    accepted_without_credentials: bool = False
    banner: str = ""  # SSH_MSG_USERAUTH_BANNER text (RFC 4252 §5.4), bounded


class _MethodRecorder(asyncssh.SSHClient):
    """Notes which methods the server offers and declines every one of them."""

    def __init__(self, seen: AuthMethods) -> None:
        self._seen = seen

    def password_auth_requested(self) -> None:
        self._seen.password = True

    def kbdint_auth_requested(self) -> None:
        self._seen.keyboard_interactive = True

    def auth_banner_received(self, msg: str, lang: str) -> None:
        self._seen.banner = bound_text(self._seen.banner + msg, 2000)


def hostkey_preference(offered: Sequence[str]) -> list[str]:
    """The server's host key algorithms that asyncssh knows, non-RSA first: some servers
    (dropbear 2022.83 with only an ed25519 key) offer RSA without having an RSA key."""
    known = {a.decode() for a in asyncssh.public_key.get_public_key_algs()}
    usable = [a for a in offered if a in known]
    return [a for a in usable if "rsa" not in a] + [a for a in usable if "rsa" in a]


async def auth_methods(dev: DeviceNetwork, port: int, hostkeys: Sequence[str]) -> AuthMethods:
    """Which interactive methods the server offers a random user; no credential is sent."""
    dev.scope.check(dev.address, "SSH connection to")
    username = f"shinsa-{secrets.token_hex(4)}"

    async def attempt() -> AuthMethods:
        seen = AuthMethods()
        async with dev.permit(), asyncio.timeout(TIMEOUT * 2):
            try:
                conn = await asyncssh.connect(
                    dev.address,
                    port,
                    username=username,
                    client_factory=lambda: _MethodRecorder(seen),
                    options=_connect_options(
                        client_keys=None,
                        public_key_auth=False,
                        password_auth=True,
                        kbdint_auth=True,
                        preferred_auth=("password", "keyboard-interactive"),
                        **({"server_host_key_algs": list(hostkeys)} if hostkeys else {}),
                    ),
                )
            except asyncssh.PermissionDenied:
                return seen
            seen.accepted_without_credentials = True
            conn.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await conn.wait_closed()
        return seen

    return await _retrying(attempt)


class SshConfig(ServiceProbe):
    """Judges an SSH server's offered algorithms and authentication methods."""

    checks = (KEX, HOSTKEY, CIPHERS, MACS, PASSWORD_AUTH)
    protocols = frozenset({"ssh"})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        where = f"{service} on {ctx.target.address}"
        try:
            offer = await _retrying(lambda: read_offer(ctx.net, service.port))
        except (NoKexinit, OSError, TimeoutError) as exc:
            why = str(exc) if isinstance(exc, NoKexinit) else _why(exc)
            reason = f"{where} never sent its key exchange offer (KEXINIT): {why}."
            ev = Evidence("ssh_kexinit", bound_text(why, 200), {"error": bound_text(why, 200)})
            # Bytes that are not SSH are the device's doing: nothing to judge, not our failure.
            verdict = Verdict.INCONCLUSIVE if isinstance(exc, NotSsh) else Verdict.ERROR
            return [ctx.result(c, verdict, reason, ev, service=service) for c in self.checks]
        offered = Evidence(
            "ssh_kexinit",
            f"{offer.ident}: {len(offer.kexinit.kex)} kex, {len(offer.kexinit.hostkey)} host key, "
            f"{len(offer.kexinit.ciphers)} cipher, {len(offer.kexinit.macs)} MAC algorithms"[:200],
            {"ident": offer.ident, **offer.kexinit.details()},
        )

        def judge(check: Check, what: str, names: Sequence[str], weak: dict[str, str]) -> Result:
            if not names:
                return ctx.result(
                    check,
                    Verdict.INCONCLUSIVE,
                    f"{where} offered an empty {what} list in its KEXINIT.",
                    offered,
                    service=service,
                )
            if weak:
                listed = "; ".join(f"{n}: {why}" for n, why in weak.items())
                policy = Evidence("policy", f"weak {what}: {', '.join(weak)}"[:200], dict(weak))
                return ctx.result(
                    check,
                    Verdict.FAIL,
                    f"{where} offers weak {what} ({listed}).",
                    offered,
                    policy,
                    service=service,
                )
            return ctx.result(
                check,
                Verdict.PASS,
                f"{where} offers only {what} the policy accepts: {', '.join(names)}.",
                offered,
                service=service,
            )

        k = offer.kexinit
        results = [
            judge(KEX, "key exchange methods", k.kex, weak_names(k.kex, WEAK_KEX)),
            await self._hostkey(ctx, service, k, offered),
            judge(CIPHERS, "ciphers", k.ciphers, weak_names(k.ciphers, WEAK_CIPHERS)),
            judge(MACS, "MACs", k.macs, weak_names(k.macs, WEAK_MACS)),
            await self._password(ctx, service, hostkey_preference(k.hostkey)),
        ]
        return results

    @staticmethod
    async def _hostkey(
        ctx: ProbeContext, service: Service, k: Kexinit, offered: Evidence
    ) -> Result:
        where = f"{service} on {ctx.target.address}"

        def result(verdict: Verdict, reason: str, *more: Evidence) -> Result:
            return ctx.result(HOSTKEY, verdict, reason, offered, *more, service=service)

        if not k.hostkey:
            return result(Verdict.INCONCLUSIVE, f"{where} offered no host key algorithm.")
        weak = hostkey_algorithm_findings(k.hostkey)
        rsa_algs = [a for a in RSA_SIGNATURES if a in k.hostkey]
        bits: int | None = None
        fetch_error = ""
        if rsa_algs:
            try:
                bits = await rsa_host_key_bits(ctx.net, service.port, rsa_algs)
            except (OSError, TimeoutError, asyncssh.Error, ValueError, TypeError) as exc:
                fetch_error = _why(exc)
            if bits is not None and bits < MIN_RSA_BITS:
                weak[f"RSA {bits} bits"] = f"RSA host key under {MIN_RSA_BITS} bits (SP 800-131A)"
        key_ev = Evidence(
            "ssh_hostkey",
            (f"RSA host key {bits} bits" if bits else fetch_error or "no RSA host key offered")[
                :200
            ],
            {"rsa_bits": bits, "fetch_error": fetch_error or None},
        )
        if weak:
            listed = "; ".join(f"{n}: {why}" for n, why in weak.items())
            policy = Evidence("policy", f"weak host key: {', '.join(weak)}"[:200], dict(weak))
            return result(Verdict.FAIL, f"{where} has a weak host key ({listed}).", key_ev, policy)
        if fetch_error:
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} offers RSA host keys ({', '.join(rsa_algs)}) but the key could not be "
                f"fetched to measure it: {fetch_error}.",
                key_ev,
            )
        size = f"; RSA key {bits} bits" if bits else ""
        return result(
            Verdict.PASS,
            f"{where} offers host key algorithms the policy accepts "
            f"({', '.join(k.hostkey)}){size}.",
            key_ev,
        )

    @staticmethod
    async def _password(ctx: ProbeContext, service: Service, hostkeys: Sequence[str]) -> Result:
        where = f"{service} on {ctx.target.address}"
        try:
            seen = await auth_methods(ctx.net, service.port, hostkeys)
        except (OSError, TimeoutError, asyncssh.Error, ValueError) as exc:
            return ctx.result(
                PASSWORD_AUTH,
                Verdict.INCONCLUSIVE if garbled(exc) else Verdict.ERROR,
                f"{where}: the authentication methods could not be read: {_why(exc)}.",
                Evidence("exception", _why(exc)[:200]),
                service=service,
            )
        methods = [
            m
            for m, on in (
                ("password", seen.password),
                ("keyboard-interactive", seen.keyboard_interactive),
            )
            if on
        ]
        ev = Evidence(
            "ssh_auth_methods",
            f"interactive methods offered: {', '.join(methods) or 'none'}",
            {
                "password": seen.password,
                "keyboard_interactive": seen.keyboard_interactive,
                "accepted_without_credentials": seen.accepted_without_credentials,
            },
        )
        if seen.accepted_without_credentials:
            return ctx.result(
                PASSWORD_AUTH,
                Verdict.FAIL,
                f"{where} let a random user in without any credentials.",
                ev,
                service=service,
            )
        if methods:
            return ctx.result(
                PASSWORD_AUTH,
                Verdict.FAIL,
                f"{where} offers {' and '.join(methods)} authentication.",
                ev,
                service=service,
            )
        return ctx.result(
            PASSWORD_AUTH,
            Verdict.PASS,
            f"{where} offers neither password nor keyboard-interactive authentication.",
            ev,
            service=service,
        )


def _why(exc: BaseException) -> str:
    if garbled(exc):  # device bytes asyncssh refused: said in words, never its message
        return describe_ssh_failure(exc)
    if isinstance(exc, asyncssh.DisconnectError):
        return bound_text(f"disconnect: {exc.reason}", 160)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return bound_text(f"{type(exc).__name__}: {exc}", 160)
