"""RTSP/1.0: OPTIONS answers with the Public methods, DESCRIBE asks for credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.servers.streams import Listener, read_line, send, serve_tcp

if TYPE_CHECKING:
    import asyncio

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

MAX_HEADERS = 50
MAX_REQUESTS = 100
PUBLIC = "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE"


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    realm = device.personality.title.replace('"', "'")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(MAX_REQUESTS):
            request_line = (await read_line(reader)).decode("utf-8", "replace")
            if not request_line:
                if reader.at_eof():
                    return
                continue  # blank lines between requests are allowed
            headers: dict[str, str] = {}
            for _ in range(MAX_HEADERS):
                line = (await read_line(reader)).decode("utf-8", "replace")
                if not line:
                    break
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            parts = request_line.split()
            cseq = headers.get("cseq", "0")[:16]
            if len(parts) != 3 or not parts[2].startswith("RTSP/"):
                send(writer, b"RTSP/1.0 400 Bad Request\r\n\r\n")
                await writer.drain()
                return
            extra: list[str] = []
            if parts[0] == "OPTIONS":
                status = "200 OK"
                extra.append(f"Public: {PUBLIC}")
            elif parts[0] == "DESCRIBE":
                status = "401 Unauthorized"
                extra.append(f'WWW-Authenticate: Basic realm="{realm}"')
            else:
                status = "455 Method Not Valid in This State"
            head = [f"RTSP/1.0 {status}", f"CSeq: {cseq}"]
            if spec.server:
                head.append(f"Server: {spec.server}")
            send(writer, ("\r\n".join([*head, *extra]) + "\r\n\r\n").encode())
            await writer.drain()

    return await serve_tcp(handle, host, port)
