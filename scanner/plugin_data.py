"""The directories installed plugins add: profiles (with `devices/`), framework files and
credential lists, as `scanner.plugins` registered them after loading and checking every
plugin (a skipped plugin adds none).

Data only, on the core floor: profile and credential-list lookup read it here, so they
never import the plugin loader, which imports them (and the probes). Empty until
`scanner.plugins.installed()` has run, as it has before any command reads a profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


@dataclass(slots=True)
class _Dirs:
    profiles: list[Path] = field(default_factory=list)
    frameworks: list[Path] = field(default_factory=list)
    credentials: list[Path] = field(default_factory=list)


_REGISTERED = _Dirs()


def register(
    profiles: Iterable[Path], frameworks: Iterable[Path], credentials: Iterable[Path]
) -> None:
    """What the loaded plugins add, replacing what was registered before."""
    _REGISTERED.profiles = list(profiles)
    _REGISTERED.frameworks = list(frameworks)
    _REGISTERED.credentials = list(credentials)


def profile_dirs() -> list[Path]:
    return list(_REGISTERED.profiles)


def framework_paths() -> list[Path]:
    return list(_REGISTERED.frameworks)


def credential_paths() -> list[Path]:
    return list(_REGISTERED.credentials)
