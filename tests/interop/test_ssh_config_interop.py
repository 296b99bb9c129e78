"""The SSH configuration probe against real OpenSSH and dropbear, as Debian ships them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from probes.ssh_config import SshConfig
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope

if TYPE_CHECKING:
    from scanner.model import Result
    from tests.interop.conftest import Daemon

pytestmark = pytest.mark.interop


async def _audit(daemon: Daemon) -> dict[str, Result]:
    net = Network(Scope.of([daemon.address])).device(daemon.address)
    ctx = ProbeContext(Target(daemon.address), net, Facts())
    results = await SshConfig().run(ctx, Service("tcp", daemon.port, "ssh"))
    return {r.check_id: r for r in results}


def _offered(result: Result) -> dict[str, Any]:
    return dict(next(e for e in result.evidence if e.kind == "ssh_kexinit").details)


OPENSSH_KEX = [
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
    "kex-strict-s-v00@openssh.com",
]
OPENSSH_CIPHERS = [
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
]
OPENSSH_MACS = [
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
]


async def test_debian_openssh_9_2_passes_kex_ciphers_and_hostkey_but_not_macs_or_passwords(
    sshd: Daemon,
) -> None:
    got = await _audit(sshd)
    assert {c: r.verdict for c, r in got.items()} == {
        "ssh.kex": Verdict.PASS,
        "ssh.hostkey": Verdict.PASS,  # the fixture's only host key is ed25519
        "ssh.ciphers": Verdict.PASS,
        "ssh.macs": Verdict.FAIL,  # umac-64 and hmac-sha1 are still on by default
        "ssh.password-auth": Verdict.FAIL,  # PasswordAuthentication yes is the default
    }, sshd.log_tail()
    offered = _offered(got["ssh.kex"])
    assert offered["ident"].startswith("SSH-2.0-OpenSSH_9.2p1")
    assert offered["kex"] == OPENSSH_KEX
    assert offered["hostkey"] == ["ssh-ed25519"]
    assert offered["ciphers_c2s"] == offered["ciphers_s2c"] == OPENSSH_CIPHERS
    assert offered["macs_c2s"] == offered["macs_s2c"] == OPENSSH_MACS
    weak = dict(next(e for e in got["ssh.macs"].evidence if e.kind == "policy").details)
    assert set(weak) == {
        "umac-64-etm@openssh.com",
        "hmac-sha1-etm@openssh.com",
        "umac-64@openssh.com",
        "hmac-sha1",
    }


async def test_debian_dropbear_2022_fails_kex_and_macs_and_cannot_show_its_rsa_key(
    dropbear: Daemon,
) -> None:
    got = await _audit(dropbear)
    assert {c: r.verdict for c, r in got.items()} == {
        "ssh.kex": Verdict.FAIL,  # diffie-hellman-group14-sha1
        # It offers rsa-sha2-256 and ssh-rsa with only an ed25519 key loaded, and asserts
        # when a client picks one: the RSA key cannot be measured, so never a pass.
        "ssh.hostkey": Verdict.INCONCLUSIVE,
        "ssh.ciphers": Verdict.PASS,
        "ssh.macs": Verdict.FAIL,  # hmac-sha1
        "ssh.password-auth": Verdict.FAIL,
    }, dropbear.log_tail()
    offered = _offered(got["ssh.kex"])
    assert offered["ident"] == "SSH-2.0-dropbear_2022.83"
    assert offered["kex"] == [
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp521",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp256",
        "diffie-hellman-group14-sha256",
        "diffie-hellman-group14-sha1",
        "kexguess2@matt.ucc.asn.au",
        "kex-strict-s-v00@openssh.com",
    ]
    assert offered["hostkey"] == ["ssh-ed25519", "rsa-sha2-256", "ssh-rsa"]
    assert offered["ciphers_c2s"] == ["chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-ctr"]
    assert offered["macs_c2s"] == offered["macs_s2c"] == ["hmac-sha1", "hmac-sha2-256"]
