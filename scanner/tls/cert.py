"""What a certificate says, read with `cryptography`: names, dates, key, signature.

Every string comes from the device and is bounded here (`bound_text`) before anything else
sees it. Judging (what is weak, what fails) is the probe's job; the helpers below only
measure: `weak_key` and `weak_signature` name the reason a profile would care about.

Name matching follows RFC 6125 §6 as browsers apply it: DNS names from the
subjectAltName, a wildcard only as the whole left-most label (and never directly above a
top-level name), IP addresses only against iPAddress entries, and the subject CN only when
the certificate has no subjectAltName at all.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from scanner.model import JSONValue, bound_text

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
MAX_NAMES = 50  # SAN entries kept (a certificate may list thousands)


#: "1.2.840.113549.1.1.11" -> "RSA_WITH_SHA256", from cryptography's own OID names.
_SIGNATURE_NAMES: dict[str, str] = {
    v.dotted_string: k for k, v in vars(SignatureAlgorithmOID).items() if not k.startswith("_")
}


class CertificateError(ValueError):
    """The bytes are not a certificate this parser can read."""


@dataclass(frozen=True, slots=True)
class CertInfo:
    subject: str
    issuer: str
    common_names: tuple[str, ...]
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    has_san: bool
    serial: str  # hex
    not_before: datetime.datetime  # aware, UTC
    not_after: datetime.datetime
    key_type: str  # RSA, EC, DSA, Ed25519, Ed448, or the key class name
    key_bits: int
    signature_hash: str  # sha256, sha1, md5 ... ("" for Ed25519/Ed448)
    signature_algorithm: str
    self_signed: bool  # issuer == subject and the signature verifies with its own key
    sha256: str  # fingerprint of the DER

    def days_left(self, now: datetime.datetime) -> int:
        """Whole days until not_after (negative once expired)."""
        return (self.not_after - now) // datetime.timedelta(days=1)

    def details(self, now: datetime.datetime) -> dict[str, JSONValue]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "dns_names": list(self.dns_names),
            "ip_addresses": list(self.ip_addresses),
            "serial": self.serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "days_left": self.days_left(now),
            "key": f"{self.key_type} {self.key_bits}",
            "signature": self.signature_algorithm,
            "self_signed": self.self_signed,
            "sha256": self.sha256,
        }


def parse_certificate(der: bytes) -> CertInfo:
    """A DER certificate's fields; `CertificateError` when it cannot be parsed."""
    try:
        with warnings.catch_warnings():
            # a negative or oversized serial only warns; the device's certificate is still read
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(der)
            serial = f"{cert.serial_number:x}"[:64]
            not_before = cert.not_valid_before_utc
            not_after = cert.not_valid_after_utc
            key = cert.public_key()
            # Names are decoded on first use, and a device's malformed one raises there
            # (ValueError, or TypeError for a BIT STRING under the wrong attribute).
            subject, issuer = cert.subject, cert.issuer
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        # InvalidVersion: a version field other than v1 or v3 (not a ValueError)
        raise CertificateError(f"not a readable X.509 certificate: {exc}") from None
    dns: list[str] = []
    ips: list[str] = []
    has_san = False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        pass
    except ValueError as exc:  # a malformed extension: report it, keep the rest
        raise CertificateError(f"unreadable subjectAltName: {exc}") from None
    else:
        has_san = True
        dns = [bound_text(n, 255) for n in san.get_values_for_type(x509.DNSName)][:MAX_NAMES]
        ips = [str(a) for a in san.get_values_for_type(x509.IPAddress)][:MAX_NAMES]
    key_type, bits = _key(key)
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    oid = cert.signature_algorithm_oid
    sig_name = _SIGNATURE_NAMES.get(oid.dotted_string, oid.dotted_string)
    return CertInfo(
        subject=_name(subject),
        issuer=_name(issuer),
        common_names=tuple(
            bound_text(str(a.value), 255)
            for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        )[:5],
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
        has_san=has_san,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        key_type=key_type,
        key_bits=bits,
        signature_hash=algorithm.name if algorithm is not None else "",  # "" also: unknown
        signature_algorithm=bound_text(sig_name, 64),
        self_signed=_self_signed(cert),
        sha256=hashlib.sha256(der).hexdigest(),
    )


def _name(name: x509.Name) -> str:
    try:
        return bound_text(name.rfc4514_string(), 512)
    except ValueError:
        return "(unreadable name)"


def _key(key: object) -> tuple[str, int]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, 0


def _self_signed(cert: x509.Certificate) -> bool:
    """Issuer == subject and the signature verifies with the certificate's own key. Checked
    by hand: cryptography's own helper refuses the SHA-1 and MD5 signatures old devices use."""
    if cert.issuer != cert.subject:
        return False
    key = cert.public_key()
    signature, tbs = cert.signature, cert.tbs_certificate_bytes
    try:
        algorithm = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            if isinstance(cert.signature_algorithm_parameters, padding.PSS):
                key.verify(signature, tbs, cert.signature_algorithm_parameters, algorithm)
            else:
                key.verify(signature, tbs, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, tbs, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, tbs)
        else:
            cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def weak_key(info: CertInfo, *, ja: bool = False) -> str:
    """Why the certificate's key is too weak, or "" (`ja`: in Japanese)."""
    bits = info.key_bits
    if info.key_type == "RSA" and bits < MIN_RSA_BITS:
        if ja:
            return f"RSA 鍵 {bits} ビットは {MIN_RSA_BITS} ビット未満（NIST SP 800-131A）"
        return f"RSA key of {bits} bits, under {MIN_RSA_BITS} (NIST SP 800-131A)"
    if info.key_type == "EC" and bits < MIN_EC_BITS:
        if ja:
            return f"EC 鍵 {bits} ビットは {MIN_EC_BITS} ビット未満（NIST SP 800-131A）"
        return f"EC key of {bits} bits, under {MIN_EC_BITS} (NIST SP 800-131A)"
    if info.key_type == "DSA":
        if ja:
            return "DSA 鍵（FIPS 186-5 は DSA 署名をもう承認していない）"
        return "DSA key (FIPS 186-5 no longer approves DSA signatures)"
    if bits == 0:
        return f"不明な鍵の種類 {info.key_type}" if ja else f"unknown key type {info.key_type}"
    return ""


def weak_signature(info: CertInfo, *, ja: bool = False) -> str:
    """Why the certificate's signature is weak, or "" (`ja`: in Japanese)."""
    if info.signature_hash in ("md5", "md2", "md4"):
        name = info.signature_hash.upper()
        if ja:
            return f"{name} で署名されている（RFC 6151。衝突が現実に作れる）"
        return f"signed with {name} (RFC 6151; collisions are practical)"
    if info.signature_hash == "sha1":
        if ja:
            return "SHA-1 で署名されている（SHAttered。CA/B Forum は 2016 年から禁止）"
        return "signed with SHA-1 (SHAttered; CA/B Forum ban since 2016)"
    return ""


def name_matches(info: CertInfo, host: str) -> bool:
    """True when `host` (a DNS name or an IP address) is a name the certificate is for."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        ip = None
    if ip is not None:
        return any(_same_ip(ip, a) for a in info.ip_addresses)
    wanted = _ascii(host)
    if not wanted:
        return False
    names = info.dns_names if info.has_san else info.common_names
    return any(_dns_match(_ascii(n), wanted) for n in names)


def _same_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == ip
    except ValueError:
        return False


def _ascii(name: str) -> str:
    name = name.strip().rstrip(".").lower()
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return ""


def _dns_match(pattern: str, host: str) -> bool:
    if not pattern:
        return False
    if not pattern.startswith("*."):
        return "*" not in pattern and pattern == host
    rest = pattern[2:]
    if "*" in rest or rest.count(".") < 1:  # *.com and *.*.example never match
        return False
    first, _, tail = host.partition(".")
    return bool(first) and tail == rest
