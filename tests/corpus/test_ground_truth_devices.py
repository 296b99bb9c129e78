"""Ground truth of the device and daemon programs of the corpus, checked with the standard
clients: mosquitto_pub, ssh with sshpass, snmpget/snmpset, mbpoll, ftplib, and inetutils'
telnet driven by expect. Each planted login must work, each wrong one must be refused the way the
program's truth says, and what a program changed on the machine (system users, its PAM
service file) must be gone after it stops.

Nothing here runs shinsa: these tests say what is true, so that a scan can be compared
with it (tests/corpus/test_ftp_telnet_clients.py, bench/corpus/run.py).
"""

from __future__ import annotations

import ftplib
import os
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from scanner.credential_lists import BUILTIN, load_list
from tests.corpus.base import Login, ServiceTruth
from tests.corpus.programs import (
    agetty_late_prompt,
    busybox_telnetd_banner,
    cowrie,
    dropbear_noidle,
    inetutils_telnetd,
    mosquitto_anonymous,
    mosquitto_factory,
    pyftpdlib_vendor,
    pymodbus_plc,
    snmpd_factory,
    sshd_faillock,
    twisted_manhole,
    vsftpd_ftps,
)

DEVICE_PROGRAMS = (
    agetty_late_prompt,
    busybox_telnetd_banner,
    cowrie,
    dropbear_noidle,
    inetutils_telnetd,
    mosquitto_anonymous,
    mosquitto_factory,
    pymodbus_plc,
    pyftpdlib_vendor,
    snmpd_factory,
    sshd_faillock,
    twisted_manhole,
    vsftpd_ftps,
)

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

    from tests.corpus.base import Program

pytestmark = pytest.mark.corpus

WRONG = "wrong-Pw-7"
CLIENT_TIMEOUT = 30
SYSDESCR_OID = "1.3.6.1.2.1.1.1.0"
SYSCONTACT_OID = "1.3.6.1.2.1.1.4.0"


def _truth(program: Program, protocol: str) -> ServiceTruth:
    return next(s for s in program.services if s.protocol == protocol)


def _logins(program: Program, protocol: str, kind: str | None = None) -> list[Login]:
    return [x for x in _truth(program, protocol).logins if kind is None or x.kind == kind]


def _user_exists(name: str) -> bool:
    return subprocess.run(["getent", "passwd", name], capture_output=True).returncode == 0


def test_planted_factory_logins_are_in_shinsas_lists_and_operator_ones_are_not() -> None:
    """A planted factory login is a published default the built-in lists hold (or finding
    it would prove nothing); an operator's changed password is in none (finding it would
    be a false positive). Addresses are distinct and all in 127.0.73.0/24."""
    lists = [e for path in sorted(BUILTIN.parent.glob("*.yaml")) for e in load_list(path)]
    listed = {
        (protocol, c.username, c.password)
        for e in lists
        for protocol in e.protocols
        for c in e.pairs
    }
    addresses = [m.PROGRAM.address for m in DEVICE_PROGRAMS]
    assert len(set(addresses)) == len(addresses)
    assert all(a.startswith("127.0.73.") for a in addresses)
    for module in DEVICE_PROGRAMS:
        for truth in module.PROGRAM.services:
            for login in truth.logins:
                key = (truth.protocol, login.username, login.password)
                assert (key in listed) == (login.kind == "factory"), (module.PROGRAM.name, key[:2])


# --- MQTT ----------------------------------------------------------------------------------


def _mqtt_publish(address: str, login: Login | None) -> subprocess.CompletedProcess[str]:
    argv = ["mosquitto_pub", "-h", address, "-p", "1883", "-t", "corpus/probe", "-m", "x"]
    argv += ["-q", "1", "-i", f"corpus-{os.getpid()}"]
    if login is not None:
        argv += ["-u", login.username, "-P", login.password]
    return subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT)


def test_mosquitto_factory_accepts_its_logins_and_refuses_others(tmp_path: Path) -> None:
    program = mosquitto_factory.PROGRAM
    with mosquitto_factory.running(tmp_path):
        for login in _logins(program, "mqtt"):
            done = _mqtt_publish(program.address, login)
            assert done.returncode == 0, done.stderr
        for login in (Login("admin", WRONG), Login("operator", "operator")):
            done = _mqtt_publish(program.address, login)
            assert done.returncode != 0
            assert "not authorised" in done.stderr
        anonymous = _mqtt_publish(program.address, None)
        assert anonymous.returncode != 0
        assert "not authorised" in anonymous.stderr
    assert _truth(program, "mqtt").authenticates


def test_mosquitto_anonymous_accepts_any_login_or_none(tmp_path: Path) -> None:
    program = mosquitto_anonymous.PROGRAM
    with mosquitto_anonymous.running(tmp_path):
        for login in (None, Login("admin", WRONG), Login("nobody-here", "x")):
            done = _mqtt_publish(program.address, login)
            assert done.returncode == 0, done.stderr
    truth = _truth(program, "mqtt")
    assert not truth.authenticates
    assert truth.lockout_threshold is None


# --- SSH -----------------------------------------------------------------------------------


def _ssh(
    address: str, login: Login, command: str = "echo corpus-ok"
) -> subprocess.CompletedProcess[str]:
    """One password login with OpenSSH's client (sshpass types the password)."""
    argv = [
        *("sshpass", "-e", "ssh", "-T"),
        *("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"),
        *("-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"),
        *("-o", "PreferredAuthentications=password,keyboard-interactive"),
        *("-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"),
        f"{login.username}@{address}",
        command,
    ]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        env={**os.environ, "SSHPASS": login.password},
    )


def _ssh_ok(address: str, login: Login) -> bool:
    done = _ssh(address, login)
    return done.returncode == 0 and "corpus-ok" in done.stdout


def _ssh_refused(address: str, login: Login) -> bool:
    # sshpass exits 5 on a refused password; ssh itself says "Permission denied".
    done = _ssh(address, login)
    return done.returncode != 0 and (done.returncode == 5 or "Permission denied" in done.stderr)


def test_dropbear_noidle_logins_and_an_idle_session_that_stays(tmp_path: Path) -> None:
    program = dropbear_noidle.PROGRAM
    with dropbear_noidle.running(tmp_path):
        for login in _logins(program, "ssh"):
            assert _ssh_ok(program.address, login), login.username
        assert _ssh_refused(program.address, Login("operator", WRONG))
        assert _ssh_refused(program.address, Login("guest", "guest"))
        # Quiet for 8 s inside one session (no keepalives either side): still there.
        done = _ssh(program.address, dropbear_noidle.FACTORY, "sleep 8; echo still-here")
        assert done.returncode == 0, done.stderr
        assert "still-here" in done.stdout
    for login in _logins(program, "ssh"):
        assert not _user_exists(login.username)


@pytest.mark.slow
def test_sshd_faillock_locks_after_three_failures_then_unlocks(tmp_path: Path) -> None:
    program = sshd_faillock.PROGRAM
    truth = _truth(program, "ssh")
    assert truth.lockout_threshold == 3
    assert truth.lockout_seconds == 30
    factory, operator = sshd_faillock.FACTORY, sshd_faillock.OPERATOR
    with sshd_faillock.running(tmp_path):
        assert sshd_faillock.PAM_FILE.is_file()
        assert _ssh_ok(program.address, factory)
        assert _ssh_ok(program.address, operator)
        assert _ssh_refused(program.address, Login("support", "support"))
        # A success resets the count: two failures, then the right password still works.
        for _ in range(2):
            assert _ssh_refused(program.address, Login(factory.username, WRONG))
        assert _ssh_ok(program.address, factory)
        # Three in a row lock the account: the right password is refused too...
        for _ in range(truth.lockout_threshold):
            assert _ssh_refused(program.address, Login(factory.username, WRONG))
        locked_at = time.monotonic()
        assert _ssh_refused(program.address, factory)
        assert "locked" in _faillock_state(tmp_path, factory.username)
        # ...while another account is not affected...
        assert _ssh_ok(program.address, operator)
        # ...until unlock_time has passed.
        time.sleep(max(0.0, locked_at + truth.lockout_seconds + 2 - time.monotonic()))
        assert _ssh_ok(program.address, factory)
    assert not sshd_faillock.PAM_FILE.exists()
    assert not _user_exists(factory.username)
    assert not _user_exists(operator.username)


def _faillock_state(workdir: Path, user: str) -> str:
    """`faillock --user` on the program's tally, with "locked" when pam_faillock would
    refuse now (deny failures within the interval)."""
    done = subprocess.run(
        ["faillock", "--dir", str(workdir / "faillock"), "--user", user],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
    )
    failures = [line for line in done.stdout.splitlines() if " V" in line or " I" in line]
    return "locked" if len(failures) >= sshd_faillock.DENY else "open"


def test_cowrie_ssh_logins(tmp_path: Path) -> None:
    program = cowrie.PROGRAM
    with cowrie.running(tmp_path):
        for login in _logins(program, "ssh"):
            assert _ssh_ok(program.address, login), login.username
        assert _ssh_refused(program.address, Login("root", WRONG))
        assert _ssh_refused(program.address, Login("operator", "operator"))


# --- SNMP ----------------------------------------------------------------------------------


def _snmp(tool: str, address: str, community: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "-v2c", "-c", community, "-t", "1", "-r", "0", address, *args],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
    )


def test_snmpd_factory_communities(tmp_path: Path) -> None:
    program = snmpd_factory.PROGRAM
    with snmpd_factory.running(tmp_path):
        for login in _logins(program, "snmp"):
            done = _snmp("snmpget", program.address, login.password, SYSDESCR_OID)
            assert done.returncode == 0, done.stderr
            assert snmpd_factory.SYSDESCR in done.stdout
        wrong = _snmp("snmpget", program.address, WRONG, SYSDESCR_OID)
        assert wrong.returncode != 0
        assert "Timeout" in wrong.stderr
        # private writes, public does not.
        rw = _snmp("snmpset", program.address, "private", SYSCONTACT_OID, "s", "corpus")
        assert rw.returncode == 0, rw.stderr
        ro = _snmp("snmpset", program.address, "public", SYSCONTACT_OID, "s", "corpus")
        assert ro.returncode != 0
        assert "noAccess" in ro.stderr


# --- Modbus ------------------------------------------------------------------------------


def test_pymodbus_plc_registers_are_readable_by_anyone(tmp_path: Path) -> None:
    program = pymodbus_plc.PROGRAM
    with pymodbus_plc.running(tmp_path):
        done = subprocess.run(
            [
                *("mbpoll", "-m", "tcp", "-a", str(pymodbus_plc.UNIT), "-r", "1"),
                *("-c", str(len(pymodbus_plc.HOLDING)), "-t", "4", "-1", program.address),
            ],
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
        )
    assert done.returncode == 0, done.stderr
    values = [int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("[")]
    assert values == pymodbus_plc.HOLDING
    assert not _truth(program, "modbus").authenticates


# --- FTP -----------------------------------------------------------------------------------


def test_pyftpdlib_vendor_greeting_and_logins(tmp_path: Path) -> None:
    program = pyftpdlib_vendor.PROGRAM
    with pyftpdlib_vendor.running(tmp_path):
        with ftplib.FTP(program.address, timeout=CLIENT_TIMEOUT) as client:  # noqa: S321
            welcome = client.getwelcome()
            lines = welcome.split("\n")
            assert lines[0].startswith("220-NetPLC-200")
            assert "200 Ready for login" in lines
            assert client.login(*_pair(pyftpdlib_vendor.FACTORY)).startswith("230")
            assert "README.TXT" in client.nlst()
        for login in _logins(program, "ftp", "operator"):
            with ftplib.FTP(program.address, timeout=CLIENT_TIMEOUT) as client:  # noqa: S321
                assert client.login(*_pair(login)).startswith("230")
        for wrong in (Login("admin", WRONG), Login("anonymous", "corpus@example.invalid")):
            with (
                ftplib.FTP(program.address, timeout=CLIENT_TIMEOUT) as client,  # noqa: S321
                pytest.raises(ftplib.error_perm, match=r"^530"),
            ):
                client.login(*_pair(wrong))


def test_vsftpd_ftps_logs_in_over_tls_only(tmp_path: Path) -> None:
    program = vsftpd_ftps.PROGRAM
    with vsftpd_ftps.running(tmp_path):
        # Over TLS: the planted login works, a wrong password is refused.
        with ftplib.FTP_TLS(program.address, timeout=CLIENT_TIMEOUT) as client:  # noqa: S321
            client.auth()
            assert client.login(*_pair(vsftpd_ftps.FACTORY)).startswith("230")
            client.prot_p()
            assert "README.TXT" in client.nlst()
        with ftplib.FTP_TLS(program.address, timeout=CLIENT_TIMEOUT) as client:  # noqa: S321
            client.auth()
            with pytest.raises(ftplib.error_perm, match=r"^530 Login incorrect"):
                client.login(vsftpd_ftps.FACTORY.username, WRONG)
        # In clear, even the right login is refused before any password is asked.
        with (
            ftplib.FTP(program.address, timeout=CLIENT_TIMEOUT) as client,  # noqa: S321
            pytest.raises(ftplib.error_perm, match=r"^530 Non-anonymous sessions must use"),
        ):
            client.login(*_pair(vsftpd_ftps.FACTORY))
    assert not _user_exists(vsftpd_ftps.FACTORY.username)


def _pair(login: Login) -> tuple[str, str]:
    return login.username, login.password


# --- Telnet --------------------------------------------------------------------------------

#: inetutils' telnet driven by expect: 0 logged in, 1 refused, 3 timeout, 4 closed. The
#: login goes in through the environment, so it is never on a command line. No `(?i)`:
#: expect's glob pre-filter ("gate keeper") ignores it and never lets `Password:` match.
EXPECT_LOGIN = r"""
set timeout 20
log_user 0
spawn telnet $env(T_ADDRESS) $env(T_PORT)
expect {
    -re {([Ll]ogin|[Uu]sername|[Uu]ser [Nn]ame|[Uu]ser): ?$} {}
    timeout {exit 3}
    eof {exit 4}
}
send -- "$env(T_USER)\r"
expect {
    -re {[Pp]assword: ?$} {}
    timeout {exit 3}
    eof {exit 4}
}
send -- "$env(T_PASSWORD)\r"
expect {
    -re $env(T_ACCEPTED) {exit 0}
    -re {[Ll]ogin incorrect|[Aa]uthentication failed} {exit 1}
    timeout {exit 3}
    eof {exit 4}
}
"""


def _telnet(address: str, login: Login, accepted: str) -> int:
    done = subprocess.run(
        ["expect", "-c", EXPECT_LOGIN],
        capture_output=True,
        timeout=60,
        env={
            **os.environ,
            "T_ADDRESS": address,
            "T_PORT": "23",
            "T_USER": login.username,
            "T_PASSWORD": login.password,
            "T_ACCEPTED": accepted,
        },
    )
    return done.returncode


@pytest.mark.parametrize(
    ("module", "accepted"),
    [
        (cowrie, r"@ipcam:~[#$] $"),
        (twisted_manhole, r">>> "),
        (inetutils_telnetd, r"\$ $"),
        (busybox_telnetd_banner, r"\$ $"),
        (agetty_late_prompt, r"\$ $"),
    ],
    ids=[
        "cowrie",
        "twisted-manhole",
        "inetutils-telnetd",
        "busybox-telnetd-banner",
        "agetty-late-prompt",
    ],
)
def test_telnet_logins_with_the_telnet_client(
    module: ModuleType, accepted: str, tmp_path: Path
) -> None:
    program: Program = module.PROGRAM
    with module.running(tmp_path):
        for login in _logins(program, "telnet"):
            assert _telnet(program.address, login, accepted) == 0, login.username
        for user in {x.username for x in _logins(program, "telnet")}:
            assert _telnet(program.address, Login(user, WRONG), accepted) == 1, user
    for login in _logins(program, "telnet"):
        if module in (inetutils_telnetd, busybox_telnetd_banner, agetty_late_prompt):
            assert not _user_exists(login.username)
