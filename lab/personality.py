"""Device personalities: the YAML a lab device is built from, parsed into frozen data.

The schema is written down in lab/README.md. Parsing is strict (unknown keys are errors)
because a misspelt option would otherwise silently give a device the wrong behaviour and
every test derived from it the wrong expectation.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

import yaml

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from scanner.model import Transport

Login: TypeAlias = Literal["form", "basic", "digest", "json", "always-200", "password", "none"]
FormSuccess: TypeAlias = Literal["welcome", "redirect"]
MqttRefusal: TypeAlias = Literal["not-authorized", "bad-credentials"]
LockScope: TypeAlias = Literal["account", "source"]

#: `login:` values per protocol, the first being the default.
LOGINS: Mapping[str, tuple[str, ...]] = {
    "http": ("none", "form", "basic", "digest", "json", "always-200"),
    "https": ("none", "form", "basic", "digest", "json", "always-200"),
    "rtsp": ("basic", "digest", "none"),
    "ssh": ("none", "password"),
}

UDP_PROTOCOLS = frozenset({"snmp", "ssdp", "mdns", "coap", "tftp", "ntp", "bacnet"})
TCP_PROTOCOLS = frozenset(
    {
        "telnet",
        "http",
        "https",
        "ftp",
        "rtsp",
        "mqtt",
        "mqtts",
        "ssh",
        "modbus",
        "s7",
        "adb",
        "jetdirect",
    }
)
FAULTS = frozenset(
    {"hang-after-banner", "reset-mid-response", "garbage-banner", "huge-banner", "silent"}
)

_COMMON_KEYS = frozenset({"port", "protocol", "transport", "fault"})
#: Web interface behaviour after a login (session hygiene, access control, reflection).
_WEB_SESSION_KEYS = frozenset(
    {"cookie", "fixation", "logout", "admin", "search", "session_in_url", "notice"}
)
#: Session expiry (lab/README.md): web form/json sessions, and idle shells.
_WEB_EXPIRY_KEYS = frozenset({"idle_timeout", "absolute_timeout", "max_sessions"})
WEB_LOGOUTS = ("invalidates", "ignores", "none")
WEB_ADMINS = ("protected", "open")
WEB_SEARCHES = ("none", "escaped", "reflected")
#: Hostile firmware (fault-gzip-firmware): every answer gzip-encoded, a 404 page echoing its path.
WEB_ENCODINGS = ("identity", "gzip")
WEB_NOT_FOUNDS = ("plain", "reflected")
# Which options each protocol reads; anything else on a service is a typo.
_OPTION_KEYS: Mapping[str, frozenset[str]] = {
    "telnet": frozenset({"banner", "idle_timeout"}),
    "http": frozenset(
        {
            "server",
            "title",
            "login",
            "form_success",
            "redirect_to",
            "form_action",
            "encoding",
            "not_found",
            "location",
            "trickle",
            *_WEB_SESSION_KEYS,
            *_WEB_EXPIRY_KEYS,
        }
    ),
    "https": frozenset(
        {
            "server",
            "title",
            "login",
            "form_success",
            "hsts",
            "form_action",
            "tls",
            *_WEB_SESSION_KEYS,
            *_WEB_EXPIRY_KEYS,
        }
    ),
    "ftp": frozenset({"banner", "anonymous"}),
    "rtsp": frozenset({"server", "login"}),
    "mqtt": frozenset({"anonymous", "refusal", "keepalive_enforced", "connack"}),
    "mqtts": frozenset({"anonymous", "refusal", "tls", "keepalive_enforced"}),
    "ssh": frozenset(
        {"banner", "login", "max_auth_tries", "ssh_algorithms", "notice", "idle_timeout"}
    ),
    "modbus": frozenset(),
    "s7": frozenset(),
    "adb": frozenset(),
    "jetdirect": frozenset({"server"}),
    "snmp": frozenset({"communities", "sys_descr"}),
    "ssdp": frozenset({"server"}),
    "mdns": frozenset(),
    "coap": frozenset(),
    "tftp": frozenset(),
    "ntp": frozenset(),
    "bacnet": frozenset({"instance"}),
}
#: BACnet object instances are 22 bits; ANSI/ASHRAE 135 reserves 4194303 as the wildcard.
_MAX_BACNET_INSTANCE = 4_194_302
_TOP_KEYS = frozenset(
    {"name", "title", "vendor", "services", "accounts", "auth", "accept_any_login", "echo_secrets"}
)
_AUTH_KEYS = frozenset({"lockout", "throttle", "delay"})
_DELAY_KEYS = frozenset({"after", "seconds", "factor", "max"})
_LOCKOUT_KEYS = frozenset({"after", "seconds", "scope"})
_THROTTLE_KEYS = frozenset({"after", "retry_after", "window"})
_SSH_ALGORITHM_KEYS = frozenset({"kex", "ciphers", "macs", "hostkey_rsa_bits"})
_ACCOUNT_KEYS = frozenset({"username", "password", "factory_default"})
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\Z")


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    password: str
    factory_default: bool = False


@dataclass(frozen=True, slots=True)
class SshAlgorithms:
    """What a paramiko SSH service offers; an empty list keeps paramiko's defaults."""

    kex: tuple[str, ...] = ()
    ciphers: tuple[str, ...] = ()
    macs: tuple[str, ...] = ()
    hostkey_rsa_bits: int = 2048  # the RSA host key's size (the lab's shared key at 2048)


#: `tls:` of an https/mqtts service (lab/README.md); SSL 3.0 is absent: this OpenSSL has none.
TLS_VERSIONS = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_TLS_KEYS = frozenset({"versions", "ciphers", "cert"})
_CERT_KEYS = frozenset(
    {"validity", "expires_in_days", "issuer", "key", "signature", "names", "address"}
)


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """How a TLS service's server context and certificate are made (lab/servers/tls.py)."""

    versions: tuple[str, ...] = ("TLSv1.2", "TLSv1.3")  # a contiguous range of TLS_VERSIONS
    ciphers: str = ""  # OpenSSL cipher string for TLS 1.0-1.2; "" = OpenSSL's DEFAULT
    validity: str = "ok"  # ok | expired | not_yet_valid
    expires_in_days: int = 365  # validity ok: days from now to notAfter
    issuer: str = "self"  # self | lab-ca
    key: str = "ec-256"  # ec-256 | rsa-1024 | rsa-2048
    signature: str = "sha256"  # sha256 | sha1
    names: tuple[str, ...] = ()  # DNS names in the subjectAltName
    address: bool = True  # the device's address as an iPAddress subjectAltName


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service of a personality; options a protocol does not read keep their defaults."""

    port: int
    protocol: str
    transport: Transport = "tcp"
    fault: str | None = None  # set: the protocol is only a label, the bytes are the fault's
    banner: str = ""  # telnet greeting, FTP 220 line, SSH ident line
    server: str = ""  # HTTP/RTSP Server header, SSDP SERVER
    title: str = ""  # HTTP page title and Basic realm
    login: Login = "none"  # HTTP/RTSP/SSH login style (see LOGINS)
    form_success: FormSuccess = "welcome"  # HTTP form login: 200 welcome page or 302 /home
    refusal: MqttRefusal = "not-authorized"  # MQTT answer to a wrong username/password
    max_auth_tries: int = 6  # SSH: failed attempts per connection before the disconnect
    anonymous: bool = False  # FTP/MQTT accept a login without valid credentials
    communities: tuple[str, ...] = ()  # SNMP communities answered
    sys_descr: str = ""  # SNMP sysDescr.0
    instance: int = 1  # BACnet device object instance, answered in I-Am
    ssh_algorithms: SshAlgorithms = SshAlgorithms()  # SSH (login: password): offered algorithms
    hsts: str = ""  # HTTPS: the Strict-Transport-Security header sent, "" for none
    redirect_to: int = 0  # HTTP: every request answers 301 to https on this port; 0 = no
    form_action: str = ""  # login form action ("" = /login); "http" = plain-HTTP URL on :80
    cookie: str = "HttpOnly"  # HTTP form login: attributes of the session cookie after Path=/
    fixation: bool = False  # HTTP form login: the pre-login session ID is kept at login
    logout: str = "invalidates"  # HTTP form login: /logout ends the session, "ignores" it, "none"
    admin: str = "protected"  # HTTP form login: /admin needs the session, or is "open" to all
    search: str = "none"  # HTTP: a /search?q= page that reflects q "escaped" or "reflected" raw
    encoding: str = "identity"  # HTTP: "gzip" sends every answer with Content-Encoding: gzip
    not_found: str = "plain"  # HTTP: "reflected" puts the missing path raw in the 404 page
    location: str = ""  # HTTP: set, every answer is a 302 to exactly this Location
    trickle: float = 0.0  # HTTP: set, every answer's head is one byte per this many s, endless
    connack: str = "ok"  # MQTT: "malformed" answers every CONNECT with a broken CONNACK
    session_in_url: bool = False  # HTTP form login: the landing URL carries ?sid=<session>
    notice: str = ""  # HTTP login page / SSH auth banner: a system-use notification
    tls: TlsOptions = TlsOptions()  # HTTPS/MQTTS: versions, suites and certificate served
    idle_timeout: float = 0.0  # web session / SSH or telnet shell ends after this idle; 0 never
    absolute_timeout: float = 0.0  # web session ends this long after its login; 0 never
    max_sessions: int = 0  # web: logged-in sessions kept; a new login ends the oldest; 0 any
    keepalive_enforced: bool = False  # MQTT: close a client silent for 1.5 × its keep-alive


@dataclass(frozen=True, slots=True)
class Lockout:
    """`after` failures in a row lock the account (or the source address) for `seconds`."""

    after: int
    seconds: float
    scope: LockScope = "account"


@dataclass(frozen=True, slots=True)
class Throttle:
    """`after` failures from one source within `window` s refuse it for `retry_after` s."""

    after: int
    retry_after: int
    window: float = 10.0


@dataclass(frozen=True, slots=True)
class Delay:
    """Progressive delay: from the `after`-th failure in a row from one source, each failed
    login is answered `seconds` later, times `factor` per further failure, at most `max`."""

    after: int
    seconds: float
    factor: float = 2.0
    max: float = 8.0

    def for_streak(self, streak: int) -> float:
        if streak < self.after:
            return 0.0
        return float(min(self.max, self.seconds * self.factor ** (streak - self.after)))


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """Device-wide: every protocol of a device shares one set of failure counters."""

    lockout: Lockout | None = None
    throttle: Throttle | None = None
    delay: Delay | None = None


@dataclass(frozen=True, slots=True)
class Personality:
    name: str
    title: str
    vendor: str
    services: tuple[ServiceSpec, ...]
    accounts: tuple[Account, ...] = ()
    auth: AuthPolicy = AuthPolicy()
    #: Hostile firmware (fault-accept-anything): every login succeeds, whatever it is.
    accept_any_login: bool = False
    #: Hostile firmware (fault-secret-echo): the password of a login (web form, Telnet, FTP)
    #: and the SNMP community asked with are repeated back in redirects, cookies, pages,
    #: banners and sysDescr (lab/servers/echo.py).
    echo_secrets: bool = False

    def check_login(self, username: str, password: str) -> bool:
        if self.accept_any_login:
            return True
        return any(a.username == username and a.password == password for a in self.accounts)


def parse(data: object, source: str) -> Personality:
    """A personality from already-loaded YAML data; `source` names it in error messages."""
    top = _mapping(data, source, "")
    _no_unknown_keys(top, _TOP_KEYS, source, "")
    name = _string(top, "name", source, "", required=True)
    if not _NAME.match(name):
        raise ValueError(f"{source}: name: must be lowercase letters, digits and '-', got {name!r}")
    title = _string(top, "title", source, "", default=name)
    vendor = _string(top, "vendor", source, "", default="")
    raw_services = top.get("services")
    if not isinstance(raw_services, list) or not raw_services:
        raise ValueError(f"{source}: services: must be a non-empty list")
    services = tuple(
        _service(raw, title, source, f"services[{i}]") for i, raw in enumerate(raw_services)
    )
    seen: set[tuple[str, int]] = set()
    for i, spec in enumerate(services):
        key = (spec.transport, spec.port)
        if key in seen:
            raise ValueError(f"{source}: services[{i}]: {spec.transport}/{spec.port} is used twice")
        seen.add(key)
    raw_accounts = top.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise ValueError(f"{source}: accounts: must be a list")
    accounts = tuple(_account(raw, source, f"accounts[{i}]") for i, raw in enumerate(raw_accounts))
    auth = _auth_policy(top.get("auth"), source)
    return Personality(
        name=name,
        title=title,
        vendor=vendor,
        services=services,
        accounts=accounts,
        auth=auth,
        accept_any_login=_boolean(top, "accept_any_login", source, ""),
        echo_secrets=_boolean(top, "echo_secrets", source, ""),
    )


def load_file(path: Path | str) -> Personality:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    return parse(data, str(path))


#: Hostile devices for regression tests only (tests/integration/test_lab_fault_devices.py):
#: kept out of builtin_names(), so `shinsa demo`, `python -m lab up` and the oracle sweeps
#: scan the same set as before (the demo's time is benchmarked against older revisions).
HOSTILE = frozenset(
    {
        "fault-gzip-firmware",
        "fault-malformed-location",
        "fault-ssh-ff-ident",
        "fault-accept-anything",
        "fault-malformed-connack",
        "fault-trickler",
        "fault-secret-echo",
    }
)


def _shipped_names() -> tuple[str, ...]:
    folder = resources.files("lab") / "personalities"
    return tuple(
        sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
    )


def builtin_names() -> tuple[str, ...]:
    """Names of the demo personalities shipped in lab/personalities, sorted (not HOSTILE)."""
    return tuple(n for n in _shipped_names() if n not in HOSTILE)


def load_builtin(name: str) -> Personality:
    """A shipped personality by name, HOSTILE ones included."""
    if name not in _shipped_names():
        raise ValueError(f"no built-in personality {name!r}; known: {', '.join(_shipped_names())}")
    resource = resources.files("lab") / "personalities" / f"{name}.yaml"
    source = f"lab/personalities/{name}.yaml"
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML: {exc}") from exc
    personality = parse(data, source)
    if personality.name != name:
        raise ValueError(f"{source}: name: {personality.name!r} differs from the file name")
    return personality


def load_builtins(names: Sequence[str] | None = None) -> tuple[Personality, ...]:
    return tuple(load_builtin(n) for n in (builtin_names() if names is None else names))


def _service(raw: object, title: str, source: str, where: str) -> ServiceSpec:
    entry = _mapping(raw, source, where)
    protocol = _string(entry, "protocol", source, where, required=True)
    if protocol not in _OPTION_KEYS:
        raise ValueError(
            f"{source}: {where}.protocol: unknown protocol {protocol!r}; "
            f"known: {', '.join(sorted(_OPTION_KEYS))}"
        )
    _no_unknown_keys(entry, _COMMON_KEYS | _OPTION_KEYS[protocol], source, where)
    port = entry.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValueError(f"{source}: {where}.port: must be an integer 1-65535, got {port!r}")
    if port == 2024:
        # 2024 belongs to the machine the lab runs on; a device there would collide with it.
        raise ValueError(f"{source}: {where}.port: 2024 is reserved and may not be used")
    natural: Transport = "udp" if protocol in UDP_PROTOCOLS else "tcp"
    transport = _string(entry, "transport", source, where, default=natural)
    if transport != natural:
        raise ValueError(
            f"{source}: {where}.transport: {protocol} runs over {natural}, got {transport!r}"
        )
    fault: str | None = None
    if "fault" in entry:
        fault = _string(entry, "fault", source, where, required=True)
        if fault not in FAULTS:
            raise ValueError(
                f"{source}: {where}.fault: unknown fault {fault!r}; "
                f"known: {', '.join(sorted(FAULTS))}"
            )
        if natural != "tcp":
            raise ValueError(f"{source}: {where}.fault: faults exist for tcp services only")
    logins = LOGINS.get(protocol, ("none",))
    login = _string(entry, "login", source, where, default=logins[0])
    if login not in logins:
        raise ValueError(
            f"{source}: {where}.login: must be one of {', '.join(logins)} for {protocol}, "
            f"got {login!r}"
        )
    form_success = _string(entry, "form_success", source, where, default="welcome")
    if form_success not in ("welcome", "redirect"):
        raise ValueError(
            f"{source}: {where}.form_success: must be welcome or redirect, got {form_success!r}"
        )
    refusal = _string(entry, "refusal", source, where, default="not-authorized")
    if refusal not in ("not-authorized", "bad-credentials"):
        raise ValueError(
            f"{source}: {where}.refusal: must be not-authorized or bad-credentials, got {refusal!r}"
        )
    max_auth_tries = _integer(entry, "max_auth_tries", source, where, default=6, low=1, high=100)
    anonymous = entry.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise ValueError(f"{source}: {where}.anonymous: must be true or false, got {anonymous!r}")
    communities = entry.get("communities", ["public"])
    if not isinstance(communities, list) or not all(isinstance(c, str) for c in communities):
        raise ValueError(f"{source}: {where}.communities: must be a list of strings")
    instance = entry.get("instance", 1)
    if (
        not isinstance(instance, int)
        or isinstance(instance, bool)
        or not 0 <= instance <= _MAX_BACNET_INSTANCE
    ):
        raise ValueError(
            f"{source}: {where}.instance: must be an integer 0-{_MAX_BACNET_INSTANCE}, "
            f"got {instance!r}"
        )
    banner = _string(entry, "banner", source, where, default=_default_banner(protocol, title))
    if protocol == "ssh" and not banner.startswith("SSH-"):
        raise ValueError(f"{source}: {where}.banner: an SSH ident must start with 'SSH-'")
    ssh_algorithms = _ssh_algorithms(entry.get("ssh_algorithms"), login, source, where)
    return ServiceSpec(
        port=port,
        protocol=protocol,
        transport=natural,
        fault=fault,
        banner=banner,
        server=_string(entry, "server", source, where, default=""),
        title=_string(entry, "title", source, where, default=title),
        login=login,  # type: ignore[arg-type]  # checked against the Literal above
        form_success=form_success,  # type: ignore[arg-type]  # checked above
        refusal=refusal,  # type: ignore[arg-type]  # checked above
        max_auth_tries=max_auth_tries,
        anonymous=anonymous,
        communities=tuple(communities),
        sys_descr=_string(entry, "sys_descr", source, where, default=title),
        instance=instance,
        ssh_algorithms=ssh_algorithms,
        hsts=_string(entry, "hsts", source, where, default=""),
        redirect_to=_port_option(entry, "redirect_to", source, where),
        form_action=_string(entry, "form_action", source, where, default=""),
        cookie=_string(entry, "cookie", source, where, default="HttpOnly"),
        fixation=_boolean(entry, "fixation", source, where),
        logout=_choice(entry, "logout", WEB_LOGOUTS, source, where),
        admin=_choice(entry, "admin", WEB_ADMINS, source, where),
        search=_choice(entry, "search", WEB_SEARCHES, source, where),
        encoding=_choice(entry, "encoding", WEB_ENCODINGS, source, where),
        not_found=_choice(entry, "not_found", WEB_NOT_FOUNDS, source, where),
        location=_string(entry, "location", source, where, default=""),
        trickle=_seconds(entry, "trickle", source, where),
        connack=_choice(entry, "connack", ("ok", "malformed"), source, where),
        session_in_url=_boolean(entry, "session_in_url", source, where),
        notice=_string(entry, "notice", source, where, default=""),
        tls=_tls_options(entry.get("tls"), source, f"{where}.tls"),
        idle_timeout=_seconds(entry, "idle_timeout", source, where),
        absolute_timeout=_seconds(entry, "absolute_timeout", source, where),
        max_sessions=_integer(entry, "max_sessions", source, where, default=0, low=0, high=1000),
        keepalive_enforced=_boolean(entry, "keepalive_enforced", source, where),
    )


def _seconds(entry: Mapping[str, object], key: str, source: str, where: str) -> float:
    """A timer in seconds, 0 (the default) meaning never."""
    value = entry.get(key, 0)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 86400:
        raise ValueError(f"{source}: {where}.{key}: must be seconds 0-86400, got {value!r}")
    return float(value)


def _boolean(entry: Mapping[str, object], key: str, source: str, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{source}: {where}.{key}: must be true or false, got {value!r}")
    return value


def _choice(
    entry: Mapping[str, object], key: str, choices: tuple[str, ...], source: str, where: str
) -> str:
    """One of `choices`, the first being the default."""
    value = entry.get(key, choices[0])
    if value not in choices:
        raise ValueError(
            f"{source}: {where}.{key}: must be one of {', '.join(choices)}, got {value!r}"
        )
    return str(value)


def _port_option(entry: Mapping[str, object], key: str, source: str, where: str) -> int:
    value = entry.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ValueError(f"{source}: {where}.{key}: must be a port number, got {value!r}")
    return value


def _ssh_algorithms(raw: object, login: str, source: str, where: str) -> SshAlgorithms:
    if raw is None:
        return SshAlgorithms()
    here = f"{where}.ssh_algorithms"
    if login != "password":
        raise ValueError(f"{source}: {here}: needs login: password (banner-only SSH offers none)")
    entry = _mapping(raw, source, here)
    _no_unknown_keys(entry, _SSH_ALGORITHM_KEYS, source, here)
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("kex", "ciphers", "macs"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{source}: {here}.{key}: must be a list of algorithm names")
        lists[key] = tuple(value)
    bits = _integer(entry, "hostkey_rsa_bits", source, here, default=2048, low=1024, high=4096)
    return SshAlgorithms(
        kex=lists["kex"], ciphers=lists["ciphers"], macs=lists["macs"], hostkey_rsa_bits=bits
    )


def _tls_options(raw: object, source: str, here: str) -> TlsOptions:
    if raw is None:
        return TlsOptions()
    entry = _mapping(raw, source, here)
    _no_unknown_keys(entry, _TLS_KEYS, source, here)
    versions = entry.get("versions", list(TlsOptions().versions))
    if not isinstance(versions, list) or not versions or not set(versions) <= set(TLS_VERSIONS):
        raise ValueError(
            f"{source}: {here}.versions: must be a non-empty list of {', '.join(TLS_VERSIONS)}"
            f" (this OpenSSL cannot serve SSLv3), got {versions!r}"
        )
    span = sorted(TLS_VERSIONS.index(v) for v in set(versions))
    if span != list(range(span[0], span[-1] + 1)):
        raise ValueError(f"{source}: {here}.versions: must be a contiguous range of versions")
    ciphers = _string(entry, "ciphers", source, here, default="")
    if ciphers:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ciphers(f"{ciphers}:@SECLEVEL=0")
        except ssl.SSLError:
            raise ValueError(
                f"{source}: {here}.ciphers: this OpenSSL serves none of {ciphers!r}"
            ) from None
    cert = _mapping(entry.get("cert", {}), source, f"{here}.cert")
    _no_unknown_keys(cert, _CERT_KEYS, source, f"{here}.cert")
    names = cert.get("names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{source}: {here}.cert.names: must be a list of DNS names")
    if cert.get("signature") == "sha1" and (
        cert.get("issuer", "self") != "self" or not str(cert.get("key", "")).startswith("rsa-")
    ):
        raise ValueError(f"{source}: {here}.cert.signature: sha1 needs issuer: self and key: rsa-*")
    address = cert.get("address", True)
    if not isinstance(address, bool):
        raise ValueError(f"{source}: {here}.cert.address: must be true or false")
    return TlsOptions(
        versions=tuple(TLS_VERSIONS[i] for i in span),
        ciphers=ciphers,
        validity=_choice(
            cert, "validity", ("ok", "expired", "not_yet_valid"), source, f"{here}.cert"
        ),
        expires_in_days=_integer(
            cert, "expires_in_days", source, f"{here}.cert", default=365, low=1, high=3650
        ),
        issuer=_choice(cert, "issuer", ("self", "lab-ca"), source, f"{here}.cert"),
        key=_choice(cert, "key", ("ec-256", "rsa-1024", "rsa-2048"), source, f"{here}.cert"),
        signature=_choice(cert, "signature", ("sha256", "sha1"), source, f"{here}.cert"),
        names=tuple(names),
        address=address,
    )


def _default_banner(protocol: str, title: str) -> str:
    if protocol == "ssh":
        return "SSH-2.0-OpenSSH_8.4p1"
    if protocol == "ftp":
        return f"220 {title}"
    return title


def _account(raw: object, source: str, where: str) -> Account:
    entry = _mapping(raw, source, where)
    _no_unknown_keys(entry, _ACCOUNT_KEYS, source, where)
    factory_default = entry.get("factory_default", False)
    if not isinstance(factory_default, bool):
        raise ValueError(f"{source}: {where}.factory_default: must be true or false")
    return Account(
        username=_string(entry, "username", source, where, required=True),
        password=_string(entry, "password", source, where, required=True, allow_empty=True),
        factory_default=factory_default,
    )


def _auth_policy(raw: object, source: str) -> AuthPolicy:
    if raw is None:
        return AuthPolicy()
    entry = _mapping(raw, source, "auth")
    _no_unknown_keys(entry, _AUTH_KEYS, source, "auth")
    lockout: Lockout | None = None
    if entry.get("lockout") is not None:
        raw_lockout = _mapping(entry["lockout"], source, "auth.lockout")
        _no_unknown_keys(raw_lockout, _LOCKOUT_KEYS, source, "auth.lockout")
        scope = _string(raw_lockout, "scope", source, "auth.lockout", default="account")
        if scope not in ("account", "source"):
            raise ValueError(
                f"{source}: auth.lockout.scope: must be account or source, got {scope!r}"
            )
        lockout = Lockout(
            after=_integer(raw_lockout, "after", source, "auth.lockout", low=1, high=1000),
            seconds=_number(raw_lockout, "seconds", source, "auth.lockout"),
            scope=scope,  # type: ignore[arg-type]  # checked above
        )
    throttle: Throttle | None = None
    if entry.get("throttle") is not None:
        raw_throttle = _mapping(entry["throttle"], source, "auth.throttle")
        _no_unknown_keys(raw_throttle, _THROTTLE_KEYS, source, "auth.throttle")
        throttle = Throttle(
            after=_integer(raw_throttle, "after", source, "auth.throttle", low=1, high=1000),
            retry_after=_integer(
                raw_throttle, "retry_after", source, "auth.throttle", low=1, high=86400
            ),
            window=_number(raw_throttle, "window", source, "auth.throttle", default=10.0),
        )
    delay: Delay | None = None
    if entry.get("delay") is not None:
        raw_delay = _mapping(entry["delay"], source, "auth.delay")
        _no_unknown_keys(raw_delay, _DELAY_KEYS, source, "auth.delay")
        delay = Delay(
            after=_integer(raw_delay, "after", source, "auth.delay", low=1, high=1000),
            seconds=_number(raw_delay, "seconds", source, "auth.delay"),
            factor=_number(raw_delay, "factor", source, "auth.delay", default=2.0),
            max=_number(raw_delay, "max", source, "auth.delay", default=8.0),
        )
    return AuthPolicy(lockout=lockout, throttle=throttle, delay=delay)


def _integer(
    entry: Mapping[str, object],
    key: str,
    source: str,
    where: str,
    *,
    default: int | None = None,
    low: int,
    high: int,
) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{source}: {where}.{key}: must be an integer {low}-{high}, got {value!r}")
    return value


def _number(
    entry: Mapping[str, object], key: str, source: str, where: str, *, default: float | None = None
) -> float:
    value = entry.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 86400:
        raise ValueError(
            f"{source}: {where}.{key}: must be a number of seconds (0, 86400], got {value!r}"
        )
    return float(value)


def _mapping(raw: object, source: str, where: str) -> Mapping[str, object]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        raise ValueError(f"{source}: {where or 'top level'}: must be a mapping")
    return raw


def _no_unknown_keys(
    entry: Mapping[str, object], allowed: frozenset[str], source: str, where: str
) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ValueError(f"{source}: {prefix}{unknown[0]}: unknown field")


def _string(
    entry: Mapping[str, object],
    key: str,
    source: str,
    where: str,
    *,
    default: str = "",
    required: bool = False,
    allow_empty: bool = False,
) -> str:
    field = f"{where}.{key}" if where else key
    if key not in entry:
        if required:
            raise ValueError(f"{source}: {field}: missing")
        return default
    value = entry[key]
    # YAML reads a bare 1234 or yes as a number or bool: passwords like that must be quoted.
    if not isinstance(value, str):
        raise ValueError(f"{source}: {field}: must be a string, got {value!r}")
    if required and not value and not allow_empty:
        raise ValueError(f"{source}: {field}: must not be empty")
    return value
