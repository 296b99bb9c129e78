"""What an SSH server's first bytes say, in words, whatever they are.

RFC 4253 §4.2: the identification line is `SSH-protoversion-softwareversion`, printable
US-ASCII, at most 255 bytes with its CR LF. Devices send 0xff bytes, NULs, or 300 bytes
with no line end; the SSH client library (asyncssh) then raises `UnicodeDecodeError` or
`PacketDecodeError` (both `ValueError`), which must end as a sentence about the device, never
as a Python message in a verdict.
"""

from __future__ import annotations

import asyncssh

from scanner.model import bound_text

MAX_IDENT = 255
#: asyncssh's own reasons when it gives up on the lines before and at the identification
#: (a ProtocolError with another reason may be the server's own disconnect: OpenSSH sends
#: "Too many authentication failures" as PROTOCOL_ERROR).
_IDENT_REASONS = frozenset({"banner line too long", "version too long", "too many banner lines"})
#: Said of a server whose bytes no SSH client can follow: the checks read inconclusive.
NOT_SSH = "the server's bytes are not SSH a client can follow"


def ident_problem(line: bytes) -> str:
    """Why an identification line (with or without its CR LF) breaks RFC 4253 §4.2, or ""."""
    text = line.rstrip(b"\r\n")
    if len(text) + 2 > MAX_IDENT:
        return f"its identification line is {len(text)} bytes long (at most 253)"
    if any(b > 0x7E for b in text):
        return "its identification line has bytes outside US-ASCII (0x80-0xff)"
    if any(b < 0x20 for b in text):
        return "its identification line has control bytes (NUL, ESC...)"
    if not text.startswith(b"SSH-") or text.count(b"-") < 2:
        return "its identification line is not SSH-version-software"
    return ""


def describe_ssh_failure(exc: BaseException) -> str:
    """What the server did, for an exception an SSH exchange ended in. Library messages
    are kept only where they are the server's own words (a disconnect reason)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"{NOT_SSH}: its identification line has bytes outside US-ASCII"
    if isinstance(exc, asyncssh.ProtocolNotSupported):
        return f"{NOT_SSH}: its identification line names no SSH version a client speaks"
    if isinstance(exc, asyncssh.ProtocolError) and garbled(exc):
        if exc.reason.lower() == "version too long":
            return f"{NOT_SSH}: its identification line has no line end within 255 bytes"
        return f"{NOT_SSH}: before its identification, {exc.reason.lower()}"
    if isinstance(exc, ValueError):  # asyncssh's PacketDecodeError and kin
        return f"{NOT_SSH}: a packet that does not decode"
    if isinstance(exc, asyncssh.DisconnectError):
        return bound_text(f"disconnect: {exc.reason}", 160)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, (ConnectionError, EOFError, asyncssh.ConnectionLost)):
        return "the connection closed"
    return f"it failed ({type(exc).__name__})"


def garbled(exc: BaseException) -> bool:
    """Whether `exc` means the server's bytes are not SSH (not a drop worth a retry)."""
    if isinstance(exc, asyncssh.ProtocolError):
        return exc.reason.strip().lower() in _IDENT_REASONS
    return isinstance(exc, (ValueError, asyncssh.ProtocolNotSupported))
