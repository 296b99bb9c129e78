"""Certificate fields, weaknesses and RFC 6125 name matching."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from lab.personality import TlsOptions
from lab.servers.tls import certificate_pem
from scanner.tls.cert import (
    CertificateError,
    name_matches,
    parse_certificate,
    weak_key,
    weak_signature,
)

NOW = datetime.datetime.now(datetime.UTC)


def make(
    *,
    cn: str = "device",
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    san: bool = True,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer = (
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "some CA")]) if issuer_key else subject
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(1234)
        .not_valid_before(NOW - datetime.timedelta(days=10))
        .not_valid_after(NOW + datetime.timedelta(days=30, hours=1))
    )
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if san and names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)


def test_the_fields_of_a_self_signed_ec_certificate() -> None:
    info = parse_certificate(make(dns=("cam.example",), ips=("192.0.2.5",)))
    assert info.subject == "CN=device"
    assert info.self_signed
    assert (info.key_type, info.key_bits, info.signature_hash) == ("EC", 256, "sha256")
    assert info.dns_names == ("cam.example",)
    assert info.ip_addresses == ("192.0.2.5",)
    assert info.serial == "4d2"
    assert info.days_left(NOW) == 30
    assert weak_key(info) == ""
    assert weak_signature(info) == ""


def test_a_certificate_issued_by_another_key_is_not_self_signed() -> None:
    info = parse_certificate(make(issuer_key=ec.generate_private_key(ec.SECP256R1())))
    assert not info.self_signed


def test_a_same_name_certificate_whose_signature_does_not_verify_is_not_self_signed() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(other, hashes.SHA256())
    )
    assert not parse_certificate(cert.public_bytes(serialization.Encoding.DER)).self_signed


def test_rsa_1024_and_sha1_are_weak() -> None:
    pem, _ = certificate_pem(
        "127.0.0.1", "old", TlsOptions(key="rsa-1024", signature="sha1", validity="expired")
    )
    info = parse_certificate(
        x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    )
    assert (info.key_type, info.key_bits, info.signature_hash) == ("RSA", 1024, "sha1")
    assert info.self_signed  # a SHA-1 self-signature still verifies
    assert "1024" in weak_key(info)
    assert "SHA-1" in weak_signature(info)
    assert weak_key(info, ja=True) == "RSA 鍵 1024 ビットは 2048 ビット未満（NIST SP 800-131A）"
    assert "SHA-1 で署名されている" in weak_signature(info, ja=True)
    assert info.days_left(NOW) < 0


@pytest.mark.parametrize(
    ("dns", "host", "ok"),
    [
        (("cam.example",), "cam.example", True),
        (("cam.example",), "CAM.Example.", True),
        (("*.lab.example",), "gw.lab.example", True),
        (("*.lab.example",), "a.gw.lab.example", False),  # one label only
        (("*.lab.example",), "lab.example", False),
        (("*.example",), "cam.example", False),  # never right above a top-level name
        (("gw*.lab.example",), "gw1.lab.example", False),  # partial wildcards refused
        (("cam.example",), "other.example", False),
    ],
)
def test_dns_names_match_per_rfc_6125(dns: tuple[str, ...], host: str, ok: bool) -> None:
    assert name_matches(parse_certificate(make(dns=dns)), host) is ok


def test_an_address_matches_only_an_ip_san_never_the_cn() -> None:
    assert name_matches(parse_certificate(make(ips=("192.0.2.5",))), "192.0.2.5")
    assert not name_matches(parse_certificate(make(cn="192.0.2.5", san=False)), "192.0.2.5")
    assert not name_matches(parse_certificate(make(dns=("192.0.2.5",))), "192.0.2.5")


def test_the_cn_counts_only_when_there_is_no_san() -> None:
    assert name_matches(parse_certificate(make(cn="cam.example", san=False)), "cam.example")
    with_san = parse_certificate(make(cn="cam.example", dns=("other.example",)))
    assert not name_matches(with_san, "cam.example")


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x02\x01\x01", b"garbage" * 10])
def test_garbage_is_not_a_certificate(der: bytes) -> None:
    with pytest.raises(CertificateError):
        parse_certificate(der)


def test_device_text_in_a_certificate_is_bounded() -> None:
    info = parse_certificate(
        make(cn="x" * 60 + "\x1b[2J", dns=tuple(f"n{i}.example" for i in range(80)))
    )
    assert "\x1b" not in info.subject
    assert len(info.dns_names) == 50
