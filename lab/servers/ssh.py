"""SSH: a real SSH-2 server (paramiko) with password and keyboard-interactive logins.

`login: none` keeps the banner-only server (`ssh_banner.py`). `login: password` runs
paramiko: the personality's `banner` is the ident line, host keys are ed25519 and RSA 2048
(one pair per lab), logins go through the device's shared `AuthState`, and after
`max_auth_tries` failures on one connection the device hangs up, as OpenSSH's MaxAuthTries.
A personality's `ssh_algorithms` narrows the kex, cipher and MAC lists paramiko offers (empty:
paramiko's defaults) and may give the service its own RSA host key of another size, then
its only host key. diffie-hellman-group14-sha1, which paramiko no longer ships, is added
back so a legacy device can offer it.

A logged-in client gets a session channel with a tiny shell (banner, `$ ` prompt, `exit`)
or an exec request answered as that shell would.

paramiko is blocking, so each connection runs in its own thread (plus paramiko's transport
thread); a device serves at most MAX_CONNECTIONS at once and closes any beyond that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from hashlib import sha1
from typing import TYPE_CHECKING, ClassVar

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.kex_group14 import KexGroup14SHA256
from paramiko.server import InteractiveQuery

from lab.auth import AuthResult
from lab.servers import ssh_banner
from lab.servers.limits import MAX_LINE, READ_TIMEOUT
from lab.servers.streams import Listener

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

#: Concurrent connections per SSH service; more are accepted and closed at once.
MAX_CONNECTIONS = 32
#: A client that neither logs in nor opens a session within this long is dropped.
LOGIN_WINDOW = 60.0
#: Between a session channel opening and its shell/exec request.
REQUEST_WAIT = 10.0
#: How long the accept loop blocks before looking whether the device is stopping.
POLL = 0.1
#: Lines a shell session may send before it is cut off.
MAX_COMMANDS = 200
#: After the last allowed failure: time for the failure message to leave before the hang-up.
FAILURE_FLUSH = 0.1

# paramiko logs every client that vanishes mid-handshake as an error; for a lab device that
# is normal traffic, so its transports log to a channel that stays quiet.
_WIRE_LOG = "lab.servers.ssh.wire"
logging.getLogger(_WIRE_LOG).setLevel(logging.CRITICAL + 1)
logging.getLogger(_WIRE_LOG).propagate = False


class _KexGroup14SHA1(KexGroup14SHA256):
    """RFC 4253's group14 exchange with SHA-1: removed from paramiko, kept by old devices."""

    name = "diffie-hellman-group14-sha1"
    hash_algo = sha1


class _LabTransport(paramiko.Transport):
    """A transport that also knows the SHA-1 group14 exchange, for legacy personalities."""

    _kex_info: ClassVar[dict[str, object]] = {
        **getattr(paramiko.Transport, "_kex_info"),  # noqa: B009 -- untyped in paramiko
        _KexGroup14SHA1.name: _KexGroup14SHA1,
    }


def _host_keys(spec: ServiceSpec, shared: tuple[paramiko.PKey, ...]) -> tuple[paramiko.PKey, ...]:
    bits = spec.ssh_algorithms.hostkey_rsa_bits
    return shared if bits == 2048 else (paramiko.RSAKey.generate(bits),)


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    if spec.login == "none":
        return await ssh_banner.start(spec, device, host, port)
    shared = await asyncio.to_thread(device.tls.ssh_host_keys)
    keys = await asyncio.to_thread(_host_keys, spec, shared)
    listener = SshListener(spec, device, keys)
    listener.bind(host, port)  # raises OSError (PermissionError on a low port) unbound
    return listener


class SshListener(Listener):
    def __init__(
        self, spec: ServiceSpec, device: DeviceContext, keys: tuple[paramiko.PKey, ...]
    ) -> None:
        self._spec = spec
        self._device = device
        self._keys = keys
        self._socket: socket.socket | None = None
        self._accepter: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        # Every live connection: its socket, and its paramiko transport once there is one.
        self._connections: dict[threading.Thread, tuple[socket.socket, paramiko.Transport | None]]
        self._connections = {}
        self.port = 0

    def bind(self, host: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(64)
            sock.settimeout(POLL)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._accepter = threading.Thread(
            target=self._accept_loop, name=f"lab-ssh-{host}:{self.port}", daemon=True
        )
        self._accepter.start()

    def _accept_loop(self) -> None:
        listening = self._socket
        while listening is not None and not self._stopping.is_set():
            try:
                conn, peer = listening.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                time.sleep(POLL)  # e.g. out of file descriptors: try again shortly
                continue
            with self._lock:
                if len(self._connections) >= MAX_CONNECTIONS or self._stopping.is_set():
                    conn.close()
                    continue
                thread = threading.Thread(
                    target=self._serve, args=(conn, str(peer[0])), name="lab-ssh-conn", daemon=True
                )
                self._connections[thread] = (conn, None)
            thread.start()

    def _serve(self, conn: socket.socket, source: str) -> None:
        this = threading.current_thread()
        transport: paramiko.Transport | None = None
        try:
            if self._device.auth.retry_after(source) is not None:
                return  # throttled: dropped before the ident, like sshd's MaxStartups
            transport = _LabTransport(conn)
            with self._lock:
                if self._stopping.is_set():
                    return
                self._connections[this] = (conn, transport)
            _Session(self._spec, self._device, source, transport, self._keys).run(self._stopping)
        except (paramiko.SSHException, EOFError, OSError):
            pass  # a client that vanishes or speaks nonsense is normal traffic
        finally:
            if transport is not None:
                transport.close()
            with contextlib.suppress(OSError):
                conn.close()
            with self._lock:
                self._connections.pop(this, None)

    async def close(self) -> None:
        self._stopping.set()
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        if self._accepter is not None:
            self._accepter.join(timeout=1.0)
        if self._socket is not None:
            self._socket.close()
        with self._lock:
            connections = list(self._connections.items())
        for _, (conn, transport) in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv at once
            if transport is not None:
                transport.close()
            with contextlib.suppress(OSError):
                conn.close()
        deadline = time.monotonic() + 1.0
        for thread, _ in connections:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


class _Session:
    """One SSH connection, run in its thread: handshake, logins, then one channel."""

    def __init__(
        self,
        spec: ServiceSpec,
        device: DeviceContext,
        source: str,
        transport: paramiko.Transport,
        keys: tuple[paramiko.PKey, ...],
    ) -> None:
        self.spec = spec
        self.transport = transport
        self.server = _Server(spec, device, source)
        transport.local_version = spec.banner
        transport.set_log_channel(_WIRE_LOG)
        transport.banner_timeout = 10
        transport.handshake_timeout = 10
        transport.auth_timeout = 30
        for key in keys:
            transport.add_server_key(key)
        offered = transport.get_security_options()
        algorithms = spec.ssh_algorithms
        if algorithms.kex:
            offered.kex = algorithms.kex
        if algorithms.ciphers:
            offered.ciphers = algorithms.ciphers
        if algorithms.macs:
            offered.digests = algorithms.macs

    def run(self, stopping: threading.Event) -> None:
        self.transport.start_server(server=self.server)  # blocks until key exchange is done
        deadline = time.monotonic() + LOGIN_WINDOW
        channel: paramiko.Channel | None = None
        while channel is None:
            if stopping.is_set() or not self.transport.is_active() or time.monotonic() > deadline:
                return
            if self.server.hang_up.is_set():
                time.sleep(FAILURE_FLUSH)  # the last USERAUTH_FAILURE goes out first
                return
            channel = self.transport.accept(timeout=POLL)
        if not self.server.requested.wait(REQUEST_WAIT):
            return
        # idle_timeout: a shell idle that long is logged out (as TMOUT); else the lab's bound
        channel.settimeout(self.spec.idle_timeout or READ_TIMEOUT)
        kind, command = self.server.request
        if kind == "exec":
            output, status = run_command(command, self.server.username)
            channel.sendall(output.encode())
            channel.send_exit_status(status)
        else:
            self._shell(channel)
        channel.close()

    def _shell(self, channel: paramiko.Channel) -> None:
        title = self.server.title
        prompt = b"# " if self.server.username == "root" else b"$ "
        channel.sendall(f"\r\n{title}\r\nBusyBox built-in shell (ash)\r\n\r\n".encode() + prompt)
        pending = bytearray()
        for _ in range(MAX_COMMANDS):
            while b"\n" not in pending and b"\r" not in pending:
                try:
                    data = channel.recv(1024)
                except TimeoutError:
                    channel.sendall(b"\r\ntimed out waiting for input: auto-logout\r\n")
                    return
                if not data:
                    return
                pending += data
                if len(pending) > MAX_LINE:
                    return
            cut = min(i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0)
            line = bytes(pending[:cut]).decode("utf-8", "replace").strip()
            del pending[: cut + 1]
            if line in ("exit", "logout"):
                channel.sendall(b"logout\r\n")
                channel.send_exit_status(0)
                return
            if line:
                output, _ = run_command(line, self.server.username)
                channel.sendall(output.replace("\n", "\r\n").encode())
            channel.sendall(prompt)


def run_command(command: str, username: str) -> tuple[str, int]:
    """(output, exit status) of the few commands the lab's shell knows."""
    words = command.split()
    if not words:
        return "", 0
    if words[0] == "echo":
        return " ".join(words[1:]) + "\n", 0
    if words[0] == "id":
        uid = 0 if username == "root" else 1000
        return f"uid={uid}({username}) gid={uid}({username})\n", 0
    return f"sh: {words[0][:32]}: not found\n", 127


class _Server(paramiko.ServerInterface):
    """paramiko's questions about one connection, answered from the personality."""

    def __init__(self, spec: ServiceSpec, device: DeviceContext, source: str) -> None:
        self.title = device.personality.title
        self._spec = spec
        self._auth = device.auth
        self._source = source
        self._failures = 0
        self._interactive_user = ""
        self.username = ""
        self.hang_up = threading.Event()  # too many failures, or throttled: disconnect
        self.requested = threading.Event()
        self.request: tuple[str, str] = ("shell", "")

    def get_allowed_auths(self, username: str) -> str:
        return "password,keyboard-interactive"

    def get_banner(self) -> tuple[str | None, str | None]:
        # SSH_MSG_USERAUTH_BANNER (RFC 4252 §5.4): the system-use notification, if any.
        return (self._spec.notice + "\n", "en-US") if self._spec.notice else (None, None)

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED  # a probe for the methods, not counted (as OpenSSH)

    def check_auth_password(self, username: str, password: str) -> int:
        return self._check(username, password)

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        if self.hang_up.is_set():
            return AUTH_FAILED
        self._interactive_user = username
        return InteractiveQuery("", "", ("Password: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        if len(responses) != 1:
            return self._fail()
        return self._check(self._interactive_user, responses[0])

    def _check(self, username: str, password: str) -> int:
        if self.hang_up.is_set():
            return AUTH_FAILED
        result = self._auth.attempt("ssh", username, password, self._source)
        pause = self._auth.take_delay(self._source)
        if pause:
            time.sleep(pause)  # the delay policy; paramiko runs this in the session's thread
        if result is AuthResult.ACCEPTED:
            self.username = username
            return AUTH_SUCCESSFUL
        if result is AuthResult.THROTTLED:
            self.hang_up.set()
            return AUTH_FAILED
        return self._fail()

    def _fail(self) -> int:
        self._failures += 1
        if self._failures >= self._spec.max_auth_tries:
            self.hang_up.set()
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session" and self.username:
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(
        self,
        channel: paramiko.Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.request = ("shell", "")
        self.requested.set()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.request = ("exec", command[:MAX_LINE].decode("utf-8", "replace"))
        self.requested.set()
        return True
