"""Targets from the command line, files and nmap XML → addresses (and the networks given,
which are the default allow-list)."""

from __future__ import annotations

import ipaddress
import pyexpat
import re
import socket
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from scanner.errors import ConfigError
from scanner.model import Target, bound_text
from scanner.scope import range_ends

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from scanner.scope import IPNetwork

MAX_TARGETS = 65536  # a /16; larger sweeps should be split into runs
MAX_LABEL = 253


@dataclass(frozen=True, slots=True)
class TargetList:
    targets: tuple[Target, ...]
    networks: tuple[IPNetwork, ...]  # what the user named: the default allow-list


@dataclass(frozen=True, slots=True)
class _Spec:
    """One target string, with what its target-file line said about it."""

    text: str
    label: str = ""  # from the line; else a host name's own name
    profile: str = ""  # `profile=` on the line: a profile name or YAML file
    site: str = ""  # `site=` on the line: the site whose workers scan it


def parse_targets(
    specs: Sequence[str],
    *,
    from_nmap: Path | None = None,
    limit: int = MAX_TARGETS,
    stdin: TextIO | None = None,
) -> TargetList:
    """Addresses, CIDRs, ranges (127.0.10.1-40 or a.b.c.d-e.f.g.h), host names, @files, `-`
    or `@-` (the same lines from `stdin`, default the process's) and nmap XML,
    de-duplicated in the order given. A line of a target file may give its device a label
    and a profile (`192.0.2.6 lobby-cam profile=acme-cam-200`, see `file_line`)."""
    targets: dict[str, Target] = {}
    networks: dict[IPNetwork, None] = {}  # ordered and de-duplicated in O(1) per target

    def add(address: str, label: str = "", profile: str = "", site: str = "") -> None:
        if address not in targets:
            if len(targets) >= limit:
                raise ConfigError(f"more than {limit} targets; split the scan into smaller runs")
            # A label comes from a file (nmap XML, @file): bounded like a device string,
            # 253 characters being the longest host name DNS allows.
            targets[address] = Target(address, bound_text(label, MAX_LABEL), profile, site)

    for spec in _expand_files(specs, stdin):
        for address, label, network in _one(spec.text):
            add(address, spec.label or label, spec.profile, spec.site)
            if network is not None:
                networks.setdefault(network)
    if from_nmap is not None:
        for address, label in _read_nmap(from_nmap):
            add(address, label)
            networks.setdefault(ipaddress.ip_network(address))
    if not targets:
        raise ConfigError("no targets given")
    return TargetList(tuple(targets.values()), tuple(networks))  # dict keys, in order


#: the target spellings that read target-file lines from standard input
STDIN_SPECS = ("-", "@-")


def _expand_files(specs: Iterable[str], stdin: TextIO | None) -> Iterable[_Spec]:
    read_stdin = False
    for spec in specs:
        spec = spec.strip()
        if spec in STDIN_SPECS:
            if read_stdin:
                raise ConfigError("standard input (- or @-) is given twice as a target")
            read_stdin = True
            lines = (stdin or sys.stdin).read().splitlines()
            for number, line in enumerate(lines, 1):
                yield from file_line(line, where=f"standard input line {number}")
        elif spec.startswith("@"):
            path = Path(spec[1:])
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"target file {path}: {exc.strerror}") from exc
            for number, line in enumerate(lines, 1):
                yield from file_line(line, where=f"{path} line {number}", near=path.parent)
        elif spec:
            yield from (_Spec(s) for s in spec.split(","))


def file_line(line: str, *, where: str, near: Path | None = None) -> list[_Spec]:
    """The targets of one target-file line: `# comments` dropped; the first word a target
    (address, CIDR, range or host name), then optionally a label (a bare word or
    `label=NAME`), `profile=NAME-OR-FILE` and `site=NAME` (the site whose workers scan it,
    `shinsa scan --broker`) for every device it names. Further words
    that are addresses, CIDRs or ranges are more targets on the line, as before labels
    existed. A relative profile file is read beside the target file (`near`)."""
    words = line.split("#", 1)[0].split()
    if not words:
        return []
    texts = [words[0]]
    label = profile = site = ""
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if eq and key in ("label", "profile", "site"):
            if not value:
                raise ConfigError(f"{where}: {key}= needs a value")
            if key == "site":
                if site:
                    raise ConfigError(f"{where}: more than one site=")
                site = checked_site(value, where)
            elif key == "profile":
                if profile:
                    raise ConfigError(f"{where}: more than one profile=")
                profile = _profile_ref(value, near)
            else:
                if label:
                    raise ConfigError(f"{where}: more than one label")
                label = value
        elif eq:
            raise ConfigError(f"{where}: unknown setting {key}= (known: label=, profile=, site=)")
        elif _is_address_like(word):
            texts.append(word)
        elif label:
            raise ConfigError(f"{where}: more than one label ({label!r}, {word!r})")
        else:
            label = word
    return [_Spec(t, label, profile, site) for t in texts]


#: a site's name: it names a queue on the broker and a column in the service's database
SITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def checked_site(name: str, where: str = "site") -> str:
    """`name` if it can name a site (letters, digits, `_`, `.`, `-`; 63 at most)."""
    if not SITE_NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: {name[:80]!r} is not a site name (letters, digits, _ . -; at most 63)"
        )
    return name


def _is_address_like(word: str) -> bool:
    """An address, CIDR or range (never a label, which is any other word)."""
    head = word.split("/", 1)[0].split("-", 1)[0]
    try:
        ipaddress.ip_address(head)
    except ValueError:
        return False
    return True


def _profile_ref(value: str, near: Path | None) -> str:
    """A profile name as given; a relative YAML file beside the target file."""
    if near is not None and value.endswith((".yaml", ".yml")) and not Path(value).is_absolute():
        return str(near / value)
    return value


def _one(spec: str) -> Iterable[tuple[str, str, IPNetwork | None]]:
    """(address, label, network to allow) for one target string."""
    try:
        ip = ipaddress.ip_address(spec)
        yield str(ip), "", ipaddress.ip_network(ip)
        return
    except ValueError:
        pass
    if "/" in spec:
        try:
            net = ipaddress.ip_network(spec, strict=False)
        except ValueError as exc:
            raise ConfigError(f"target {spec!r} is not a valid CIDR network") from exc
        if net.num_addresses > MAX_TARGETS:
            raise ConfigError(
                f"target {spec} has {net.num_addresses} addresses (at most {MAX_TARGETS})"
            )
        hosts = [net.network_address] if net.num_addresses == 1 else list(net.hosts())
        for i, host in enumerate(hosts):
            yield str(host), "", net if i == 0 else None
        return
    if "-" in spec and spec[0].isdigit():
        yield from _range(spec)
        return
    yield from _resolve(spec)


def _range(spec: str) -> Iterable[tuple[str, str, IPNetwork | None]]:
    try:
        first, last = range_ends(spec)
    except ValueError:
        raise ConfigError(
            f"target range {spec!r}: expected a.b.c.d-e (last octet) or a.b.c.d-e.f.g.h"
        ) from None
    if int(last) < int(first):
        raise ConfigError(f"target range {spec!r} ends before it starts")
    if int(last) - int(first) >= MAX_TARGETS:
        raise ConfigError(f"target range {spec!r} is larger than {MAX_TARGETS} addresses")
    # The range as its few CIDR blocks, each allowed with its first address: one /32 per
    # address made the allow-list as long as the range, and every scope check scan it.
    for block in ipaddress.summarize_address_range(first, last):
        for i, n in enumerate(range(int(block.network_address), int(block.broadcast_address) + 1)):
            yield str(ipaddress.IPv4Address(n)), "", block if i == 0 else None


def _resolve(name: str) -> Iterable[tuple[str, str, IPNetwork | None]]:
    if not all(c.isalnum() or c in "-._" for c in name):
        raise ConfigError(f"target {name!r} is not an address, network, range or host name")
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ConfigError(f"target {name!r}: host name does not resolve ({exc.strerror})") from None
    seen: set[str] = set()
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.add(address)
            yield address, name, ipaddress.ip_network(address)


def _read_nmap(path: Path) -> list[tuple[str, str]]:
    """Hosts that nmap saw up, with their first host name as label.

    Parsed with the stdlib: the file is the operator's, and expat >= 2.4.1 (checked below)
    limits entity amplification, the attack defusedxml exists for.
    """
    if tuple(pyexpat.version_info) < (2, 4, 1):
        raise ConfigError("--from-nmap needs expat >= 2.4.1 (entity-expansion limits)")
    try:
        root = ET.parse(path).getroot()  # noqa: S314 -- expat >= 2.4.1, operator's own file
    except (OSError, ET.ParseError) as exc:
        raise ConfigError(f"--from-nmap {path}: not readable nmap XML ({exc})") from None
    if root.tag != "nmaprun":
        raise ConfigError(f"--from-nmap {path}: not an nmap XML report (root <{root.tag}>)")
    out: list[tuple[str, str]] = []
    for host in root.iter("host"):
        status = host.find("status")
        if status is not None and status.get("state") not in (None, "up"):
            continue
        label_el = host.find("hostnames/hostname")
        label = label_el.get("name", "") if label_el is not None else ""
        for addr in host.findall("address"):
            if addr.get("addrtype") in ("ipv4", "ipv6"):
                text = addr.get("addr", "")
                try:
                    out.append((str(ipaddress.ip_address(text)), label))
                except ValueError:
                    raise ConfigError(
                        f"--from-nmap {path}: host address {bound_text(text, 60)!r} is not "
                        "an IP address"
                    ) from None
    return out
