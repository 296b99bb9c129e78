"""HTTP/1.1 and HTTPS on asyncio streams with h11 parsing; pages come from `web.py`.

h11 leaves every byte under the lab's control (no framework adds headers behind our back),
which is what lets a device's Server header and status codes be exactly the personality's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
from typing import TYPE_CHECKING

import h11

from lab.servers.context import peer_address
from lab.servers.limits import HOLD_LIMIT, MAX_LINE
from lab.servers.streams import Listener, read_some, send, serve_tcp
from lab.servers.web import WebApp, WebRequest, WebResponse

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

#: Largest request head (request line plus headers) and body the device accepts.
MAX_HEAD = 8 * MAX_LINE
MAX_BODY = 16 * 1024

_REASONS = {
    200: b"OK",
    302: b"Found",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    415: b"Unsupported Media Type",
    429: b"Too Many Requests",
}


class _TooLarge(Exception):
    pass


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    app = WebApp(spec, device.personality, device.auth, host=host)
    context = (
        device.tls.server_context(
            device.address, device.personality.title, spec.tls, device.personality.name
        )
        if spec.protocol == "https"
        else None
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(app, reader, writer)

    return await serve_tcp(handle, host, port, context)


async def _serve_connection(
    app: WebApp, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    source = peer_address(writer)
    while True:
        try:
            event = await _next_event(conn, reader)
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed, or the client hung up between requests
            body = await _read_body(conn, reader)
            path, _, query = event.target.decode("ascii", "replace").partition("?")
            request = WebRequest(
                method=event.method.decode("ascii", "replace"),
                path=path,
                query=query,
                headers={k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers},
                body=body,
                source=source,
            )
            if app.spec.trickle:
                await _trickle(writer, app.spec.server, app.spec.trickle)
                return
            response = app.respond(request)
            pause = app.state.take_delay(source)
            if pause:
                await asyncio.sleep(pause)  # the delay policy: a slow answer, not a refusal
        except h11.RemoteProtocolError:
            await _send_error(conn, writer, app, 400)
            return
        except _TooLarge:
            await _send_error(conn, writer, app, 413)
            return
        await _send(conn, writer, app, response, head_only=request.method == "HEAD")
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return
        conn.start_next_cycle()


async def _trickle(writer: asyncio.StreamWriter, server: str, interval: float) -> None:
    """Hostile firmware (fault-trickler): an answer head that never ends, one byte every
    `interval` s (the status line, the Server header, then a header whose value goes on),
    so every single read a client makes succeeds. Ends when the client hangs up (the next
    write raises), the lab stops or HOLD_LIMIT passes."""
    head = b"HTTP/1.1 200 OK\r\n"
    if server:
        head += b"Server: " + server.encode("latin-1", "replace") + b"\r\n"
    head += b"X-Trickle: "
    async with asyncio.timeout(HOLD_LIMIT):
        for byte in itertools.chain(head, itertools.repeat(ord("a"))):
            send(writer, bytes((byte,)))
            await writer.drain()
            await asyncio.sleep(interval)


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await read_some(reader)
        conn.receive_data(data)  # b"" tells h11 the client closed


async def _read_body(conn: h11.Connection, reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        event = await _next_event(conn, reader)
        if isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise _TooLarge
        elif isinstance(event, h11.EndOfMessage):
            return bytes(body)
        else:
            raise h11.RemoteProtocolError("request ended before its body")


async def _send(
    conn: h11.Connection,
    writer: asyncio.StreamWriter,
    app: WebApp,
    response: WebResponse,
    *,
    head_only: bool = False,
) -> None:
    body = response.body.encode("utf-8")
    headers = [("Content-Type", response.content_type)]
    if app.spec.encoding == "gzip":
        # Firmware that gzips every answer, asked to or not: a real gzip body.
        body = gzip.compress(body, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    if app.spec.server:
        headers.insert(0, ("Server", app.spec.server))
    headers.extend(response.headers)
    send(
        writer,
        conn.send(
            h11.Response(
                status_code=response.status,
                headers=headers,
                reason=_REASONS.get(response.status, b""),
            )
        )
        or b"",
    )
    if not head_only:
        send(writer, conn.send(h11.Data(data=body)) or b"")
    send(writer, conn.send(h11.EndOfMessage()) or b"")
    await asyncio.wait_for(writer.drain(), timeout=10)


async def _send_error(
    conn: h11.Connection, writer: asyncio.StreamWriter, app: WebApp, status: int
) -> None:
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    response = WebResponse(
        status, f"{status} {_REASONS[status].decode()}\n", (("Connection", "close"),), "text/plain"
    )
    # h11 refuses to answer some broken requests at all; closing is the answer then.
    with contextlib.suppress(h11.LocalProtocolError):
        await _send(conn, writer, app, response)
