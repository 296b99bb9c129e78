"""pyproject.toml tells the truth (issue 13 #7): every third-party package that shinsa's own
code imports is a main dependency; what only the simulated lab imports is in the `lab` extra
and nowhere else; a main dependency nothing imports is there for a reason written here."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("scanner", "probes", "reports")  # what a scan of real devices runs
FIRST_PARTY = {"scanner", "probes", "reports", "profiles", "lab", "tests", "bench", "tools"}

#: main dependencies no shipped module imports, and why each is declared all the same
DECLARED_NOT_IMPORTED = {
    # httpcore imports it at every lock when present; declared so that it is (pyproject.toml)
    "sniffio",
}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


@cache
def _project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"main": data["dependencies"], **data["optional-dependencies"]}


def _declared(group: str) -> set[str]:
    return {_name(r) for r in _project()[group]}


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level third-party module -> the files importing it (type-only imports included:
    a name in a signature must resolve too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY or top == "__future__":
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _distribution(module: str) -> str:
    dists = packages_distributions().get(module)
    assert dists, f"{module} is imported but no installed distribution provides it"
    return _name(dists[0])


#: the operation service and its commands: what they import may come from the `service`
#: extra too (a scan from the command line never imports them)
SERVICE_CODE = re.compile(
    r"scanner/service/|scanner/cli/(serve|db|schedule|baseline)_commands\.py$"
)


#: the sites (Celery workers, `scan --broker`): the `sites` extra, which includes the
#: service's (a worker writes into the service's database)
SITES_CODE = re.compile(r"scanner/sites/|scanner/cli/worker_commands\.py$")


def test_every_package_shipped_code_imports_is_a_main_dependency():
    main = _declared("main")
    service = _declared("service")
    sites = _declared("sites") | service
    for package in SHIPPED:
        for module, files in _imports(package).items():
            dist = _distribution(module)
            if dist in service and all(SERVICE_CODE.match(f) or SITES_CODE.match(f) for f in files):
                continue
            if dist in sites and all(SITES_CODE.match(f) for f in files):
                continue
            assert dist in main, f"{dist} (imported by {sorted(files)}) is not declared"
    assert "cryptography" in main  # imported by the TLS certificate reader
    assert "sqlalchemy" in service
    assert "sqlalchemy" not in main
    assert {"celery", "redis"} <= _declared("sites")
    assert not {"celery", "redis"} & main


def test_lab_only_packages_are_in_the_lab_extra_and_nowhere_else():
    lab_extra = _declared("lab")
    lab_imports = {_distribution(m): files for m, files in _imports("lab").items()}
    shipped = {_distribution(m) for p in SHIPPED for m in _imports(p)}
    assert lab_extra == {"paramiko", "h11"}
    for dist in lab_extra:
        assert dist in lab_imports, f"{dist} is in the lab extra but the lab does not import it"
        assert dist not in shipped, f"{dist} is imported by shipped code: a main dependency"
        assert dist not in _declared("main")
    # and the lab needs nothing undeclared
    for dist, files in lab_imports.items():
        assert dist in _declared("main") | lab_extra, f"{dist} ({sorted(files)}) is undeclared"


def test_a_main_dependency_nothing_imports_has_a_written_reason():
    shipped = {_distribution(m) for p in SHIPPED for m in _imports(p)}
    unused = _declared("main") - shipped
    assert unused == DECLARED_NOT_IMPORTED


def test_the_make_targets_install_the_lab_service_and_sites_extras():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet -e '.[dev,lab,service,sites]'" in makefile
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci  # which installs it through the Makefile


def test_without_the_lab_extra_the_lab_commands_say_what_to_install(tmp_path: Path):
    # a fresh interpreter in which paramiko cannot be imported
    code = (
        "import sys; sys.modules['paramiko'] = None\n"
        "from scanner import cli\n"
        f"raise SystemExit(cli.main(['lab', 'status', '--state-dir', {str(tmp_path)!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "install shinsa with its lab extra (pip install 'shinsa[lab]'" in done.stderr
    assert "Traceback" not in done.stderr
