"""SNMP v1/v2c agent for the system group: GET and GETNEXT; a wrong community gets silence.

Silence, not an error, is what real agents do with a bad community, so a scanner guessing
communities cannot tell "wrong community" from "no agent". Hostile firmware
(`accept_any_login`) answers every community, as a misconfigured agent does; with
`echo_secrets`, sysDescr repeats the community it was asked with.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lab.servers.ber import (
    INTEGER,
    NULL,
    OCTET_STRING,
    SEQUENCE,
    Oid,
    decode_int,
    decode_oid,
    encode_int,
    encode_oid,
    parse_oid,
    read_all,
    read_tlv,
    tlv,
)
from lab.servers.echo import echoes

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

GET, GETNEXT, RESPONSE = 0xA0, 0xA1, 0xA2
TIMETICKS = 0x43
NO_SUCH_OBJECT, END_OF_MIB_VIEW = 0x80, 0x82
NO_SUCH_NAME = 2
V1, V2C = 0, 1
SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")
NET_SNMP_LINUX = parse_oid("1.3.6.1.4.1.8072.3.2.10")


def answerer(spec: ServiceSpec, device: DeviceContext) -> Callable[[bytes], bytes | None]:
    started = time.monotonic()
    static: dict[Oid, bytes] = {
        SYS_DESCR: tlv(OCTET_STRING, spec.sys_descr.encode()),
        parse_oid("1.3.6.1.2.1.1.2.0"): encode_oid(NET_SNMP_LINUX),
        parse_oid("1.3.6.1.2.1.1.4.0"): tlv(OCTET_STRING, b"root@localhost"),
        parse_oid("1.3.6.1.2.1.1.5.0"): tlv(OCTET_STRING, device.personality.name.encode()),
        parse_oid("1.3.6.1.2.1.1.6.0"): tlv(OCTET_STRING, b"lab"),
    }
    uptime = parse_oid("1.3.6.1.2.1.1.3.0")

    echo = device.personality.echo_secrets

    def mib(community: bytes) -> dict[Oid, bytes]:
        ticks = int((time.monotonic() - started) * 100) & 0xFFFFFFFF
        answers = {**static, uptime: encode_int(ticks, TIMETICKS)}
        if echo:
            asked = community.decode("utf-8", "replace")
            descr = f"{spec.sys_descr}, asked with {echoes(asked)}"
            answers[SYS_DESCR] = tlv(OCTET_STRING, descr.encode())
        return answers

    communities = None if device.personality.accept_any_login else frozenset(spec.communities)

    def answer(data: bytes) -> bytes | None:
        return respond(data, communities, mib)

    return answer


def respond(
    data: bytes,
    communities: frozenset[str] | None,
    mib_for: Callable[[bytes], dict[Oid, bytes]],
) -> bytes | None:
    """The answer to one datagram; `communities` None answers any community; `mib_for` gives
    the MIB as seen by the community asked with."""
    tag, message, _ = read_tlv(data)
    if tag != SEQUENCE:
        return None
    parts = read_all(message)
    if len(parts) != 3 or parts[0][0] != INTEGER or parts[1][0] != OCTET_STRING:
        return None
    version = decode_int(parts[0][1])
    community = parts[1][1]
    pdu_tag, pdu = parts[2]
    if version not in (V1, V2C) or pdu_tag not in (GET, GETNEXT):
        return None
    if communities is not None and community.decode("utf-8", "replace") not in communities:
        return None
    fields = read_all(pdu)
    if len(fields) != 4 or fields[3][0] != SEQUENCE:
        return None
    mib = mib_for(community)
    request_id = decode_int(fields[0][1])
    requested = [decode_oid(read_all(vb)[0][1]) for _, vb in read_all(fields[3][1])]

    error_status = error_index = 0
    bindings: list[bytes] = []
    ordered = sorted(mib)
    for index, oid in enumerate(requested, start=1):
        if pdu_tag == GET:
            found_oid, value = oid, mib.get(oid)
            missing = NO_SUCH_OBJECT
        else:
            following = next((o for o in ordered if o > oid), None)
            found_oid = following or oid
            value = mib[following] if following else None
            missing = END_OF_MIB_VIEW
        if value is None:
            if version == V1:
                # v1 has no per-binding exceptions: the whole request fails, as RFC 1157 says.
                error_status, error_index = NO_SUCH_NAME, index
                value = tlv(NULL, b"")
            else:
                value = tlv(missing, b"")
        bindings.append(tlv(SEQUENCE, encode_oid(found_oid) + value))
    if error_status:
        # The v1 error response echoes the request's bindings unchanged.
        bindings = [tlv(SEQUENCE, encode_oid(o) + tlv(NULL, b"")) for o in requested]
    body = (
        encode_int(request_id)
        + encode_int(error_status)
        + encode_int(error_index)
        + tlv(SEQUENCE, b"".join(bindings))
    )
    return tlv(SEQUENCE, encode_int(version) + tlv(OCTET_STRING, community) + tlv(RESPONSE, body))
