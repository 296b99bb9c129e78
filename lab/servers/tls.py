"""TLS server contexts (and SSH host keys) made when a lab starts.

A service's `tls:` options (lab/personality.py `TlsOptions`) choose the versions, the
OpenSSL cipher string and the certificate: validity, issuer (self-signed, or the lab CA made
once per process), key, signature hash and names. The default is what most small devices
ship: a self-signed EC P-256 certificate for the device's address, TLS 1.2 and 1.3.

Contexts run at `@SECLEVEL=0` so that OpenSSL 3 still serves what a legacy personality asks
for (TLS 1.0, RSA-1024, SHA-1 signatures, NULL and anonymous suites). This OpenSSL is built
without SSL 3.0, RC4, DES and 3DES: personalities cannot plant those. Keys are made once per
kind and shared (RSA generation is slow); certificates are made per (address, options).
"""

from __future__ import annotations

import atexit
import datetime
import io
import ipaddress
import shutil
import ssl
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from lab.personality import TlsOptions

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

_VERSIONS = {
    "TLSv1.0": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_LOCK = threading.Lock()
_KEYS: dict[str, CertificateIssuerPrivateKeyTypes] = {}
_CA: list[tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]] = []


class TlsContexts:
    """One server SSLContext per (address, common name, options), made on first use."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, TlsOptions, str], ssl.SSLContext] = {}
        self._ssh_keys: tuple[paramiko.PKey, ...] = ()
        self._ssh_lock = threading.Lock()

    def ssh_host_keys(self) -> tuple[paramiko.PKey, ...]:
        """(ed25519, rsa 2048) host keys, made on first use and shared by the lab's devices."""
        with self._ssh_lock:
            if not self._ssh_keys:
                self._ssh_keys = (_ed25519_host_key(), paramiko.RSAKey.generate(2048))
            return self._ssh_keys

    def server_context(
        self, address: str, common_name: str, options: TlsOptions | None = None, host: str = ""
    ) -> ssl.SSLContext:
        """`host`: the device's own host name, named in the certificate when the options
        name none (a device certificate usually carries its host name)."""
        key = (address, common_name, options or TlsOptions(), host)
        if key not in self._cache:
            self._cache[key] = make_context(address, common_name, key[2], host)
        return self._cache[key]


def lab_ca_file() -> Path:
    """The PEM file of the lab CA (made once per process): what a profile's ca_file names."""
    return _lab_ca()[2]


def lab_ca_pem() -> bytes:
    return _lab_ca()[0].public_bytes(serialization.Encoding.PEM)


def ca_certificate(
    key: ec.EllipticCurvePrivateKey, name: x509.Name, *, days: int
) -> x509.Certificate:
    """A self-signed CA certificate (may sign leaves, not CAs) valid from yesterday for
    `days` days: the lab's CA, and the interop fixtures' test CAs."""
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _lab_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    with _LOCK:
        if not _CA:
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "shinsa lab CA"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shinsa lab"),
                ]
            )
            cert = ca_certificate(key, name, days=3650)
            folder = Path(tempfile.mkdtemp(prefix="shinsa-lab-ca-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "lab-ca.pem"
            path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            _CA.append((cert, key, path))
        return _CA[0]


def _shared_key(kind: str) -> CertificateIssuerPrivateKeyTypes:
    with _LOCK:
        if kind not in _KEYS:
            if kind == "ec-256":
                _KEYS[kind] = ec.generate_private_key(ec.SECP256R1())
            else:
                bits = int(kind.removeprefix("rsa-"))
                _KEYS[kind] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        return _KEYS[kind]


def certificate_pem(
    address: str, common_name: str, options: TlsOptions | None = None, host: str = ""
) -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM) as `options` describe them."""
    opts = options or TlsOptions()
    key = _shared_key(opts.key)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or address),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shinsa lab"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    if opts.validity == "expired":
        not_before, not_after = now - 400 * day, now - 30 * day
    elif opts.validity == "not_yet_valid":
        not_before, not_after = now + 30 * day, now + 400 * day
    else:
        not_before, not_after = now - day, now + opts.expires_in_days * day
    names = opts.names or ((host,) if host else ())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    if opts.address:
        sans.append(x509.IPAddress(ipaddress.ip_address(address)))
    issuer_name, signer = name, key
    chain = b""
    if opts.issuer == "lab-ca":
        ca_cert, ca_key, _ = _lab_ca()
        issuer_name, signer = ca_cert.subject, ca_key
        chain = ca_cert.public_bytes(serialization.Encoding.PEM)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(signer, hashes.SHA256())
    if opts.signature == "sha1":
        if not isinstance(signer, rsa.RSAPrivateKey):
            raise ValueError("a SHA-1 signature needs an RSA key signing it (key: rsa-*)")
        cert = _resign_sha1(cert, signer)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM) + chain, key_pem


#: DER of the AlgorithmIdentifier OIDs: sha256WithRSAEncryption and sha1WithRSAEncryption
#: have encodings of the same length, so one can replace the other in place.
_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")


def _resign_sha1(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The same certificate signed with SHA-1: cryptography no longer signs with it, so the
    TBS part is re-labelled and signed by hand (a planted weakness, nothing else)."""
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("unexpected TBS certificate layout")
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 -- planted
    algorithm = _der(0x30, _SHA1_RSA + b"\x05\x00")
    return x509.load_der_x509_certificate(
        _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    )


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def self_signed_pem(address: str, common_name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM): the default self-signed certificate."""
    return certificate_pem(address, common_name)


def make_context(
    address: str, common_name: str, options: TlsOptions, host: str = ""
) -> ssl.SSLContext:
    cert_pem, key_pem = certificate_pem(address, common_name, options, host)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        # ssl deprecates TLSVersion.TLSv1/TLSv1_1; a legacy personality asks for them anyway
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = _VERSIONS[options.versions[0]]
        context.maximum_version = _VERSIONS[options.versions[-1]]
    context.set_ciphers(f"{options.ciphers or 'DEFAULT'}:@SECLEVEL=0")
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
