"""What a test's daemon listens on: the network rule lets it listen on loopback only, and
a daemon that also opens a port on every address of the machine (snmpd's SMUX on TCP 199)
answers other tests' scans of unrelated loopback addresses."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def wildcard_sockets(session: int) -> list[str]:
    """The TCP listeners, and UDP sockets on a port below the kernel's ephemeral range (a
    client's unconnected socket is on 0.0.0.0 at an ephemeral port), bound to 0.0.0.0 or ::
    by the processes of `session` (a daemon started with start_new_session): "tcp/199"."""
    ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    inodes: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # the session id is the 6th field, after the command in parentheses
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3]) != session:
                continue
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
    found: list[str] = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                host, port = fields[1].rsplit(":", 1)
                number = int(port, 16)
                serving = fields[3] == "0A" if table.startswith("tcp") else number < ephemeral
                if fields[9] in inodes and serving and set(host) == {"0"}:
                    found.append(f"{table.rstrip('6')}/{number}")
    return sorted(set(found))
