"""The naive oracle for the ssh.* checks: one-line rules from the personality.

The weak names below are this file's own short list of what the lab's personalities plant,
not the scanner's policy table; paramiko 5's defaults (used when a personality sets no list)
are written down as they are: modern key exchanges only, CBC/3DES ciphers and
SHA-1/MD5 MACs among the offered ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.oracle import service_key
from scanner.model import Verdict

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lab.personality import Personality, ServiceSpec

CHECKS = ("ssh.kex", "ssh.hostkey", "ssh.ciphers", "ssh.macs", "ssh.password-auth")
PLANTED_WEAK = frozenset(
    {"diffie-hellman-group14-sha1", "aes128-cbc", "3des-cbc", "hmac-sha1", "hmac-md5"}
)


def _weak(names: tuple[str, ...], paramiko_default_weak: bool) -> Verdict:
    if not names:
        return Verdict.FAIL if paramiko_default_weak else Verdict.PASS
    return Verdict.FAIL if PLANTED_WEAK & set(names) else Verdict.PASS


def ssh_verdicts(spec: ServiceSpec) -> dict[str, Verdict]:
    if spec.login == "none":  # banner-only: hangs up before its KEXINIT
        return dict.fromkeys(CHECKS, Verdict.ERROR)
    algorithms = spec.ssh_algorithms
    return {
        "ssh.kex": _weak(algorithms.kex, paramiko_default_weak=False),
        "ssh.hostkey": Verdict.FAIL if algorithms.hostkey_rsa_bits < 2048 else Verdict.PASS,
        "ssh.ciphers": _weak(algorithms.ciphers, paramiko_default_weak=True),
        "ssh.macs": _weak(algorithms.macs, paramiko_default_weak=True),
        "ssh.password-auth": Verdict.FAIL,  # the paramiko server always offers passwords
    }


def expected_ssh(
    p: Personality, ports: Mapping[tuple[str, int], int] | None = None
) -> dict[tuple[str, str], Verdict]:
    """{(service key, check ID): verdict} for every SSH service that is not a fault."""
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        if spec.protocol != "ssh" or spec.fault:
            continue
        key = service_key(spec, ports)
        for check, verdict in ssh_verdicts(spec).items():
            out[(key, check)] = verdict
    return out
