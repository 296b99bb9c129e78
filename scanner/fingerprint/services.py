"""Name the service behind every open port, and publish what `GET /` and MQTT showed.

Per TCP port, cheapest evidence first, stopping at the first identification:

1. connect and listen (`Timing.banner_wait`): servers that speak first (SSH, telnet, FTP,
   SMTP, POP3, IMAP, VNC, MySQL) are named by their banner;
2. a silent port gets a TLS handshake; inside TLS, HTTP then MQTT;
3. otherwise one probe per connection, in an order guided by the port number: HTTP, RTSP,
   MQTT CONNECT, Modbus/TCP, ADB CNXN, S7 COTP.

Device behaviour never raises: timeouts, resets, TLS errors, garbage and floods all end as
`protocol="unknown"` with a note saying what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import ssl
import struct
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from scanner.errors import ScopeError
from scanner.facts import (
    HTTP_PAGES,
    LOGIN_FORMS,
    MQTT_INFO,
    UDP_ANSWERS,
    Facts,
    HttpPage,
    LoginForm,
    MqttInfo,
    UdpAnswer,
)
from scanner.fingerprint.http import http_pages
from scanner.model import Service, bound_text
from scanner.net import lenient_tls_context
from scanner.task_groups import all_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.discovery.udp import UdpReply
    from scanner.net import BoundedStream, DeviceNetwork

#: A banner longer than this is a flood, not a greeting.
MAX_BANNER = 64 * 1024
#: Most bytes read in answer to one probe: enough for headers, never a whole stream.
MAX_ANSWER = 16 * 1024


@dataclass(frozen=True, slots=True)
class Timing:
    """How long each step waits; tests shorten them, the scan uses the defaults."""

    # Speak-first servers greet at once; waiting longer only slows every silent port.
    banner_wait: float = 1.5
    # The rest of a greeting sent in pieces (telnet options first, then the prompt).
    banner_settle: float = 0.3
    answer: float = 3.0  # the first probe on a silent port
    # Later probes on a port that already ignored one: a live server answers fast, so a
    # silent one costs seconds, not half a minute.
    later_answer: float = 1.5
    http_fetch: float = 5.0  # per request of GET / and its redirects
    # A server shedding load drops new connections before its greeting (OpenSSH's
    # MaxStartups, dropbear's five unauthenticated clients per address): a closed or reset
    # connection is tried again after these pauses before the port reads as unknown.
    busy_retries: tuple[float, ...] = (0.5, 2.0)
    # Each step is made of bounded reads, but a device that trickles a byte within every
    # read timeout would keep one going for hours: each port, and each web service's page
    # fetch, has a whole deadline.
    port_deadline: float = 60.0
    pages_deadline: float = 90.0

    @property
    def per_port(self) -> float:
        """The longest one port's fingerprint (banner and pages) may take."""
        return self.port_deadline + self.pages_deadline


@dataclass(frozen=True, slots=True)
class _Found:
    """One port's identification before it becomes a `Service`."""

    protocol: str = "unknown"
    banner: str = ""
    tls: bool = False
    product: str = ""
    note: str = ""
    mqtt_code: int | None = None  # CONNACK return code when the MQTT probe got one


async def fingerprint(
    dev: DeviceNetwork,
    tcp_ports: Sequence[int],
    udp_replies: Sequence[UdpReply],
    facts: Facts,
    *,
    timing: Timing | None = None,
) -> tuple[Service, ...]:
    """One `Service` per open port (TCP then UDP, by port), with facts published.

    Facts: HTTP_PAGES and LOGIN_FORMS (http/https), MQTT_INFO (mqtt/mqtts), UDP_ANSWERS;
    each only when non-empty, so a probe that needs one is not_applicable without it.
    Ports run concurrently; the device's permits keep it to a few connections at a time.
    """
    t = timing or Timing()
    tls_ctx = lenient_tls_context()
    ports = sorted(set(tcp_ports))
    # Each port's guard keeps its device errors to itself; only ScopeError (a configuration
    # mistake) ends the others.
    found = await all_of(*(_guarded(dev, p, tls_ctx, t) for p in ports))
    tcp = [_tcp_service(port, f) for port, f in zip(ports, found, strict=True)]

    web = [s for s in tcp if s.protocol in ("http", "https")]
    fetched = await all_of(*(_guarded_pages(dev, s, t) for s in web))
    pages: list[HttpPage] = [p for ps, _, _ in fetched for p in ps]
    forms: list[LoginForm] = [f for _, fs, _ in fetched for f in fs]
    # Why a page could not be read stays on the service, so a check that needed it can say.
    fetch_notes = {s.port: note for s, (_, _, note) in zip(web, fetched, strict=True) if note}
    tcp = [
        replace(s, note=fetch_notes[s.port]) if s.port in fetch_notes and not s.note else s
        for s in tcp
    ]
    mqtt = [
        MqttInfo(service=s, return_code=f.mqtt_code, accepted_anonymous=f.mqtt_code == 0)
        for s, f in zip(tcp, found, strict=True)
        if f.mqtt_code is not None
    ]

    # One Service per UDP port; every reply stays an answer (SNMP v1 and v2c both
    # answering on 161 are two facts about one service).
    udp: dict[int, Service] = {}
    answers: list[UdpAnswer] = []
    for reply in sorted(udp_replies, key=lambda r: r.port):
        summary = bound_text(reply.response)  # already a summary; bounded again here
        service = udp.setdefault(
            reply.port,
            Service("udp", reply.port, protocol=reply.protocol or "unknown", banner=summary),
        )
        answers.append(
            UdpAnswer(
                service=service,
                request=bound_text(reply.request),
                response_summary=summary,
                snmp_community=bound_text(reply.community),
            )
        )

    if pages:
        facts.put(HTTP_PAGES, tuple(pages))
    if forms:
        facts.put(LOGIN_FORMS, tuple(forms))
    if mqtt:
        facts.put(MQTT_INFO, tuple(mqtt))
    if answers:
        facts.put(UDP_ANSWERS, tuple(answers))
    return (*tcp, *udp.values())


def _tcp_service(port: int, f: _Found) -> Service:
    return Service("tcp", port, f.protocol, f.banner, f.tls, f.product, f.note)


async def _guarded(dev: DeviceNetwork, port: int, ctx: ssl.SSLContext, t: Timing) -> _Found:
    try:
        async with asyncio.timeout(t.port_deadline):
            return await _identify(dev, port, ctx, t)
    except TimeoutError:
        return _Found(
            note=f"fingerprinting did not finish within {t.port_deadline:g} s "
            "(the port answered, but too slowly to be identified)"
        )
    except ScopeError:
        raise  # a configuration mistake, not device behaviour
    except Exception as exc:  # device behaviour must never abort a scan
        return _Found(note=f"fingerprint failed: {type(exc).__name__}: {bound_text(str(exc))}")


async def _guarded_pages(
    dev: DeviceNetwork, service: Service, t: Timing
) -> tuple[tuple[HttpPage, ...], tuple[LoginForm, ...], str]:
    try:
        async with asyncio.timeout(t.pages_deadline):
            return await http_pages(dev, service, timeout=t.http_fetch)
    except TimeoutError:
        return (), (), f"the pages did not finish loading within {t.pages_deadline:g} s"
    except ScopeError as exc:
        return (), (), f"page fetch stopped at the scope boundary: {bound_text(str(exc))}"
    except Exception as exc:  # a broken page is no reason to lose the scan
        return (), (), f"page fetch failed: {type(exc).__name__}: {bound_text(str(exc))}"


# ---------------------------------------------------------------------------------------
# 1. Banner


async def _identify(dev: DeviceNetwork, port: int, ctx: ssl.SSLContext, t: Timing) -> _Found:
    banner, failure = await _read_banner(dev, port, t)
    if failure:
        return _Found(note=failure)
    if banner:
        named = _classify_banner(banner)
        if named.protocol == "unknown" and named.note == "unrecognised banner":
            return await _ftp_by_behaviour(dev, port, t) or named
        return named
    found = await _try_tls(dev, port, ctx, t)
    if found is not None:
        return found
    return await _try_probes(dev, port, t)


#: Notes of a connection the server dropped, which a busy server gives now and then.
_DROPPED = ("closed the connection without a banner", "connection reset")


async def _read_banner(dev: DeviceNetwork, port: int, t: Timing) -> tuple[bytes, str]:
    """(banner, "") or (b"", note why the port cannot be identified); b"" alone: silent.

    A dropped connection is tried again (`Timing.busy_retries`); the note says how often."""
    banner, failure = await _read_banner_once(dev, port, t)
    tries = 1
    for pause in t.busy_retries:
        if failure not in _DROPPED:
            return banner, failure
        await asyncio.sleep(pause)
        banner, failure = await _read_banner_once(dev, port, t)
        tries += 1
    if failure in _DROPPED and tries > 1:
        failure = f"{failure} ({tries} tries)"
    return banner, failure


async def _read_banner_once(dev: DeviceNetwork, port: int, t: Timing) -> tuple[bytes, str]:
    try:
        async with dev.tcp(port) as stream:
            try:
                first = await stream.read_some(MAX_BANNER, timeout=t.banner_wait)
            except TimeoutError:
                return b"", ""
            if not first:
                return b"", "closed the connection without a banner"
            if len(first) < MAX_BANNER:
                # A greeting followed by a reset is still a greeting.
                with contextlib.suppress(ConnectionError, ssl.SSLError):
                    first += await stream.read_for(t.banner_settle, MAX_BANNER - len(first))
            return first, ""
    except ConnectionRefusedError:
        return b"", "connection refused"
    except ConnectionError:
        return b"", "connection reset"
    except TimeoutError:
        return b"", f"connect timed out after {dev.limits.connect_timeout:g} s"
    except OSError as exc:
        return b"", f"connect failed: {bound_text(exc.strerror or type(exc).__name__)}"


_TELNET_COMMANDS = frozenset({0xFA, 0xFB, 0xFC, 0xFD, 0xFE})
_IAC_SEQUENCE = re.compile(rb"\xff[\xfb-\xfe].|\xff\xfa.*?\xff\xf0|\xff.", re.DOTALL)
_LOGIN_PROMPT = re.compile(rb"(login|username|user name)\s*:", re.IGNORECASE)
#: Prompts that name telnet only as the last word of the greeting ("user:" or "password:"
#: inside a text could be anything).
_FINAL_PROMPT = re.compile(rb"\b(user|user ?id|account|password)\s*:\s*\Z", re.IGNORECASE)
_SERVER_HEADER = re.compile(rb"^server:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


def _first_line(data: bytes) -> bytes:
    return data.split(b"\n", 1)[0].rstrip(b"\r")


def _printable_share(data: bytes) -> float:
    ok = sum(1 for b in data if 32 <= b < 127 or b in (9, 10, 13))
    return ok / len(data) if data else 1.0


def _classify_banner(data: bytes) -> _Found:
    """Name a server-speaks-first service from its greeting."""
    if len(data) >= MAX_BANNER:
        return _Found(banner=bound_text(data[:512]), note="banner exceeded 64 KiB")
    if data.startswith(b"SSH-"):
        line = _first_line(data)
        parts = line.split(b"-", 2)
        product = bound_text(parts[2]) if len(parts) == 3 else ""
        return _Found("ssh", bound_text(line), product=product)
    if len(data) >= 2 and data[0] == 0xFF and data[1] in _TELNET_COMMANDS:
        text = _IAC_SEQUENCE.sub(b"", data)
        return _Found("telnet", bound_text(text))
    if data.startswith(b"220"):
        line = _first_line(data)
        greeting = bound_text(line[4:]).strip("() ")
        protocol = "smtp" if re.search(rb"\bE?SMTP\b", line, re.IGNORECASE) else "ftp"
        note = "" if protocol == "smtp" or b"FTP" in line.upper() else "bare 220 greeting"
        return _Found(protocol, bound_text(line), product=greeting, note=note)
    if data.startswith(b"+OK"):
        return _Found("pop3", bound_text(_first_line(data)))
    if data.startswith(b"* OK"):
        return _Found("imap", bound_text(_first_line(data)))
    if data.startswith(b"RFB "):
        line = _first_line(data)
        return _Found("vnc", bound_text(line), product=bound_text(line))
    mysql = _mysql(data)
    if mysql is not None:
        return mysql
    if _LOGIN_PROMPT.search(data) or _FINAL_PROMPT.search(data):
        return _Found("telnet", bound_text(data))
    if _printable_share(data) >= 0.9:
        return _Found(banner=bound_text(data), note="unrecognised banner")
    return _Found(banner=bound_text(data[:128]), note="unrecognised binary banner")


def _mysql(data: bytes) -> _Found | None:
    """A MySQL/MariaDB greeting: packet length, sequence 0, protocol 10 or an error."""
    if len(data) < 7 or data[3] != 0:
        return None
    length = int.from_bytes(data[:3], "little")
    if not 4 <= length <= len(data) - 4:
        return None
    if data[4] == 0x0A:
        version = data[5 : 5 + length].split(b"\0", 1)[0]
        return _Found("mysql", bound_text(version), product=bound_text(version))
    if data[4] == 0xFF:  # "Host ... is not allowed to connect": still a MySQL server
        message = data[7 : 4 + length]
        return _Found("mysql", bound_text(message), note="server refused the connection")
    return None


#: Answers to USER that only an FTP server gives: need password, logged in, not logged in.
_FTP_USER_ANSWER = re.compile(rb"^(?:331|332|230|530)[ -]", re.MULTILINE)


async def _ftp_by_behaviour(dev: DeviceNetwork, port: int, t: Timing) -> _Found | None:
    """FTP named by how the server answers `USER anonymous`, whatever its greeting said.

    For greetings nothing else recognised (a `200-` block, a code-less welcome text): an
    FTP reply to USER (331, 332, 230 or 530) is FTP. One connection; the USER alone logs
    nobody in (a 230 to USER is followed by QUIT).
    """
    with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
        async with dev.tcp(port) as stream:
            greeting = await stream.read_some(MAX_BANNER, timeout=t.banner_wait)
            with contextlib.suppress(ConnectionError, TimeoutError):
                greeting += await stream.read_for(t.banner_settle, MAX_BANNER - len(greeting))
            await stream.write(b"USER anonymous\r\n")
            answer = b""
            loop = asyncio.get_running_loop()
            deadline = loop.time() + t.later_answer  # a live FTP server answers at once
            while len(answer) < MAX_ANSWER and not _FTP_USER_ANSWER.search(answer):
                left = deadline - loop.time()
                if left <= 0:
                    break
                chunk = await stream.read_some(MAX_ANSWER - len(answer), timeout=left)
                if not chunk:
                    break
                answer += chunk
            match = _FTP_USER_ANSWER.search(answer)
            if match is None:
                return None
            with contextlib.suppress(OSError):
                await stream.write(b"QUIT\r\n")
            line = _first_line(greeting)
            code = line[:3].decode("ascii", "replace") if line[:3].isdigit() else "no code"
            reply = match.group(0)[:3].decode()
            return _Found(
                "ftp",
                bound_text(line),
                product=bound_text(line[4:]).strip("() ") if line[:3].isdigit() else "",
                note=f"identified by its {reply} answer to USER (greeting: {code})",
            )
    return None


# ---------------------------------------------------------------------------------------
# 2. TLS


async def _try_tls(dev: DeviceNetwork, port: int, ctx: ssl.SSLContext, t: Timing) -> _Found | None:
    """None when no TLS handshake completes; else the inner protocol (or "tls")."""
    order = ("mqtt", "http") if port in (8883, 1883) else ("http", "mqtt")
    for inner in order:
        handshake = False
        try:
            # dev.tcp's connect timeout covers the handshake too.
            async with dev.tcp(port, tls=ctx) as stream:
                handshake = True
                answer = await _exchange(stream, inner, dev.address, port, t.answer)
        except ScopeError:
            raise
        except (OSError, TimeoutError, EOFError):
            if not handshake:
                return None  # plaintext server, or TLS it cannot finish: not TLS
            continue
        found = _classify_answer(answer, inner)
        if found is not None:
            secure = {"http": "https", "mqtt": "mqtts"}.get(found.protocol, found.protocol)
            return replace(found, protocol=secure, tls=True)
    return _Found("tls", tls=True, note="TLS handshake succeeded; inner protocol not recognised")


# ---------------------------------------------------------------------------------------
# 3. Probes for silent plaintext ports

_DEFAULT_ORDER = ("http", "rtsp", "mqtt", "modbus", "adb", "s7", "pjl")
_HINTS = {
    1883: "mqtt",
    502: "modbus",
    554: "rtsp",
    8554: "rtsp",
    5555: "adb",
    102: "s7",
    9100: "pjl",
}
# Universal Exit Language around a read-only PJL query (HP PJL Technical Reference, ch. 2).
_PJL_INFO_ID = b"\x1b%-12345X@PJL INFO ID\r\n\x1b%-12345X\r\n"


async def _try_probes(dev: DeviceNetwork, port: int, t: Timing) -> _Found:
    hint = _HINTS.get(port)
    order = (hint, *(p for p in _DEFAULT_ORDER if p != hint)) if hint else _DEFAULT_ORDER
    unrecognised = b""
    closed = 0
    timeout = t.answer
    for name in order:
        try:
            async with dev.tcp(port) as stream:
                answer = await _exchange(stream, name, dev.address, port, timeout)
        except TimeoutError:
            timeout = t.later_answer
            continue
        except OSError:
            closed += 1
            continue
        if not answer:
            closed += 1
            continue
        found = _classify_answer(answer, name)
        if found is not None:
            return found
        unrecognised = unrecognised or answer
    if unrecognised:
        return _Found(banner=bound_text(unrecognised[:256]), note="answered probes unrecognised")
    if closed == len(order):
        return _Found(note="closed the connection on every probe")
    return _Found(note="accepted but never answered")


async def _exchange(
    stream: BoundedStream, probe: str, address: str, port: int, timeout: float
) -> bytes:
    """Send one probe; return the first answer (plus the rest of its headers), bounded.

    Raises TimeoutError when nothing at all arrives within `timeout`.
    """
    await stream.write(_payload(probe, address, port))
    first = await stream.read_some(MAX_ANSWER, timeout=timeout)
    if first[:5] in (b"HTTP/", b"RTSP/") and b"\r\n\r\n" not in first:
        # Headers split over packets: the Server header may be in the next one; an answer
        # followed by a reset still identifies the service.
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            first += await stream.read_for(0.3, MAX_ANSWER - len(first))
    if probe == "mqtt" and first[:2] == b"\x20\x02" and len(first) >= 4 and first[3] == 0:
        await _polite_disconnect(stream)
    return first


async def _polite_disconnect(stream: BoundedStream) -> None:
    """MQTT DISCONNECT after an accepted CONNECT, so the broker logs a clean exit."""
    with contextlib.suppress(OSError, TimeoutError):
        await stream.write(b"\xe0\x00")


_MODBUS_TID = 0x5348  # "SH": echoed back by any Modbus/TCP server


def _payload(name: str, address: str, port: int) -> bytes:
    host = f"[{address}]" if ":" in address else address
    if name == "http":
        return (
            f"GET / HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: shinsa\r\n"
            "Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
        ).encode()
    if name == "rtsp":
        return b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: shinsa\r\n\r\n"
    if name == "mqtt":
        return _mqtt_connect(f"shinsa-{secrets.token_hex(6)}")
    if name == "modbus":
        # Read Holding Registers, unit 1, one register from 0: read-only on every device.
        return struct.pack(">HHHBBHH", _MODBUS_TID, 0, 6, 1, 3, 0, 1)
    if name == "adb":
        return _adb_cnxn()
    if name == "s7":
        # TPKT + COTP Connection Request to the S7 TSAPs (rack 0, slot 2).
        return bytes.fromhex("0300001611e00000000100c0010ac1020100c2020102")
    if name == "pjl":
        return _PJL_INFO_ID
    raise ValueError(f"no probe named {name}")


def _mqtt_connect(client_id: str) -> bytes:
    ident = client_id.encode()
    # Protocol "MQTT" level 4 (3.1.1), clean session, keep-alive 60 s, no credentials.
    variable = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(ident).to_bytes(2, "big") + ident
    return b"\x10" + bytes([len(variable)]) + variable


def _adb_cnxn() -> bytes:
    payload = b"host::shinsa\0"
    command = int.from_bytes(b"CNXN", "little")
    checksum = sum(payload) & 0xFFFFFFFF
    return (
        struct.pack(
            "<6I",
            command,
            0x01000001,
            256 * 1024,
            len(payload),
            checksum,
            command ^ 0xFFFFFFFF,
        )
        + payload
    )


def _late_telnet(answer: bytes) -> _Found | None:
    """A telnet server whose greeting came after the banner wait: its answer to a probe
    starts with option negotiation or ends in a login prompt."""
    negotiates = len(answer) >= 2 and answer[0] == 0xFF and answer[1] in _TELNET_COMMANDS
    text = _IAC_SEQUENCE.sub(b"", answer)
    if negotiates or _FINAL_PROMPT.search(text) or _LOGIN_PROMPT.search(text):
        return _Found("telnet", bound_text(text), note="greeted only after the banner wait")
    return None


def _header(answer: bytes) -> str:
    match = _SERVER_HEADER.search(answer.split(b"\r\n\r\n", 1)[0])
    return bound_text(match.group(1)) if match else ""


def _classify_answer(answer: bytes, probe: str) -> _Found | None:
    """Name the protocol from the answer to `probe`; None when it is not recognised.

    HTTP and RTSP are recognised whichever probe provoked them: a web server answers the
    RTSP probe with an HTTP error, which still names it.
    """
    line = bound_text(_first_line(answer))
    if answer.startswith(b"HTTP/1."):
        return _Found("http", line, product=_header(answer))
    if answer.startswith(b"RTSP/1."):
        return _Found("rtsp", line, product=_header(answer))
    late = _late_telnet(answer)
    if late is not None:
        return late
    if probe == "mqtt" and len(answer) >= 4 and answer[:2] == b"\x20\x02" and answer[2] < 2:
        # Bits 7-1 of the acknowledge flags are reserved and 0 (MQTT 3.1.1 §3.2.2.1): with
        # one set, `20 02 02 00` is not a broker accepting anonymous logins but garbage.
        code = answer[3]
        return _Found("mqtt", f"CONNACK return code {code}", mqtt_code=code)
    if probe == "modbus" and len(answer) >= 9:
        tid, proto, length = struct.unpack(">HHH", answer[:6])
        if tid == _MODBUS_TID and proto == 0 and length >= 3 and answer[7] & 0x7F == 3:
            kind = "exception" if answer[7] & 0x80 else "registers"
            return _Found("modbus", f"Read Holding Registers answered ({kind})")
    if probe == "adb" and len(answer) >= 24 and answer[:4] in (b"CNXN", b"AUTH", b"STLS"):
        command, *_rest, magic = struct.unpack("<6I", answer[:24])
        if magic == command ^ 0xFFFFFFFF:
            banner = bound_text(answer[24:]) if answer[:4] == b"CNXN" else answer[:4].decode()
            return _Found("adb", banner, product=bound_text(answer[24:]))
    if probe == "pjl" and answer.lstrip(b"\x1b%-12345X").startswith(b"@PJL INFO ID"):
        ident = answer.split(b"\r\n")[1:2] or [b""]
        model = bound_text(ident[0].strip(b'"\x0c'))
        return _Found("jetdirect", f"PJL INFO ID {model}", product=model)
    if probe == "s7" and len(answer) >= 6 and answer[:2] == b"\x03\x00" and answer[5] == 0xD0:
        return _Found("s7", "COTP connection confirm")
    return None
