"""Expected banner.* verdicts, as one-line rules on what a personality plants.

banner.version-disclosure looks at the text the lab serves for each protocol (Server
header, SSH ident, greetings) for a dotted software version; banner.login-notice is not
applicable unless the profile requires a notice (`required=True`), then each login surface
passes when the planted notice (or greeting, or realm) matches the default pattern.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lab.oracle import service_key
from scanner.model import Verdict

if TYPE_CHECKING:
    from lab.personality import Personality, ServiceSpec

#: wire-protocol versions every message carries: never a finding
_WIRE = re.compile(r"(?i)\b(HTTP|RTSP|UPnP)/\d\.\d|^SSH-2\.0-")
_SOFTWARE_VERSION = re.compile(r"[A-Za-z][/_ ]v?\d+\.\d")
NOTICE = re.compile(r"(?i)authori[sz]ed|monitored|prohibited|consent|legal|warning")


def shown_text(spec: ServiceSpec) -> str | None:
    """The text the lab shows before login for `spec`, or None when it shows none."""
    if spec.protocol in ("http", "https", "rtsp", "ssdp"):
        return spec.server or None
    if spec.protocol in ("ssh", "telnet", "ftp"):
        return spec.banner
    if spec.protocol in ("jetdirect", "adb"):
        return "lab device id"  # fixed lab strings without a version
    return None


def version_verdict(spec: ServiceSpec) -> Verdict:
    text = shown_text(spec)
    if text is None:
        return Verdict.NOT_APPLICABLE
    bare = _WIRE.sub("", text)
    return Verdict.FAIL if _SOFTWARE_VERSION.search(bare) else Verdict.PASS


def notice_verdict(p: Personality, spec: ServiceSpec, *, required: bool) -> Verdict:
    if not required:
        return Verdict.NOT_APPLICABLE
    if spec.protocol == "ssh":
        if spec.login == "none":
            return Verdict.INCONCLUSIVE  # banner-only: no authentication phase
        return Verdict.PASS if NOTICE.search(spec.notice) else Verdict.FAIL
    if spec.protocol in ("telnet", "ftp"):
        return Verdict.PASS if NOTICE.search(spec.banner) else Verdict.FAIL
    if spec.redirect_to or spec.login == "none":
        return Verdict.NOT_APPLICABLE  # no login surface of its own
    if spec.login in ("basic", "digest"):
        return Verdict.PASS if NOTICE.search(spec.title) else Verdict.FAIL  # the realm
    return Verdict.PASS if NOTICE.search(spec.notice) else Verdict.FAIL  # the login page


def expected_banners(
    p: Personality,
    ports: dict[tuple[str, int], int] | None = None,
    *,
    notice_required: bool = False,
) -> dict[tuple[str, str], Verdict]:
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        key = service_key(spec, ports)
        if spec.fault:  # the fault's bytes could not be read as any protocol
            out[(key, "banner.version-disclosure")] = Verdict.INCONCLUSIVE
            continue
        out[(key, "banner.version-disclosure")] = version_verdict(spec)
        if spec.protocol in ("ssh", "telnet", "ftp", "http", "https"):
            out[(key, "banner.login-notice")] = notice_verdict(p, spec, required=notice_required)
    return out
