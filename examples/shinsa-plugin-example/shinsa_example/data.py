"""Where the plugin's data directories are, for the `shinsa.profiles` and
`shinsa.credentials` entry points (callables, so nothing is read at import)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def profiles() -> Path:
    """profiles/: the profile, frameworks/ and checks/ (declarative checks)."""
    return _HERE / "profiles"


def credentials() -> Path:
    """credentials/: lists offered by name to `shinsa scan --credentials`."""
    return _HERE / "credentials"
