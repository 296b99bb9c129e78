"""The TLS audit and the tls.* checks against lab devices whose TLS setup is known.

The expected suites come from the lab server's own SSLContext (`get_ciphers()`, the
version bounds and the certificate's key type), not from a hand-written list.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING

import pytest

from lab.oracle_tls import TlsParams, expected_tls
from lab.personality import TLS_VERSIONS, load_builtin
from lab.servers.tls import lab_ca_file, make_context
from probes.tls_quality import TRUST, VALIDITY, TlsQuality, TrustParams, ValidityParams
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Limits, Network
from scanner.probe import ProbeContext
from scanner.scope import Scope
from scanner.tls.audit import audit_tls
from scanner.tls.suites import suite_name

if TYPE_CHECKING:
    from lab.device import LabDevice
    from lab.personality import ServiceSpec
    from scanner.probe import Params
    from scanner.tls.audit import TlsAudit
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab

#: get_ciphers() "protocol": the lowest version a suite can be used with
_SUITE_FLOOR = {"SSLv3": 0, "TLSv1.0": 0, "TLSv1.2": 2, "TLSv1.3": 3}


def served_suites(device: LabDevice, spec: ServiceSpec) -> dict[str, set[str]]:
    """{version: IANA names} the lab's context can negotiate with its certificate."""
    ctx = make_context(device.address, device.personality.title, spec.tls)
    auth = {"auth-rsa"} if spec.tls.key.startswith("rsa-") else {"auth-ecdsa"}
    out: dict[str, set[str]] = {}
    for index, version in enumerate(TLS_VERSIONS):
        if version not in spec.tls.versions:
            continue
        names: set[str] = set()
        for c in ctx.get_ciphers():
            floor = _SUITE_FLOOR[c["protocol"]]
            if (index == 3) != (floor == 3) or floor > index:
                continue  # TLS 1.3 suites only in 1.3, 1.2-only suites from 1.2 up
            usable = c["auth"] in auth | {"auth-null", "auth-any"} and c["kea"] in (
                "kx-rsa",
                "kx-ecdhe",
                "kx-any",
            )
            if usable:
                names.add(suite_name(c["id"] & 0xFFFF))
        out[version] = names
    return out


async def _audit(device: LabDevice, port: int, **kw: object) -> TlsAudit:
    net = Network(Scope.of([device.address]), Limits(per_device=4)).device(device.address)
    return await audit_tls(net, device.address, port, **kw)  # type: ignore[arg-type]


def _service(device: LabDevice, protocol: str) -> tuple[Service, ServiceSpec]:
    service = next(s for s in device.services if s.protocol == protocol)
    spec = next(s for s in device.personality.services if s.protocol == protocol)
    return service, spec


@pytest.mark.parametrize("name", ["tls-legacy-camera", "tls-modern-gateway", "tls-mixed-router"])
async def test_the_audit_finds_exactly_the_versions_and_suites_the_lab_serves(
    start_device: StartDevice, name: str
) -> None:
    device = await start_device(load_builtin(name))
    service, spec = _service(device, "https")
    audit = await _audit(device, service.port)
    served = served_suites(device, spec)
    assert audit.version_map == {
        "SSLv3": False,  # this OpenSSL cannot serve SSL 3.0 at all
        **{v: v in spec.tls.versions for v in TLS_VERSIONS},
    }
    assert {v: set(s) for v, s in audit.suites.items() if s} == served
    assert audit.seconds < 1.3  # sslyze's time per endpoint


def test_this_openssl_cannot_serve_ssl3_so_no_personality_may_ask_for_it() -> None:
    import ssl

    assert not ssl.HAS_SSLv3


async def test_the_legacy_camera_shows_its_certificate_and_weak_suites(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("tls-legacy-camera"))
    service, _ = _service(device, "https")
    audit = await _audit(device, service.port)
    assert audit.chain_source == "handshake"
    body = audit.to_json()
    cert = body["certificate"]
    assert isinstance(cert, dict)
    assert cert["key"] == "RSA 1024"
    assert cert["signature"] == "RSA_WITH_SHA1"
    assert cert["self_signed"] is True
    assert isinstance(cert["days_left"], int)
    assert cert["days_left"] < 0
    assert audit.trust.verified is False
    assert "TLS_RSA_WITH_NULL_MD5" in audit.suites["TLSv1.0"]
    assert "TLS_ECDH_anon_WITH_AES_128_CBC_SHA" in audit.suites["TLSv1.0"]


async def test_groups_come_from_hello_retry_and_server_key_exchange(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("tls-modern-gateway"))
    service, _ = _service(device, "https")
    audit = await _audit(device, service.port)
    names = set(audit.to_json()["groups"])  # type: ignore[arg-type]
    # OpenSSL 3.0's default server groups (TLS 1.3 and ECDHE in TLS 1.2)
    assert names == {
        "x25519",
        "secp256r1",
        "x448",
        "secp521r1",
        "secp384r1",
        "ffdhe2048",
        "ffdhe3072",
        "ffdhe4096",
        "ffdhe6144",
        "ffdhe8192",
    }


async def test_a_tls13_only_service_still_yields_its_leaf_certificate(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("tls-modern-gateway"))
    service, _ = _service(device, "mqtts")
    audit = await _audit(device, service.port, ca_file=str(lab_ca_file()))
    assert audit.version_map["TLSv1.3"] is True
    assert audit.version_map["TLSv1.2"] is False
    assert audit.chain_source == "ssl"
    assert len(audit.chain) == 1
    assert audit.trust.verified is True


async def _probe(
    device: LabDevice, service: Service, params: dict[str, Params] | None = None
) -> dict[str, Verdict]:
    net = Network(Scope.of([device.address]), Limits(per_device=4)).device(device.address)
    ctx = ProbeContext(Target(device.address), net, Facts(), params_by_check=params or {})
    results = await TlsQuality().run(ctx, service)
    return {r.check_id: r.verdict for r in results}


@pytest.mark.parametrize(
    ("name", "oracle", "params"),
    [
        ("tls-legacy-camera", TlsParams(), {}),
        ("tls-legacy-camera", TlsParams(accept_self_signed=True), {"self": True}),
        ("tls-modern-gateway", TlsParams(lab_ca_trusted=True), {"ca": True}),
        ("tls-modern-gateway", TlsParams(), {}),
        ("tls-modern-gateway", TlsParams(lab_ca_trusted=True, min_days_left=30), {"ca": True}),
        ("tls-mixed-router", TlsParams(lab_ca_trusted=True), {"ca": True}),
        ("https-only-camera", TlsParams(), {}),
    ],
)
async def test_every_tls_check_agrees_with_the_oracle(
    start_device: StartDevice, name: str, oracle: TlsParams, params: dict[str, bool]
) -> None:
    device = await start_device(load_builtin(name))
    profile: dict[str, Params] = {
        TRUST.id: TrustParams(
            accept_self_signed=params.get("self", False),
            ca_file=str(lab_ca_file()) if params.get("ca") else "",
        ),
        VALIDITY.id: ValidityParams(min_days_left=oracle.min_days_left),
    }
    ports: dict[tuple[str, int], int] = {(s.transport, s.port): s.port for s in device.services}
    expected = expected_tls(device.personality, ports, oracle, by_name=False)
    for service in device.services:
        if not service.tls:
            continue
        got = await _probe(device, service, profile)
        want = {c: v for (k, c), v in expected.items() if k == service.key}
        assert got == want, service


async def test_the_legacy_camera_fails_every_check_with_the_reason(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("tls-legacy-camera"))
    service, _ = _service(device, "https")
    net = Network(Scope.of([device.address])).device(device.address)
    results = await TlsQuality().run(ProbeContext(Target(device.address), net, Facts()), service)
    reasons = {r.check_id: r.reason for r in results}
    assert {r.verdict for r in results} == {Verdict.FAIL}
    assert "TLSv1.0" in reasons["tls.versions"]
    assert "TLS_RSA_WITH_NULL_MD5" in reasons["tls.ciphers"]
    assert "expired" in reasons["tls.cert.validity"]
    assert "self-signed" in reasons["tls.cert.trust"]
    assert "1024" in reasons["tls.cert.key"]
    assert "SHA-1" in reasons["tls.cert.signature"]
    assert "address only" in reasons["tls.cert.name"]
    evidence = json.dumps([e.details for r in results for e in r.evidence])  # JSON-able
    assert len(evidence) < 64_000


async def test_a_host_name_label_is_matched_and_sent_as_sni(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("tls-mixed-router"))
    service, _ = _service(device, "https")
    net = Network(Scope.of([device.address])).device(device.address)
    for label, verdict in (("router.lab.example", Verdict.PASS), ("other.example", Verdict.FAIL)):
        ctx = ProbeContext(Target(device.address, label), net, Facts())
        results = {r.check_id: r for r in await TlsQuality().run(ctx, service)}
        assert results["tls.cert.name"].verdict == verdict
        assert label in results["tls.cert.name"].reason


@pytest.mark.parametrize("which", ["plain-http", "closed-port"])
async def test_a_service_that_is_not_tls_is_an_error_never_a_pass(
    start_device: StartDevice, which: str
) -> None:
    device = await start_device(load_builtin("https-only-camera"))
    http = next(s for s in device.services if s.protocol == "http")
    port, why = (http.port, "HTTP") if which == "plain-http" else (1, "refused")
    net = Network(Scope.of([device.address])).device(device.address)
    ctx = ProbeContext(Target(device.address), net, Facts())
    results = await TlsQuality().run(ctx, Service("tcp", port, "https", tls=True))
    assert {r.verdict for r in results} == {Verdict.ERROR}
    assert all(why in r.reason for r in results), results[0].reason


async def test_the_command_line_prints_the_audit_as_json(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("tls-modern-gateway"))
    service, _ = _service(device, "https")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scanner.tls.audit",
        device.address,
        str(service.port),
        "--ca-file",
        str(lab_ca_file()),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    body = json.loads(out)
    assert body["versions"] == {
        "SSLv3": False,
        "TLSv1.0": False,
        "TLSv1.1": False,
        "TLSv1.2": True,
        "TLSv1.3": True,
    }
    assert body["suites"]["TLSv1.2"] == sorted(body["suites"]["TLSv1.2"])
    assert "x25519" in body["groups"]
    assert body["trust"]["verified"] is True
    assert isinstance(body["seconds"], float)


async def test_the_command_line_refuses_an_address_outside_loopback() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scanner.tls.audit",
        "192.0.2.1",
        "443",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"allow" in err
