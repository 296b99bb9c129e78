"""The shape ARCHITECTURE.md describes, kept by walking every import of the product code.

Every `import` counts wherever it stands (module level, inside a function, under
TYPE_CHECKING): a deferred import is still a dependency, and a type-only circle is still a
circle a reader has to untangle. `from package import submodule` is an edge to the
submodule only, since our package `__init__` files hold no code the submodule needs.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("scanner", "probes", "reports")

#: The floors, bottom first: a module imports only from its own floor or below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "scanner",
            "scanner.model",
            "scanner.errors",
            "scanner.codec",
            "scanner.credentials",
            "scanner.yaml_typed",
            "scanner.atomic",
        ),
    ),
    (
        "core",
        (
            "scanner.facts",
            "scanner.scope",
            "scanner.socks_gate",
            "scanner.browser",
            "scanner.http_decoding",
            "scanner.http_location",
            "scanner.net",
            "scanner.store",
            "scanner.run_lock",
            "scanner.credential_lists",
            "scanner.ledger",
            "scanner.redact",
            "scanner.reporter",
            "scanner.plugin_data",
        ),
    ),
    ("stages", ("scanner.discovery", "scanner.fingerprint", "scanner.tls")),
    ("probe contract", ("scanner.probe", "scanner.plan")),
    ("probes", ("probes", "scanner.declarative")),
    ("judging", ("scanner.judging",)),
    ("plugins", ("scanner.plugins",)),
    ("engine", ("scanner.engine",)),
    ("reports", ("reports",)),
    ("command line", ("scanner.cli", "scanner.__main__")),
)


@cache
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


@cache
def imports() -> dict[str, frozenset[str]]:
    """module -> our modules it imports."""
    mods = modules()
    edges: dict[str, frozenset[str]] = {}
    for name, path in mods.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names}
                found |= subs & mods.keys() if subs <= mods.keys() else {node.module}
        # a submodule importing its own package is not an edge: the package is its home
        edges[name] = frozenset(
            t for t in found if t in mods and t != name and not name.startswith(t + ".")
        )
    return edges


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    if best is None:
        raise AssertionError(f"{module} is on no floor of LAYERS: place it")
    return best[0]


def test_the_walk_sees_the_product():
    # Guards the walk itself: if it read nothing, every test below would pass vacuously.
    assert len(modules()) > 80
    assert "scanner.judging.profiles" in imports()["scanner.engine"]
    assert "scanner.discovery.tcp" in imports()["scanner.engine"]


def test_every_module_is_on_a_floor():
    assert {m: layer_of(m) for m in modules()}


def test_no_module_imports_a_floor_above_its_own():
    upward = [
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
        for m, targets in imports().items()
        for t in sorted(targets)
        if layer_of(t) > layer_of(m)
    ]
    assert upward == []


def test_no_import_circle():
    edges = imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert circles == []


def test_the_engine_is_handed_its_probes():
    # It knows the probe contract, never which probes exist: the registry and plugins are
    # the command line's to choose.
    assert [t for t in imports()["scanner.engine"] if t.split(".")[0] == "probes"] == []


@pytest.mark.parametrize("module", sorted(m for m in modules() if m.startswith("reports")))
def test_reports_never_see_the_store(module: str):
    # A renderer gets finished report data; reading the store is judging's job.
    assert "scanner.store" not in imports()[module]
    assert not {t for t in imports()[module] if t.startswith("scanner.engine")}
