"""A Modbus/TCP PLC emulated with pymodbus from PyPI: an ICS device without any login.

Started from a launcher in the work directory that follows pymodbus' documented server
example (a datastore of holding and input registers, a device identification, a TCP
server), the way ICS simulators and gateways embed it. Modbus/TCP has no authentication
at all: every client may read (and write) registers, so default-login, lockout and
session checks are not applicable; what a scan must do is name the service `modbus`.
Its device identification (function 43/14) reads "NetPLC" / "NetPLC-200".
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

from tests.corpus.base import (
    CORPUS_ROOT,
    Program,
    Running,
    ServiceTruth,
    program_running,
    require,
    start,
    tcp_ready,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ADDRESS = "127.0.73.70"
PORT = 502
UNIT = 1
#: Holding registers 1..8 (1-based, as mbpoll counts them): a setpoint table.
HOLDING = [1200, 1350, 42, 7, 0, 0, 65535, 24]
VENDOR = "NetPLC"
PRODUCT = "NetPLC-200"
VENV = CORPUS_ROOT / "pymodbus" / "venv"
_HINT = "pip install pymodbus==3.16.1 in its own venv (.ci/corpus/pymodbus.sh)"

PROGRAM = Program(
    name="pymodbus-plc",
    origin="pypi:pymodbus==3.16.1",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="modbus",
            port=PORT,
            authenticates=False,
            login_surface="none (Modbus/TCP has no authentication)",
            note=f"unit {UNIT}: holding registers 1-{len(HOLDING)} = {HOLDING}; device "
            f"identification {VENDOR}/{PRODUCT}",
        ),
    ),
    description="pymodbus 3.16.1 Modbus/TCP server, one unit",
)

LAUNCHER = """\
import json, sys
from pymodbus.datastore import (
    ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext,
)
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import StartTcpServer

settings = json.loads(sys.argv[1])
device = ModbusDeviceContext(
    hr=ModbusSequentialDataBlock(1, settings["holding"]),
    ir=ModbusSequentialDataBlock(1, settings["holding"]),
)
context = ModbusServerContext(devices={settings["unit"]: device})
identity = ModbusDeviceIdentification(
    info_name={
        "VendorName": settings["vendor"],
        "ProductCode": "NP200",
        "ProductName": settings["product"],
        "ModelName": settings["product"],
        "MajorMinorRevision": "2.4.1",
    }
)
StartTcpServer(context=context, identity=identity, address=(settings["address"], settings["port"]))
"""


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    python = require(VENV / "bin" / "python", _HINT)
    launcher = workdir / "netplc_modbus.py"
    launcher.write_text(LAUNCHER)
    settings = {
        "holding": HOLDING,
        "unit": UNIT,
        "vendor": VENDOR,
        "product": PRODUCT,
        "address": ADDRESS,
        "port": PORT,
    }
    with program_running(PROGRAM) as run:
        start(
            run,
            "pymodbus",
            [python, str(launcher), json.dumps(settings)],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
