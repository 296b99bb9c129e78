"""The TLS audit against real lighttpd (Debian, mod_openssl), checked by `openssl s_client`.

Three lighttpd endpoints (tests/interop/tls_daemons.py): `legacy` (TLS 1.0 and up, every
suite at OpenSSL security level 0, self-signed RSA 1024 / SHA-1), `modern` (TLS 1.2 and
up, ECDHE + AEAD only, three curves, ECDSA P-256 leaf from a test CA) and `defaults`
(lighttpd's own TLS defaults, RSA 2048 leaf from a test CA). The reference is what
`openssl s_client` completes a handshake with, one process per version, per suite and per
group: lighttpd links the same OpenSSL, so a suite this build lacks is missing on both
sides and the comparison is exact. This suite owns 127.0.58.0/24, port 443.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from probes.tls_quality import TRUST, TlsQuality, TrustParams
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope
from scanner.tls.audit import TlsAudit, audit_tls
from scanner.tls.suites import group_name
from tests.interop.tls_daemons import (
    DEFAULTS,
    LEGACY,
    MODERN,
    DaemonFailed,
    MissingBinary,
    OpenSslView,
    TlsDaemon,
    TlsSetup,
    lighttpd_tls,
    openssl_view,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scanner.model import Result

pytestmark = pytest.mark.interop

PORT = 443
ADDRESSES = {"legacy": "127.0.58.1", "modern": "127.0.58.2", "defaults": "127.0.58.3"}
CLI_TIMEOUT = 60.0


def _serve(setup: TlsSetup, factory: pytest.TempPathFactory) -> Iterator[TlsDaemon]:
    try:
        with lighttpd_tls(setup, ADDRESSES[setup.name], PORT, factory.mktemp(setup.name)) as d:
            yield d
    except (MissingBinary, DaemonFailed) as exc:
        pytest.fail(str(exc))


def _view(daemon: TlsDaemon) -> OpenSslView:
    try:
        return openssl_view(daemon.address, daemon.port)
    except MissingBinary as exc:
        pytest.fail(str(exc))


# Module scope: the s_client enumeration costs a few hundred handshakes per endpoint, and
# the daemons keep no state between tests.


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsDaemon]:
    yield from _serve(LEGACY, tmp_path_factory)


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsDaemon]:
    yield from _serve(MODERN, tmp_path_factory)


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsDaemon]:
    yield from _serve(DEFAULTS, tmp_path_factory)


@pytest.fixture(scope="module")
def legacy_view(legacy: TlsDaemon) -> OpenSslView:
    return _view(legacy)


@pytest.fixture(scope="module")
def modern_view(modern: TlsDaemon) -> OpenSslView:
    return _view(modern)


@pytest.fixture(scope="module")
def defaults_view(defaults: TlsDaemon) -> OpenSslView:
    return _view(defaults)


@pytest.fixture(params=sorted(ADDRESSES))
def endpoint(request: pytest.FixtureRequest) -> tuple[TlsDaemon, OpenSslView]:
    name = request.param
    daemon: TlsDaemon = request.getfixturevalue(name)
    return daemon, request.getfixturevalue(f"{name}_view")


async def _audit(daemon: TlsDaemon, *, ca_file: str = "") -> TlsAudit:
    net = Network(Scope.of([daemon.address])).device(daemon.address)
    return await audit_tls(net, daemon.address, daemon.port, ca_file=ca_file)


def _offered_suites(audit: TlsAudit) -> dict[str, frozenset[str]]:
    suites = audit.suites
    return {v: frozenset(suites[v]) for v, ok in audit.version_map.items() if ok}


def _leaf_der(daemon: TlsDaemon) -> bytes:
    cert = x509.load_pem_x509_certificate(daemon.certs.cert.read_bytes())
    return cert.public_bytes(Encoding.DER)


# --- The reference itself ------------------------------------------------------------------


def test_openssl_negotiates_tls10_and_static_rsa_cbc_suites_with_the_legacy_server(
    legacy_view: OpenSslView,
) -> None:
    assert legacy_view.versions == {
        "SSLv3": False,  # neither this OpenSSL nor lighttpd's has SSLv3 at all
        "TLSv1.0": True,
        "TLSv1.1": True,
        "TLSv1.2": True,
        "TLSv1.3": True,
    }
    assert {
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    } <= legacy_view.suites["TLSv1.0"]
    # AEAD and SHA-256 suites exist from TLS 1.2 only.
    assert not any("GCM" in s or s.endswith("SHA256") for s in legacy_view.suites["TLSv1.0"])
    assert len(legacy_view.suites["TLSv1.2"]) > len(legacy_view.suites["TLSv1.0"])


def test_openssl_negotiates_only_tls12_ecdhe_aead_and_tls13_with_the_modern_server(
    modern_view: OpenSslView,
) -> None:
    assert modern_view.versions == {
        "SSLv3": False,
        "TLSv1.0": False,
        "TLSv1.1": False,
        "TLSv1.2": True,
        "TLSv1.3": True,
    }
    assert modern_view.suites == {
        "TLSv1.2": {
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        },
        "TLSv1.3": {
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
        },
    }
    assert modern_view.groups == {"x25519", "secp256r1", "secp384r1"}


# --- shinsa against the reference --------------------------------------------------------


async def test_shinsa_reports_exactly_the_versions_suites_and_groups_openssl_negotiates(
    endpoint: tuple[TlsDaemon, OpenSslView],
) -> None:
    daemon, view = endpoint
    audit = await _audit(daemon)
    assert audit.version_map == view.versions, (audit.notes, daemon.log_tail())
    assert _offered_suites(audit) == view.suites, audit.notes
    # The server's group list (OpenSSL's default, or modern's three) is inside the set
    # s_client tries, so a group shinsa finds beyond it would be a false positive.
    assert {group_name(g) for g in audit.groups} == view.groups
    assert audit.groups_complete
    assert all(v.complete for v in audit.versions)


async def test_shinsa_fetches_the_leaf_certificate_the_fixture_installed(
    endpoint: tuple[TlsDaemon, OpenSslView],
) -> None:
    daemon, _ = endpoint
    audit = await _audit(daemon)
    assert audit.chain, audit.notes
    assert audit.chain[0] == _leaf_der(daemon)


async def test_shinsa_trusts_the_ca_issued_leaf_only_with_that_ca(modern: TlsDaemon) -> None:
    assert modern.certs.ca is not None
    without = await _audit(modern)
    assert without.trust.verified is False
    with_ca = await _audit(modern, ca_file=str(modern.certs.ca))
    assert with_ca.trust.verified is True, with_ca.trust.error


async def test_shinsa_does_not_trust_the_self_signed_legacy_certificate(
    legacy: TlsDaemon,
) -> None:
    audit = await _audit(legacy)
    assert audit.trust.verified is False
    assert "self-signed" in audit.trust.error


async def test_shinsa_recognises_a_sha1_self_signed_certificate_as_self_signed(
    legacy: TlsDaemon,
) -> None:
    # cryptography refuses to verify SHA-1 signatures; an early tls_cert read this
    # certificate as not self-signed while `openssl verify -CAfile cert cert` says OK.
    details = (await _audit(legacy)).to_json()["certificate"]
    assert isinstance(details, dict)
    assert details["self_signed"] is True


def test_cli_prints_the_same_versions_and_suites_as_openssl(
    legacy: TlsDaemon, legacy_view: OpenSslView
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scanner.tls.audit", legacy.address, str(legacy.port)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["versions"] == legacy_view.versions
    offered = {v: frozenset(doc["suites"][v]) for v, ok in doc["versions"].items() if ok}
    assert offered == legacy_view.suites
    assert all(doc["suites"][v] == sorted(doc["suites"][v]) for v in doc["suites"])
    assert set(doc["groups"]) == legacy_view.groups
    assert doc["certificate"]["key"] == "RSA 1024"
    assert doc["certificate"]["signature"] == "RSA_WITH_SHA1"


# --- The tls.* checks, through the probe ---------------------------------------------------


async def _probe(daemon: TlsDaemon, *, label: str = "", ca_file: str = "") -> dict[str, Result]:
    net = Network(Scope.of([daemon.address])).device(daemon.address)
    params = {TRUST.id: TrustParams(ca_file=ca_file)} if ca_file else {}
    ctx = ProbeContext(Target(daemon.address, label), net, Facts(), params_by_check=params)
    results = await TlsQuality().run(ctx, Service("tcp", daemon.port, "https", tls=True))
    return {r.check_id: r for r in results}


def _verdicts(results: dict[str, Result]) -> dict[str, Verdict]:
    return {check: r.verdict for check, r in results.items()}


def _offer(result: Result) -> dict[str, Any]:
    return dict(next(e for e in result.evidence if e.kind == "tls_offer").details)


async def test_legacy_lighttpd_fails_versions_ciphers_forward_secrecy_and_the_certificate(
    legacy: TlsDaemon, legacy_view: OpenSslView
) -> None:
    got = await _probe(legacy)
    assert _verdicts(got) == {
        "tls.versions": Verdict.FAIL,  # TLS 1.0 and 1.1
        "tls.ciphers": Verdict.FAIL,  # TLS 1.0 with CBC suites only (BEAST)
        "tls.forward-secrecy": Verdict.FAIL,  # TLS_RSA_* key transport
        "tls.cert.validity": Verdict.PASS,  # 30 days from now
        "tls.cert.trust": Verdict.FAIL,  # self-signed
        "tls.cert.key": Verdict.FAIL,  # RSA 1024
        "tls.cert.signature": Verdict.FAIL,  # SHA-1
        "tls.cert.name": Verdict.FAIL,  # no subjectAltName at all, so not its address
    }, {c: r.reason for c, r in got.items()}
    offer = _offer(got["tls.versions"])
    assert offer["versions"] == legacy_view.versions
    assert {v: frozenset(s) for v, s in offer["suites"].items()} == legacy_view.suites


async def test_modern_lighttpd_passes_every_check_given_its_ca_and_host_name(
    modern: TlsDaemon, modern_view: OpenSslView
) -> None:
    assert modern.certs.ca is not None
    got = await _probe(modern, label=MODERN.common_name, ca_file=str(modern.certs.ca))
    assert set(_verdicts(got).values()) == {Verdict.PASS}, {c: r.reason for c, r in got.items()}
    offer = _offer(got["tls.ciphers"])
    assert {v: frozenset(s) for v, s in offer["suites"].items()} == modern_view.suites
    assert set(offer["groups"]) == modern_view.groups


async def test_modern_lighttpd_is_untrusted_against_the_system_store_but_names_its_address(
    modern: TlsDaemon,
) -> None:
    got = await _probe(modern)
    assert got["tls.cert.trust"].verdict == Verdict.FAIL
    assert "unable to get local issuer certificate" in got["tls.cert.trust"].reason
    assert got["tls.cert.name"].verdict == Verdict.PASS  # an iPAddress SAN of 127.0.58.2
    assert got["tls.versions"].verdict == Verdict.PASS


async def test_lighttpd_tls_defaults_pass_protocol_checks_with_dhe_and_ecdhe_only(
    defaults: TlsDaemon, defaults_view: OpenSslView
) -> None:
    got = await _probe(defaults, label=DEFAULTS.common_name, ca_file=str(defaults.certs.ca))
    assert set(_verdicts(got).values()) == {Verdict.PASS}, {c: r.reason for c, r in got.items()}
    assert all("_DHE_" in s or "_ECDHE_" in s for s in defaults_view.suites["TLSv1.2"]), (
        defaults_view.suites
    )
