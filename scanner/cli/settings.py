"""Defaults a user sets once: a config file and `SHINSA_*` environment variables.

Precedence, highest first: the command line, then the environment, then the config file,
then shinsa's built-in default. The config file is `$XDG_CONFIG_HOME/shinsa/config.yaml`
(`~/.config/shinsa/config.yaml` when the variable is unset or not absolute), or the file
named by `SHINSA_CONFIG`, or by `--config FILE`; `--no-config` reads none (scripts that
must not depend on the machine's defaults). A missing default file is no error; a missing
`--config` file is.

A key is a long option's name without its dashes (`profile`, `out`, `max-scan-time`,
`per-device`; `per_device` is read the same), and applies to every subcommand that has that
option: `timeout: 5` is `--timeout 5` for `scan`, and nothing for `checks`. The variable of a
key is `SHINSA_` and the key in capitals with `_` for `-` (`SHINSA_MAX_SCAN_TIME`). A value
is read by the option's own parser, so it is checked exactly as on the command line; an
on/off option takes true/false (`1`/`0`, `yes`/`no` in a variable).

What cannot be a default: options that name one run (`--resume`, `--from-nmap`), the
permission for intrusive checks (an explicit choice each time), repeatable options (a
default list would be added to, not replaced by, what the command line gives), the
profile or level of `report` and `diff` (they judge with the scan's own unless told), the
demo's output directory (a demo never writes into the store scans go to), and a scan's
`--broker` (a scan is sent to the sites' workers only when it says so; `--broker` alone
reads the URL from `SHINSA_BROKER`, which `shinsa worker` reads as its default).

An unknown key, or a bad value, is a usage error naming the file and line or the variable
(exit 2). Other `SHINSA_*` variables (credential lists read passwords from some) are not
settings and are left alone.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ENV_PREFIX = "SHINSA_"
#: names the config file (below --config, above the default place)
CONFIG_VARIABLE = "SHINSA_CONFIG"
#: dests that are never a default (the module's docstring says why)
NOT_SETTABLE = frozenset({"resume", "from_nmap", "allow_intrusive", "config", "no_config"})
#: (subcommand, dest) pairs that are never a default there
NOT_SETTABLE_IN = frozenset(
    {
        ("report", "profile"),
        ("report", "level"),
        ("diff", "profile"),
        ("demo", "out"),
        # a scan goes to the sites only when asked each time (`--broker`, alone: the URL of
        # $SHINSA_BROKER), never because a worker's machine has the variable set
        ("scan", "broker"),
        ("scan", "window_ends"),
        ("worker", "list"),
    }
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class Value:
    """A setting as written, and where: `FILE line N` or the variable's name."""

    raw: object
    where: str


def default_path(environ: Mapping[str, str]) -> Path:
    """The config file read when none is named (the XDG base directory rule: a relative
    XDG_CONFIG_HOME is ignored)."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "shinsa" / "config.yaml"


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper().replace("-", "_")


def _key(text: str) -> str:
    return text.strip().lower().replace("_", "-")


def settable(parser: argparse.ArgumentParser) -> dict[str, dict[str, argparse.Action]]:
    """key -> {subcommand: its option's action}, for every option a default may be set for."""
    found: dict[str, dict[str, argparse.Action]] = {}
    for command, sub in subcommands(parser).items():
        for action in sub._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if (
                not longs
                or action.dest in NOT_SETTABLE
                or (command, action.dest) in NOT_SETTABLE_IN
            ):
                continue
            if not isinstance(action, argparse._StoreAction | argparse._StoreTrueAction):
                continue  # help, version, append (see the docstring)
            found.setdefault(longs[0][2:], {})[command] = action
    return found


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The top-level subcommands' parsers, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def config_file(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The config file to read and whether it must exist (named explicitly), from
    --config/--no-config anywhere on the command line (before the subcommand's parser
    runs: they decide that parser's defaults)."""
    named: str | None = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--no-config":
            return None, False
        if arg == "--config" and i + 1 < len(argv):
            named = argv[i + 1]
        elif arg.startswith("--config="):
            named = arg.split("=", 1)[1]
    if named is not None:
        return Path(named), True
    if environ.get(CONFIG_VARIABLE):
        return Path(environ[CONFIG_VARIABLE]), True
    return default_path(environ), False


def read_file(path: Path, keys: Mapping[str, object]) -> dict[str, Value]:
    """The settings in a config file: a mapping of known keys to plain values."""
    from scanner import yaml_typed  # yaml loads only when there is a file to read

    data, _ = yaml_typed.read(path)
    if data is None:  # an empty file (or only comments): no defaults
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of option names to values")
    found: dict[str, Value] = {}
    for name, raw in data.items():
        where = str(yaml_typed.at(data, name) or path)
        key = _key(name)
        if key not in keys:
            raise ConfigError(
                f"{where}: unknown setting {name!r}; known: {', '.join(sorted(keys))}"
            )
        if isinstance(raw, dict | list):
            raise ConfigError(f"{where}: {name}: expected one value, not a {type(raw).__name__}")
        found[key] = Value(raw, where)
    return found


def read_environment(environ: Mapping[str, str], keys: Mapping[str, object]) -> dict[str, Value]:
    by_name = {env_name(k): k for k in keys}
    return {by_name[name]: Value(value, name) for name, value in environ.items() if name in by_name}


def _convert(action: argparse.Action, value: Value) -> object:
    label = action.option_strings[-1]
    if isinstance(action, argparse._StoreTrueAction):
        if isinstance(value.raw, bool):
            return value.raw
        text = str(value.raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ConfigError(f"{value.where}: {label}: expected true or false, not {value.raw!r}")
    if isinstance(value.raw, bool) or value.raw is None:
        raise ConfigError(f"{value.where}: {label}: expected a value, not {value.raw!r}")
    text = str(value.raw)
    try:
        converted = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise ConfigError(f"{value.where}: {label}: {exc}") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise ConfigError(f"{value.where}: {label}: {text!r} is not one of {choices}")
    return converted


def apply(parser: argparse.ArgumentParser, argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """Set the subcommands' defaults from the config file and the environment (the
    command line, parsed after this, still wins). A ConfigError for a bad file or value."""
    keys = settable(parser)
    path, required = config_file(argv, environ)
    values: dict[str, Value] = {}
    if path is not None and (required or path.is_file()):
        values.update(read_file(path, keys))
    values.update(read_environment(environ, keys))  # the environment over the file
    subs = subcommands(parser)
    # Only the subcommand being run: `timeout: 100` is a scan's, and not an error because
    # discover's own --timeout stops at 60.
    command = next((a for a in argv if a in subs), None)
    for key, value in values.items():
        action = keys[key].get(command or "")
        if command is not None and action is not None:
            subs[command].set_defaults(**{action.dest: _convert(action, value)})


def environment() -> dict[str, str]:
    return dict(os.environ)
