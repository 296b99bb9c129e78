"""Mosquitto from Debian as many brokers are left: anonymous access, no password file.

Every CONNECT is accepted whatever username and password it carries, so nothing
authenticates here: a default-login check finds "no login needed", and lockout and session
checks are not applicable.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tests.corpus.base import Program, Running, ServiceTruth, program_running
from tests.corpus.programs.mosquitto_factory import PORT, start_broker

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ADDRESS = "127.0.73.11"

PROGRAM = Program(
    name="mosquitto-anonymous",
    origin="debian:mosquitto=2.0.11-1.2+deb12u2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="mqtt",
            port=PORT,
            authenticates=False,
            login_surface="mqtt CONNECT (credentials ignored)",
            note="allow_anonymous true, no password file: any login, or none, is accepted",
        ),
    ),
    description="Mosquitto 2.0.11 broker, allow_anonymous true",
)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    with program_running(PROGRAM) as run:
        start_broker(run, workdir, "mosquitto-anonymous", ADDRESS, "allow_anonymous true\n")
        yield run
