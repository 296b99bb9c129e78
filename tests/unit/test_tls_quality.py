"""The tls.* verdicts from crafted audits: policy, parameters, and truth over green."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lab.personality import TlsOptions
from lab.servers.tls import certificate_pem
from probes.tls_quality import (
    TRUST,
    VALIDITY,
    VERSIONS,
    TlsQuality,
    TrustParams,
    ValidityParams,
    VersionsParams,
    host_name,
    judge,
)
from scanner.errors import ConfigError
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope
from scanner.tls.audit import TlsAudit, Trust, VersionScan
from scanner.tls.suites import BY_NAME
from scanner.tls.wire import SSL3, TLS10, TLS11, TLS12, TLS13

if TYPE_CHECKING:
    from scanner.probe import Params

ADDRESS = "127.0.0.9"
SERVICE = Service("tcp", 443, "https", tls=True)
NOW = datetime.datetime.now(datetime.UTC)
GOOD12 = ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA")
GOOD13 = ("TLS_AES_128_GCM_SHA256",)


DEFAULT_OPTIONS = TlsOptions()
SELF_SIGNED = Trust(False, "self-signed certificate")


def der(options: TlsOptions = DEFAULT_OPTIONS) -> bytes:
    pem, _ = certificate_pem(ADDRESS, "dev", options)
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def scan(
    version: int, *names: str, offered: bool | None = True, complete: bool = True
) -> VersionScan:
    codes = tuple(BY_NAME[n].code for n in names)
    return VersionScan(version, offered if not names else True, codes, complete=complete)


def audit(
    *versions: VersionScan,
    chain: tuple[bytes, ...] | None = None,
    trust: Trust = SELF_SIGNED,
    notes: tuple[str, ...] = (),
) -> TlsAudit:
    given = {v.version: v for v in versions}
    defaults = {
        SSL3: scan(SSL3, offered=False),
        TLS10: scan(TLS10, offered=False),
        TLS11: scan(TLS11, offered=False),
        TLS12: scan(TLS12, *GOOD12),
        TLS13: scan(TLS13, *GOOD13),
    }
    return TlsAudit(
        ADDRESS,
        443,
        None,
        tuple(given.get(v, d) for v, d in defaults.items()),
        chain=(der(),) if chain is None else chain,
        trust=trust,
        notes=notes,
    )


def verdicts(a: TlsAudit, label: str = "", **params: Params) -> dict[str, Verdict]:
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    by_id = {
        {"versions": VERSIONS, "validity": VALIDITY, "trust": TRUST}[k].id: v
        for k, v in params.items()
    }
    ctx = ProbeContext(Target(ADDRESS, label), net, Facts(), params_by_check=by_id)
    results = judge(ctx.about(SERVICE), a, host=host_name(label, ADDRESS), now=NOW)
    assert len(results) == 8
    json.dumps([dict(e.details) for r in results for e in r.evidence])  # JSON-able
    return {r.check_id: r.verdict for r in results}


def test_a_modern_endpoint_passes_everything_but_its_self_signed_certificate() -> None:
    got = verdicts(audit())
    assert got.pop("tls.cert.trust") == Verdict.FAIL
    assert set(got.values()) == {Verdict.PASS}


def test_a_profile_that_accepts_self_signed_certificates_passes_trust() -> None:
    got = verdicts(audit(), trust=TrustParams(accept_self_signed=True))
    assert got["tls.cert.trust"] == Verdict.PASS


def test_a_service_that_never_answered_is_an_error_for_every_check() -> None:
    unknown = [scan(v, offered=None) for v in (SSL3, TLS10, TLS11, TLS12, TLS13)]
    got = verdicts(audit(*unknown, chain=(), notes=("TLSv1.2: could not tell: timed out",)))
    assert set(got.values()) == {Verdict.ERROR}


def test_a_service_that_refused_every_hello_is_inconclusive_never_a_pass() -> None:
    refused = [scan(v, offered=False) for v in (SSL3, TLS10, TLS11, TLS12, TLS13)]
    assert set(verdicts(audit(*refused, chain=())).values()) == {Verdict.INCONCLUSIVE}


@pytest.mark.parametrize(
    ("versions", "params", "expected"),
    [
        ((scan(TLS10, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),), VersionsParams(), Verdict.FAIL),
        ((scan(TLS11, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),), VersionsParams(), Verdict.FAIL),
        ((scan(SSL3, offered=None),), VersionsParams(), Verdict.INCONCLUSIVE),
        ((), VersionsParams(min_version="TLSv1.3"), Verdict.FAIL),
        (
            (
                scan(TLS10, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
                scan(TLS12, offered=False),
                scan(TLS13, offered=False),
            ),
            VersionsParams(min_version="TLSv1.0"),
            Verdict.FAIL,  # nothing from TLS 1.2 up, whatever the minimum
        ),
        ((scan(TLS13, offered=None),), VersionsParams(), Verdict.PASS),
    ],
)
def test_versions_below_the_minimum_fail_and_unknown_ones_are_not_passed(
    versions: tuple[VersionScan, ...], params: VersionsParams, expected: Verdict
) -> None:
    assert verdicts(audit(*versions), versions=params)["tls.versions"] == expected


def test_weak_suites_and_tls10_with_cbc_only_fail_the_cipher_check() -> None:
    assert verdicts(audit(scan(TLS12, "TLS_RSA_WITH_NULL_SHA256")))["tls.ciphers"] == Verdict.FAIL
    cbc_only = scan(TLS10, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
    assert verdicts(audit(cbc_only))["tls.ciphers"] == Verdict.FAIL
    assert verdicts(audit(scan(TLS13, "TLS_SHA256_SHA256")))["tls.ciphers"] == Verdict.FAIL


def test_an_incomplete_enumeration_cannot_pass_the_suite_checks() -> None:
    partial = scan(TLS12, *GOOD12, complete=False)
    got = verdicts(audit(partial))
    assert got["tls.ciphers"] == got["tls.forward-secrecy"] == Verdict.INCONCLUSIVE
    weak_partial = scan(TLS12, "TLS_RSA_WITH_AES_128_CBC_SHA", complete=False)
    assert verdicts(audit(weak_partial))["tls.forward-secrecy"] == Verdict.FAIL


def test_static_key_exchange_below_tls13_fails_forward_secrecy() -> None:
    for name in ("TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"):
        got = verdicts(audit(scan(TLS12, *GOOD12, name)))
        assert got["tls.forward-secrecy"] == Verdict.FAIL, name


def test_without_a_certificate_every_certificate_check_is_inconclusive() -> None:
    got = verdicts(audit(chain=(), notes=("the certificate could not be fetched: timed out",)))
    assert [got[c] for c in got if c.startswith("tls.cert.")] == [Verdict.INCONCLUSIVE] * 5
    assert got["tls.versions"] == Verdict.PASS


def test_garbage_instead_of_a_certificate_is_inconclusive() -> None:
    got = verdicts(audit(chain=(b"\x30\x00",)))
    assert got["tls.cert.key"] == Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("options", "min_days", "expected"),
    [
        (TlsOptions(), 0, Verdict.PASS),
        (TlsOptions(expires_in_days=20), 30, Verdict.FAIL),
        (TlsOptions(validity="expired"), 0, Verdict.FAIL),
        (TlsOptions(validity="not_yet_valid"), 0, Verdict.FAIL),
    ],
)
def test_validity_and_days_left(options: TlsOptions, min_days: int, expected: Verdict) -> None:
    got = verdicts(audit(chain=(der(options),)), validity=ValidityParams(min_days_left=min_days))
    assert got["tls.cert.validity"] == expected


def test_a_chain_that_verified_passes_trust_and_one_that_could_not_be_checked_is_inconclusive() -> (
    None
):
    ca = der(TlsOptions(issuer="lab-ca"))
    assert verdicts(audit(chain=(ca,), trust=Trust(True)))["tls.cert.trust"] == Verdict.PASS
    failed = Trust(False, "unable to get local issuer certificate")
    assert verdicts(audit(chain=(ca,), trust=failed))["tls.cert.trust"] == Verdict.FAIL
    unknown = Trust(None, "no verifying handshake: timed out")
    assert verdicts(audit(chain=(ca,), trust=unknown))["tls.cert.trust"] == Verdict.INCONCLUSIVE


def test_weak_keys_and_signatures_fail() -> None:
    old = der(TlsOptions(key="rsa-1024", signature="sha1"))
    got = verdicts(audit(chain=(old,)))
    assert got["tls.cert.key"] == got["tls.cert.signature"] == Verdict.FAIL
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    about = ProbeContext(Target(ADDRESS), net, Facts()).about(SERVICE)
    by_id = {r.check_id: r for r in judge(about, audit(chain=(old,)), host=None, now=NOW)}
    # the Japanese gives the same key size and hash as the English
    assert "1024 bits, under 2048" in by_id["tls.cert.key"].reason
    assert "RSA 鍵 1024 ビットは 2048 ビット未満" in by_id["tls.cert.key"].reason_ja
    assert "SHA-1 で署名されている" in by_id["tls.cert.signature"].reason_ja
    assert verdicts(audit(chain=(der(TlsOptions(key="rsa-2048")),)))["tls.cert.key"] == Verdict.PASS


def test_the_name_is_the_label_when_it_is_a_host_name_else_the_address() -> None:
    named = der(TlsOptions(names=("gw.lab.example",), address=False))
    assert verdicts(audit(chain=(named,)), "gw.lab.example")["tls.cert.name"] == Verdict.PASS
    assert verdicts(audit(chain=(named,)))["tls.cert.name"] == Verdict.FAIL
    assert verdicts(audit())["tls.cert.name"] == Verdict.PASS  # the address is an IP SAN
    assert host_name("gw.lab.example", ADDRESS) == "gw.lab.example"
    assert host_name(ADDRESS, ADDRESS) is None
    assert host_name("Camera in hall 3", ADDRESS) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: VersionsParams(min_version="SSLv3"),
        lambda: ValidityParams(min_days_left=-1),
        lambda: ValidityParams(min_days_left=True),
        lambda: TrustParams(accept_self_signed="yes"),  # type: ignore[arg-type]
    ],
)
def test_bad_parameters_are_configuration_errors(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]


def test_the_probe_applies_to_every_tls_service_and_nothing_else() -> None:
    probe = TlsQuality()
    assert probe.applies_to(Service("tcp", 8883, "mqtts", tls=True))
    assert probe.applies_to(Service("tcp", 9000, "tls", tls=True))
    assert not probe.applies_to(Service("tcp", 80, "http"))
    assert len({c.id for c in probe.checks}) == 8
