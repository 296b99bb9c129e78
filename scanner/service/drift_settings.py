"""How long a transient flip must last before it is drift: the numbers the command line's
parser and the service share, in a module light enough for the parser to import (no
SQLAlchemy: `shinsa scan` without --db never loads the service's libraries)."""

from __future__ import annotations

#: runs in a row a `pass -> inconclusive` flip (or a requirement regressing to partially
#: assessed, not assessed or error) must last to be drift (scanner/service/drift.py)
DEFAULT_PERSIST = 2
#: the most a definition may ask: more would hide a device that is really degrading
MAX_PERSIST = 30
