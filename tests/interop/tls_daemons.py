"""lighttpd TLS endpoints from Debian, and what `openssl s_client` says they accept.

Used by the TLS interop tests (through fixtures in tests/interop/test_tls_interop.py) and
by the TLS benchmark (bench/tls/run.py), so nothing here imports pytest: a missing binary
raises `MissingBinary`, which the tests turn into a failure naming the Debian package.

The endpoints (`LEGACY`, `MODERN`, `DEFAULTS`) are lighttpd 1.4.69 with mod_openssl, each
configured through `ssl.openssl.ssl-conf-cmd` (OpenSSL's SSL_CONF commands, the same
strings `openssl s_server` would take), so the server's TLS stack is the same OpenSSL the
`openssl` command uses. That makes `openssl_view` an exact reference: a suite that
this OpenSSL lacks (SSLv3, EXPORT, RC4 in the default provider) is missing on both sides.

Each daemon runs in the foreground in its own process group, with its configuration and
keys in a directory the caller owns; `lighttpd_tls` waits (bounded) until the port
answers and stops the group at exit (SIGTERM, then SIGKILL, both bounded).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab.servers.tls import ca_certificate

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
#: One `openssl s_client` handshake on loopback takes ~25 ms; this only bounds a hang.
S_CLIENT_TIMEOUT = 10.0
#: Concurrent s_client processes: enough to hide process start-up on two cores.
S_CLIENT_WORKERS = 16

#: Protocol versions as shinsa and this module name them, with s_client's flag for each
#: (None: this OpenSSL build cannot speak it, so neither can a server linked against it).
VERSIONS: dict[str, str | None] = {
    "SSLv3": None,
    "TLSv1.0": "-tls1",
    "TLSv1.1": "-tls1_1",
    "TLSv1.2": "-tls1_2",
    "TLSv1.3": "-tls1_3",
}
#: What `openssl ciphers -v` prints as a suite's lowest version, and the versions it runs on.
_SUITE_MIN_VERSION = {
    "SSLv3": ("TLSv1.0", "TLSv1.1", "TLSv1.2"),
    "TLSv1": ("TLSv1.0", "TLSv1.1", "TLSv1.2"),
    "TLSv1.2": ("TLSv1.2",),
    "TLSv1.3": ("TLSv1.3",),
}
#: Every TLS 1.3 suite OpenSSL 3.0 implements, including the two CCM ones it does not
#: enable by default (`openssl ciphers` lists only the enabled ones).
TLS13_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
)
#: Named groups tried with s_client: IANA registry name -> OpenSSL's name. The EC ones are
#: tried over TLS 1.2 ECDHE and TLS 1.3, the finite-field ones over TLS 1.3 only (OpenSSL
#: 3.0 does not negotiate RFC 7919 groups in TLS 1.2).
EC_GROUPS = {
    "x25519": "X25519",
    "x448": "X448",
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "secp224r1": "P-224",
    "secp256k1": "secp256k1",
    "brainpoolP256r1": "brainpoolP256r1",
    "brainpoolP384r1": "brainpoolP384r1",
    "brainpoolP512r1": "brainpoolP512r1",
}
FF_GROUPS = {f"ffdhe{bits}": f"ffdhe{bits}" for bits in (2048, 3072, 4096, 6144, 8192)}

_BRIEF_VERSION = re.compile(r"^Protocol version: (\S+)$", re.M)
_BRIEF_SUITE = re.compile(r"^Ciphersuite: (\S+)$", re.M)
_BRIEF_VERSION_NAMES = {"TLSv1": "TLSv1.0"}


class MissingBinary(RuntimeError):
    """A program the fixtures need is not installed; the message names its Debian package."""

    def __init__(self, binary: str, package: str) -> None:
        super().__init__(
            f"{binary} not found: install the Debian package {package} "
            "(.ci/install-daemons.sh installs every interop daemon)"
        )
        self.package = package


class DaemonFailed(RuntimeError):
    """The daemon exited or never answered; the message carries its log tail."""


class ReferenceFailed(RuntimeError):
    """`openssl s_client` hung or could not connect: its view would be wrong, not empty."""


def require(binary: str, package: str) -> str:
    path = binary if os.path.isabs(binary) else shutil.which(binary)
    if not path or not os.access(path, os.X_OK):
        raise MissingBinary(binary, package)
    return path


# --- Certificates ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertFiles:
    cert: Path  # PEM, what the server sends (leaf only)
    key: Path
    ca: Path | None  # the issuing CA when there is one: a trust store that makes it valid


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def self_signed_rsa_sha1(directory: Path, common_name: str, bits: int = 1024) -> CertFiles:
    """A self-signed RSA certificate signed with SHA-1, as old device firmware ships.

    The key comes from `cryptography`; the signature from `openssl req`, because
    `cryptography` refuses to make SHA-1 signatures (it still reads them).
    """
    openssl = require("openssl", "openssl")
    key_path, cert_path = directory / f"{common_name}.key", directory / f"{common_name}.pem"
    _write_key(key_path, rsa.generate_private_key(public_exponent=65537, key_size=bits))
    subprocess.run(
        [
            openssl,
            *("req", "-x509", "-new", "-sha1", "-days", "30"),
            *("-key", str(key_path), "-subj", f"/CN={common_name}", "-out", str(cert_path)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return CertFiles(cert_path, key_path, None)


def ca_issued(
    directory: Path,
    common_name: str,
    address: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
) -> CertFiles:
    """A SHA-256 leaf for `common_name` and `address` (SANs), issued by a fresh ECDSA P-256
    CA whose certificate is written beside it: a verifier given that CA accepts the leaf."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shinsa interop test CA")])
    now = _now()
    ca_cert = ca_certificate(ca_key, ca_name, days=365)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(common_name), x509.IPAddress(ipaddress.ip_address(address))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{common_name}.key", directory / f"{common_name}.pem"
    ca_path = directory / f"{common_name}-ca.pem"
    _write_key(key_path, key)
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return CertFiles(cert_path, key_path, ca_path)


# --- lighttpd ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsSetup:
    """One lighttpd TLS configuration: `conf_cmds` go to `ssl.openssl.ssl-conf-cmd` as is."""

    name: str
    common_name: str
    conf_cmds: tuple[tuple[str, str], ...]
    cert: str  # "rsa1024-sha1-self-signed" | "ecdsa-p256-ca" | "rsa2048-ca"


#: TLS 1.0 and 1.1 enabled, every suite OpenSSL has at security level 0, a self-signed
#: 1024-bit RSA certificate signed with SHA-1: the device nobody has updated.
LEGACY = TlsSetup(
    "legacy",
    "legacy.interop.test",
    (("MinProtocol", "TLSv1"), ("CipherString", "ALL:@SECLEVEL=0")),
    "rsa1024-sha1-self-signed",
)
#: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers only, three curves, an ECDSA P-256 leaf
#: issued by a test CA: what a current hardening guide asks for.
MODERN = TlsSetup(
    "modern",
    "modern.interop.test",
    (
        ("MinProtocol", "TLSv1.2"),
        ("CipherString", "ECDHE+AESGCM:ECDHE+CHACHA20"),
        ("Groups", "X25519:P-256:P-384"),
    ),
    "ecdsa-p256-ca",
)
#: lighttpd 1.4.69's own TLS defaults (no ssl-conf-cmd) with an RSA 2048 leaf from a CA.
DEFAULTS = TlsSetup("defaults", "defaults.interop.test", (), "rsa2048-ca")


@dataclass(frozen=True, slots=True)
class TlsDaemon:
    setup: TlsSetup
    address: str
    port: int
    certs: CertFiles
    proc: subprocess.Popen[bytes] = field(repr=False)
    log: Path

    @property
    def name(self) -> str:
        return self.setup.name

    def log_tail(self) -> str:
        return _tail(self.log)


def _certs_for(setup: TlsSetup, directory: Path, address: str) -> CertFiles:
    if setup.cert == "rsa1024-sha1-self-signed":
        return self_signed_rsa_sha1(directory, setup.common_name)
    if setup.cert == "ecdsa-p256-ca":
        return ca_issued(
            directory, setup.common_name, address, ec.generate_private_key(ec.SECP256R1())
        )
    if setup.cert == "rsa2048-ca":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return ca_issued(directory, setup.common_name, address, key)
    raise ValueError(f"unknown certificate kind {setup.cert!r}")


def _conf_value(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-1000:]
    except OSError:
        return ""


def _tcp_ready(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.5):
        return True
    return False


@contextlib.contextmanager
def lighttpd_tls(setup: TlsSetup, address: str, port: int, directory: Path) -> Iterator[TlsDaemon]:
    """lighttpd serving HTTPS with `setup` on address:port until the block ends."""
    binary = require("/usr/sbin/lighttpd", "lighttpd")
    module = "/usr/lib/lighttpd/mod_openssl.so"
    if not os.path.exists(module):
        raise MissingBinary(module, "lighttpd-mod-openssl")
    directory = directory / f"lighttpd-tls-{setup.name}"
    directory.mkdir(parents=True, exist_ok=True)
    www = directory / "www"
    www.mkdir(exist_ok=True)
    (www / "index.html").write_text(f"<html><head><title>{setup.name}</title></head></html>\n")
    certs = _certs_for(setup, directory, address)
    cmds = ", ".join(f"{_conf_value(k)} => {_conf_value(v)}" for k, v in setup.conf_cmds)
    cfg = directory / "lighttpd.conf"
    cfg.write_text(
        f"server.document-root = {_conf_value(str(www))}\n"
        f"server.bind = {_conf_value(address)}\n"
        f"server.port = {port}\n"
        f"server.errorlog = {_conf_value(str(directory / 'error.log'))}\n"
        'server.modules = ("mod_openssl")\n'
        'mimetype.assign = (".html" => "text/html")\n'
        'index-file.names = ("index.html")\n'
        'ssl.engine = "enable"\n'
        f"ssl.pemfile = {_conf_value(str(certs.cert))}\n"
        f"ssl.privkey = {_conf_value(str(certs.key))}\n"
        + (f"ssl.openssl.ssl-conf-cmd = ({cmds})\n" if cmds else "")
    )
    log = directory / "lighttpd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-D", "-f", str(cfg)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops only this
        )
    daemon = TlsDaemon(setup, address, port, certs, proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _tcp_ready(address, port):
            if proc.poll() is not None:
                raise DaemonFailed(
                    f"lighttpd ({setup.name}) exited with {proc.returncode}:\n"
                    f"{daemon.log_tail()}{_tail(directory / 'error.log')}"
                )
            if time.monotonic() > deadline:
                raise DaemonFailed(
                    f"lighttpd ({setup.name}) not answering on {address}:{port} "
                    f"after {START_TIMEOUT:g} s:\n{_tail(directory / 'error.log')}"
                )
            time.sleep(0.05)
        yield daemon
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the group started for this daemon only
        try:
            proc.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


# --- The openssl s_client view ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenSslView:
    """What `openssl s_client` could negotiate with one server, one handshake per item.

    `suites` maps every version that connects to the IANA names of the suites that
    complete a handshake on it; `groups` holds IANA group names that complete one on any.
    """

    versions: dict[str, bool]
    suites: dict[str, frozenset[str]]
    groups: frozenset[str]
    handshakes: int
    seconds: float


@dataclass(frozen=True, slots=True)
class _Suite:
    iana: str
    openssl: str
    versions: tuple[str, ...]


def openssl_suites() -> list[_Suite]:
    """Every TLS ≤ 1.2 suite this OpenSSL knows (security level 0), plus the TLS 1.3 ones."""
    openssl = require("openssl", "openssl")
    listing = subprocess.run(
        [openssl, "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    suites = []
    for line in listing.splitlines():
        # "0xC0,0x2C - TLS_ECDHE_ECDSA_... - ECDHE-ECDSA-AES256-GCM-SHA384 TLSv1.2 Kx=..."
        parts = [p.strip() for p in line.split(" - ")]
        if len(parts) < 3:
            continue
        openssl_name, min_version = parts[2].split()[:2]
        if min_version == "TLSv1.3":
            continue  # listed below in full, the CCM ones included
        suites.append(_Suite(parts[1], openssl_name, _SUITE_MIN_VERSION[min_version]))
    suites += [_Suite(name, name, ("TLSv1.3",)) for name in TLS13_SUITES]
    return suites


def _handshake(
    openssl: str, address: str, port: int, version: str, extra: Sequence[str]
) -> str | None:
    """The suite OpenSSL negotiated on `version`, or None when the handshake failed."""
    flag = VERSIONS[version]
    assert flag is not None
    argv = [
        openssl,
        "s_client",
        "-brief",
        "-noservername",
        "-connect",
        f"{address}:{port}",
        flag,
        *extra,
    ]
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=S_CLIENT_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        # A reference that hangs proves nothing either way: never count it as "refused".
        raise ReferenceFailed(f"{' '.join(argv)}: no answer in {S_CLIENT_TIMEOUT:g} s") from exc
    out = done.stdout + done.stderr
    if "connect:errno=" in out:
        raise ReferenceFailed(f"{' '.join(argv)}: cannot connect: {out[-300:]}")
    got_version = _BRIEF_VERSION.search(out)
    suite = _BRIEF_SUITE.search(out)
    if done.returncode != 0 or not got_version or not suite:
        return None
    if _BRIEF_VERSION_NAMES.get(got_version[1], got_version[1]) != version:
        return None
    return suite[1]


def _version_args(version: str, cipher: str | None = None) -> list[str]:
    if version == "TLSv1.3":
        return ["-ciphersuites", cipher or ":".join(TLS13_SUITES)]
    return ["-cipher", f"{cipher or 'ALL:COMPLEMENTOFALL'}:@SECLEVEL=0"]


def openssl_view(
    address: str, port: int, *, workers: int = S_CLIENT_WORKERS, groups: bool = True
) -> OpenSslView:
    """Enumerate versions, then every suite on every version that connects, then groups.

    One s_client process per (version, suite) and per (group, version), `workers` at a
    time, each bounded by S_CLIENT_TIMEOUT.
    """
    openssl = require("openssl", "openssl")
    started = time.perf_counter()
    handshakes = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        testable = [v for v, flag in VERSIONS.items() if flag]
        connected = dict(
            zip(
                testable,
                pool.map(
                    lambda v: _handshake(openssl, address, port, v, _version_args(v)), testable
                ),
                strict=True,
            )
        )
        handshakes += len(testable)
        versions = {v: connected.get(v) is not None for v in VERSIONS}
        jobs = [
            (version, suite)
            for suite in openssl_suites()
            for version in suite.versions
            if versions[version]
        ]
        accepted = pool.map(
            lambda job: _handshake(
                openssl, address, port, job[0], _version_args(job[0], job[1].openssl)
            ),
            jobs,
        )
        suites: dict[str, set[str]] = {v: set() for v, ok in versions.items() if ok}
        for (version, suite), negotiated in zip(jobs, accepted, strict=True):
            if negotiated is not None:
                suites[version].add(suite.iana)
        handshakes += len(jobs)
        found: set[str] = set()
        if groups:
            group_jobs = _group_jobs(versions, suites)
            results = pool.map(
                lambda job: _handshake(openssl, address, port, job[1], job[2]), group_jobs
            )
            found = {name for (name, _, _), ok in zip(group_jobs, results, strict=True) if ok}
            handshakes += len(group_jobs)
    return OpenSslView(
        versions,
        {v: frozenset(s) for v, s in suites.items()},
        frozenset(found),
        handshakes,
        time.perf_counter() - started,
    )


def _group_jobs(
    versions: dict[str, bool], suites: dict[str, set[str]]
) -> list[tuple[str, str, list[str]]]:
    jobs: list[tuple[str, str, list[str]]] = []
    ecdhe12 = any("_ECDHE_" in s for s in suites.get("TLSv1.2", ()))
    for iana, name in EC_GROUPS.items():
        if versions["TLSv1.3"]:
            jobs.append((iana, "TLSv1.3", [*_version_args("TLSv1.3"), "-groups", name]))
        if ecdhe12:
            cipher = "ECDHE:@SECLEVEL=0"
            jobs.append((iana, "TLSv1.2", ["-cipher", cipher, "-groups", name]))
    if versions["TLSv1.3"]:
        jobs += [
            (iana, "TLSv1.3", [*_version_args("TLSv1.3"), "-groups", name])
            for iana, name in FF_GROUPS.items()
        ]
    return jobs
