"""The probe registry: an explicit list, so a newcomer reads one tuple (ARCHITECTURE.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes.banners import LoginNotice, VersionDisclosure
from probes.default_credentials import (
    DefaultFtpLogin,
    DefaultHttpLogin,
    DefaultMqttLogin,
    DefaultRtspLogin,
    DefaultSnmpCommunity,
    DefaultSshLogin,
    DefaultTelnetLogin,
)
from probes.exposed_services import ExposedServices
from probes.lockout import AccountLockout
from probes.login_surface import LoginSurfaces
from probes.mqtt_session import MqttKeepAlive
from probes.session_expiry import SessionExpiry
from probes.ssh_config import SshConfig
from probes.tls_quality import TlsQuality
from probes.web_login import WebLoginHygiene
from probes.web_reflection import WebReflection
from probes.web_session import WebSessionChecks

if TYPE_CHECKING:
    from scanner.probe import Check, Probe

REGISTRY: tuple[type[Probe], ...] = (
    ExposedServices,
    LoginSurfaces,  # no checks: publishes LOGIN_SURFACES for the web login checks
    DefaultSshLogin,
    DefaultTelnetLogin,
    DefaultFtpLogin,
    DefaultHttpLogin,
    DefaultMqttLogin,
    DefaultSnmpCommunity,
    DefaultRtspLogin,
    WebLoginHygiene,
    SshConfig,
    WebSessionChecks,
    SessionExpiry,
    MqttKeepAlive,
    WebReflection,
    TlsQuality,
    VersionDisclosure,
    LoginNotice,
    AccountLockout,
)


def all_checks() -> dict[str, Check]:
    """Every registered check by ID."""
    return {c.id: c for probe in REGISTRY for c in probe.checks}
