"""Bounds shared by every lab server: a device must never wait or buffer without limit."""

from __future__ import annotations

#: Longest wait for the next bytes from a client before a normal server hangs up.
READ_TIMEOUT = 30.0
#: Longest line a line protocol (telnet, FTP, RTSP, SSH ident) accepts.
MAX_LINE = 1024
#: Largest chunk read at once.
CHUNK = 4096
#: Longest a faulty or raw service holds a connection the client keeps open; the lab
#: stopping ends it sooner.
HOLD_LIMIT = 3600.0
#: TLS handshakes that do not finish by then are dropped.
TLS_HANDSHAKE_TIMEOUT = 10.0
