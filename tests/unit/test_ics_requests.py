"""The industrial identity requests built with scapy's layers are the bytes the protocol
specifications give, written out here by hand from them (not from scapy), so a scapy
upgrade that changed a default would fail here rather than on a PLC."""

from __future__ import annotations

import struct

from scanner.discovery.udp_protocols.enip import enip_list_identity, parse_enip_identity
from scanner.fingerprint.identity import MODBUS_READ_ID, parse_modbus_identity


def test_modbus_read_device_identification_is_the_specified_request() -> None:
    # MBAP: transaction 0x5349, protocol 0, length 5, unit 1; PDU: function 0x2B,
    # MEI type 0x0E, read code 01 (basic), object id 00 (Modbus spec v1.1b3 §6.21)
    assert bytes.fromhex("5349 0000 0005 01 2b 0e 01 00") == MODBUS_READ_ID


def test_modbus_parser_reads_an_answer_to_it() -> None:
    objects = b"".join(
        bytes((i, len(v))) + v for i, v in enumerate((b"Schneider", b"BMX P34", b"v3.1"))
    )
    pdu = bytes((0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 3)) + objects
    answer = struct.pack(">HHHB", 0x5349, 0, 1 + len(pdu), 1) + pdu
    assert parse_modbus_identity(answer) == {
        "VendorName": "Schneider",
        "ProductCode": "BMX P34",
        "MajorMinorRevision": "v3.1",
    }
    # an answer cut before the last object: the objects that came, nothing read past the end
    assert parse_modbus_identity(answer[:-6]) == {
        "VendorName": "Schneider",
        "ProductCode": "BMX P34",
    }


def test_enip_list_identity_is_the_bare_encapsulation_header() -> None:
    context = bytes.fromhex("0102030405060708")
    # command 0x0063, length 0, session 0, status 0 (little-endian), the 8-byte sender
    # context as given, options 0 (ODVA CIP Vol. 2 §2-4.2)
    assert enip_list_identity(context) == (
        bytes.fromhex("6300 0000 00000000 00000000") + context + bytes(4)
    )


def test_enip_reply_must_echo_the_context_sent() -> None:
    context = bytes.fromhex("a1a2a3a4a5a6a7a8")
    name = b"1756-L61/B LOGIX5561"
    item = (
        struct.pack("<H", 1)
        + bytes(16)
        + struct.pack("<HHH", 1, 14, 54)
        + bytes((20, 11))
        + struct.pack("<HI", 0x30, 0x12345678)
        + bytes((len(name),))
        + name
        + bytes((3,))
    )
    body = struct.pack("<HHH", 1, 0x000C, len(item)) + item
    reply = struct.pack("<HHII", 0x63, len(body), 0, 0) + context + bytes(4) + body
    assert parse_enip_identity(reply, context) == (
        "1756-L61/B LOGIX5561, vendor 1, device type 14, revision 20.11"
    )
    assert parse_enip_identity(reply, bytes(8)) is None
