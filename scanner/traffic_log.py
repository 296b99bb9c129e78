"""What a scan sent and received, for `-v` (each connection, request and login attempt) and
`--debug` (the bytes themselves, in bounded excerpts), with every secret masked.

The door (scanner/net.py) calls `opened`, `sent` and `received`; nothing is formatted unless
the logger `shinsa.traffic` is enabled for that level, so a scan without `-v` pays one
level check per call. `SecretMask` is the filter the command line puts on the log's handler
(and `install`s for what shinsa sent):

- in what shinsa sent, every password, community and token of every credential list in use
  and of the test accounts becomes `***` wherever it stands as a word of its own, however
  short or common (a Telnet password line, FTP's PASS, a community inside an SNMP packet);
- in every line, the site's own secrets (`--credentials` lists, the test accounts: the ones
  the store masks, `scanner.redact.site_logins`) are masked as the store masks them, in
  every form `scanner.redact` knows (any case, cut, base64, percent- and form-encoded), and
  URLs show no query values. The published lists' words are not looked for in what devices
  send: "connect", "correct" and "login" are such passwords, and a log where every prompt is
  masked shows nothing.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from scanner.credentials import MASK
from scanner.redact import Redactor

if TYPE_CHECKING:
    from collections.abc import Iterable

LOG = logging.getLogger("shinsa.traffic")

#: the most bytes of one read or write a log line shows
EXCERPT = 256
#: what a masked secret reads as in the log
LOG_MASK = "***"


def escaped(data: bytes, limit: int = EXCERPT) -> str:
    """`data` as one printable line: printable ASCII as is, CR, LF and tab as `\\r`, `\\n`,
    `\\t`, any other byte as `\\xNN`, at most `limit` bytes, the rest counted."""
    out: list[str] = []
    for b in data[:limit]:
        if b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        elif b in _NAMED:
            out.append(_NAMED[b])
        else:
            out.append(f"\\x{b:02x}")
    more = len(data) - limit
    return "".join(out) + (f"… (+{more} bytes)" if more > 0 else "")


_NAMED = {0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t"}


def opened(kind: str, address: str, port: int, detail: str = "", *, ours: bool = True) -> None:
    """A connection (or datagram exchange, HTTP request, SSH login) begins: `-v`. `detail`
    is shinsa's own words (a request line): every secret in it is masked, as in what it
    sent; `ours=False` for one that holds no secret by construction (a user name, shown
    as every report shows it)."""
    if LOG.isEnabledFor(logging.INFO):
        raw = detail.encode("utf-8", "replace")
        shown = escaped(_ours(raw) if ours else raw, 512) if detail else ""
        LOG.info("%s %s:%d%s", kind, address, port, f" {shown}" if shown else "")


def sent(kind: str, address: str, port: int, data: bytes) -> None:
    """Bytes shinsa sent: `--debug`. Every secret in them is masked before they are
    shown, as a word of its own whatever its length (a password line, a community)."""
    if LOG.isEnabledFor(logging.DEBUG):
        LOG.debug(
            "%s %s:%d sent %d bytes: %s", kind, address, port, len(data), escaped(_ours(data))
        )


def _ours(data: bytes) -> bytes:
    mask = _masks[-1] if _masks else None
    return mask.mask_sent(data) if mask is not None else data


#: the masks in use (the command line installs one per scan; the last one counts)
_masks: list[SecretMask] = []


def install(mask: SecretMask) -> None:
    """Mask what shinsa sent with `mask` from now on (`uninstall` when the scan ends)."""
    _masks.append(mask)


def uninstall(mask: SecretMask) -> None:
    if mask in _masks:
        _masks.remove(mask)


def received(kind: str, address: str, port: int, data: bytes) -> None:
    """Bytes a device sent: `--debug`."""
    if LOG.isEnabledFor(logging.DEBUG):
        LOG.debug("%s %s:%d received %d bytes: %s", kind, address, port, len(data), escaped(data))


class SecretMask(logging.Filter):
    """Masks `secrets` in every record before a handler writes it (see the module doc)."""

    def __init__(self, secrets: Iterable[str], site: Iterable[str] = ()) -> None:
        """`secrets`: every one the scan may send; `site`: the site's own (see module)."""
        super().__init__()
        own = {s for s in site if s}
        known = sorted({s for s in secrets if s} | own, key=len, reverse=True)
        self._redactor = Redactor(sorted(own))
        # shinsa's own bytes hold a secret only where it sent one: every occurrence as a
        # word, however short or common (a Telnet password line, FTP's PASS, a community
        # inside an SNMP packet)
        words = b"|".join(re.escape(s.encode("utf-8")) for s in known)
        self._words = (
            re.compile(rb"(?<![A-Za-z0-9])(?:" + words + rb")(?![A-Za-z0-9])") if known else None
        )

    def mask_sent(self, data: bytes) -> bytes:
        """Every secret in bytes shinsa sent, as a word of its own, replaced."""
        return self._words.sub(LOG_MASK.encode(), data) if self._words is not None else data

    def mask(self, text: str) -> str:
        """A log line as the store masks device text, every secret shown as `***`."""
        return self._redactor.text(text).replace(MASK, LOG_MASK)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.mask(record.getMessage())
        record.args = ()
        return True
