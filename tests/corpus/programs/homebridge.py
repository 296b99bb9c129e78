"""The Homebridge web UI (npm homebridge-config-ui-x): a home-automation single-page app.

The page served at `/` is an Angular application with no `<form>` in its HTML; its script
posts `{"username": ..., "password": ...}` as JSON to `/api/auth/login` and receives a JWT
(`access_token`, Bearer) that every later API call carries. `admin/admin` is the default
Homebridge documents (the UI's own log says "reset to the default of admin/admin by deleting
auth.json"). The users file is written the way the UI writes it (PBKDF2-SHA512, 1000
rounds, a 32-byte hex salt), so the setup wizard is already done, as on a unit that left the
factory with its default account.

Only the UI process runs (`standalone.js`, as `hb-service` would start it): Homebridge's own
HomeKit bridge is not started, because it advertises over mDNS and listens on every
address.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import TYPE_CHECKING

from tests.corpus import web_client
from tests.corpus.base import (
    CORPUS_ROOT,
    CorpusError,
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

    import httpx

ADDRESS = "127.0.72.22"
PORT = 8581  # the UI's default port
FACTORY = Login("admin", "admin")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
LOGIN_PATH = "/api/auth/login"
#: What a wrong password gets: 403 and this JSON body (NestJS's ForbiddenException).
REJECTION_BODY = {"message": "Forbidden", "statusCode": 403}

PROGRAM = Program(
    name="homebridge",
    origin="npm:homebridge-config-ui-x@4.76.0",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="http",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="json",
            note=(
                f"SPA at /; its script POSTs JSON {{username, password}} to {LOGIN_PATH}; "
                "accepted: 201 with {access_token, token_type: Bearer, expires_in}; "
                "rejected (wrong password or unknown user): 403 "
                f"{json.dumps(REJECTION_BODY)}; no lockout"
            ),
        ),
    ),
    description="Homebridge UI 4.76.0 (standalone, Node 20), homebridge 1.9.0 beside it",
)

_PREFIX = CORPUS_ROOT / "homebridge"
_STANDALONE = _PREFIX / "node_modules/homebridge-config-ui-x/dist/bin/standalone.js"
_HINT = "npm homebridge-config-ui-x (.ci/corpus/homebridge.sh)"


def _user(uid: int, login: Login, *, admin: bool) -> dict[str, object]:
    salt = os.urandom(32).hex()
    # The UI's hashPassword(): pbkdf2(password, salt, 1000, 64, 'sha512') in hex; the salt
    # is used as the hex string itself, not its bytes.
    hashed = hashlib.pbkdf2_hmac("sha512", login.password.encode(), salt.encode(), 1000, 64)
    return {
        "id": uid,
        "username": login.username,
        "name": login.username.title(),
        "hashedPassword": hashed.hex(),
        "salt": salt,
        "admin": admin,
    }


def _configure(workdir: Path) -> Path:
    storage = workdir / "homebridge"
    storage.mkdir()
    config = {
        "bridge": {
            "name": "Homebridge",
            "username": "0E:72:22:00:00:01",
            "port": 51826,
            "pin": "031-45-154",
        },
        "accessories": [],
        # The UI's own platform block; `host` keeps it on its corpus address only.
        "platforms": [{"platform": "config", "name": "Config", "port": PORT, "host": ADDRESS}],
    }
    (storage / "config.json").write_text(json.dumps(config, indent=4))
    users = [_user(1, FACTORY, admin=True), _user(2, OPERATOR, admin=False)]
    (storage / "auth.json").write_text(json.dumps(users, indent=4))
    return storage


def submit_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """What the app's script does on its login screen."""
    return client.post(LOGIN_PATH, json={"username": username, "password": password})


def verify(service: ServiceTruth, login: Login) -> bool:
    with web_client.client(ADDRESS, service.port) as client:
        return submit_login(client, login.username, login.password).status_code == 201


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    node = require("/usr/bin/node", "apt-get install nodejs")
    if not _STANDALONE.is_file():
        raise CorpusError(f"{_STANDALONE} not found: {_HINT} (bash .ci/install-corpus.sh)")
    storage = _configure(workdir)
    with program_running(PROGRAM) as run:
        start(
            run,
            "homebridge-ui",
            [node, str(_STANDALONE), "-U", str(storage)],
            workdir=workdir,
            cwd=workdir,
            # HOME: nothing of the UI's lands in root's home directory.
            env={"HOME": str(workdir), "UIX_STORAGE_PATH": str(storage)},
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
