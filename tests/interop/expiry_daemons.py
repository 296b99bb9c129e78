"""dropbear and OpenSSH for the session-expiry interop tests, on 127.0.74.0/24 (this
suite's block, shared with lockout_daemons.py), one daemon per address so each keeps port 22.

- dropbear comes from `lockout_daemons.dropbear`, optionally with `-I` (idle timeout). Its
  idle clock is "no packet either way" (`ses.last_packet_time_idle`, set on every packet
  sent or received except keepalive traffic), so a shell that printed its prompt and hears
  nothing more is ended `-I` seconds after the prompt.
- OpenSSH comes from `lockout_daemons.plain_sshd` (no PAM, one allowed user, extra
  options).

This module only holds the addresses.

Logins are those of a temporary local user (`lockout_daemons.local_user`).
"""

from __future__ import annotations

IDLE_DROPBEAR_ADDRESS = "127.0.74.11"
DROPBEAR_ADDRESS = "127.0.74.12"
CHANNEL_TIMEOUT_SSHD_ADDRESS = "127.0.74.13"
CLIENT_ALIVE_SSHD_ADDRESS = "127.0.74.14"
CLIENT_ALIVE_OFF_SSHD_ADDRESS = "127.0.74.15"
CHANNEL_ONLY_SSHD_ADDRESS = "127.0.74.16"
#: dropbear without -I for the three waits side by side (idle, absolute, concurrent)
NO_TIMEOUT_DROPBEAR_ADDRESS = "127.0.74.17"
