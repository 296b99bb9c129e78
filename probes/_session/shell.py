"""SSH and telnet shells held open after a login, and told apart from their end.

A shell is opened through the door (`DeviceNetwork.ssh_connection`, `idle_tcp`): the
device permit is held while connecting and logging in, never while the shell idles, so
the waits of every device and session run at the same time. A watcher task sets
`Shell.closed` when the device ends the shell. Over SSH the connection must close too:
OpenSSH's ChannelTimeout alone closes the channel but keeps the login, and a new shell
opens without a password, so a closed channel is followed by a new one on the same
connection (at most `MAX_REOPENED_CHANNELS` times) while the connection lives.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncssh

from probes._login import telnet as telnet_login
from probes._login.common import Dropped, NoLoginNeeded, reason_of
from probes._login.ssh import PASSWORD_LOGIN
from probes._session.common import Gone
from scanner.credentials import Outcome
from scanner.net import close_ssh

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from scanner.credentials import Credential
    from scanner.model import Service
    from scanner.net import DeviceNetwork

#: Login and first prompt of one shell or session.
LOGIN_TIMEOUT = 15.0
#: SSH: how long after a shell's channel closes the connection may take to follow; a
#: connection still open then is asked for a new shell (a channel timeout, not a logout)
CONNECTION_GRACE = 2.0
MAX_REOPENED_CHANNELS = 5


@dataclass(slots=True)
class Shell:
    """An SSH or telnet shell after its login; `closed` is set when the device ends it."""

    number: int
    opened: float
    send: Callable[[], Awaitable[None]]  # a keystroke
    close: Callable[[], Awaitable[None]]
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    closed_at: float | None = None
    watcher: asyncio.Task[None] | None = None
    reopened: int = 0  # SSH: shells opened again on the same login after a channel closed

    def ended(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.closed.set()

    async def aclose(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.watcher
        with contextlib.suppress(Exception):
            await self.close()


async def open_ssh_shell(dev: DeviceNetwork, service: Service, cred: Credential, n: int) -> Shell:
    try:
        async with asyncio.timeout(LOGIN_TIMEOUT):
            # A permit is held while the connection is made and while the shell starts (as
            # for telnet's login), never while the shell idles.
            conn = await dev.ssh_connection(
                service.port,
                timeout=LOGIN_TIMEOUT,
                username=cred.username,
                password=cred.password,
                **PASSWORD_LOGIN,  # no keepalives among them: the client must stay silent
            )
            try:
                async with dev.permit():
                    process = await conn.create_process(term_type="vt100")
                    await process.stdout.read(1024)  # the banner or prompt: the shell is there
            except BaseException:
                conn.close()
                raise
    except asyncssh.PermissionDenied:
        raise Gone(f"the login with {cred} was not accepted") from None
    except (OSError, asyncssh.Error, TimeoutError, EOFError) as exc:
        raise Gone(f"no SSH shell: {reason_of(exc)}") from None

    current = [process]  # the shell in use: a new one when the device closed only the channel

    async def keystroke() -> None:
        current[0].stdin.write("\n")

    async def close() -> None:
        await close_ssh(conn)

    shell = Shell(n, time.monotonic(), keystroke, close)

    async def watch() -> None:
        for _ in range(MAX_REOPENED_CHANNELS + 1):
            with contextlib.suppress(Exception):
                while await current[0].stdout.read(4096):
                    pass
            channel_closed = time.monotonic()
            # A closed channel is not a closed session: OpenSSH's ChannelTimeout closes an
            # idle channel but keeps the login, and a new shell opens without a password
            # (sshd_config(5)). The session ended only if the connection goes too.
            try:
                async with asyncio.timeout(CONNECTION_GRACE):
                    await conn.wait_closed()
            except TimeoutError:
                try:
                    current[0] = await conn.create_process(term_type="vt100")
                    await current[0].stdout.read(1024)
                except (asyncssh.Error, OSError, EOFError):
                    pass  # no new channel on this login: the session is over
                else:
                    shell.reopened += 1
                    continue  # the login lives on in a new shell: keep watching
            shell.closed_at = channel_closed
            shell.ended()
            return

    shell.watcher = asyncio.create_task(watch())
    return shell


async def open_telnet_shell(
    dev: DeviceNetwork, service: Service, cred: Credential, n: int
) -> Shell:
    try:
        stream = await dev.idle_tcp(service.port)
    except (OSError, TimeoutError) as exc:
        raise Gone(f"no telnet connection: {reason_of(exc)}") from None
    try:
        async with dev.permit():
            session = await telnet_login.open_session(stream, LOGIN_TIMEOUT)
            attempt = await session.attempt(cred)
        if attempt.outcome is not Outcome.ACCEPTED:
            raise Gone(f"the login with {cred} was not accepted: {attempt.detail}")
    except NoLoginNeeded:
        pass  # a shell without a login still has a session to end
    except (Dropped, OSError, TimeoutError) as exc:
        await stream.aclose()
        raise Gone(f"no telnet shell: {reason_of(exc)}") from None
    except BaseException:
        await stream.aclose()
        raise

    async def keystroke() -> None:
        await stream.write(b"\r\n")

    shell = Shell(n, time.monotonic(), keystroke, stream.aclose)

    async def watch() -> None:
        with contextlib.suppress(Exception):
            while True:
                try:
                    if not await stream.read_some(timeout=3600.0):
                        break
                except TimeoutError:
                    continue
        shell.ended()

    shell.watcher = asyncio.create_task(watch())
    return shell
