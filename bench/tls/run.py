"""TLS benchmark: shinsa's TLS audit against sslyze and testssl.sh on local lighttpd endpoints.

Endpoints (lighttpd 1.4.69 + mod_openssl, configured as in tests/interop/tls_daemons.py, on
127.0.59.0/24 port 8443, so no root is needed):

- legacy (127.0.59.1): TLS 1.0-1.3, `ALL:@SECLEVEL=0`, self-signed RSA 1024 / SHA-1;
- modern (127.0.59.2): TLS 1.2-1.3, ECDHE + AEAD only, X25519/P-256/P-384, ECDSA P-256
  leaf from a test CA;
- defaults (127.0.59.3): lighttpd's own defaults, RSA 2048 leaf from a test CA.

Each tool audits versions, cipher suites per version, groups and the certificate, as a
subprocess (killed after TOOL_TIMEOUT):

- shinsa: `python -m scanner.tls.audit HOST PORT [--ca-file CA]` (interpreter start-up
  included in the wall time; its own "seconds" is reported as in-run);
- sslyze, the same scope: `sslyze --sslv3 --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3
  --elliptic_curves --certinfo [--certinfo_ca_file CA] --json_out=- HOST:PORT`;
- sslyze, its default scan (everything it checks, for reference);
- testssl.sh (Debian), once per endpoint: `testssl -p -E -f -S --jsonfile F HOST:PORT`.

sslyze is AGPL and never a dependency of shinsa: it is installed (pinned) into a throw-away
virtual environment outside the tree, ~/.cache/shinsa-bench/sslyze-venv (or under
$XDG_CACHE_HOME), on the first run.

Rounds alternate the tools (the order rotates). The findings of every round are compared:
versions, suites per version, elliptic-curve groups, the leaf certificate (SHA-256) and
whether its chain is trusted (against the test CA when the endpoint has one) of shinsa
against sslyze (the target: identical), and the protocol findings against testssl.sh
(reported). Exit code 1 when shinsa's findings
differ from sslyze's in any round, 2 when something needed is missing.

    .venv/bin/python bench/tls/run.py [--rounds 3] [--skip-testssl] [--only legacy,modern]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.interop.tls_daemons import (  # noqa: E402 -- after the path fix above
    DEFAULTS,
    LEGACY,
    MODERN,
    DaemonFailed,
    MissingBinary,
    TlsDaemon,
    TlsSetup,
    lighttpd_tls,
)

ENDPOINTS: dict[str, tuple[TlsSetup, str]] = {
    "legacy": (LEGACY, "127.0.59.1"),
    "modern": (MODERN, "127.0.59.2"),
    "defaults": (DEFAULTS, "127.0.59.3"),
}
PORT = 8443
TOOL_TIMEOUT = 120.0  # seconds before a tool run is killed and counted as failed
TESTSSL_TIMEOUT = 600.0
#: Outside the tree (nothing to git-ignore, nothing for ruff/mypy to crawl), per user.
SSLYZE_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shinsa-bench/sslyze-venv"
)
SSLYZE_SPEC = "sslyze==6.3.1"  # the JSON paths read below are this version's
VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
SSLYZE_KEYS = {
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}
SSLYZE_SCOPE = [
    "--sslv3",
    "--tlsv1",
    "--tlsv1_1",
    "--tlsv1_2",
    "--tlsv1_3",
    "--elliptic_curves",
    "--certinfo",
]
TESTSSL_VERSIONS = {
    "SSLv3": "SSLv3",
    "TLS1": "TLSv1.0",
    "TLS1_1": "TLSv1.1",
    "TLS1_2": "TLSv1.2",
    "TLS1_3": "TLSv1.3",
}
TESTSSL_CIPHER_ID = re.compile(r"^cipher-(tls1(?:_[123])?|ssl3)_x[0-9a-f]+$")
TESTSSL_CIPHER_VERSION = {
    "ssl3": "SSLv3",
    "tls1": "TLSv1.0",
    "tls1_1": "TLSv1.1",
    "tls1_2": "TLSv1.2",
    "tls1_3": "TLSv1.3",
}
#: OpenSSL's curve names (testssl.sh prints them) -> IANA TLS Supported Groups names.
CURVE_NAMES = {"prime256v1": "secp256r1", "X25519": "x25519", "X448": "x448"}


class Stop(Exception):
    """SIGTERM/SIGINT: unwind so every daemon is stopped."""


@dataclass(frozen=True, slots=True)
class Findings:
    """What a tool found, in one vocabulary: IANA suite and group names."""

    versions: frozenset[str]
    suites: dict[str, frozenset[str]]  # only versions that connect
    groups: frozenset[str]  # elliptic-curve groups (the ones sslyze tests)
    leaf_sha256: str = ""  # hex; "" when the tool's scope has no certificate
    trusted: bool | None = None  # chain valid against any store (the CA file included)

    def diff(self, other: Findings, a: str, b: str) -> list[str]:
        out = []
        if self.versions != other.versions:
            out.append(f"versions: {a} {sorted(self.versions)} vs {b} {sorted(other.versions)}")
        for version in VERSIONS:
            mine, theirs = (
                self.suites.get(version, frozenset()),
                other.suites.get(version, frozenset()),
            )
            if mine != theirs:
                out.append(
                    f"{version} suites: only {a} {sorted(mine - theirs)}, "
                    f"only {b} {sorted(theirs - mine)}"
                )
        if self.groups != other.groups:
            out.append(
                f"groups: only {a} {sorted(self.groups - other.groups)}, "
                f"only {b} {sorted(other.groups - self.groups)}"
            )
        if self.leaf_sha256 and other.leaf_sha256 and self.leaf_sha256 != other.leaf_sha256:
            out.append(f"leaf certificate: {a} {self.leaf_sha256} vs {b} {other.leaf_sha256}")
        if None not in (self.trusted, other.trusted) and self.trusted != other.trusted:
            out.append(f"trusted: {a} {self.trusted} vs {b} {other.trusted}")
        return out


@dataclass
class Tool:
    name: str
    walls: list[float] = field(default_factory=list)
    inner: list[float] = field(default_factory=list)
    findings: list[Findings | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _curve(name: str) -> str:
    return CURVE_NAMES.get(name, name)


def shinsa_findings(doc: dict[str, object], ec_groups: frozenset[str]) -> Findings:
    """shinsa's JSON; only the groups sslyze tests too (it tests elliptic curves only)."""
    versions_doc = doc["versions"]
    suites_doc = doc["suites"]
    groups_doc = doc.get("groups", [])
    assert isinstance(versions_doc, dict)
    assert isinstance(suites_doc, dict)
    assert isinstance(groups_doc, list)
    versions = frozenset(v for v, ok in versions_doc.items() if ok)
    suites = {v: frozenset(suites_doc.get(v, ())) for v in versions}
    groups = frozenset(g for g in groups_doc if g in ec_groups)
    certificate, trust = doc.get("certificate"), doc.get("trust")
    leaf = str(certificate.get("sha256", "")) if isinstance(certificate, dict) else ""
    trusted = trust.get("verified") if isinstance(trust, dict) else None
    return Findings(versions, suites, groups, leaf, trusted if isinstance(trusted, bool) else None)


def sslyze_findings(doc: dict[str, object]) -> tuple[Findings, frozenset[str]]:
    """sslyze 6's JSON; also every curve it tested (accepted or rejected)."""
    results = doc["server_scan_results"]
    assert isinstance(results, list)
    (server,) = results
    if server["scan_status"] != "COMPLETED":
        raise ValueError(
            f"sslyze scan {server['scan_status']}: {server.get('connectivity_error_trace')}"
        )
    scan = server["scan_result"]
    suites: dict[str, frozenset[str]] = {}
    for key, version in SSLYZE_KEYS.items():
        if scan[key]["status"] != "COMPLETED":
            raise ValueError(f"sslyze {key}: {scan[key]['status']}")
        result = scan[key]["result"]
        if result and result["is_tls_version_supported"]:
            names = (s["cipher_suite"]["name"] for s in result["accepted_cipher_suites"])
            suites[version] = frozenset(names)
    curves = scan["elliptic_curves"]["result"]
    supported = frozenset(_curve(c["name"]) for c in curves["supported_curves"] or ())
    rejected = frozenset(_curve(c["name"]) for c in curves["rejected_curves"] or ())
    leaf, trusted = "", None
    certinfo = scan["certificate_info"]
    if certinfo["status"] == "COMPLETED":
        (deployment, *_) = certinfo["result"]["certificate_deployments"]
        digest = deployment["received_certificate_chain"][0]["fingerprint_sha256"]
        leaf = base64.b64decode(digest).hex()
        trusted = any(p["was_validation_successful"] for p in deployment["path_validation_results"])
    findings = Findings(frozenset(suites), suites, supported, leaf, trusted)
    return findings, supported | rejected


def testssl_findings(entries: list[dict[str, str]], ec_groups: frozenset[str]) -> Findings:
    versions = frozenset(
        TESTSSL_VERSIONS[e["id"]]
        for e in entries
        if e["id"] in TESTSSL_VERSIONS and e["finding"].startswith("offered")
    )
    suites: dict[str, set[str]] = {v: set() for v in versions}
    for entry in entries:
        match = TESTSSL_CIPHER_ID.match(entry["id"])
        if match:
            # "TLS 1   xc014   ECDHE-RSA-AES256-SHA   ECDH 521   AES   256   TLS_ECDHE_..."
            suites.setdefault(TESTSSL_CIPHER_VERSION[match[1]], set()).add(
                entry["finding"].split()[-1]
            )
    curves = next((e["finding"] for e in entries if e["id"] == "PFS_ECDHE_curves"), "")
    groups = frozenset(_curve(c) for c in curves.split()) & ec_groups
    return Findings(versions, {v: frozenset(s) for v, s in suites.items()}, groups)


def run_tool(argv: list[str], timeout: float = TOOL_TIMEOUT) -> tuple[float, str, str, int]:
    """Run one tool; wall seconds, stdout, stderr, exit code (-9 when killed at `timeout`)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    timer = threading.Timer(timeout, lambda: _killpg(proc, signal.SIGKILL))
    timer.start()
    try:
        out, err = proc.communicate()
    finally:
        timer.cancel()
        if proc.poll() is None:
            _killpg(proc, signal.SIGKILL)
            proc.wait(timeout=10)
    return time.perf_counter() - started, out, err, proc.returncode


def _killpg(proc: subprocess.Popen[str], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the group started for this one tool run only


def ensure_sslyze(venv: Path, spec: str) -> Path:
    """The sslyze executable in its own virtual environment, created on first use."""
    sslyze = venv / "bin" / "sslyze"
    if not sslyze.exists():
        print(f"installing {spec} into {venv} (once; AGPL: a peer, never a dependency)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", spec], check=True, timeout=900
        )
    return sslyze


def tool_version(argv: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        return (done.stdout + done.stderr).strip().splitlines()[0]
    return "?"


def bench_endpoint(
    daemon: TlsDaemon, args: argparse.Namespace, sslyze: Path, tmp: Path
) -> tuple[list[Tool], list[str]]:
    """All rounds on one endpoint; the tools and the rounds where shinsa differed."""
    target = f"{daemon.address}:{daemon.port}"
    ca = daemon.certs.ca
    shinsa_argv = [sys.executable, "-m", "scanner.tls.audit", daemon.address, str(daemon.port)]
    ca_args = [f"--certinfo_ca_file={ca}"] if ca else []
    if ca:
        shinsa_argv += ["--ca-file", str(ca)]
    sslyze_scope = [str(sslyze), *SSLYZE_SCOPE, *ca_args, "--mozilla_config=disable"]
    # No scan command: sslyze runs all of them, then checks Mozilla's "intermediate"
    # profile (exit 1 when not compliant; only the JSON matters here). With
    # --mozilla_config=disable and no command it would scan nothing at all.
    sslyze_default = [str(sslyze), *ca_args]
    sslyze_scope += ["--json_out=-", target]
    sslyze_default += ["--json_out=-", target]
    tools = {
        "shinsa": Tool("shinsa"),
        "sslyze": Tool("sslyze"),
        "sslyze-default": Tool("sslyze-default"),
    }
    argvs = {"shinsa": shinsa_argv, "sslyze": sslyze_scope, "sslyze-default": sslyze_default}
    differences: list[str] = []
    order = list(tools)
    for round_no in range(args.rounds):
        shift = round_no % len(order)
        got: dict[str, tuple[float, str, str, int]] = {}
        for name in order[shift:] + order[:shift]:
            got[name] = run_tool(argvs[name])
            time.sleep(0.2)  # let TIME_WAIT and the daemon settle between tools
        reference, tested_curves = None, frozenset[str]()
        for name in ("sslyze", "sslyze-default"):
            wall, out, err, code = got[name]
            tools[name].walls.append(wall)
            try:
                findings, tested = sslyze_findings(json.loads(out))
            except (ValueError, KeyError, TypeError) as exc:
                tools[name].findings.append(None)
                tools[name].notes.append(f"round {round_no}: exit {code}: {exc!r} {err[-300:]!r}")
                continue
            tools[name].findings.append(findings)
            if name == "sslyze":
                reference, tested_curves = findings, tested
        wall, out, err, code = got["shinsa"]
        shinsa = tools["shinsa"]
        shinsa.walls.append(wall)
        try:
            doc = json.loads(out)
            shinsa.inner.append(float(doc["seconds"]))
            mine: Findings | None = shinsa_findings(doc, tested_curves)
        except (ValueError, KeyError, TypeError) as exc:
            mine = None
            shinsa.notes.append(f"round {round_no}: exit {code}: {exc!r} {err[-500:]!r}")
        shinsa.findings.append(mine)
        if mine is None or reference is None:
            differences.append(f"round {round_no}: no findings to compare (see notes)")
        elif diff := mine.diff(reference, "shinsa", "sslyze"):
            differences += [f"round {round_no}: {d}" for d in diff]
        for name in ("sslyze-default",):
            other = tools[name].findings[-1]
            if other is not None and reference is not None and other != reference:
                tools[name].notes.append(
                    f"round {round_no}: differs from the scoped run: "
                    + "; ".join(other.diff(reference, name, "sslyze"))
                )
    result = list(tools.values())
    if not args.skip_testssl:
        result.append(run_testssl(daemon, tmp, tested_curves, tools["shinsa"]))
    return result, differences


def run_testssl(daemon: TlsDaemon, tmp: Path, ec_groups: frozenset[str], shinsa: Tool) -> Tool:
    tool = Tool("testssl.sh")
    testssl = shutil.which("testssl")
    if not testssl:
        tool.notes.append("testssl missing: apt-get install testssl.sh (.ci/install-daemons.sh)")
        return tool
    json_file = tmp / f"testssl-{daemon.name}.json"
    json_file.unlink(missing_ok=True)
    argv = [
        testssl,
        *("--quiet", "--color", "0", "--warnings", "off"),
        *("--connect-timeout", "5", "--openssl-timeout", "5"),
        *("--jsonfile", str(json_file), "-p", "-E", "-f", "-S"),
    ]
    if daemon.certs.ca:
        argv += ["--add-ca", str(daemon.certs.ca)]
    wall, _, err, code = run_tool([*argv, f"{daemon.address}:{daemon.port}"], TESTSSL_TIMEOUT)
    tool.walls.append(wall)
    try:
        findings = testssl_findings(json.loads(json_file.read_text()), ec_groups)
    except (OSError, ValueError, KeyError) as exc:
        tool.findings.append(None)
        tool.notes.append(f"exit {code}: {exc!r} {err[-300:]!r}")
        return tool
    tool.findings.append(findings)
    mine = next((f for f in shinsa.findings if f is not None), None)
    if mine is not None and (diff := mine.diff(findings, "shinsa", "testssl.sh")):
        tool.notes += diff
    return tool


def report(name: str, daemon: TlsDaemon, tools: list[Tool], differences: list[str]) -> float:
    """Print one endpoint's table; the shinsa/sslyze ratio of median walls."""
    reference = statistics.median(next(t for t in tools if t.name == "sslyze").walls)
    setup = daemon.setup
    cmds = ", ".join(f"{k}={v}" for k, v in setup.conf_cmds) or "lighttpd defaults"
    print(f"\n== {name} ({daemon.address}:{daemon.port}; {cmds}; {setup.cert})")
    first = next((f for f in tools[0].findings if f is not None), None)
    if first is not None:
        counts = ", ".join(f"{v} {len(first.suites[v])}" for v in VERSIONS if v in first.suites)
        print(f"   shinsa found: {counts} suites; EC groups {sorted(first.groups)}")
    print(f"{'tool':16} {'median s':>9} {'in-run s':>9} {'÷sslyze':>7}  identical to sslyze  walls")
    for tool in tools:
        if not tool.walls:
            print(f"{tool.name:16} {'-':>9} {'-':>9} {'-':>7}  -")
        else:
            median = statistics.median(tool.walls)
            inner = f"{statistics.median(tool.inner):9.3f}" if tool.inner else f"{'-':>9}"
            ratio = f"{median / reference:7.2f}" if tool.name != "sslyze" else f"{1:7.2f}"
            if tool.name == "shinsa":
                same = "yes" if not differences else "NO"
            elif tool.name == "testssl.sh":
                same = "yes (vs shinsa)" if not tool.notes else "NO (vs shinsa)"
            elif tool.name == "sslyze":
                same = "(reference)"
            else:
                same = "yes" if not tool.notes else "NO"
            walls = ", ".join(f"{w:.2f}" for w in tool.walls)
            print(f"{tool.name:16} {median:9.3f} {inner} {ratio}  {same:20} {walls}")
        for note in tool.notes[:6]:
            print(f"    {note}")
    for line in differences[:12]:
        print(f"    shinsa vs sslyze: {line}")
    shinsa = next(t for t in tools if t.name == "shinsa")
    return statistics.median(shinsa.walls) / reference


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-testssl", action="store_true", help="testssl.sh takes ~1 min")
    parser.add_argument("--only", default=",".join(ENDPOINTS))
    parser.add_argument("--sslyze-venv", type=Path, default=SSLYZE_VENV)
    parser.add_argument("--sslyze-spec", default=SSLYZE_SPEC)
    args = parser.parse_args()
    only = [n for n in args.only.split(",") if n]
    unknown = set(only) - set(ENDPOINTS)
    if unknown:
        parser.error(f"unknown endpoints {sorted(unknown)}; known: {', '.join(ENDPOINTS)}")
    if not (ROOT / "scanner" / "tls_audit.py").exists():
        print("scanner/tls/audit.py is missing: nothing to measure", file=sys.stderr)
        return 2
    sslyze = ensure_sslyze(args.sslyze_venv, args.sslyze_spec)

    def on_signal(signum: int, frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sslyze_version = tool_version(
        [
            str(sslyze.parent / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('sslyze'))",
        ]
    )
    testssl_version = (
        "skipped"
        if args.skip_testssl
        else tool_version(["dpkg-query", "-W", "-f=${Version}", "testssl.sh"])
    )
    print(
        f"python {sys.version.split()[0]}; {os.cpu_count()} cores; sslyze {sslyze_version}; "
        f"testssl.sh {testssl_version}; {tool_version(['/usr/sbin/lighttpd', '-v'])}; "
        f"{tool_version(['openssl', 'version'])}; rounds {args.rounds}"
    )
    ok = True
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="shinsa-bench-tls-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            for name in only:
                setup, address = ENDPOINTS[name]
                with lighttpd_tls(setup, address, PORT, tmp) as daemon:
                    tools, differences = bench_endpoint(daemon, args, sslyze, tmp)
                    ratios[name] = report(name, daemon, tools, differences)
                    ok &= not differences
        except (MissingBinary, DaemonFailed) as exc:
            print(exc, file=sys.stderr)
            return 2
        except Stop as exc:
            print(f"stopped by {exc}", file=sys.stderr)
            return 1
    print("\nshinsa / sslyze (same scope), median wall, target ≤ 1.0:")
    for name, value in ratios.items():
        print(f"  {name}: {value:.2f} ({'meets' if value <= 1.0 else 'ABOVE'} target)")
    print(f"findings identical to sslyze: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
