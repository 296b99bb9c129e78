"""The SSH configuration probe against lab devices whose offered algorithms are known."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from lab.oracle_ssh import expected_ssh
from lab.personality import load_builtin
from probes.ssh_config import SshConfig
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope

if TYPE_CHECKING:
    from lab.device import LabDevice
    from scanner.model import Result
    from tests.lab.conftest import StartDevice


async def _audit(device: LabDevice) -> dict[str, Result]:
    (service,) = (s for s in device.services if s.protocol == "ssh")
    net = Network(Scope.of([device.address])).device(device.address)
    ctx = ProbeContext(Target(device.address), net, Facts())
    results = await SshConfig().run(ctx, Service("tcp", service.port, "ssh"))
    return {r.check_id: r for r in results}


def _evidence(result: Result, kind: str) -> dict[str, Any]:
    return dict(next(e for e in result.evidence if e.kind == kind).details)


async def test_a_legacy_ssh_switch_fails_every_ssh_check(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("legacy-ssh-switch"))
    got = await _audit(device)
    assert {c: r.verdict for c, r in got.items()} == {
        "ssh.kex": Verdict.FAIL,
        "ssh.hostkey": Verdict.FAIL,
        "ssh.ciphers": Verdict.FAIL,
        "ssh.macs": Verdict.FAIL,
        "ssh.password-auth": Verdict.FAIL,
    }
    # the offered lists are the evidence, exactly as the personality sets them
    offered = _evidence(got["ssh.kex"], "ssh_kexinit")
    assert offered["kex"][:2] == ["diffie-hellman-group14-sha1", "curve25519-sha256@libssh.org"]
    assert offered["ciphers_c2s"] == ["aes128-cbc", "aes128-ctr"]
    assert offered["macs_s2c"] == ["hmac-sha1", "hmac-sha2-256"]
    assert offered["ident"] == "SSH-2.0-OpenSSH_5.3"
    assert "diffie-hellman-group14-sha1" in got["ssh.kex"].reason
    assert "aes128-cbc" in got["ssh.ciphers"].reason
    assert "hmac-sha1" in got["ssh.macs"].reason
    assert _evidence(got["ssh.hostkey"], "ssh_hostkey")["rsa_bits"] == 1024
    assert _evidence(got["ssh.password-auth"], "ssh_auth_methods")["password"] is True


async def test_a_modern_ssh_gateway_passes_the_algorithm_checks(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("modern-ssh-gateway"))
    got = await _audit(device)
    assert {c: r.verdict for c, r in got.items()} == {
        "ssh.kex": Verdict.PASS,
        "ssh.hostkey": Verdict.PASS,
        "ssh.ciphers": Verdict.PASS,
        "ssh.macs": Verdict.PASS,
        "ssh.password-auth": Verdict.FAIL,  # the lab's paramiko server always takes passwords
    }
    assert _evidence(got["ssh.hostkey"], "ssh_hostkey")["rsa_bits"] == 2048


async def test_a_banner_only_ssh_service_is_an_error_for_every_check_never_a_pass(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("hardened-gateway"))
    got = await _audit(device)
    assert {r.verdict for r in got.values()} == {Verdict.ERROR}
    assert all("KEXINIT" in r.reason for r in got.values())


@pytest.mark.parametrize(
    "name", ["legacy-ssh-switch", "modern-ssh-gateway", "ssh-camera", "hardened-gateway"]
)
async def test_the_probe_agrees_with_the_ssh_oracle(start_device: StartDevice, name: str) -> None:
    device = await start_device(load_builtin(name))
    got = await _audit(device)
    ports: dict[tuple[str, int], int] = {(s.transport, s.port): s.port for s in device.services}
    (key,) = {k for k, _ in expected_ssh(device.personality, ports)}
    expected = {c: v for (k, c), v in expected_ssh(device.personality, ports).items() if k == key}
    assert {c: r.verdict for c, r in got.items()} == expected
