"""Reading an SSH server without logging in: its identification line and KEXINIT, its
RSA host key, and the authentication methods it offers a random user.

Shared by the SSH probes. The KEXINIT is read raw (RFC 4253 §7.1): send our ident line,
read the server's (bounded), read its first binary packet (at most `MAX_PACKET`) and parse
the ten name-lists; nothing is negotiated. The host key and the methods need a real
handshake through asyncssh; no credential is ever sent. Connections that close before the
ident line are retried along `BACKOFF`.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import asyncssh
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from scanner.fingerprint.ssh_ident import NOT_SSH, ident_problem
from scanner.model import JSONValue, bound_text, quoted
from scanner.net import ReadLimitExceeded

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from scanner.net import BoundedStream, DeviceNetwork

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


class NoKexinit(Exception):
    """The server did not get as far as its KEXINIT; the message says how far it got."""


class NotSsh(NoKexinit):
    """The server's first bytes are not SSH (an identification line with no end)."""


@dataclass(frozen=True, slots=True)
class Offer:
    """What the server sent before any negotiation: its ident line and its KEXINIT."""

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


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
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

    async def attempt() -> int:
        key = await dev.ssh_host_key(
            port,
            timeout=TIMEOUT * 2,
            server_host_key_algs=list(algorithms),
            options=_connect_options(),
        )
        if key is None:
            raise asyncssh.ProtocolError("no host key received")
        public = load_ssh_public_key(key.export_public_key("openssh"))
        if not isinstance(public, rsa.RSAPublicKey):
            raise TypeError(f"the host key is {type(public).__name__}, not RSA")
        return public.key_size

    return await retrying(attempt)


@dataclass(slots=True)
class AuthMethods:
    """What a random user without credentials was offered (nothing was ever answered)."""

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
    username = f"shinsa-{secrets.token_hex(4)}"

    async def attempt() -> AuthMethods:
        seen = AuthMethods()
        try:
            async with dev.ssh(
                port,
                timeout=TIMEOUT * 2,
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
            ):
                seen.accepted_without_credentials = True
        except asyncssh.PermissionDenied:
            return seen
        return seen

    return await retrying(attempt)
