"""Reading one HTTP body from a device: `Content-Encoding` decoded, within a byte bound.

ESP-class firmware serves its pages pre-compressed (`index.html.gz` with `Content-Encoding:
gzip`) whatever the request's `Accept-Encoding` says, so a scanner that reads raw bytes sees
no title, no form and no reflected marker on such a device. Every body a probe or the
fingerprint reads comes through `read_body`, which decodes gzip, deflate (zlib-wrapped or
raw, as servers send both) and brotli incrementally, each decoder asked for no more than
the room left under the bound: a decompression bomb (megabytes of zeros in a few KiB)
costs at most `limit` bytes of memory and comes back marked cut, never read as a whole
page. `ACCEPT_ENCODING` names exactly these codings.

httpx's own decoders (`aiter_bytes`) are not used: they decompress each network chunk
without an output bound, so one 64 KiB chunk of a bomb would expand to 64 MiB at once.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

# brotli >= 1.2 (see pyproject.toml); it ships no types, and its published stubs predate the
# bounded API used here, so the decoder is typed by _BrotliDecoder below.
import brotli  # type: ignore[import-untyped]

if TYPE_CHECKING:
    import httpx

#: What requests say we can read: the codings `read_body` decodes, identity implied.
ACCEPT_ENCODING = "gzip, deflate, br"
#: Codings stacked on one body (`Content-Encoding: gzip, br`) decoded at most.
MAX_CODINGS = 3
#: Codings that are compression we do not decode: a page sent in one is unreadable here.
#: Any other unknown token (devices send `utf-8`, `text/html`, `none`) is ignored, as
#: browsers ignore it, and the bytes are read as they are.
_UNDECODED = frozenset({"compress", "x-compress", "zstd", "pack200-gzip", "exi", "aes128gcm"})
_ALIASES = {"x-gzip": "gzip", "x-deflate": "deflate", "identity": "", "none": ""}


@dataclass(frozen=True, slots=True)
class Body:
    """A body as read: `data` decoded (at most the bound), and why it is not the whole
    page when it is not (`incomplete`, a sentence about what the device sent)."""

    data: bytes
    incomplete: str = ""
    encoding: str = ""  # the codings decoded, as named in Content-Encoding ("" for none)

    @property
    def whole(self) -> bool:
        return not self.incomplete


class _Layer(Protocol):
    name: str

    def decode(self, data: bytes, room: int) -> bytes:
        """Decoded bytes for `data` (plus what was held back), at most `room` (> 0)."""

    def ended(self) -> bool:
        """Whether the stream reached its end marker (or never started)."""


class _Zlib:
    """gzip or deflate: the header tells zlib-wrapped, raw deflate and gzip apart, because
    servers label all three either way."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._head = b""  # the first bytes, until there are two to read the header from
        self._pending = b""  # input not yet decoded because the last call hit its room
        self._inflate: zlib._Decompress | None = None
        self._fed = False

    def decode(self, data: bytes, room: int) -> bytes:
        self._fed = self._fed or bool(data)
        if self._inflate is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            self._inflate = zlib.decompressobj(_wbits(self._head))
            data, self._head = self._head, b""
        inflate = self._inflate
        pending = self._pending + data
        out = bytearray()
        while pending and len(out) < room and not inflate.eof:
            # max_length bounds what one call produces; what it did not read waits in
            # unconsumed_tail for the next call (and is dropped once the bound is reached).
            got = inflate.decompress(pending, room - len(out))
            pending = inflate.unconsumed_tail
            out += got
            if not got:
                break
        self._pending = b"" if inflate.eof else pending
        return bytes(out)

    def ended(self) -> bool:
        return not self._fed or (self._inflate is not None and self._inflate.eof)


def _wbits(head: bytes) -> int:
    if head[:2] == b"\x1f\x8b":
        return 16 + zlib.MAX_WBITS  # gzip
    if head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0:
        return zlib.MAX_WBITS  # zlib-wrapped deflate (RFC 9110's "deflate")
    return -zlib.MAX_WBITS  # raw deflate, what many servers send as "deflate"


class _BrotliDecoder(Protocol):
    def process(self, data: bytes, output_buffer_limit: int = ...) -> bytes: ...
    def can_accept_more_data(self) -> bool: ...
    def is_finished(self) -> bool: ...


class _Brotli:
    name = "br"

    def __init__(self) -> None:
        self._decoder: _BrotliDecoder = brotli.Decompressor()
        self._pending = b""
        self._fed = False

    def decode(self, data: bytes, room: int) -> bytes:
        self._fed = self._fed or bool(data)
        if data and self._decoder.is_finished():
            # bytes after the stream's end: brotli refuses them when they come in the same
            # call, so refuse them too when the network cut the body just at the end
            raise brotli.error("data after the end of the brotli stream")
        self._pending += data
        out = bytearray()
        while len(out) < room and not self._decoder.is_finished():
            # With output_buffer_limit (brotli >= 1.2) the decoder keeps what it could not
            # emit; it takes new input only once can_accept_more_data() says so.
            if self._decoder.can_accept_more_data():
                if not self._pending:
                    break
                chunk, self._pending = self._pending, b""
            else:
                chunk = b""
            got = self._decoder.process(chunk, output_buffer_limit=room - len(out))
            out += got
            if not got and not chunk:
                break
        return bytes(out[:room])

    def ended(self) -> bool:
        return not self._fed or self._decoder.is_finished()


def _codings(header: str) -> tuple[list[str], str]:
    """The codings to undo, in the order applied, or the reason they cannot be undone."""
    names = [_ALIASES.get(n, n) for n in (p.strip().lower() for p in header.split(","))]
    known = [n for n in names if n in ("gzip", "deflate", "br") or n in _UNDECODED]
    for name in known:
        if name in _UNDECODED:
            return [], f"its Content-Encoding {name!r} is not one this scanner decodes"
    if len(known) > MAX_CODINGS:
        return [], f"it stacks {len(known)} content codings (at most {MAX_CODINGS} are decoded)"
    return known, ""


class BodyDecoder:
    """Decodes one body as its raw chunks arrive; `feed` says when to stop reading.

    Both the raw bytes read and the decoded bytes kept are bounded by `limit`: compressed
    data that yields nothing (empty deflate blocks) cannot be read forever either."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        self.limit = limit
        codings, self._unreadable = _codings(content_encoding)
        self._layers: list[_Layer] = [_Brotli() if c == "br" else _Zlib(c) for c in codings]
        self._layers.reverse()  # the last coding applied is undone first
        self.encoding = ", ".join(codings)
        self._data = bytearray()
        self._raw = 0
        self._cut = False
        self._corrupt = ""

    @property
    def done(self) -> bool:
        return self._cut or bool(self._corrupt or self._unreadable)

    def feed(self, chunk: bytes) -> bool:
        """Take the next raw chunk; True once nothing more should be read."""
        if self.done or not chunk:
            return self.done
        self._raw += len(chunk)
        if self._layers and self._raw > self.limit:
            chunk = chunk[: len(chunk) - (self._raw - self.limit)]
            self._cut = True  # the compressed stream alone is past the bound
        data = chunk
        try:
            for layer in self._layers:
                # One byte past the bound tells "exactly the bound" from "more than it";
                # an inner stream past it (gzip inside br) is cut like the page itself.
                data = layer.decode(data, self.limit + 1)
                self._cut = self._cut or len(data) > self.limit
        except (zlib.error, brotli.error):
            self._corrupt = f"its {self.encoding} stream is corrupt after {len(self._data)} bytes"
            return True
        self._data += data
        if len(self._data) > self.limit:
            del self._data[self.limit :]
            self._cut = True
        return self.done

    def body(self) -> Body:
        """What was read, and why it is not the whole page if it is not."""
        data = bytes(self._data)
        if self._unreadable:
            return Body(b"", self._unreadable, self.encoding)
        if self._corrupt:
            return Body(data, self._corrupt, self.encoding)
        if self._cut:
            how = f" once {self.encoding}-decoded" if self.encoding else ""
            cut = f"the page goes on past {_size(self.limit)}{how} and was cut there"
            return Body(data, cut, self.encoding)
        if not all(layer.ended() for layer in self._layers):
            ended = f"its {self.encoding} stream ended early, after {len(data)} bytes"
            return Body(data, ended, self.encoding)
        return Body(data, "", self.encoding)


def _size(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"


def decode_bytes(raw: bytes, content_encoding: str, limit: int) -> Body:
    """A body already read whole (a hand-made client's), decoded within `limit`."""
    decoder = BodyDecoder(content_encoding, limit)
    decoder.feed(raw)
    return decoder.body()


#: The longest a body (at most its byte bound) may take to arrive: httpx's read timeout is
#: per read, and a device trickling a byte a second would otherwise be read for hours.
BODY_DEADLINE = 30.0


async def read_body(response: httpx.Response, limit: int, deadline: float = BODY_DEADLINE) -> Body:
    """Read and decode a streamed httpx response's body, at most `limit` bytes of it and for
    at most `deadline` seconds; the rest is never read (closing the response drops the
    connection). A body that trickled past the deadline is incomplete, saying so."""
    if response.is_stream_consumed:
        # Read already by its transport (httpx.MockTransport in tests), and decoded by it.
        return decode_bytes(response.content, "", limit)
    decoder = BodyDecoder(response.headers.get("content-encoding", ""), limit)
    try:
        async with asyncio.timeout(deadline):
            async for chunk in response.aiter_raw():
                if decoder.feed(chunk):
                    break
    except TimeoutError:
        got = decoder.body()
        return Body(
            got.data,
            f"the page trickled in too slowly ({len(got.data)} bytes in {deadline:g} s) "
            "and was not read to its end",
            got.encoding,
        )
    return decoder.body()
