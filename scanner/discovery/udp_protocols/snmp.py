"""SNMP v1/v2c: hand-written BER, just enough for one GetRequest and its GetResponse.

Discovery asks for sysDescr.0 with the community `COMMUNITY`; identity collection
(scanner/fingerprint/identity.py) and the community login check (probes/_login/snmp.py)
use the same request builder and parser with other OIDs and communities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import Request, UdpProtocol
from scanner.model import bound_text

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

    from scanner.discovery.udp_protocols.spec import Requests

COMMUNITY = "public"
SYS_DESCR_OID = (1, 3, 6, 1, 2, 1, 1, 1, 0)
_SNMP_VERSIONS = {0: "v1", 1: "v2c"}
#: Fixed request IDs, one per version: the reply's ID tells which version answered.
_SNMP_REQUEST_IDS = {0: 0x5A5A1001, 1: 0x5A5A1002}


def _ber_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _ber(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _ber_length(len(content)) + content


def _ber_int(value: int) -> bytes:
    return _ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _ber_oid(oid: Sequence[int]) -> bytes:
    out = bytearray((40 * oid[0] + oid[1],))
    for arc in oid[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _ber(0x06, bytes(out))


def snmp_get_request(
    version: int, community: str, request_id: int, oid: Sequence[int] = SYS_DESCR_OID
) -> bytes:
    """An SNMP GetRequest for one OID, sysDescr.0 unless told (version 0 = v1, 1 = v2c)."""
    varbind = _ber(0x30, _ber_oid(oid) + b"\x05\x00")
    pdu = _ber(0xA0, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + _ber(0x30, varbind))
    return _ber(0x30, _ber_int(version) + _ber(0x04, community.encode()) + pdu)


class _BerError(ValueError):
    pass


def _tlv(data: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at `offset`, checked against `end`."""
    if offset + 2 > end:
        raise _BerError("truncated")
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > end:
            raise _BerError("bad length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > end:
        raise _BerError("truncated")
    return tag, start, start + length


def _expect(data: bytes, offset: int, end: int, tag: int) -> tuple[int, int]:
    found, start, stop = _tlv(data, offset, end)
    if found != tag:
        raise _BerError(f"expected tag {tag:#x}, got {found:#x}")
    return start, stop


def _ber_read_int(data: bytes, offset: int, end: int) -> tuple[int, int]:
    start, stop = _expect(data, offset, end, 0x02)
    if not 0 < stop - start <= 8:
        raise _BerError("bad integer")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


@dataclass(frozen=True, slots=True)
class SnmpResponse:
    version: int
    community: str
    request_id: int
    error_status: int
    value_tag: int
    value: bytes


def parse_snmp_response(data: bytes) -> SnmpResponse | None:
    """The parts of an SNMP v1/v2c GetResponse we use, or None if it is not one."""
    try:
        start, end = _expect(data, 0, len(data), 0x30)
        version, pos = _ber_read_int(data, start, end)
        c_start, c_end = _expect(data, pos, end, 0x04)
        p_start, p_end = _expect(data, c_end, end, 0xA2)  # GetResponse-PDU
        request_id, pos = _ber_read_int(data, p_start, p_end)
        error_status, pos = _ber_read_int(data, pos, p_end)
        _error_index, pos = _ber_read_int(data, pos, p_end)
        l_start, l_end = _expect(data, pos, p_end, 0x30)
        value_tag, value = 0x05, b""
        if l_start < l_end:
            v_start, v_end = _expect(data, l_start, l_end, 0x30)
            _o_start, o_end = _expect(data, v_start, v_end, 0x06)
            value_tag, val_start, val_end = _tlv(data, o_end, v_end)
            value = data[val_start:val_end]
    except _BerError:
        return None
    if version not in _SNMP_VERSIONS:
        return None
    community = data[c_start:c_end].decode("latin-1")
    return SnmpResponse(version, community, request_id, error_status, value_tag, value)


def _snmp_summary(reply: SnmpResponse) -> str:
    if reply.error_status:
        return f"SNMP {_SNMP_VERSIONS[reply.version]} error-status {reply.error_status}"
    if reply.value_tag == 0x04:
        return bound_text(reply.value)
    exceptions = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}
    name = exceptions.get(reply.value_tag, f"value type {reply.value_tag:#04x}")
    return f"SNMP {_SNMP_VERSIONS[reply.version]} reply without sysDescr ({name})"


def _parse_discovery(data: bytes) -> tuple[str, str] | None:
    """(version that answered, summary) of a reply to one of the discovery requests."""
    reply = parse_snmp_response(data)
    if reply is None or _SNMP_REQUEST_IDS.get(reply.version) != reply.request_id:
        return None
    return _SNMP_VERSIONS[reply.version], _snmp_summary(reply)


#: One request per version; the IDs are fixed, so the same requests serve every scan.
_REQUESTS = tuple(
    Request(
        name,
        snmp_get_request(version, COMMUNITY, _SNMP_REQUEST_IDS[version]),
        f"SNMP{name} GetRequest sysDescr.0 community {COMMUNITY!r}",
        _parse_discovery,
        community=COMMUNITY,
    )
    for version, name in _SNMP_VERSIONS.items()
)


def _start(_rng: random.Random) -> Requests:
    return lambda _address, _port: _REQUESTS


PROTOCOL = UdpProtocol("snmp", (161, 1161), _start)
