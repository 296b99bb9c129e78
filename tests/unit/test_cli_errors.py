"""Bad options, bad files and a broken machine: exit 2 (usage, configuration) or 4
(environment) with one line, never a traceback or a hang; a device that could not be scanned
and a crashed run never read as success (issue 11 #7, #8)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from scanner import atomic, cli, engine
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator

# Nothing listens on these: a scan of them is quick and sends nothing anywhere else.
QUIET = "127.0.75.50"
OTHER = "127.0.75.51"
SCAN = ["scan", "--ports", "9", "-q", "--format", "json"]


def _shinsa(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--concurrency", "0"),
        ("--concurrency", "-1"),
        ("--concurrency", "many"),
        ("--per-device", "0"),
        ("--per-device", "-1"),
        ("--timeout", "-1"),
        ("--timeout", "0"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "1e400"),
        ("--ports", ""),
        ("--ports", ","),
        ("--allow", ""),
        ("--max-scan-time", "0"),
        ("--max-scan-time", "nan"),
    ],
)
def test_a_bad_scan_option_is_a_usage_error_naming_it(option: str, value: str):
    # In a subprocess: `--concurrency 0` used to hang, which a timeout here would show.
    ports = [] if option == "--ports" else ["--ports", "9"]
    done = _shinsa("scan", QUIET, option, value, *ports)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("shinsa scan: error: argument")
    assert option in last
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "61"])
def test_a_bad_discover_timeout_is_a_usage_error(value: str):
    done = _shinsa("discover", QUIET, "--ports", "9", "--timeout", value)
    assert done.returncode == 2
    assert "--timeout" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_out_that_is_a_file_is_an_environment_failure(tmp_path: Path, capsys):
    blocker = tmp_path / "report.txt"
    blocker.write_text("someone's file\n")
    for out in (blocker, blocker / "below"):
        assert cli.main([*SCAN, QUIET, "--out", str(out)]) == 4
        err = capsys.readouterr().err.strip()
        assert err == f"shinsa: error: cannot create {out}: a file is in the way"
    assert blocker.read_text() == "someone's file\n"


def test_report_and_resume_of_a_missing_store_are_errors_that_create_nothing(tmp_path, capsys):
    missing = tmp_path / "never-scanned"
    assert cli.main(["report", "20261205-000000-abcd", "--out", str(missing)]) == 2
    assert cli.main([*SCAN, "--resume", "20261205-000000-abcd", "--out", str(missing)]) == 2
    assert cli.main(["diff", "a", "b", "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count(f"no shinsa store at {missing / 'shinsa.sqlite'}") == 3
    assert not missing.exists()


@pytest.mark.parametrize(
    "content", [b"garbage, not SQLite" * 300, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_a_corrupt_store_is_a_clear_error(tmp_path: Path, content: bytes, capsys):
    (tmp_path / "shinsa.sqlite").write_bytes(content)
    assert cli.main(["report", "20261205-000000-abcd", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"shinsa: error: {tmp_path / 'shinsa.sqlite'} is not a usable")
    assert "\n" not in err


def test_nmap_xml_with_a_bad_address_or_a_huge_label(tmp_path: Path, capsys):
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<?xml version="1.0"?><nmaprun><host><status state="up"/>'
        '<address addr="999.1.2.3" addrtype="ipv4"/></host></nmaprun>'
    )
    assert cli.main([*SCAN, "--from-nmap", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "host address '999.1.2.3' is not an IP address" in capsys.readouterr().err

    huge = tmp_path / "huge.xml"
    label = "a\u202e" + "x" * 2_000_000  # a right-to-left override, then 2 MB
    huge.write_text(
        '<?xml version="1.0"?><nmaprun><host><status state="up"/>'
        f'<address addr="{QUIET}" addrtype="ipv4"/>'
        f'<hostnames><hostname name="{label}"/></hostnames></host></nmaprun>'
    )
    out = tmp_path / "o2"
    assert cli.main([*SCAN, "--from-nmap", str(huge), "--out", str(out)]) == 0
    with Store(out / "shinsa.sqlite") as store:
        ((_, stored, _),) = store.targets(store.runs()[0].id)
    assert len(stored) <= 253
    assert stored.startswith("a\ufffdxxx")
    assert stored.endswith("…")


def test_a_failed_devices_reason_shows_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    # An exception may quote a device's redirect or answer, with a site password in it.
    site = tmp_path / "site.yaml"
    site.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        "  - {protocols: [http], pairs: [[ops, 'Fleet-Pw-9931']], source: our fleet}\n"
    )

    async def fingerprint(dev: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("http://127.0.75.51/home?user=ops&pw=x7 said FLEET-PW-9931")

    monkeypatch.setattr(engine, "fingerprint", fingerprint)
    args = [*SCAN, OTHER, "--credentials", str(site), "--out", str(tmp_path / "o")]
    assert cli.main(args) == 3
    err = capsys.readouterr().err
    with Store(tmp_path / "o" / "shinsa.sqlite") as store:
        (reason,) = store.failures(store.runs()[0].id).values()
        (reason_ja,) = store.failures_ja(store.runs()[0].id).values()
    for shown in (err, reason, reason_ja):
        assert "x7" not in shown
        assert "fleet-pw-9931" not in shown.lower()
    assert (
        reason == "scan failed (RuntimeError: http://127.0.75.51/home?user=••••&pw=•••• said ••••)"
    )


def test_a_device_that_fails_makes_the_run_incomplete_and_the_exit_code_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    real = engine.fingerprint  # type: ignore[attr-defined]

    async def fingerprint(dev: Any, *args: Any, **kwargs: Any) -> Any:
        if dev.address == OTHER:
            raise RuntimeError("the fingerprint broke")
        return await real(dev, *args, **kwargs)

    monkeypatch.setattr(engine, "fingerprint", fingerprint)
    assert cli.main([*SCAN, QUIET, OTHER, "--out", str(tmp_path)]) == 3
    assert f"{OTHER}: not scanned to the end: scan failed (RuntimeError" in capsys.readouterr().err
    with Store(tmp_path / "shinsa.sqlite") as store:
        run = store.runs()[0]
        assert run.status == "incomplete"
        assert store.failures(run.id) == {
            OTHER: "scan failed (RuntimeError: the fingerprint broke)"
        }
        assert store.failures_ja(run.id) == {
            OTHER: "スキャンが失敗した（RuntimeError: the fingerprint broke）"
        }
    report = json.loads((tmp_path / run.id / "report.json").read_text())
    devices = {d["address"]: d for d in report["devices"]}
    assert devices[QUIET]["finished"]
    assert devices[QUIET]["unfinished_reason"] == ""
    assert not devices[OTHER]["finished"]
    assert "the fingerprint broke" in devices[OTHER]["unfinished_reason"]
    assert report["run"]["status"] == "incomplete"
    # --fail-on gates cannot read an unscanned device as success either
    again = tmp_path / "again"
    assert cli.main([*SCAN, QUIET, OTHER, "--out", str(again), "--fail-on", "fail"]) == 3


def test_a_crashed_run_is_stored_as_crashed_with_one_line_and_a_saved_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    async def broken(*args: object) -> object:
        raise ZeroDivisionError("a bug in discovery")

    monkeypatch.setattr(engine, "_discover", broken)
    assert cli.main([*SCAN, QUIET, "--out", str(tmp_path)]) == 5
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("shinsa: internal error: ZeroDivisionError: a bug in discovery")
    saved = Path(err.rsplit("report it with ", 1)[1].rstrip(")"))
    try:
        assert "Traceback" in saved.read_text()
        assert "broken" in saved.read_text()
    finally:
        saved.unlink()
    with Store(tmp_path / "shinsa.sqlite") as store:
        assert [r.status for r in store.runs()] == ["crashed"]


def test_reports_are_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "report.json"
    target.write_text("the previous report")

    def fail_midway(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("scanner.atomic.os.fsync", fail_midway)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_text(target, "x" * 100_000)
    assert target.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no .part left behind


def test_a_runs_reports_are_replaced_all_together_or_not_at_all(tmp_path: Path):
    old = {"report.json": "old json", "report.csv": "old csv", "report.html": "old html"}
    for name, text in old.items():
        (tmp_path / name).write_text(text)

    def html() -> Iterator[str]:
        yield "<html>"
        raise OSError(28, "No space left on device")  # the third file fails mid-way

    files = [
        (tmp_path / "report.json", iter(["new json"])),
        (tmp_path / "report.csv", iter(["new csv"])),
        (tmp_path / "report.html", html()),
    ]
    with pytest.raises(OSError, match="No space left"):
        atomic.write_all(files)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == old  # no .part, none new
    atomic.write_all([(tmp_path / "report.json", iter(["new ", "json"]))])
    assert (tmp_path / "report.json").read_text() == "new json"


def _fill(path: Path, leave: int) -> None:
    """Write zeros until the file system is full (bounded: the tmpfs is 1 MiB), then give
    `leave` bytes back: room for SQLite's journal, not for a report."""
    with path.open("wb", buffering=0) as f:
        for _ in range(64):
            try:
                f.write(b"\0" * 65536)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        else:
            raise AssertionError("the 1 MiB tmpfs never filled")
        f.truncate(max(0, f.tell() - leave))


@pytest.mark.root
def test_a_full_disk_is_an_environment_failure_and_leaves_no_truncated_report(tmp_path: Path):
    """On a real 1 MiB tmpfs: the scan's store fits, its HTML report does not."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        scanned = _shinsa(*SCAN, QUIET, "--out", str(disk))
        assert scanned.returncode == 0, scanned.stderr
        run_id = next(p.name for p in disk.iterdir() if p.is_dir() and not p.is_symlink())
        report = disk / run_id / "report.json"
        before = report.read_text()
        # Fill what is left, then ask for every format again (the HTML is the largest).
        _fill(disk / "filler", leave=96 * 1024)
        assert len(before) > 96 * 1024  # so the report cannot fit
        done = _shinsa(
            "report", run_id, "--out", str(disk), "--format", "json,html,csv,sarif,junit"
        )
        assert done.returncode == 4, done.stderr
        err = done.stderr.strip()
        assert "\n" not in err
        assert "Traceback" not in err
        assert "No space left on device" in err, err  # from the report, not the store
        assert report.read_text() == before  # the earlier report, whole
        assert sorted(p.name for p in (disk / run_id).iterdir()) == ["report.json"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.root
def test_a_read_only_out_is_an_environment_failure(tmp_path: Path):
    """A read-only file system (root ignores directory modes, so a real read-only mount):
    a new store there, and a new run directory beside an existing store, are exit 4."""
    disk = tmp_path / "ro"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        seeded = _shinsa(*SCAN, QUIET, "--out", str(disk))
        assert seeded.returncode == 0, seeded.stderr
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        before = sorted(p.name for p in disk.iterdir())
        for out in (disk, disk / "new-store"):
            done = _shinsa(*SCAN, QUIET, "--out", str(out))
            assert done.returncode == 4, done.stderr
            err = done.stderr.strip()
            assert err.startswith("shinsa: error: "), err
            assert "\n" not in err
            assert "Traceback" not in err
            assert "read-only" in err.lower(), err
        assert sorted(p.name for p in disk.iterdir()) == before
    finally:
        subprocess.run(["umount", str(disk)], check=False)
