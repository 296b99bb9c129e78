"""shinsa's FTP, Telnet and SSH identification and login clients against every FTP, Telnet
and SSH server of the corpus (issue 10, item 4): each is named by the fingerprint, each planted
login is found, and every wrong login, including the published default of an account
whose password the operator changed, is a proven REJECTED (never an error, never a
false ACCEPTED).

The ground truth of the same programs is checked by standard clients in
test_ground_truth_devices.py; here only shinsa runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from probes._login import ftp, ssh, telnet
from probes._login.common import Pace
from scanner.credentials import Credential, Outcome
from scanner.facts import Facts
from scanner.fingerprint.services import fingerprint
from scanner.net import Limits, Network
from scanner.scope import Scope
from tests.corpus.programs import (
    agetty_late_prompt,
    busybox_telnetd_banner,
    cowrie,
    dropbear_noidle,
    inetutils_telnetd,
    pyftpdlib_vendor,
    sshd_faillock,
    twisted_manhole,
    vsftpd_ftps,
)

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

    from scanner.net import DeviceNetwork
    from tests.corpus.base import ServiceTruth

pytestmark = pytest.mark.corpus

SCOPE = Scope.of(["127.0.73.0/24"])
CLIENTS = {"ftp": ftp, "telnet": telnet, "ssh": ssh}


def _device(address: str) -> DeviceNetwork:
    return Network(SCOPE, Limits(connect_timeout=5.0, read_timeout=10.0)).device(address)


def _candidates(truth: ServiceTruth) -> tuple[list[Credential], list[Credential]]:
    """(wrong, right): published defaults the program does not accept, then its logins.

    The wrong ones include each planted username with a wrong password and each operator
    account with its name as password (operator/operator), so REJECTED must be proven on
    every account the program has.
    """
    right = [Credential(x.username, x.password, x.kind) for x in truth.logins]
    wrong: list[Credential] = []
    for login in truth.logins:
        guess = login.username if login.kind == "operator" else "1234-not-it"
        if guess != login.password:
            wrong.append(Credential(login.username, guess, "corpus wrong guess"))
    if all((c.username, c.password) != ("support", "support") for c in wrong):
        wrong.append(Credential("support", "support", "generic list"))
    # once each, as a list tries it: sshd-faillock locks an account at its third failure
    return wrong, right


@pytest.mark.parametrize(
    ("module", "protocol"),
    [
        (pyftpdlib_vendor, "ftp"),
        (cowrie, "telnet"),
        (twisted_manhole, "telnet"),
        (inetutils_telnetd, "telnet"),
        (busybox_telnetd_banner, "telnet"),
        (agetty_late_prompt, "telnet"),
        # dropbear started with an ed25519 key only still offers rsa-sha2-256 and dies
        # before the login when a client picks it: the client must prefer as OpenSSH does
        (dropbear_noidle, "ssh"),
        (cowrie, "ssh"),
        (sshd_faillock, "ssh"),
    ],
    ids=[
        "pyftpdlib-vendor",
        "cowrie",
        "twisted-manhole",
        "inetutils-telnetd",
        "busybox-telnetd-banner",
        "agetty-late-prompt",
        "dropbear-noidle",
        "cowrie-ssh",
        "sshd-faillock",
    ],
)
async def test_shinsa_names_the_service_and_finds_exactly_the_planted_logins(
    module: ModuleType, protocol: str, tmp_path: Path
) -> None:
    truth: ServiceTruth = next(s for s in module.PROGRAM.services if s.protocol == protocol)
    address: str = module.PROGRAM.address
    client = CLIENTS[protocol]
    wrong, right = _candidates(truth)
    with module.running(tmp_path):
        dev = _device(address)
        (service,) = await fingerprint(dev, [truth.port], [], Facts())
        assert service.protocol == protocol, service

        refused = await client.try_logins(dev, service, wrong, pace=Pace(timeout=10.0))
        assert [a.outcome for a in refused.attempts] == [Outcome.REJECTED] * len(wrong), [
            (a.credential.masked(), a.outcome, a.detail) for a in refused.attempts
        ]
        for credential in right:
            # Each planted login after a wrong guess on the same account, as a list tries it.
            guess = Credential(credential.username, "1234-not-it")
            run = await client.try_logins(
                dev, service, [guess, credential], pace=Pace(timeout=10.0)
            )
            outcomes = [a.outcome for a in run.attempts]
            assert outcomes == [Outcome.REJECTED, Outcome.ACCEPTED], [
                (a.credential.masked(), a.outcome, a.detail) for a in run.attempts
            ]
    _assert_secret_free(refused.attempts, wrong)


def _assert_secret_free(attempts: tuple[object, ...], credentials: list[Credential]) -> None:
    shown = " ".join(repr(a) for a in attempts)
    for credential in credentials:
        if len(credential.password) > 3 and credential.password != credential.username:
            assert credential.password not in shown


def _login_kinds(truth: ServiceTruth) -> set[str]:
    return {x.kind for x in truth.logins}


def test_every_ftp_and_telnet_program_plants_an_operator_login() -> None:
    """The false-positive probe (an operator's changed password) exists everywhere."""
    for module, protocol in (
        (pyftpdlib_vendor, "ftp"),
        (cowrie, "telnet"),
        (twisted_manhole, "telnet"),
        (inetutils_telnetd, "telnet"),
        (busybox_telnetd_banner, "telnet"),
        (agetty_late_prompt, "telnet"),
    ):
        truth = next(s for s in module.PROGRAM.services if s.protocol == protocol)
        assert _login_kinds(truth) == {"factory", "operator"}, module.PROGRAM.name


async def test_an_ftp_server_that_wants_tls_first_is_logged_in_over_auth_tls(
    tmp_path: Path,
) -> None:
    """vsftpd refuses every login in clear with 530 before any password (never a
    rejection: that would end in a false pass); the client then tries the list over
    AUTH TLS, where the wrong login is a proven 530 and the planted one gets 230."""
    truth = next(s for s in vsftpd_ftps.PROGRAM.services if s.protocol == "ftp")
    wrong = Credential(vsftpd_ftps.FACTORY.username, "1234-not-it")
    with vsftpd_ftps.running(tmp_path):
        dev = _device(vsftpd_ftps.ADDRESS)
        (service,) = await fingerprint(dev, [truth.port], [], Facts())
        assert service.protocol == "ftp"
        for login in truth.logins:
            right = Credential(login.username, login.password)
            run = await ftp.try_logins(dev, service, [wrong, right], pace=Pace(timeout=10.0))
            assert run.method == ftp.TLS_METHOD
            assert [a.outcome for a in run.attempts] == [Outcome.REJECTED, Outcome.ACCEPTED], [
                (a.credential.masked(), a.outcome, a.detail) for a in run.attempts
            ]
