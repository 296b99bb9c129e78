"""Protocol login clients for the default-credentials probe (helpers, not probes).

Every module exports the same coroutine::

    async def try_logins(dev: DeviceNetwork, service: Service, credentials: Sequence[Credential],
                         pace: Pace = PACE) -> LoginRun

`Pace` (`common.py`): each answer's timeout and the connections that share the list.

- Credentials are tried in order (SSH groups them by username, one username per
  connection); the run stops at the first ACCEPTED, LOCKED or persistent THROTTLED outcome,
  or after three ERROR outcomes in a row, and returns the attempts in credential order.
- Success is the protocol's own success oracle (SSH USERAUTH_SUCCESS, telnet shell prompt,
  FTP 230, CONNACK 0, SNMP GetResponse with our request-id, RTSP 200), never the absence of
  an error message.
- A dropped, refused or reset connection is never REJECTED: the same credential is retried
  after 0.5 s, 1 s, 2 s, then recorded THROTTLED with the reason.
- Connections go through `dev.tcp()` / `dev.udp_exchange()` (asyncssh: inside
  `dev.permit()`), so the device's connection permits cap `pace.connections`.
- Passwords appear only as `Credential.masked()`; device text is bounded and scrubbed of the
  password before it becomes `Attempt.detail` (see `common.device_text`).
"""
