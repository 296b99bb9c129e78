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
            "scanner.http_exchange",
            "scanner.html_reader",
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


# --- private names stay home ---------------------------------------------------------------


def is_private(name: str) -> bool:
    """`_name` is its module's own; a dunder (`__version__`) is public by convention."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str, ours: frozenset[str]) -> list[str]:
    """Private names of our modules that `source` reaches: `from m import _x` (when `m._x`
    is not itself a module: a module is a home, not a name), and `alias._x` where `alias`
    is a module of ours bound by an import."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in ours:
                    # `import a.b` binds `a`; `import a.b as c` binds `c` to a.b
                    top = a.name.split(".")[0]
                    aliases[a.asname or top] = a.name if a.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in PACKAGES:
                continue
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in ours:
                    aliases[a.asname or a.name] = full
                elif is_private(a.name):
                    found.append(f"from {node.module} import {a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append(f"{ast.unparse(node)} ({aliases[base.id]})")
    return found


def test_the_private_name_walk_sees_what_it_must():
    # Guards the detector: each shape of crossing it must flag, and what it must leave alone.
    ours = frozenset({"probes", "probes._login", "probes._login.telnet", "probes.web_login"})
    source = (
        "from probes.web_login import _SECRET, __version__, Public\n"
        "from probes._login import telnet as telnet_login\n"
        "import probes.web_login\n"
        "def f():\n"
        "    from probes._login.telnet import _open\n"
        "    telnet_login._open(); probes.web_login._x; self._y; telnet_login.__name__\n"
    )
    assert sorted(private_uses(source, ours)) == sorted(
        [
            "from probes.web_login import _SECRET",
            "from probes._login.telnet import _open",
            "telnet_login._open (probes._login.telnet)",
            "probes.web_login._x (probes)",
        ]
    )


def test_no_private_name_crosses_a_module_boundary():
    ours = frozenset(modules())
    crossings = [
        f"{m}: {use}"
        for m, path in modules().items()
        for use in private_uses(path.read_text(), ours)
    ]
    assert crossings == []


# --- probe families stand alone -------------------------------------------------------------


def probe_families() -> frozenset[str]:
    """The top-level probe modules; `probes._*` are libraries for probes, and the registry
    is where the families are gathered."""
    return frozenset(
        m
        for m in modules()
        if m.count(".") == 1
        and m.startswith("probes.")
        and not m.split(".")[1].startswith("_")
        and m != "probes.registry"
    )


def test_the_probe_families_are_seen():
    families = probe_families()
    assert {"probes.banners", "probes.ssh_config", "probes.web_session"} <= families
    assert "probes._web" not in families
    assert families <= imports()["probes.registry"]


@pytest.mark.parametrize(
    "module", sorted(m for m in modules() if m.startswith("probes.") and m != "probes.registry")
)
def test_no_probe_imports_another_probe_family(module: str):
    # What two families share lives in a probes._* library or the core, so each family can
    # be read, changed or dropped alone.
    assert sorted(imports()[module] & (probe_families() - {module})) == []
