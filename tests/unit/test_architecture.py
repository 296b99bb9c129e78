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
            "scanner.task_groups",
            "scanner.pacing",
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
            "scanner.traffic_log",
            "scanner.reporter",
            "scanner.plugin_data",
        ),
    ),
    ("stages", ("scanner.discovery", "scanner.fingerprint", "scanner.tls")),
    ("probe contract", ("scanner.probe", "scanner.plan")),
    ("probes", ("probes", "scanner.declarative")),
    ("judging", ("scanner.judging",)),
    ("plugins", ("scanner.plugins",)),
    # stored_request: a stored request made a ScanRequest again (--resume, a site worker)
    ("engine", ("scanner.engine", "scanner.stored_request")),
    ("reports", ("reports",)),
    # the operation service: a face on top of the engine, the store and the reports
    # and beside it the sites: Celery workers scanning one network segment each
    ("service", ("scanner.service", "scanner.sites")),
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


#: entries of LAYERS that name one module, not a package and everything below it: the
#: `scanner` package's own `__init__` is foundation, a new `scanner.x` module is not
#: (it must be placed on its floor, or test_every_module_is_on_a_floor fails)
EXACT = frozenset({"scanner"})


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            below = module.startswith(prefix + ".") and prefix not in EXACT
            if (module == prefix or below) and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    if best is None:
        raise AssertionError(f"{module} is on no floor of LAYERS: place it")
    return best[0]


def test_a_new_module_is_on_no_floor_until_placed():
    with pytest.raises(AssertionError, match=r"scanner\.newthing is on no floor"):
        layer_of("scanner.newthing")
    assert layer_of("scanner") == 0
    assert layer_of("scanner.discovery.udp_protocols.snmp") == layer_of("scanner.discovery")


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


# --- tasks side by side run in a TaskGroup --------------------------------------------------

#: Product modules that may still call asyncio.gather, each with the reason a TaskGroup
#: cannot do its job (scanner/task_groups.py). None today: tasks we do not own, such as
#: a server's connection handlers (scanner/socks_gate.py), are waited for with asyncio.wait.
GATHER_ALLOWED: dict[str, str] = {}


def gather_uses(source: str) -> list[str]:
    """Where `source` reaches asyncio's gather: `asyncio.gather` (also through an alias of
    asyncio or asyncio.tasks) or a name imported from either, called or passed on."""
    tree = ast.parse(source)
    homes = {"asyncio", "asyncio.tasks"}
    modules: set[str] = set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in homes:
                    modules.add(a.asname or a.name)
        elif isinstance(node, ast.ImportFrom) and node.module in homes:
            for a in node.names:
                if a.name == "gather":
                    names.add(a.asname or a.name)
                elif a.name == "tasks" and node.module == "asyncio":
                    modules.add(a.asname or a.name)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in homes:
            found += [
                f"line {node.lineno}: import {a.name}" for a in node.names if a.name == "gather"
            ]
        elif isinstance(node, ast.Attribute) and node.attr == "gather":
            if ast.unparse(node.value) in modules:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Name) and node.id in names:
            found.append(f"line {node.lineno}: {node.id}")
    return sorted(found, key=lambda f: (int(f.split()[1].rstrip(":")), f))


def test_the_gather_walk_sees_what_it_must():
    # Guards the detector: each way of reaching gather, and what is something else.
    source = (
        "import asyncio\n"
        "import asyncio as aio\n"
        "from asyncio import gather as together, tasks\n"
        "async def f(things, crowd):\n"
        "    await asyncio.gather(*things)\n"
        "    await aio.gather(*things, return_exceptions=True)\n"
        "    await together(*things)\n"
        "    run = tasks.gather\n"
        "    await asyncio.wait(things)\n"
        "    crowd.gather()\n"
        '    "asyncio.gather in a string is prose"\n'
    )
    assert gather_uses(source) == [
        "line 3: import gather",
        "line 5: asyncio.gather",
        "line 6: aio.gather",
        "line 7: together",
        "line 8: tasks.gather",
    ]


def test_product_code_runs_tasks_side_by_side_in_task_groups():
    # A TaskGroup owns what it starts: the first failure cancels the rest, and no task
    # outlives the block. asyncio.gather leaves the others running unowned when one fails.
    found = {
        m: uses
        for m, path in modules().items()
        if (uses := gather_uses(path.read_text())) and m not in GATHER_ALLOWED
    }
    assert found == {}
    assert set(GATHER_ALLOWED) <= set(modules())  # an exception names a module that exists


# --- one door to a device -------------------------------------------------------------------

#: Modules a probe never imports: each opens connections of its own.
CONNECTING_MODULES = frozenset({"socket", "paramiko"})
#: Callables that open a connection, by the module they come from: through
#: `scanner.net.DeviceNetwork` instead, which checks the scope and holds a permit.
CONNECTING_CALLS: dict[str, frozenset[str]] = {
    "asyncio": frozenset({"open_connection", "open_unix_connection"}),
    "asyncssh": frozenset(
        {"connect", "connect_reverse", "get_server_host_key", "listen", "listen_reverse"}
    ),
    "httpx": frozenset({"AsyncClient", "Client"}),
    "ssl": frozenset({"wrap_socket"}),
}
#: Event-loop methods that open a connection, whatever the loop is called.
CONNECTING_METHODS = frozenset(
    {"create_connection", "create_datagram_endpoint", "create_unix_connection", "sock_connect"}
)


def connection_openings(source: str) -> list[str]:
    """Where `source` opens a connection itself, "line N: what" each: an import of a
    connecting module (or of a connecting callable by name), a call of a connecting
    callable through its module, or of a loop's connecting method. `httpx.AsyncClient`
    as a type is no opening; only its call is."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> the module it is bound to
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top in CONNECTING_MODULES:
                    found.append(f"line {node.lineno}: import {a.name}")
                if a.asname is None:
                    aliases[top] = top
                elif "." not in a.name:
                    aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in CONNECTING_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import ...")
            for a in node.names:
                if a.name in CONNECTING_CALLS.get(node.module, ()):
                    found.append(f"line {node.lineno}: from {node.module} import {a.name}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func = node.func
        home = aliases.get(func.value.id, "") if isinstance(func.value, ast.Name) else ""
        if func.attr in CONNECTING_CALLS.get(home, ()) or func.attr in CONNECTING_METHODS:
            found.append(f"line {node.lineno}: {ast.unparse(func)}()")
    return sorted(found, key=lambda f: int(f.split(":")[0].removeprefix("line ")))


def test_the_connection_walk_sees_what_it_must():
    # Guards the detector: each shape of opening it must flag, and what it must leave alone.
    source = (
        "import socket\n"  # 1
        "import asyncssh as ssh\n"
        "from asyncio import open_connection\n"
        "import httpx, asyncio\n"
        "from paramiko import SSHClient\n"  # 5
        "async def f(client: httpx.AsyncClient, loop, conn):\n"
        "    await ssh.connect('h')\n"
        "    await asyncio.open_connection('h', 1)\n"
        "    httpx.AsyncClient(base_url='x')\n"
        "    await loop.create_datagram_endpoint(P)\n"  # 10
        "    await asyncio.get_running_loop().create_connection(P, 'h', 1)\n"
        "    conn.get_server_host_key()\n"
        "    await ssh.get_server_host_key('h')\n"
        "    await asyncio.sleep(1); x: httpx.Client\n"
    )
    assert connection_openings(source) == [
        "line 1: import socket",
        "line 3: from asyncio import open_connection",
        "line 5: from paramiko import ...",
        "line 7: ssh.connect()",
        "line 8: asyncio.open_connection()",
        "line 9: httpx.AsyncClient()",
        "line 10: loop.create_datagram_endpoint()",
        "line 11: asyncio.get_running_loop().create_connection()",
        "line 13: ssh.get_server_host_key()",
    ]


def door_users() -> list[str]:
    """The modules that reach devices only through `DeviceNetwork`: every probe and
    library for probes, and the declarative checks."""
    return sorted(m for m in modules() if m.startswith("probes") or m == "scanner.declarative")


def test_the_door_users_are_seen():
    users = door_users()
    assert {"probes._ssh", "probes._login.ssh", "probes.session_expiry"} <= set(users)
    assert "scanner.declarative" in users
    assert "scanner.net" not in users


@pytest.mark.parametrize("module", door_users())
def test_no_probe_opens_a_connection_itself(module: str):
    # Every connection goes through ctx.net: the scope is checked before each one and the
    # device's permits bound how many are open; a probe that opened its own would skip both.
    path = modules()[module]
    openings = [f"{path.relative_to(ROOT)} {o}" for o in connection_openings(path.read_text())]
    assert openings == []


# --- each floor's nevers that an import can show ---------------------------------------------


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def names_imported(source: str, module: str) -> list[str]:
    """The names `source` imports from `module` (`from module import name`), and
    `module.name` for every attribute it reads through `import module`."""
    tree = ast.parse(source)
    found: list[str] = []
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == module and node.level == 0:
            found += [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            bound |= {a.asname or a.name for a in node.names if a.name == module}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and ast.unparse(node.value) in bound:
            found.append(node.attr)
    return found


def test_the_model_imports_nothing_of_ours():
    # The words everything else uses stand on nothing: any import would be a floor below it.
    assert imports()["scanner.model"] == frozenset()


@pytest.mark.parametrize(
    "module",
    sorted(
        m for m in modules() if _in(m, "scanner.discovery", "scanner.fingerprint", "scanner.tls")
    ),
)
def test_stages_know_nothing_of_checks_verdicts_or_requirements(module: str):
    # Discovery, fingerprinting and the TLS reader report what they saw; whether that passes
    # is the probes' and judging's business.
    assert (
        sorted(
            t
            for t in imports()[module]
            if _in(t, "scanner.probe", "scanner.plan", "scanner.judging")
        )
        == []
    )
    assert "Verdict" not in names_imported(modules()[module].read_text(), "scanner.model")


@pytest.mark.parametrize("module", ["scanner.probe", "scanner.plan"])
def test_the_probe_contract_knows_no_concrete_probe(module: str):
    assert sorted(t for t in imports()[module] if _in(t, "probes")) == []


@pytest.mark.parametrize("module", door_users())
def test_probes_never_reach_the_store_reports_engine_or_command_line(module: str):
    # A probe returns results; the engine stores them (redacted) and others judge them.
    reached = {
        t
        for t in imports()[module]
        if _in(t, "scanner.store", "scanner.ledger", "scanner.engine", "scanner.cli", "reports")
        or _in(t, "scanner.judging")
    }
    assert sorted(reached) == []


@pytest.mark.parametrize("module", sorted(m for m in modules() if _in(m, "scanner.judging")))
def test_judging_never_talks_to_a_device(module: str):
    # Judging reads stored results; anything that could open a connection is not its own.
    network = ("scanner.net", "scanner.socks_gate", "scanner.browser", "scanner.discovery")
    assert sorted(t for t in imports()[module] if _in(t, *network)) == []
    source = modules()[module].read_text()
    assert connection_openings(source) == []
    third_party = {"httpx", "asyncssh", "paramiko", "scapy", "socket", "playwright"}
    tree = ast.parse(source)
    used = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    } | {
        n.module.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
    }
    assert sorted(used & third_party) == []


#: What turns results into a judgement: a renderer is handed the finished one.
ASSESSING = {
    "scanner.judging.assess": {"assess", "judge", "decide", "status_of"},
    "scanner.judging.report_data": {"collect"},
}


@pytest.mark.parametrize("module", sorted(m for m in modules() if _in(m, "reports")))
def test_reports_never_run_an_assessment(module: str):
    source = modules()[module].read_text()
    used = {
        f"{home}.{name}"
        for home, names in ASSESSING.items()
        for name in names_imported(source, home)
        if name in names
    }
    assert sorted(used) == []


def test_the_nevers_walk_sees_what_it_must():
    source = (
        "from scanner.model import Result, Verdict\n"
        "import scanner.judging.assess\n"
        "scanner.judging.assess.assess(x)\n"
    )
    assert names_imported(source, "scanner.model") == ["Result", "Verdict"]
    assert "assess" in names_imported(source, "scanner.judging.assess")


#: the distributed engine's libraries: only the sites (and the command line that starts
#: them) may import them; the engine, the stages, the probes and the service never do
QUEUE_LIBRARIES = {"celery", "kombu", "redis", "billiard", "flower"}


def _third_party(source: str) -> set[str]:
    tree = ast.parse(source)
    return {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    } | {
        n.module.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
    }


def test_only_the_sites_know_celery_and_redis():
    users = {
        name for name, path in modules().items() if _third_party(path.read_text()) & QUEUE_LIBRARIES
    }
    assert users  # the walk sees the sites' own imports
    allowed = [m for m in users if _in(m, "scanner.sites") or m.startswith("scanner.cli.")]
    assert sorted(users - set(allowed)) == []
    # and the engine reaches them through no module of ours either
    assert not any(_in(t, "scanner.sites") for t in imports()["scanner.engine"])
