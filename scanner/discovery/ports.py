"""Port sets: the nmap-style `-p` syntax (read and written back), the IoT default set, and a
one-line description."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.errors import ConfigError

MIN_PORT = 1
MAX_PORT = 65535

#: Answered by the machine shinsa is developed on, on every address; never in a default.
_RESERVED_LOCAL = frozenset({2024})


@dataclass(frozen=True, slots=True)
class PortSet:
    """TCP and UDP ports to probe, each sorted and without duplicates."""

    tcp: tuple[int, ...] = ()
    udp: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Normalise here so every PortSet, however built, obeys the sorted-unique contract.
        object.__setattr__(self, "tcp", _normalise(self.tcp, "TCP"))
        object.__setattr__(self, "udp", _normalise(self.udp, "UDP"))

    def __len__(self) -> int:
        return len(self.tcp) + len(self.udp)

    def __bool__(self) -> bool:
        return bool(self.tcp or self.udp)


def _normalise(ports: tuple[int, ...], label: str) -> tuple[int, ...]:
    for port in ports:
        if not MIN_PORT <= port <= MAX_PORT:
            raise ConfigError(f"{label} port {port} is outside {MIN_PORT}-{MAX_PORT}")
    return tuple(sorted(set(ports)))


def parse_ports(spec: str) -> PortSet:
    """Parse nmap `-p` syntax: `22,80`, `1-1000`, `-`, `T:22,80,U:161,1900`, `-1024`, `60000-`.

    A bare port or range is TCP until a `U:` prefix switches the following tokens to UDP
    (and `T:` back), as in nmap. Any bad token raises ConfigError naming it.
    """
    if not spec.strip():
        raise ConfigError("empty port specification")
    tcp: set[int] = set()
    udp: set[int] = set()
    current = tcp
    # One token per comma: the number of tokens bounds the loop, ranges are added as ranges.
    for raw in spec.split(","):
        token = raw.strip()
        body = token
        if token[:2].upper() in ("T:", "U:"):
            current = tcp if token[0].upper() == "T" else udp
            body = token[2:].strip()
        elif ":" in token:
            raise ConfigError(f"bad port token {token!r}: only T: and U: prefixes are known")
        low, high = _parse_range(body, token)
        current.update(range(low, high + 1))
    if not tcp and not udp:
        raise ConfigError(f"port specification {spec!r} names no ports")
    return PortSet(tuple(tcp), tuple(udp))


def _parse_range(body: str, token: str) -> tuple[int, int]:
    if not body:
        raise ConfigError(f"bad port token {token!r}: empty")
    if body == "-":
        return MIN_PORT, MAX_PORT
    if "-" in body:
        left, _, right = body.partition("-")
        low = _parse_port(left, token) if left.strip() else MIN_PORT
        high = _parse_port(right, token) if right.strip() else MAX_PORT
        if low > high:
            raise ConfigError(f"bad port token {token!r}: range runs backwards")
        return low, high
    port = _parse_port(body, token)
    return port, port


def _parse_port(text: str, token: str) -> int:
    text = text.strip()
    # isdecimal rejects signs, spaces and unicode digits that int() would quietly accept.
    if not text.isascii() or not text.isdecimal() or len(text) > 5:
        raise ConfigError(f"bad port token {token!r}: {text!r} is not a port number")
    port = int(text)
    if not MIN_PORT <= port <= MAX_PORT:
        raise ConfigError(f"bad port token {token!r}: {port} is outside {MIN_PORT}-{MAX_PORT}")
    return port


def describe(ports: PortSet) -> str:
    """A short human summary, e.g. `TCP 22,80,8000-8100 (103 ports); UDP 161 (1 port)`."""
    parts = [
        f"{label} {_compress(values)} ({len(values)} port{'s' if len(values) != 1 else ''})"
        for label, values in (("TCP", ports.tcp), ("UDP", ports.udp))
        if values
    ]
    return "; ".join(parts) if parts else "no ports"


def port_spec(ports: PortSet) -> str:
    """A PortSet back in nmap syntax, ranges compressed (`T:22,80-90,U:161`), as
    `parse_ports` reads it: stored with a run for --resume."""
    return ",".join(
        f"{prefix}:{','.join(_runs(values))}"
        for prefix, values in (("T", ports.tcp), ("U", ports.udp))
        if values
    )


def _runs(values: tuple[int, ...]) -> list[str]:
    """Sorted ports as runs: `22`, `80-90`."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return out


def _compress(values: tuple[int, ...], max_items: int = 12) -> str:
    runs = _runs(values)
    if len(runs) > max_items:
        # A default set has hundreds of runs; the count says the rest.
        return ",".join(runs[:max_items]) + ",…"
    return ",".join(runs)


# nmap's 400 most frequent TCP ports (nmap-services open-frequency, nmap 7.93) without 2024;
# port numbers only, so the default works without nmap installed.
_NMAP_TOP_TCP: tuple[int, ...] = (
    1,
    3,
    4,
    6,
    7,
    9,
    13,
    17,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    30,
    33,
    37,
    42,
    49,
    53,
    79,
    80,
    81,
    82,
    83,
    85,
    88,
    90,
    100,
    106,
    110,
    111,
    113,
    119,
    135,
    139,
    143,
    144,
    146,
    161,
    163,
    179,
    199,
    211,
    222,
    254,
    255,
    264,
    280,
    306,
    311,
    340,
    366,
    389,
    407,
    427,
    443,
    444,
    445,
    464,
    465,
    497,
    500,
    512,
    513,
    514,
    515,
    541,
    543,
    544,
    548,
    554,
    563,
    587,
    593,
    625,
    631,
    636,
    646,
    648,
    705,
    711,
    787,
    800,
    808,
    873,
    880,
    888,
    900,
    901,
    902,
    912,
    987,
    990,
    992,
    993,
    995,
    999,
    1000,
    1002,
    1022,
    1023,
    1024,
    1025,
    1026,
    1027,
    1028,
    1029,
    1030,
    1031,
    1032,
    1033,
    1034,
    1035,
    1036,
    1037,
    1038,
    1039,
    1040,
    1041,
    1042,
    1043,
    1044,
    1047,
    1048,
    1049,
    1050,
    1051,
    1052,
    1053,
    1054,
    1055,
    1056,
    1058,
    1059,
    1060,
    1062,
    1064,
    1065,
    1066,
    1067,
    1068,
    1069,
    1071,
    1074,
    1080,
    1083,
    1086,
    1088,
    1097,
    1110,
    1111,
    1218,
    1234,
    1248,
    1311,
    1352,
    1433,
    1494,
    1500,
    1501,
    1503,
    1521,
    1666,
    1700,
    1717,
    1720,
    1723,
    1755,
    1761,
    1801,
    1863,
    1864,
    1900,
    1935,
    1998,
    2000,
    2001,
    2002,
    2003,
    2004,
    2005,
    2006,
    2007,
    2008,
    2009,
    2010,
    2030,
    2049,
    2065,
    2103,
    2105,
    2107,
    2121,
    2161,
    2222,
    2301,
    2383,
    2401,
    2500,
    2525,
    2601,
    2602,
    2604,
    2605,
    2701,
    2702,
    2717,
    2809,
    2869,
    2967,
    3000,
    3001,
    3005,
    3052,
    3128,
    3260,
    3268,
    3269,
    3283,
    3306,
    3333,
    3389,
    3476,
    3689,
    3690,
    3703,
    3986,
    4000,
    4001,
    4002,
    4045,
    4242,
    4443,
    4444,
    4662,
    4899,
    5000,
    5001,
    5002,
    5003,
    5004,
    5009,
    5050,
    5051,
    5060,
    5100,
    5101,
    5102,
    5120,
    5190,
    5214,
    5225,
    5226,
    5357,
    5431,
    5432,
    5500,
    5550,
    5555,
    5566,
    5631,
    5666,
    5679,
    5800,
    5801,
    5900,
    5901,
    5902,
    6000,
    6001,
    6002,
    6004,
    6005,
    6059,
    6101,
    6112,
    6543,
    6646,
    6666,
    6667,
    6789,
    6881,
    6969,
    7000,
    7001,
    7019,
    7070,
    7100,
    7200,
    7937,
    7938,
    8000,
    8001,
    8002,
    8007,
    8008,
    8009,
    8010,
    8021,
    8031,
    8080,
    8081,
    8082,
    8083,
    8084,
    8085,
    8088,
    8089,
    8192,
    8193,
    8194,
    8291,
    8443,
    8651,
    8652,
    8701,
    8888,
    8899,
    9000,
    9001,
    9009,
    9050,
    9071,
    9090,
    9100,
    9101,
    9102,
    9207,
    9415,
    9535,
    9593,
    9594,
    9595,
    9876,
    9999,
    10000,
    10001,
    10010,
    10243,
    12000,
    12345,
    13782,
    13783,
    14238,
    15000,
    16992,
    16993,
    20005,
    20828,
    23502,
    27000,
    32768,
    32769,
    32770,
    32771,
    32772,
    32773,
    32774,
    32775,
    33354,
    34571,
    34572,
    34573,
    35500,
    40193,
    42510,
    45100,
    48080,
    49152,
    49153,
    49154,
    49155,
    49156,
    49157,
    49158,
    49159,
    49160,
    49999,
    50000,
    50001,
    50003,
    50006,
    50800,
    51103,
    52822,
    52869,
    55555,
    55600,
    57294,
    58080,
    60020,
    63331,
    64623,
    64680,
    65000,
    65129,
    65389,
)

# Embedded and industrial services that rank low on the internet but are what IoT devices run:
# Modbus 502, S7 102, IPMI 623, RTSP 554/8554, MQTT 1883/8883, OPC UA 4840, CoAP 5683,
# TR-069 7547, DNP3 20000, EtherNet/IP 44818, BACnet 47808, Dahua 37777, XMEye 34567, etc.
_IOT_TCP: tuple[int, ...] = (
    21,
    22,
    23,
    25,
    53,
    80,
    81,
    102,
    110,
    111,
    135,
    139,
    143,
    443,
    445,
    502,
    554,
    623,
    789,
    1025,
    1026,
    1080,
    1400,
    1433,
    1723,
    1883,
    1900,
    1911,
    1962,
    2000,
    2222,
    2323,
    2404,
    2455,
    3000,
    3306,
    3389,
    4786,
    4840,
    4911,
    5000,
    5001,
    5006,
    5007,
    5060,
    5222,
    5357,
    5432,
    5555,
    5683,
    5900,
    5985,
    5986,
    6379,
    6668,
    7547,
    8000,
    8008,
    8080,
    8081,
    8088,
    8123,
    8291,
    8443,
    8554,
    8728,
    8729,
    8883,
    8888,
    8899,
    9000,
    9090,
    9100,
    9200,
    9443,
    9600,
    9999,
    10000,
    10001,
    11211,
    18245,
    20000,
    20547,
    32400,
    34567,
    34962,
    34963,
    34964,
    37777,
    44818,
    47808,
    49152,
    49153,
)


DEFAULT_UDP: tuple[int, ...] = (53, 69, 123, 161, 500, 623, 1900, 5353, 5683, 20000, 44818, 47808)

DEFAULT_PORTS = PortSet(
    tcp=tuple(p for p in (*_NMAP_TOP_TCP, *_IOT_TCP) if p not in _RESERVED_LOCAL),
    udp=DEFAULT_UDP,
)
