"""Mosquitto from Debian with a password file: an MQTT broker that authenticates.

Configured the way a gateway vendor ships it: anonymous access off, one factory account
(`admin/password`) in a `mosquitto_passwd` file, and the account an operator added. A
wrong password gets CONNACK "not authorised" (return code 5 in MQTT 3.1.1); Mosquitto
never locks an account.
"""

from __future__ import annotations

import contextlib
import subprocess
from typing import TYPE_CHECKING

from tests.corpus.base import (
    Login,
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

ADDRESS = "127.0.73.10"
PORT = 1883
FACTORY = Login("admin", "password")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
_HINT = "apt-get install mosquitto (.ci/corpus/debian-devices.sh)"

PROGRAM = Program(
    name="mosquitto-factory",
    origin="debian:mosquitto=2.0.11-1.2+deb12u2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="mqtt",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="mqtt CONNECT username/password",
            note="anonymous refused (CONNACK 5); wrong password: CONNACK 5; no lockout",
        ),
    ),
    description="Mosquitto 2.0.11 broker, allow_anonymous false, password_file",
)


def passwd_file(workdir: Path, *logins: Login) -> Path:
    """A mosquitto_passwd file (salted hashes) holding `logins`."""
    tool = require("/usr/bin/mosquitto_passwd", _HINT)
    path = workdir / "mosquitto.passwd"
    for i, login in enumerate(logins):
        create = ["-c"] if i == 0 else []
        subprocess.run(
            [tool, "-b", *create, str(path), login.username, login.password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    path.chmod(0o600)
    return path


def start_broker(run: Running, workdir: Path, name: str, address: str, extra: str) -> None:
    binary = require("/usr/sbin/mosquitto", _HINT)
    cfg = workdir / f"{name}.conf"
    # `user root`: it would switch to the mosquitto user, who cannot read the work directory.
    cfg.write_text(
        f"user root\nlistener {PORT} {address}\npersistence false\nlog_dest stderr\n{extra}"
    )
    start(
        run,
        name,
        [binary, "-c", str(cfg)],
        workdir=workdir,
        ready=lambda: tcp_ready(address, PORT),
    )


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    passwords = passwd_file(workdir, FACTORY, OPERATOR)
    with program_running(PROGRAM) as run:
        start_broker(
            run,
            workdir,
            "mosquitto-factory",
            ADDRESS,
            f"allow_anonymous false\npassword_file {passwords}\n",
        )
        yield run
