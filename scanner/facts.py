"""A typed blackboard per device: what is known so far, for probes that `need` it.

Every fact key is declared here, so "what can probes know?" has one answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.credentials import FoundCredential
    from scanner.model import Service

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FactKey(Generic[T]):
    name: str


@dataclass(frozen=True, slots=True)
class LoginForm:
    """An HTML form with a password input, as fingerprinting found it."""

    service: Service
    page_url: str  # the page that holds the form
    action_url: str  # absolute URL the form posts to
    method: str  # "GET" or "POST", upper case
    username_field: str  # "" when the form has no text input before the password
    password_field: str
    hidden_fields: tuple[tuple[str, str], ...] = ()  # CSRF-style tokens and other hidden inputs


@dataclass(frozen=True, slots=True)
class HttpPage:
    """What `GET /` answered on one HTTP(S) service."""

    service: Service
    url: str
    status: int
    server: str = ""  # Server header, bounded
    title: str = ""  # <title>, bounded
    auth_scheme: str = ""  # "Basic", "Digest", ... from WWW-Authenticate
    auth_realm: str = ""
    location: str = ""  # Location header on a redirect
    hsts: str = ""  # Strict-Transport-Security header, bounded
    #: the whole body was read and has no <script>, <iframe> or <frame>: no login can hide
    #: behind a script here (False when unknown: truncated, undecodable, not read)
    without_scripts: bool = False
    #: why the body read is not the whole page ("" when it is): cut at the byte bound (a
    #: decompression bomb), a corrupt or undecodable Content-Encoding, a redirect to a
    #: malformed location. A form may be missing.
    incomplete: str = ""


@dataclass(frozen=True, slots=True)
class MqttInfo:
    """How an MQTT broker answered a CONNECT without credentials."""

    service: Service
    return_code: int  # CONNACK return code (3.1.1) or reason code (5.0)
    accepted_anonymous: bool


@dataclass(frozen=True, slots=True)
class UdpAnswer:
    """A UDP service that answered a protocol payload (SNMP, SSDP, mDNS, CoAP)."""

    service: Service
    request: str  # what was sent, described
    response_summary: str  # bounded
    snmp_community: str = ""  # the community string that got an answer, for SNMP v1/v2c


@dataclass(frozen=True, slots=True)
class LoginSurface:
    """How a web application sends a login, recorded when one random control login was
    submitted through its own page (headless Chromium) or read from its scripts.

    The default-credentials, login-transport, session, lockout and expiry checks replay
    this request shape with httpx; they never guess an endpoint.
    """

    service: Service
    page_url: str  # the page that shows the password field
    url: str  # absolute URL of the request that carried the password
    method: str  # "POST", upper case
    #: "application/json", "application/x-www-form-urlencoded", "multipart/form-data", or ""
    #: when the credentials travel in an Authorization header (`auth_header`)
    content_type: str
    username_field: str  # "" when the app asks for a password only; dotted for nested JSON
    password_field: str  # "" when the credentials travel in an Authorization header
    #: fixed fields sent with every login: client_id, grant_type, scope, hidden CSRF inputs
    extra_fields: tuple[tuple[str, str], ...] = ()
    #: headers the app adds that a replay needs (X-CSRF-Token, X-Requested-With, ...)
    headers: tuple[tuple[str, str], ...] = ()
    auth_header: str = ""  # "Basic" when the script sends user:password in Authorization
    failure_status: int = 0  # the status the control login got
    failure_shape: str = ""  # bounded description of the control's answer
    source: str = "chromium"  # "chromium" or "scripts"


@dataclass(frozen=True, slots=True)
class IdentitySignal:
    """Something the device says about what it is, beyond banners and titles (favicon
    hash, script names, UPnP description, certificate names, sysObjectID, industrial
    identity): collected by `scanner/fingerprint/identity.py`, read by
    `credential_lists.device_text`."""

    service: Service
    kind: str  # a credential-list match key: "favicon", "scripts", "upnp", "tls", "vendor"...
    text: str  # bounded


@dataclass(frozen=True, slots=True)
class LinkIdentity:
    """The device's MAC address on the scanner's own link and the vendor the IEEE registry
    names for its prefix ("" when none): published by `scanner/fingerprint/link_identity.py`,
    read by `credential_lists.device_text` as one more vendor the device states."""

    mac: str  # "aa:bb:cc:dd:ee:ff"
    vendor: str


SERVICES: FactKey[tuple[Service, ...]] = FactKey("device.services")  # all, once fingerprinted


def on_service(url: str, service: Service) -> bool:
    """Whether `url` is served by `service` itself (same scheme and port), not by another
    service of the device that a redirect led to."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    secure = service.tls or service.protocol == "https"
    return parts.scheme == ("https" if secure else "http") and port == service.port


HTTP_PAGES: FactKey[tuple[HttpPage, ...]] = FactKey("http.pages")
LOGIN_FORMS: FactKey[tuple[LoginForm, ...]] = FactKey("http.login_forms")
LOGIN_SURFACES: FactKey[tuple[LoginSurface, ...]] = FactKey("http.login_surfaces")
MQTT_INFO: FactKey[tuple[MqttInfo, ...]] = FactKey("mqtt.info")
UDP_ANSWERS: FactKey[tuple[UdpAnswer, ...]] = FactKey("udp.answers")
IDENTITY: FactKey[tuple[IdentitySignal, ...]] = FactKey("device.identity")
LINK: FactKey[LinkIdentity] = FactKey("device.link")
# Logins a device accepted (masked wherever shown); published by the default-credentials probes.
VALID_CREDENTIALS: FactKey[tuple[FoundCredential, ...]] = FactKey("auth.valid_credentials")


@dataclass(slots=True)
class Facts:
    """What is known about one device so far: written by fingerprinting and by probes that
    `provide`, read by probes that `need`. Each device has its own."""

    _values: dict[str, object] = field(default_factory=dict)

    def put(self, key: FactKey[T], value: T) -> None:
        self._values[key.name] = value

    def get(self, key: FactKey[T]) -> T | None:
        return cast("T | None", self._values.get(key.name))

    def add(self, key: FactKey[tuple[T, ...]], *values: T) -> None:
        """Append to a tuple-valued fact (several probes may publish to one key)."""
        self._values[key.name] = (*(self.get(key) or ()), *values)

    def has_all(self, keys: Iterable[FactKey[Any]]) -> bool:
        return all(k.name in self._values for k in keys)
