"""What the session drivers share."""

from __future__ import annotations


class Gone(Exception):
    """A session could not be opened; the message says why, `surface` whether a login
    surface exists at all (without one the checks do not apply)."""

    def __init__(self, reason: str, *, surface: bool = True) -> None:
        super().__init__(reason)
        self.surface = surface
