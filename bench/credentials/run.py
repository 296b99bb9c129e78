"""Credentials benchmark: shinsa's login clients against hydra on local daemons.

Scenarios (each a list of wrong passwords with the right one last, so every tool has to
spend the whole list; all on 127.0.57.0/24):

- ssh: OpenSSH on 127.0.57.1 with a temporary local user (deleted at the end); hydra
  `-t 4` against shinsa's ssh `try_logins(pace=Pace(connections=4))`.
- basic: lighttpd mod_auth (HTTP Basic, plain user file) on 127.0.57.2; hydra `-t 16
  http-get` against shinsa's http `try_logins(pace=Pace(connections=16))` and a bare asyncio
  keep-alive client with 16 connections (raw_basic.py, the floor).
- form: a camera-style login form (form_server.py, asyncio + h11) on 127.0.57.3; hydra
  `-t 16 http-post-form` against shinsa's http `try_logins(pace=Pace(connections=16))`.

Every tool runs as a subprocess, killed after 120 s; tools alternate (order rotates each
round). Reported: median wall time (interpreter start-up included), attempts/s = list size
/ median wall, shinsa's own time in `try_logins` (start-up and fingerprinting excluded),
and whether each tool found the right password in every round.

The servers are not artificially throttled: sshd has `MaxStartups 200:30:400` and
`UsePAM no` (no pam_faildelay), and lighttpd's `auth.delay-invalid-creds` tarpit (on by
default in 1.4.69, about 1 s per wrong login) is disabled, so the rate measured is the
client's (and the daemon's real work), not a rate limit.

    .venv/bin/python bench/credentials/run.py [--rounds 5] [--ssh-wrong 50]
        [--http-wrong 1000] [--only ssh,basic,form]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SSHD_ADDRESS = "127.0.57.1"
BASIC_ADDRESS = "127.0.57.2"
FORM_ADDRESS = "127.0.57.3"
HTTP_USER = "admin"
TOOL_TIMEOUT = 120.0  # seconds before a tool run is killed and counted as failed
START_TIMEOUT = 10.0
USER_PREFIX = "shinsa-bench-"
HYDRA_FOUND = re.compile(r"login:\s+(\S+)\s+password:\s+(.*?)\s*$", re.M)


class Stop(Exception):
    """SIGTERM/SIGINT: unwind so every daemon is stopped and the user deleted."""


@dataclass
class Tool:
    name: str
    argv: list[str]
    kind: str  # "hydra" | "json"
    walls: list[float] = field(default_factory=list)
    inner: list[float] = field(default_factory=list)  # seconds the tool itself reported
    found: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Scenario:
    name: str
    size: int  # passwords in the list, right one last
    tools: list[Tool]


def run_tool(argv: list[str], cwd: Path) -> tuple[float, str, int]:
    """Run one tool; wall seconds, stdout, exit code (-9 when killed at TOOL_TIMEOUT)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    timer = threading.Timer(TOOL_TIMEOUT, lambda: _killpg(proc, signal.SIGKILL))
    timer.start()
    try:
        out, _ = proc.communicate()
    finally:
        timer.cancel()
        if proc.poll() is None:
            _killpg(proc, signal.SIGKILL)
            proc.wait(timeout=10)
    return time.perf_counter() - started, out, proc.returncode


def _killpg(proc: subprocess.Popen[str] | subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the group started for this one process only


def stop_daemon(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _killpg(proc, sig)
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_tcp(address: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with contextlib.suppress(OSError), socket.create_connection((address, port), 0.5):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{log.stem} exited: {log.read_text(errors='replace')[-800:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{log.stem} not answering on {address}:{port}")
        time.sleep(0.05)


def free(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), 0.3):
        return False
    return True


@contextlib.contextmanager
def temp_user(password: str):
    name = USER_PREFIX + secrets.token_hex(4)
    try:
        subprocess.run(
            ["useradd", "-M", "-s", "/bin/sh", name], check=True, capture_output=True, timeout=30
        )
        subprocess.run(
            ["chpasswd"],
            input=f"{name}:{password}\n",
            text=True,
            check=True,
            timeout=30,
            capture_output=True,
        )
        yield name
    finally:
        deadline = time.monotonic() + 10
        while subprocess.run(["getent", "passwd", name], capture_output=True).returncode == 0:
            force = ["-f"] if time.monotonic() > deadline else []
            done = subprocess.run(["userdel", *force, name], capture_output=True, timeout=30)
            if done.returncode != 0 and force:
                print(f"could not delete user {name}", file=sys.stderr)
                break
            if done.returncode != 0:
                time.sleep(0.2)


def daemon(argv: list[str], log: Path, **kw) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw
        )


def start_sshd(tmp: Path, user: str, max_auth_tries: int) -> subprocess.Popen[bytes]:
    key = tmp / f"ssh_host_ed25519_key_{max_auth_tries}"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    cfg = tmp / "sshd_config"
    cfg.write_text(
        f"Port 22\nListenAddress {SSHD_ADDRESS}\nHostKey {key}\nPidFile {tmp / 'sshd.pid'}\n"
        "UsePAM no\nStrictModes no\nPasswordAuthentication yes\nPubkeyAuthentication no\n"
        f"AllowUsers {user}\nMaxAuthTries {max_auth_tries}\nMaxStartups 200:30:400\n"
        "LogLevel ERROR\n"
    )
    log = tmp / "sshd.log"
    proc = daemon(["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)], log)
    wait_tcp(SSHD_ADDRESS, 22, proc, log)
    return proc


def start_lighttpd(tmp: Path, password: str) -> subprocess.Popen[bytes]:
    www = tmp / "www"
    www.mkdir()
    (www / "index.html").write_text("<html><head><title>Camera</title></head></html>\n")
    users = tmp / "lighttpd.user"
    users.write_text(f"{HTTP_USER}:{password}\n")
    users.chmod(0o600)
    cfg = tmp / "lighttpd.conf"
    cfg.write_text(
        f'server.document-root = "{www}"\nserver.bind = "{BASIC_ADDRESS}"\nserver.port = 80\n'
        f'server.errorlog = "{tmp / "lighttpd-error.log"}"\n'
        'server.modules = ("mod_auth", "mod_authn_file")\n'
        'mimetype.assign = (".html" => "text/html")\nindex-file.names = ("index.html")\n'
        "server.max-keep-alive-requests = 10000\n"
        # lighttpd 1.4.69 delays every wrong login (a tarpit): off, or it is all we measure
        'server.feature-flags += ("auth.delay-invalid-creds" => "disable")\n'
        f'auth.backend = "plain"\nauth.backend.plain.userfile = "{users}"\n'
        'auth.require = ("/" => ("method" => "basic", "realm" => "Bench Camera", '
        '"require" => "valid-user"))\n'
    )
    log = tmp / "lighttpd.log"
    proc = daemon(["/usr/sbin/lighttpd", "-D", "-f", str(cfg)], log)
    wait_tcp(BASIC_ADDRESS, 80, proc, log)
    return proc


def start_form(tmp: Path, password: str) -> subprocess.Popen[bytes]:
    log = tmp / "form.log"
    proc = daemon(
        [sys.executable, str(HERE / "form_server.py"), FORM_ADDRESS, "80", HTTP_USER, password],
        log,
        stdin=subprocess.PIPE,  # the server exits when this closes
    )
    wait_tcp(FORM_ADDRESS, 80, proc, log)
    return proc


def word_list(path: Path, wrong: int, right: str) -> None:
    words = [f"wrong-{n:04d}-{secrets.token_hex(3)}" for n in range(wrong)]
    path.write_text("\n".join([*words, right]) + "\n")


def parse(tool: Tool, out: str, right: str) -> tuple[bool, float | None, float, str]:
    """found, the tool's own in-run seconds, setup seconds not to count, a note."""
    if tool.kind == "hydra":
        hits = HYDRA_FOUND.findall(out)
        return any(pw == right for _, pw in hits), None, 0.0, ""
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        return False, None, 0.0, out.strip()[-300:]
    doc = json.loads(lines[-1])
    note = json.dumps({k: v for k, v in doc.items() if k in ("outcomes", "note", "method")})
    setup = float(doc.get("fingerprint_seconds", 0.0))
    return doc.get("found") == right, float(doc["seconds"]), setup, note


def run_scenario(scenario: Scenario, rounds: int, right: str, cwd: Path) -> None:
    for round_no in range(rounds):
        shift = round_no % len(scenario.tools)
        for tool in scenario.tools[shift:] + scenario.tools[:shift]:
            wall, out, code = run_tool(tool.argv, cwd)
            found, inner, setup, note = parse(tool, out, right)
            tool.walls.append(wall - setup)  # fingerprinting is not the login's cost
            tool.found.append(found and code in (0, None) if tool.kind == "json" else found)
            if inner is not None:
                tool.inner.append(inner)
            if not found or code not in (0,):
                tool.notes.append(f"round {round_no}: exit {code} {note or out[-300:]!r}")
            time.sleep(0.5)  # let TIME_WAIT and daemon children settle between tools


def report(scenario: Scenario, rounds: int) -> dict[str, float]:
    print(f"\n== {scenario.name}: {scenario.size} passwords (right one last), {rounds} rounds")
    print(f"{'tool':22} {'median s':>9} {'att/s':>9} {'in-run s':>9} {'in-run att/s':>13}  found")
    rates: dict[str, float] = {}
    for tool in scenario.tools:
        median = statistics.median(tool.walls)
        rates[tool.name] = scenario.size / median
        inner = ""
        if tool.inner:
            inner_median = statistics.median(tool.inner)
            rates[tool.name + ":in-run"] = scenario.size / inner_median
            inner = f"{inner_median:9.3f} {scenario.size / inner_median:13.1f}"
        else:
            inner = f"{'-':>9} {'-':>13}"
        walls = ", ".join(f"{w:.2f}" for w in tool.walls)
        print(
            f"{tool.name:22} {median:9.3f} {rates[tool.name]:9.1f} {inner}  "
            f"{sum(tool.found)}/{len(tool.found)} (walls {walls})"
        )
        for note in tool.notes[:3]:
            print(f"    {note}")
    return rates


def ratio(rates: dict[str, float], a: str, b: str, target: float, label: str = "") -> None:
    if a in rates and b in rates:
        value = rates[a] / rates[b]
        verdict = "meets" if value >= target else "BELOW"
        print(f"  {label or a + ' / ' + b}: {value:.2f}x ({verdict} target {target:g}x)")


def ssh_scenario(
    tmp: Path, hydra: str, ssh_list: Path, right: str, tries: int, args: argparse.Namespace
) -> bool:
    """hydra -t 4 against shinsa ssh c=4 on one sshd (MaxAuthTries `tries`)."""
    py = sys.executable
    with temp_user(right) as user:
        sshd = start_sshd(tmp, user, tries)
        try:
            scenario = Scenario(
                f"ssh (OpenSSH, UsePAM no, MaxStartups 200:30:400, MaxAuthTries {tries})",
                args.ssh_wrong + 1,
                [
                    Tool(
                        "hydra -t 4",
                        [
                            hydra,
                            "-t",
                            "4",
                            "-I",
                            "-f",
                            "-l",
                            user,
                            "-P",
                            str(ssh_list),
                            f"ssh://{SSHD_ADDRESS}",
                        ],
                        "hydra",
                    ),
                    Tool(
                        "shinsa ssh c=4",
                        [
                            py,
                            str(HERE / "shinsa_ssh.py"),
                            SSHD_ADDRESS,
                            user,
                            str(ssh_list),
                            "--connections",
                            "4",
                        ],
                        "json",
                    ),
                ],
            )
            run_scenario(scenario, args.rounds, right, tmp)
        finally:
            stop_daemon(sshd)
    rates = report(scenario, args.rounds)
    print("ratios (attempts/s, higher = shinsa faster):")
    ratio(rates, "shinsa ssh c=4", "hydra -t 4", 1.5, "shinsa / hydra (wall)")
    ratio(rates, "shinsa ssh c=4:in-run", "hydra -t 4", 1.5, "shinsa in-run / hydra wall")
    return all(all(t.found) for t in scenario.tools if t.kind != "hydra")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ssh-wrong", type=int, default=50)
    parser.add_argument(
        "--ssh-max-auth-tries",
        default="6,100",
        help="sshd MaxAuthTries values, one ssh scenario each (6 is OpenSSH's default)",
    )
    parser.add_argument("--http-wrong", type=int, default=1000)
    parser.add_argument("--only", default="ssh,basic,form")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if os.geteuid() != 0:
        print("run as root: a temporary local user and daemons on port 22/80", file=sys.stderr)
        return 2
    hydra = shutil.which("hydra")
    if not hydra:
        print("hydra missing: bash .ci/install-daemons.sh installs it", file=sys.stderr)
        return 2
    for address, port in ((SSHD_ADDRESS, 22), (BASIC_ADDRESS, 80), (FORM_ADDRESS, 80)):
        if not free(address, port):
            print(f"{address}:{port} is already in use", file=sys.stderr)
            return 2

    def on_signal(signum: int, frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    right = "bench-" + secrets.token_hex(4)
    py = sys.executable
    ok = True
    print(
        f"hydra {hydra}; python {sys.version.split()[0]}; {os.cpu_count()} cores; "
        f"rounds {args.rounds}"
    )
    with tempfile.TemporaryDirectory(prefix="shinsa-bench-creds-") as tmp_name:
        tmp = Path(tmp_name)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            if "ssh" in only:
                ssh_list = tmp / "ssh.txt"
                word_list(ssh_list, args.ssh_wrong, right)
                for tries in (int(t) for t in args.ssh_max_auth_tries.split(",")):
                    ok &= ssh_scenario(tmp, hydra, ssh_list, right, tries, args)

            http_list = tmp / "http.txt"
            word_list(http_list, args.http_wrong, right)
            if "basic" in only:
                procs.append(start_lighttpd(tmp, right))
                scenario = Scenario(
                    "basic (lighttpd mod_auth, plain)",
                    args.http_wrong + 1,
                    [
                        Tool(
                            "hydra -t 16 http-get",
                            [
                                hydra,
                                "-t",
                                "16",
                                "-I",
                                "-f",
                                "-l",
                                HTTP_USER,
                                "-P",
                                str(http_list),
                                BASIC_ADDRESS,
                                "http-get",
                                "/",
                            ],
                            "hydra",
                        ),
                        Tool(
                            "shinsa http c=16",
                            [
                                py,
                                str(HERE / "shinsa_http.py"),
                                BASIC_ADDRESS,
                                HTTP_USER,
                                str(http_list),
                                "--connections",
                                "16",
                            ],
                            "json",
                        ),
                        Tool(
                            "raw asyncio c=16",
                            [
                                py,
                                str(HERE / "raw_basic.py"),
                                BASIC_ADDRESS,
                                HTTP_USER,
                                str(http_list),
                                "--connections",
                                "16",
                            ],
                            "json",
                        ),
                    ],
                )
                run_scenario(scenario, args.rounds, right, tmp)
                stop_daemon(procs.pop())
                rates = report(scenario, args.rounds)
                print("ratios (attempts/s, higher = shinsa faster):")
                ratio(
                    rates, "shinsa http c=16", "hydra -t 16 http-get", 2.0, "shinsa / hydra (wall)"
                )
                ratio(
                    rates,
                    "shinsa http c=16:in-run",
                    "hydra -t 16 http-get",
                    2.0,
                    "shinsa in-run / hydra wall",
                )
                ratio(
                    rates,
                    "shinsa http c=16",
                    "raw asyncio c=16",
                    0.2,
                    "shinsa / raw (wall; within 5x = 0.2x)",
                )
                ratio(
                    rates,
                    "shinsa http c=16:in-run",
                    "raw asyncio c=16:in-run",
                    0.2,
                    "shinsa / raw (in-run; within 5x = 0.2x)",
                )
                ok &= all(all(t.found) for t in scenario.tools if t.kind != "hydra")

            if "form" in only:
                form = start_form(tmp, right)
                procs.append(form)
                scenario = Scenario(
                    "form (h11 camera form, POST /cgi-bin/login)",
                    args.http_wrong + 1,
                    [
                        Tool(
                            "hydra -t 16 post-form",
                            [
                                hydra,
                                "-t",
                                "16",
                                "-I",
                                "-f",
                                "-l",
                                HTTP_USER,
                                "-P",
                                str(http_list),
                                FORM_ADDRESS,
                                "http-post-form",
                                "/cgi-bin/login:user=^USER^&pass=^PASS^:F=Login failed",
                            ],
                            "hydra",
                        ),
                        Tool(
                            "shinsa http c=16",
                            [
                                py,
                                str(HERE / "shinsa_http.py"),
                                FORM_ADDRESS,
                                HTTP_USER,
                                str(http_list),
                                "--connections",
                                "16",
                            ],
                            "json",
                        ),
                    ],
                )
                run_scenario(scenario, args.rounds, right, tmp)
                if form.stdin:
                    form.stdin.close()
                stop_daemon(procs.pop())
                rates = report(scenario, args.rounds)
                print("ratios (attempts/s, higher = shinsa faster):")
                ratio(
                    rates, "shinsa http c=16", "hydra -t 16 post-form", 2.0, "shinsa / hydra (wall)"
                )
                ratio(
                    rates,
                    "shinsa http c=16:in-run",
                    "hydra -t 16 post-form",
                    2.0,
                    "shinsa in-run / hydra wall",
                )
                ok &= all(all(t.found) for t in scenario.tools if t.kind != "hydra")
        except Stop as exc:
            print(f"stopped by {exc}", file=sys.stderr)
            ok = False
        finally:
            for proc in procs:
                stop_daemon(proc)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
