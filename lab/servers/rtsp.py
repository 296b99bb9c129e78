"""RTSP/1.0: OPTIONS answers with the Public methods, DESCRIBE asks for credentials.

`login: basic` (the default) or `digest` (RFC 7616, as HTTP): DESCRIBE without the right
credentials gets 401 and the challenge; with them, 200 and an SDP. `login: none` describes
the stream to anyone. A locked account gets 403, a throttled client 503 + Retry-After.
Hostile firmware (`accept_any_login`) still challenges, then takes any credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.auth import AuthResult
from lab.servers.context import peer_address
from lab.servers.digest import DigestAuth
from lab.servers.streams import Listener, read_line, send, serve_tcp
from lab.servers.web import basic_credentials

if TYPE_CHECKING:
    import asyncio

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

MAX_HEADERS = 50
MAX_REQUESTS = 100
PUBLIC = "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE"


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    realm = device.personality.title.replace('"', "'")
    digest = DigestAuth(device.personality.title) if spec.login == "digest" else None

    def describe(method: str, headers: dict[str, str], source: str) -> tuple[str, list[str]]:
        """(status, extra header lines) for a DESCRIBE."""
        if spec.login == "none":
            return "200 OK", []
        retry = device.auth.retry_after(source)
        if retry is not None:
            return "503 Service Unavailable", [f"Retry-After: {retry}"]
        header = headers.get("authorization", "")
        result: AuthResult | None = None
        if digest is not None:
            answer = digest.credentials(header)
            if answer is not None:
                username, params = answer
                correct = device.personality.accept_any_login or digest.verify(
                    params, method, device.personality.accounts
                )
                result = device.auth.attempt("rtsp", username, "", source, correct=correct)
            challenge = [f"WWW-Authenticate: {c}" for c in digest.challenges()]
        else:
            credentials = basic_credentials(header)
            if credentials is not None:
                result = device.auth.attempt("rtsp", *credentials, source)
            challenge = [f'WWW-Authenticate: Basic realm="{realm}"']
        if result is AuthResult.ACCEPTED:
            return "200 OK", []
        if result is AuthResult.LOCKED:
            return "403 Forbidden", []
        if result is AuthResult.THROTTLED:
            retry = device.auth.retry_after(source) or 1
            return "503 Service Unavailable", [f"Retry-After: {retry}"]
        return "401 Unauthorized", challenge

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        source = peer_address(writer)
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
            body = ""
            if parts[0] == "OPTIONS":
                status = "200 OK"
                extra.append(f"Public: {PUBLIC}")
            elif parts[0] == "DESCRIBE":
                status, extra = describe(parts[0], headers, source)
                if status.startswith("200"):
                    body = _sdp(host, device.personality.title)
                    extra += [
                        f"Content-Base: {parts[1][:256]}/",
                        "Content-Type: application/sdp",
                        f"Content-Length: {len(body)}",
                    ]
            else:
                status = "455 Method Not Valid in This State"
            head = [f"RTSP/1.0 {status}", f"CSeq: {cseq}"]
            if spec.server:
                head.append(f"Server: {spec.server}")
            send(writer, ("\r\n".join([*head, *extra]) + "\r\n\r\n" + body).encode())
            await writer.drain()

    return await serve_tcp(handle, host, port)


def _sdp(host: str, title: str) -> str:
    lines = [
        "v=0",
        f"o=- 0 0 IN IP4 {host}",
        f"s={title[:64]}",
        f"c=IN IP4 {host}",
        "t=0 0",
        "m=video 0 RTP/AVP 96",
        "a=rtpmap:96 H264/90000",
        "a=control:trackID=1",
    ]
    return "\r\n".join(lines) + "\r\n"
