"""The banner checks' judges, pure: what fingerprinting kept or the pre-login text read in,
one result out, with no network."""

from __future__ import annotations

from probes.banners import NoticeParams, judge_notice, judge_versions
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext, ServiceResults
from scanner.scope import Scope

ADDRESS = "127.0.75.61"


def about(service: Service) -> ServiceResults:
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    return ProbeContext(Target(ADDRESS), net, Facts()).about(service)


def test_versions_are_judged_from_the_product_and_greeting():
    ftp = Service("tcp", 21, "ftp", banner="220 ProFTPD 1.3.5e Server", product="ProFTPD")
    fail = judge_versions(about(ftp))
    assert (fail.verdict, fail.service) == (Verdict.FAIL, ftp)
    assert fail.reason == f"tcp/21 ftp on {ADDRESS} discloses ProFTPD 1.3.5e before any login."
    quiet = Service("tcp", 80, "http", product="lighttpd")
    assert judge_versions(about(quiet)).verdict is Verdict.PASS
    unread = Service("tcp", 9, "unknown", note="no answer")
    assert judge_versions(about(unread)).verdict is Verdict.INCONCLUSIVE
    assert judge_versions(about(Service("tcp", 9, "unknown"))).verdict is Verdict.NOT_APPLICABLE


def test_the_notice_judge_never_passes_what_it_could_not_read():
    ssh = about(Service("tcp", 22, "ssh"))
    required = NoticeParams(required=True)
    assert judge_notice(ssh, NoticeParams(), None).verdict is Verdict.NOT_APPLICABLE
    assert judge_notice(ssh, required, Verdict.INCONCLUSIVE).verdict is Verdict.INCONCLUSIVE
    banner = "SSH pre-authentication banner"
    shown = judge_notice(ssh, required, (banner, "Authorized use only. Activity is monitored."))
    assert shown.verdict is Verdict.PASS
    bare = judge_notice(ssh, required, (banner, "Welcome to the camera"))
    assert bare.verdict is Verdict.FAIL
    assert bare.evidence[0].details["text"] == "Welcome to the camera"
