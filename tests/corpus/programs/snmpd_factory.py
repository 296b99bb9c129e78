"""net-snmp's snmpd from Debian with the communities device firmware ships: `public`
(read-only) and `private` (read-write), plus the read-only community an operator set.

A wrong community gets no answer at all (SNMPv1/v2c have no rejection message): silence is
the only "rejected" an SNMP agent gives, and snmpd never locks anything.
"""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING

from tests.corpus.base import (
    Login,
    Program,
    Running,
    ServiceTruth,
    program_running,
    require,
    start,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ADDRESS = "127.0.73.30"
PORT = 161
PUBLIC = Login("", "public")
PRIVATE = Login("", "private")
OPERATOR = Login("", "Qx7-corpus-op", kind="operator")
SYSDESCR = "NetPLC-200 industrial controller, firmware 2.4.1"
_HINT = "apt-get install snmpd (.ci/corpus/debian-devices.sh)"

PROGRAM = Program(
    name="snmpd-factory",
    origin="debian:snmpd=5.9.3+dfsg-2+deb12u1",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="snmp",
            port=PORT,
            transport="udp",
            logins=(PUBLIC, PRIVATE, OPERATOR),
            login_surface="snmp v1/v2c community",
            note=f"public: read-only, private: read-write; sysDescr {SYSDESCR!r}; "
            "a wrong community is ignored (no answer)",
        ),
    ),
    description="net-snmp 5.9.3 snmpd, rocommunity public, rwcommunity private",
)


def _get_sysdescr(community: bytes) -> bytes:
    """SNMPv2c GetRequest for sysDescr.0 (hand-encoded BER, request id 1)."""
    varbind = bytes.fromhex("300c06082b060102010101000500")
    pdu_body = bytes.fromhex("020400000001020100020100") + b"\x30" + bytes([len(varbind)]) + varbind
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01\x04" + bytes([len(community)]) + community + pdu
    return b"\x30" + bytes([len(body)]) + body


def _ready() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(_get_sysdescr(PUBLIC.password.encode()), (ADDRESS, PORT))
            return bool(sock.recv(4096))
        except OSError:
            return False


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    binary = require("/usr/sbin/snmpd", _HINT)
    cfg = workdir / "snmpd.conf"
    cfg.write_text(
        f"rocommunity {PUBLIC.password}\nrwcommunity {PRIVATE.password}\n"
        f"rocommunity {OPERATOR.password}\n"
        f"sysDescr {SYSDESCR}\nsysLocation corpus bench\n"
    )
    with program_running(PROGRAM) as run:
        start(
            run,
            "snmpd",
            # -I -smux: no SMUX listener on TCP 199 of every address (tests/interop/conftest.py)
            [binary, "-f", "-Lo", "-C", "-I", "-smux", "-c", str(cfg), f"udp:{ADDRESS}:{PORT}"],
            workdir=workdir,
            ready=_ready,
            # Its persistent state goes to the work directory, not /var/lib/snmp.
            env={"SNMP_PERSISTENT_DIR": str(workdir / "snmp-persist")},
        )
        yield run
