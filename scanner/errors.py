"""The few exceptions a user sees.

    ShinsaError            base of everything shinsa raises on purpose
    ├── ConfigError        a bad profile, framework, port spec, target or option (exit code 2)
    └── ScopeError         a target or connection outside the allow-list (exit code 2)

Device behaviour is never an exception that escapes a probe: it is a `Result`.
"""


class ShinsaError(Exception):
    """Base of every error shinsa raises on purpose; the message is meant for the user."""


class ConfigError(ShinsaError):
    """A bad profile, framework, port specification, target list or option."""


class ScopeError(ShinsaError):
    """Something outside the allow-list was about to be contacted."""
