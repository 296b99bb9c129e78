"""vsftpd from Debian that takes logins only over TLS (explicit FTPS, `AUTH TLS`).

Configured as Debian's vsftpd.conf suggests for a server that must not see passwords in
clear: local users, `ssl_enable=YES`, `force_local_logins_ssl=YES` (a self-signed
certificate made for the run). Over plain FTP, USER gets `530 Non-anonymous sessions must
use encryption.` whatever the name: no password is ever judged there. A scanner that reads
that 530 as "wrong password" would pass a device whose factory login works over FTPS;
the right reading is "not judged". Over TLS, a wrong password gets `530 Login incorrect.`
after a short delay; no lockout. PAM service: Debian's /etc/pam.d/vsftpd, unchanged. The
account is a system user created for the run (manager/manager, a default of many
managed switches and UPSes).
"""

from __future__ import annotations

import contextlib
import subprocess
from typing import TYPE_CHECKING

from tests.corpus.base import (
    Login,
    Program,
    Running,
    ServiceTruth,
    program_running,
    require,
    start,
    tcp_ready,
)
from tests.corpus.local_users import local_users
from tests.corpus.unprivileged import state_dir

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ADDRESS = "127.0.73.42"
PORT = 21
FACTORY = Login("manager", "manager")
_HINT = "apt-get install vsftpd openssl (.ci/install-daemons.sh)"

PROGRAM = Program(
    name="vsftpd-ftps",
    origin="debian:vsftpd=3.0.3-13+b2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="ftp",
            port=PORT,
            logins=(FACTORY,),
            login_surface="ftp USER/PASS over explicit TLS (AUTH TLS) only",
            note="in clear, USER gets '530 Non-anonymous sessions must use encryption.' "
            "(nothing judged); over TLS a wrong password gets '530 Login incorrect.'; "
            "no anonymous login; no lockout",
        ),
    ),
    description="vsftpd 3.0.3, ssl_enable, force_local_logins_ssl",
    system_accounts=True,
)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    vsftpd = require("/usr/sbin/vsftpd", _HINT)
    openssl = require("/usr/bin/openssl", _HINT)
    key, cert = workdir / "vsftpd.key", workdir / "vsftpd.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=netplc-ftps"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    empty = workdir / "empty"
    empty.mkdir(mode=0o755)
    cfg = workdir / "vsftpd.conf"
    cfg.write_text(
        "listen=YES\nlisten_ipv6=NO\n"
        f"listen_address={ADDRESS}\nlisten_port={PORT}\n"
        "anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=NO\n"
        "background=NO\n"
        f"secure_chroot_dir={empty}\n"
        # Containers often refuse vsftpd's seccomp filter; the sandbox is not under test.
        "seccomp_sandbox=NO\nxferlog_enable=NO\n"
        "ssl_enable=YES\nforce_local_logins_ssl=YES\nforce_local_data_ssl=YES\n"
        "require_ssl_reuse=NO\n"
        f"rsa_cert_file={cert}\nrsa_private_key_file={key}\n"
    )
    with (
        # vsftpd changes into the user's home at login: one they can enter (the work
        # directory is root's and private).
        state_dir("shinsa-corpus-vsftpd-") as ftp_root,
        local_users([FACTORY], home=ftp_root),
        program_running(PROGRAM) as run,
    ):
        (ftp_root / "README.TXT").write_text("NetPLC-200 configuration area\n")
        start(
            run,
            "vsftpd",
            [vsftpd, str(cfg)],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
