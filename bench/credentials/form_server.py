"""A camera-style login form for the credentials bench: asyncio + h11, keep-alive.

    python bench/credentials/form_server.py ADDRESS PORT USER PASSWORD

`GET /` (or `/login.html`) is the form (`POST /cgi-bin/login`, fields `user`, `pass`).
A wrong login gets 200 "Login failed" with the form again; the right one gets 302 to
`/index.html` with a session cookie, and `GET /index.html` with that cookie is the live
view. Prints "ready" once listening; exits when stdin closes (or after LIFETIME seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import threading
from urllib.parse import parse_qs

import h11

LIFETIME = 900.0
MAX_HEAD = 16 * 1024
MAX_BODY = 16 * 1024
FORM = (
    b"<!DOCTYPE html><html><head><title>IP Camera Login</title></head><body>"
    b'%s<form action="/cgi-bin/login" method="post">'
    b'<input type="text" name="user"><input type="password" name="pass">'
    b'<input type="submit" value="Log in"></form></body></html>\n'
)
LIVE = b"<!DOCTYPE html><html><head><title>Live view</title></head><body>Live</body></html>\n"


class App:
    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.sessions: set[str] = set()

    def handle(
        self, request: h11.Request, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        target = request.target.split(b"?")[0]
        html = [(b"Content-Type", b"text/html")]
        if request.method == b"POST" and target == b"/cgi-bin/login":
            form = parse_qs(body.decode("utf-8", "replace"))
            user = form.get("user", [""])[0]
            password = form.get("pass", [""])[0]
            if user == self.user and secrets.compare_digest(password, self.password):
                token = secrets.token_hex(16)
                self.sessions.add(token)
                return (
                    302,
                    [
                        (b"Location", b"/index.html"),
                        (b"Set-Cookie", f"session={token}; Path=/; HttpOnly".encode()),
                    ],
                    b"",
                )
            return 200, html, FORM % b"<p>Login failed</p>"
        if request.method in (b"GET", b"HEAD") and target in (b"/", b"/login.html"):
            return 200, html, FORM % b""
        if request.method in (b"GET", b"HEAD") and target == b"/index.html":
            cookies = b";".join(v for k, v in request.headers if k == b"cookie").decode()
            if any(f"session={s}" in cookies for s in self.sessions):
                return 200, html, LIVE
            return 302, [(b"Location", b"/login.html")], b""
        return 404, html, b"<html><body>Not found</body></html>\n"


async def serve_connection(
    app: App, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    try:
        while True:
            event = await next_event(conn, reader)
            if not isinstance(event, h11.Request):
                return
            body = bytearray()
            while True:
                part = await next_event(conn, reader)
                if isinstance(part, h11.Data):
                    body += part.data
                    if len(body) > MAX_BODY:
                        return
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return
            status, headers, content = app.handle(event, bytes(body))
            headers = [*headers, (b"Content-Length", str(len(content)).encode())]
            out = conn.send(h11.Response(status_code=status, headers=headers))
            if event.method != b"HEAD":
                out += conn.send(h11.Data(data=content)) or b""
            out += conn.send(h11.EndOfMessage()) or b""
            writer.write(out or b"")
            await writer.drain()
            if conn.our_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (h11.ProtocolError, ConnectionError, TimeoutError):
        return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        async with asyncio.timeout(30.0):
            data = await reader.read(65536)
        conn.receive_data(data)


async def main(address: str, port: int, user: str, password: str) -> None:
    app = App(user, password)
    server = await asyncio.start_server(
        lambda r, w: serve_connection(app, r, w), address, port, backlog=1024, reuse_address=True
    )
    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()

    def watch_stdin() -> None:
        sys.stdin.read()  # EOF when the bench exits or closes the pipe
        loop.call_soon_threadsafe(stdin_closed.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("ready", flush=True)
    async with server:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stdin_closed.wait(), LIFETIME)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
