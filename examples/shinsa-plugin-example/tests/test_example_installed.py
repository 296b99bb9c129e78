"""The example as a user meets it once `pip install -e examples/shinsa-plugin-example` has
run: shinsa finds it through its entry points, lists its checks with their origin,
validates its files, and a scan of a throwaway device on 127.0.79.x runs its checks."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import sys
from typing import TYPE_CHECKING, Any

import pytest
from example_device import SCAN_ADDRESS, device, page
from shinsa_example.diagnostics import DIAG_PATH

from scanner import plugins
from scanner.credential_lists import load_list

if TYPE_CHECKING:
    from pathlib import Path

DIST = "shinsa-plugin-example"
CHECKS = ("example.diag-page", "example.diag-secrets", "example.server-status")
SHINSA = (sys.executable, "-m", "scanner")


@pytest.fixture(scope="module")
def origin() -> str:
    """The plugin's origin as shinsa shows it; installed, or these tests fail saying how."""
    try:
        version = importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{DIST} is not installed: pip install -e examples/shinsa-plugin-example")
    return f"{DIST} {version}"


async def shinsa(*args: str, timeout: float = 120) -> tuple[int, str, str]:
    """The command line in a process of its own, which loads the installed plugins."""
    proc = await asyncio.create_subprocess_exec(
        *SHINSA, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def test_the_plugin_loads_whole_with_its_checks_lists_and_profile(origin: str) -> None:
    registry = plugins.load(only={DIST})
    assert registry.problems == ()
    [plugin] = registry.plugins
    assert plugin.origin == origin
    for cid in CHECKS:
        assert cid in registry.checks()
        assert registry.origin(cid) == origin
    assert registry.origin("services.unexpected") == plugins.BUILTIN
    assert [p.stem for p in plugin.framework_paths()] == ["example-hardening"]
    assert [p.stem for p in plugin.profile_paths()] == ["example-device"]
    [listed] = plugin.credential_paths()
    assert listed.stem == "example-vendor"
    [entry] = load_list(listed)
    assert entry.vendor == "Example Devices"


async def test_shinsa_checks_lists_the_plugin_checks_with_their_origin(origin: str) -> None:
    code, out, err = await shinsa("checks", "--profile", "example-device")
    assert code == 0, err
    assert "skipped" not in err  # no plugin failed to load
    blocks = {b.split("\n", 1)[0]: b for b in out.split("\n\n") if b.strip()}
    for cid in CHECKS:
        assert f"origin: plugin {origin}" in blocks[cid], blocks.get(cid)
    assert "cited by: example-hardening EX-1" in blocks["example.diag-page"]
    assert "cited by: example-hardening EX-2" in blocks["example.diag-secrets"]
    # shinsa's own checks keep their listing, without an origin line
    assert "origin:" not in blocks["services.unexpected"]


async def test_shinsa_validate_passes_with_the_plugin_installed(
    origin: str, tmp_path: Path
) -> None:
    code, out, err = await shinsa("validate")
    assert (code, err) == (0, "")
    assert "profiles and frameworks are valid" in out
    # and the framework is read, not skipped: a check it maps that nobody declares fails
    broken = tmp_path / "broken-profile.yaml"
    broken.write_text("profile: broken\nextends: example-device\nparams:\n  example.nope: {}\n")
    code, _, err = await shinsa("validate", str(broken))
    assert code == 2
    assert "unknown check 'example.nope'" in err


def _report(out: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(next(out.glob("*/report.json")).read_text())
    return report


def _results(report: dict[str, Any]) -> dict[str, str]:
    [dev] = report["devices"]
    return {r["check_id"]: r["verdict"] for r in dev["results"]}


def _requirements(report: dict[str, Any]) -> dict[str, str]:
    [dev] = report["devices"]
    return {
        r["id"]: r["status"] for r in dev["requirements"] if r["framework"] == "example-hardening"
    }


async def test_a_scan_runs_the_plugin_checks_and_judges_them(origin: str, tmp_path: Path) -> None:
    # Given a device serving a diagnostic page that shows its Wi-Fi passphrase, and no
    # server-status page (404)
    pages = {DIAG_PATH: (200, page("Diagnostics", "wifi psk: hunter22-secret"))}
    async with device(SCAN_ADDRESS, pages) as port:
        # When it is scanned with the plugin's profile
        code, _, err = await shinsa(
            "scan",
            SCAN_ADDRESS,
            "--ports",
            f"T:{port}",
            "--profile",
            "example-device",
            "--no-browser",
            "--out",
            str(tmp_path),
            "-q",
        )
    # Then the plugin's checks ran on its HTTP service and the plugin's framework judged them
    assert code == 1, err  # exit 1: a requirement is not satisfied
    report = _report(tmp_path)
    verdicts = _results(report)
    assert {c: verdicts.get(c) for c in CHECKS} == {
        "example.diag-page": "fail",
        "example.diag-secrets": "fail",
        "example.server-status": "pass",
    }
    assert verdicts["services.unexpected"] == "pass"  # shinsa's own checks ran beside them
    assert _requirements(report) == {"EX-1": "not_satisfied", "EX-2": "not_satisfied"}
    assert "hunter22" not in json.dumps(report)
