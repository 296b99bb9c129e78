"""SNMP community check: v2c and v1 GetRequest for sysDescr.0, the community as password.

Oracle: a GetResponse whose request-id matches ours is ACCEPTED (the agent knows the
community). Agents stay silent on a wrong community, so silence is REJECTED, and the detail
says that is all it means. Each round sends both versions at once; a second round covers a
lost datagram. The username of a credential is ignored.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING

from probes._login.common import PACE, Pace, Scheduler, attempt, device_text, run_workers
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.discovery.udp_protocols.snmp import SnmpResponse, parse_snmp_response, snmp_get_request
from scanner.model import bound_text, quoted
from scanner.task_groups import task_group

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import Service
    from scanner.net import DeviceNetwork

METHOD = "snmp v1/v2c"
#: Longest wait for an answer to one community: agents on small devices answer in ms.
MAX_WAIT = 3.0
ROUNDS = 2
_VERSIONS = {1: "v2c", 0: "v1"}


async def _ask(
    dev: DeviceNetwork, port: int, version: int, community: str, wait: float
) -> tuple[int, bytes] | None:
    request_id = secrets.randbelow(0x7FFFFFFF) + 1
    payload = snmp_get_request(version, community, request_id)
    reply = await dev.udp_exchange(port, payload, timeout=wait)
    if reply is None:
        return None
    parsed = parse_snmp_response(reply)
    if parsed is None or parsed.request_id != request_id or parsed.version != version:
        return None  # not an answer to this request
    return version, reply


async def _first_answer(
    dev: DeviceNetwork, port: int, community: str, wait: float
) -> tuple[int, bytes] | None:
    """Both versions asked at once: the first answer, the other request abandoned."""
    async with task_group() as group:
        tasks = [
            group.create_task(_ask(dev, port, version, community, wait)) for version in _VERSIONS
        ]
        for next_done in asyncio.as_completed(tasks):
            found = await next_done
            if found is not None:
                for task in tasks:
                    task.cancel()
                return found
    return None


def _summary(reply: SnmpResponse) -> str:
    if reply.error_status:
        return f"error-status {reply.error_status}"
    if reply.value_tag == 0x04:
        return f"sysDescr {quoted(bound_text(reply.value))}"
    return f"no sysDescr (value type {reply.value_tag:#04x})"


async def check_community(
    dev: DeviceNetwork, service: Service, credential: Credential, timeout: float
) -> Attempt:
    wait = min(timeout, MAX_WAIT)
    per_round = wait / ROUNDS
    started = time.monotonic()
    community = credential.password
    for _ in range(ROUNDS):
        found = await _first_answer(dev, service.port, community, per_round)
        if found is not None:
            version, raw = found
            parsed = parse_snmp_response(raw)
            summary = _summary(parsed) if parsed else ""
            return attempt(
                credential,
                Outcome.ACCEPTED,
                f"SNMP {_VERSIONS[version]} GetResponse: {device_text(summary, credential)}",
                started,
            )
    return attempt(
        credential,
        Outcome.REJECTED,
        f"no answer within {wait:g} s (agents ignore wrong communities; "
        "a lost datagram or a filtered port looks the same)",
        started,
    )


async def try_logins(
    dev: DeviceNetwork, service: Service, credentials: Sequence[Credential], pace: Pace = PACE
) -> LoginRun:
    """Try the communities (`Credential.password`) in order; see the module docstring."""
    timeout, connections = pace.timeout, pace.connections
    scheduler = Scheduler(credentials)

    async def worker() -> None:
        while (held := scheduler.take()) is not None:
            index, credential = held
            try:
                result = await check_community(dev, service, credential, timeout)
            except OSError as exc:
                result = attempt(
                    credential, Outcome.ERROR, device_text(f"{type(exc).__name__}", credential)
                )
            scheduler.record(index, result)

    await run_workers(scheduler, worker, connections)
    return scheduler.run(METHOD)
