"""The container image's recipe, followed outside a container (no Docker daemon here).

What the Dockerfile relies on is checked for real: the files it copies are enough to build
and install shinsa with the `service` extra (a non-editable install: templates, static
files and migrations must be package data, which an editable install would hide); the
`SHINSA_*` settings it sets are the ones `shinsa serve` reads; and the installed service,
started from another directory with those settings (addresses and paths moved to the
test's: it listens on 127.0.97.10, never on 0.0.0.0), upgrades its database, takes a user
and serves the dashboard over TLS.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest
import trustme

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "127.0.97.10"
PASSWORD = "container recipe password"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "ENV":
            for pair in rest.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((ADDRESS, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with shinsa installed, as the image's RUN does, from
    exactly what its COPY lines copy. The dependencies come from this suite's environment
    (a path entry, not installed again: the registry is not this test's subject)."""
    base = tmp_path_factory.mktemp("image")
    src = base / "src"
    src.mkdir()
    copies = [rest.split() for word, rest in _instructions() if word == "COPY"]
    assert copies, "the Dockerfile copies nothing"
    for *sources, _dest in copies:
        for name in sources:
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, src / name)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = Path(sysconfig.get_paths()["purelib"])
    new_site = next((venv / "lib").glob("python3*/site-packages"))
    (new_site / "suite-dependencies.pth").write_text(f"{purelib}\n")
    done = subprocess.run(
        # built as the image builds it: in pip's isolated build environment
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
         f"{src}[service]"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return venv


def test_the_installed_service_runs_with_the_images_settings(
    installed: Path, tmp_path: Path
) -> None:
    env = _env()
    # the settings the image sets, each one `shinsa serve` (or its commands) reads
    assert {"SHINSA_DB", "SHINSA_DATA", "SHINSA_LISTEN", "SHINSA_TLS_CERT", "SHINSA_TLS_KEY"} <= (
        env.keys()
    )
    assert ("USER", "shinsa") in _instructions()  # never root
    assert ("ENTRYPOINT", '["shinsa", "serve"]') in _instructions()
    ca = trustme.CA()
    cert = ca.issue_cert(ADDRESS)
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "chain.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    port = _free_port()
    moved = {
        "SHINSA_DB": f"sqlite:///{tmp_path / 'shinsa.sqlite'}",
        "SHINSA_DATA": str(tmp_path / "runs"),
        "SHINSA_LISTEN": f"{ADDRESS}:{port}",  # the image's 0.0.0.0, moved to the test's
        "SHINSA_TLS_CERT": str(tmp_path / "chain.pem"),
        "SHINSA_TLS_KEY": str(tmp_path / "key.pem"),
    }
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHINSA_")},
        **{k: v for k, v in env.items() if not k.startswith("SHINSA_") and k != "HOME"},
        **moved,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
    }
    shinsa = str(installed / "bin" / "shinsa")
    added = subprocess.run(
        [shinsa, "db", "upgrade"], cwd=tmp_path, env=child_env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    user = subprocess.run(
        [shinsa, "user", "add", "ops", "--role", "admin"], cwd=tmp_path,
        env={**child_env, "SHINSA_PASSWORD": PASSWORD},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert user.returncode == 0, user.stderr
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [shinsa, "serve"], cwd=tmp_path, env=child_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        with httpx.Client(
            base_url=f"https://{ADDRESS}:{port}",
            verify=ssl.create_default_context(cafile=str(ca_file)),
            timeout=10,
        ) as client:
            for _ in range(150):  # bounded: 15 s for the service to start
                try:
                    login = client.get("/login")
                    break
                except httpx.TransportError:
                    if server.poll() is not None:
                        break
                    time.sleep(0.1)
            else:
                pytest.fail("the installed service did not answer within 15 s")
            assert server.poll() is None, log.read_text(errors="replace")
            assert login.status_code == 200
            found = re.search(r'name="csrf" value="([^"]*)"', login.text)
            form = {"username": "ops", "password": PASSWORD}
            if found:
                form["csrf"] = found.group(1)
            r = client.post("/login", data=form)
            assert r.status_code == 303, r.text[:300]
            assert "__Host-shinsa" in client.cookies
            page = client.get("/")
            assert page.status_code == 200
            assert "<h1>" in page.text  # the packaged templates
            css = client.get("/static/dashboard.css")
            assert css.status_code == 200  # the packaged static files
            assert css.headers["content-type"].startswith("text/css")
    finally:
        server.terminate()
        server.wait(20)
    # the installed copy ran, not this checkout
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import scanner; print(scanner.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert str(installed) in where.stdout, where.stdout
