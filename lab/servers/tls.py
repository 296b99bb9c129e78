"""TLS server contexts (and SSH host keys) made when a lab starts.

Self-signed on purpose: that is what most small devices ship, and what a scanner's
certificate checks should notice. Keys are EC P-256 because RSA key generation would make
a lab of many devices slow to start.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import ssl
import tempfile
import threading
from pathlib import Path

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID


class TlsContexts:
    """One server SSLContext per (address, common name), made on first use; a lab holds one."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], ssl.SSLContext] = {}
        self._ssh_keys: tuple[paramiko.PKey, ...] = ()
        self._ssh_lock = threading.Lock()

    def ssh_host_keys(self) -> tuple[paramiko.PKey, ...]:
        """(ed25519, rsa 2048) host keys, made on first use and shared by the lab's devices."""
        with self._ssh_lock:
            if not self._ssh_keys:
                self._ssh_keys = (_ed25519_host_key(), paramiko.RSAKey.generate(2048))
            return self._ssh_keys

    def server_context(self, address: str, common_name: str) -> ssl.SSLContext:
        key = (address, common_name)
        if key not in self._cache:
            self._cache[key] = _make_context(address, common_name)
        return self._cache[key]


def self_signed_pem(address: str, common_name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for a certificate naming `address` in its SAN."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or address),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shinsa lab"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)  # issuer == subject: self-signed
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _make_context(address: str, common_name: str) -> ssl.SSLContext:
    cert_pem, key_pem = self_signed_pem(address, common_name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain reads files only; they live just long enough to be loaded.
    with tempfile.TemporaryDirectory(prefix="shinsa-lab-tls-") as folder:
        cert_file = Path(folder) / "cert.pem"
        key_file = Path(folder) / "key.pem"
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


def _ed25519_host_key() -> paramiko.PKey:
    # paramiko cannot generate ed25519 keys itself; it reads them in OpenSSH format.
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return paramiko.Ed25519Key(file_obj=io.StringIO(pem.decode("ascii")))
