"""Third-party checks: plugin packages found through entry points, loaded one by one.

A plugin is an installed distribution that declares entry points in these groups:

- `shinsa.probes`: a `Probe` subclass (`ServiceProbe` or `DeviceProbe`), or an iterable of
  them;
- `shinsa.profiles`: a directory laid out as shinsa's own `profiles/` (profiles at the top,
  `frameworks/`, `devices/`, and `checks/` for declarative checks, scanner/declarative.py),
  given as a `pathlib.Path` or `importlib.resources` Traversable on disk, or a callable
  returning one;
- `shinsa.credentials`: a directory of credential lists (shinsa-credentials/1), given the
  same way. A plugin's lists are offered by name (`--credentials NAME`), as shinsa's own
  opt-in lists are: installing a plugin never adds logins to every scan.

A plugin loads as a whole or not at all: an entry point that fails to import, a value of the
wrong type, a check ID outside the plugin's own namespace or taken already, a framework,
profile or list name taken already, a declarative check or framework file that does not
load: the plugin is reported by name (`Problem`) and skipped, and the scan goes on with
shinsa's own checks and the other plugins. `shinsa validate` exits 2 on such a problem.

Check IDs of a plugin: written as shinsa's (`name.part[.part...]`, lower case), and their
first part is a namespace the plugin owns: not one of shinsa's own (`services`, `creds`,
`web`, ...: the first parts of built-in check IDs, and `shinsa`), and not one another
plugin loaded before it uses. Plugins load in the order of their distribution names, so
of two plugins claiming one namespace the later name is skipped, every time.

Plugin code is trusted Python running in the scanner's process: the engine holds its probes
to the contract (scope and permits through `ctx.net`, deadlines, one result per declared
check), but cannot stop code that opens its own sockets or blocks the event loop.
`SHINSA_NO_PLUGINS=1` in the environment loads none.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import plugin_data
from scanner.errors import ConfigError
from scanner.probe import Check, DeviceProbe, Probe, ServiceProbe

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

GROUP_PROBES = "shinsa.probes"
GROUP_PROFILES = "shinsa.profiles"
GROUP_CREDENTIALS = "shinsa.credentials"
GROUPS = (GROUP_PROBES, GROUP_PROFILES, GROUP_CREDENTIALS)
BUILTIN = "builtin"
DISABLE_ENV = "SHINSA_NO_PLUGINS"
#: namespaces no plugin may use beside the first parts of built-in check IDs
RESERVED_NAMESPACES = frozenset({"shinsa", "test"})
CHECK_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9-]+)+$")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one plugin was skipped."""

    plugin: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} skipped: {self.message}"


@dataclass(frozen=True, slots=True)
class Plugin:
    """One plugin that loaded whole."""

    name: str  # its distribution's name
    version: str
    probes: tuple[type[Probe], ...] = ()
    profile_dirs: tuple[Path, ...] = ()
    credential_dirs: tuple[Path, ...] = ()

    @property
    def origin(self) -> str:
        return f"{self.name} {self.version}".strip()

    def framework_paths(self) -> list[Path]:
        return sorted(p for d in self.profile_dirs for p in (d / "frameworks").glob("*.yaml"))

    def profile_paths(self) -> list[Path]:
        return sorted(
            p for d in self.profile_dirs for sub in (d, d / "devices") for p in sub.glob("*.yaml")
        )

    def credential_paths(self) -> list[Path]:
        return sorted(p for d in self.credential_dirs for p in d.glob("*.yaml"))


@dataclass(frozen=True, slots=True)
class Registry:
    """shinsa's probes and every plugin's that loaded, with where each check comes from."""

    probes: tuple[type[Probe], ...]
    origins: Mapping[str, str]  # check ID -> "builtin" or "NAME VERSION"
    plugins: tuple[Plugin, ...] = ()
    problems: tuple[Problem, ...] = ()
    builtin: tuple[type[Probe], ...] = field(default=())

    def checks(self) -> dict[str, Check]:
        """Every check by ID (built-in and plugins')."""
        return {c.id: c for probe in self.probes for c in probe.checks}

    def origin(self, check_id: str) -> str:
        return self.origins.get(check_id, BUILTIN)


class PluginError(Exception):
    """One plugin cannot load; the message says why, for a `Problem`."""


def _entry_points(group: str) -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=group)


def _dist_name(ep: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return ep.name, ""
    return str(dist.metadata["Name"] or ep.name), str(dist.version or "")


def discover(
    only: Collection[str] | None = None,
) -> dict[str, tuple[str, list[importlib.metadata.EntryPoint]]]:
    """Installed plugins: name -> (version, its entry points in every group), by name.
    `only` keeps the plugins of these names (tests)."""
    found: dict[str, tuple[str, list[importlib.metadata.EntryPoint]]] = {}
    for group in GROUPS:
        for ep in _entry_points(group):
            name, version = _dist_name(ep)
            if only is not None and name not in only:
                continue
            found.setdefault(name, (version, []))[1].append(ep)
    return dict(sorted(found.items()))


def load(only: Collection[str] | None = None) -> Registry:
    """shinsa's own registry and every installed plugin that loads whole (see module doc)."""
    from probes.registry import REGISTRY  # the probes import the clients: only now

    builtin_checks = {c.id: c for p in REGISTRY for c in p.checks}
    reserved = RESERVED_NAMESPACES | {cid.split(".", 1)[0] for cid in builtin_checks}
    taken = _Taken(
        checks=dict.fromkeys(builtin_checks, BUILTIN),
        namespaces=dict.fromkeys(reserved, BUILTIN),
        frameworks=_builtin_framework_ids(),
        profiles=_builtin_names(),
        lists=_builtin_list_names(),
    )
    plugins: list[Plugin] = []
    problems: list[Problem] = []
    for name, (version, eps) in discover(only).items():
        try:
            plugin = _load_one(name, version, eps, builtin_checks, taken)
        except PluginError as exc:
            problems.append(Problem(name, str(exc)))
            continue
        except Exception as exc:  # plugin code raised while importing or describing itself
            problems.append(Problem(name, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        plugins.append(plugin)
    origins = {c.id: p.origin for p in plugins for probe in p.probes for c in probe.checks}
    every = (*REGISTRY, *(probe for p in plugins for probe in p.probes))
    return Registry(every, origins, tuple(plugins), tuple(problems), REGISTRY)


@dataclass(slots=True)
class _Taken:
    """Names claimed so far, and by whom (BUILTIN or a plugin's name)."""

    checks: dict[str, str]
    namespaces: dict[str, str]
    frameworks: dict[str, str]
    profiles: dict[str, str]
    lists: dict[str, str]

    def claim(self, kind: str, table: dict[str, str], key: str, owner: str) -> None:
        holder = table.get(key)
        if holder is not None and holder != owner:
            by = "shinsa itself" if holder == BUILTIN else f"plugin {holder!r}"
            raise PluginError(f"{kind} {key!r} is already {by}'s")


def _load_one(
    name: str,
    version: str,
    eps: list[importlib.metadata.EntryPoint],
    builtin_checks: Mapping[str, Check],
    taken: _Taken,
) -> Plugin:
    """One plugin, whole, or PluginError; `taken` records its names only when it loads."""
    probes: list[type[Probe]] = []
    profile_dirs: list[Path] = []
    credential_dirs: list[Path] = []
    for ep in eps:
        where = f"entry point {ep.name!r} ({ep.group} = {ep.value})"
        try:
            value = ep.load()
        except Exception as exc:
            raise PluginError(f"{where} does not import: {type(exc).__name__}: {exc}") from exc
        if ep.group == GROUP_PROBES:
            probes += _probe_classes(value, where)
        elif ep.group == GROUP_PROFILES:
            profile_dirs.append(_directory(value, where))
        else:
            credential_dirs.append(_directory(value, where))
    from scanner import declarative  # YAML checks: only when a plugin has a profiles dir

    for d in profile_dirs:
        for path in sorted((d / "checks").glob("*.yaml")):
            try:
                probes.append(declarative.load_probe(path))
            except ConfigError as exc:
                raise PluginError(f"declarative check {exc}") from None
    claims = _Taken(
        dict(taken.checks),
        dict(taken.namespaces),
        dict(taken.frameworks),
        dict(taken.profiles),
        dict(taken.lists),
    )
    own: dict[str, Check] = {}
    for probe in probes:
        for check in probe.checks:
            if not isinstance(check, Check):
                raise PluginError(f"{probe.__name__}.checks holds {check!r}, not a Check")
            if not CHECK_ID.match(check.id):
                raise PluginError(
                    f"check ID {check.id!r} of {probe.__name__} does not match "
                    f"{CHECK_ID.pattern} (a namespace, a dot, a name)"
                )
            if check.id in own:
                raise PluginError(f"check ID {check.id!r} is declared twice")
            claims.claim("check ID", claims.checks, check.id, name)
            namespace = check.id.split(".", 1)[0]
            claims.claim("check namespace", claims.namespaces, namespace, name)
            claims.checks[check.id] = claims.namespaces[namespace] = name
            own[check.id] = check
    plugin = Plugin(name, version, tuple(probes), tuple(profile_dirs), tuple(credential_dirs))
    _claim_files(plugin, {**builtin_checks, **own}, claims)
    taken.checks, taken.namespaces = claims.checks, claims.namespaces
    taken.frameworks, taken.profiles, taken.lists = (
        claims.frameworks,
        claims.profiles,
        claims.lists,
    )
    return plugin


def _claim_files(plugin: Plugin, checks: Mapping[str, Check], claims: _Taken) -> None:
    """Its framework files load (mapping shinsa's checks and its own), and its framework
    IDs, profile names and list names are its own."""
    from scanner.judging.profiles import load_framework

    for path in plugin.framework_paths():
        try:
            fw = load_framework(path, checks)
        except ConfigError as exc:
            raise PluginError(f"framework {exc}") from None
        claims.claim("framework", claims.frameworks, fw.id, plugin.name)
        claims.frameworks[fw.id] = plugin.name
    for path in plugin.profile_paths():
        claims.claim("profile name", claims.profiles, path.stem, plugin.name)
        claims.profiles[path.stem] = plugin.name
    for path in plugin.credential_paths():
        claims.claim("credential list name", claims.lists, path.stem, plugin.name)
        claims.lists[path.stem] = plugin.name


def _probe_classes(value: object, where: str) -> list[type[Probe]]:
    """A Probe subclass, or an iterable of them."""
    items: list[object]
    if isinstance(value, type):
        items = [value]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise PluginError(f"{where} is {_kind(value)}, not a Probe subclass or a list of them")
    out: list[type[Probe]] = []
    for item in items:
        if not (isinstance(item, type) and issubclass(item, (ServiceProbe, DeviceProbe))):
            raise PluginError(f"{where} gives {_kind(item)}, not a ServiceProbe or DeviceProbe")
        if inspect.isabstract(item):
            raise PluginError(f"{where} gives {item.__name__}, which does not define run()")
        checks = getattr(item, "checks", None)
        if not isinstance(checks, tuple) or not checks:
            raise PluginError(f"{where}: {item.__name__}.checks must be a non-empty tuple")
        if issubclass(item, ServiceProbe) and not isinstance(
            getattr(item, "protocols", None), frozenset
        ):
            raise PluginError(f"{where}: {item.__name__}.protocols must be a frozenset")
        out.append(item)
    return out


def _directory(value: object, where: str) -> Path:
    """A directory on disk, given as a path, a Traversable or a callable returning one."""
    if callable(value) and not isinstance(value, (str, os.PathLike)):
        value = value()
    if isinstance(value, (str, os.PathLike)) or hasattr(value, "joinpath"):
        path = Path(str(value))
        if path.is_dir():
            return path
        raise PluginError(f"{where} gives {str(path)!r}, which is not a directory on disk")
    raise PluginError(f"{where} is {_kind(value)}, not a directory")


def _kind(value: object) -> str:
    if isinstance(value, type):
        return f"the class {value.__name__}"
    return f"a {type(value).__name__}"


def _builtin_framework_ids() -> dict[str, str]:
    from scanner.judging.profiles import BUILTIN_DIR
    from scanner.yaml_typed import read_mapping

    ids: dict[str, str] = {}
    for path in sorted((BUILTIN_DIR / "frameworks").glob("*.yaml")):
        data, _ = read_mapping(path, "a framework")
        ids[str(data.get("framework"))] = BUILTIN
    return ids


def _builtin_names() -> dict[str, str]:
    from scanner.judging.profiles import BUILTIN_DIR

    names = [p.stem for sub in (BUILTIN_DIR, BUILTIN_DIR / "devices") for p in sub.glob("*.yaml")]
    return dict.fromkeys(names, BUILTIN)


def _builtin_list_names() -> dict[str, str]:
    from scanner.credential_lists import BUILTIN as FACTORY_LIST

    return dict.fromkeys((p.stem for p in FACTORY_LIST.parent.glob("*.yaml")), BUILTIN)


@functools.cache
def installed() -> Registry:
    """The registry of this process: built-in probes and installed plugins, loaded once;
    each problem printed once to stderr. None with SHINSA_NO_PLUGINS set (not empty/0)."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        from probes.registry import REGISTRY

        return Registry(REGISTRY, {}, builtin=REGISTRY)
    registry = load()
    for problem in registry.problems:
        print(f"shinsa: {problem}", file=sys.stderr)
    plugin_data.register(
        [d for plugin in registry.plugins for d in plugin.profile_dirs],
        [p for plugin in registry.plugins for p in plugin.framework_paths()],
        [p for plugin in registry.plugins for p in plugin.credential_paths()],
    )
    return registry


def validate(registry: Registry) -> list[str]:
    """What `shinsa validate` says about plugins beside shinsa's own files: every broken
    plugin, and every list of the ones that loaded (their frameworks and profiles are
    checked with shinsa's: scanner.judging.validate.validate_all)."""
    from scanner.credential_lists import load_list

    problems = [str(p) for p in registry.problems]
    for plugin in registry.plugins:
        for path in plugin.credential_paths():
            try:
                load_list(path)
            except ConfigError as exc:
                problems.append(f"plugin {plugin.name!r}: {exc}")
    return problems
