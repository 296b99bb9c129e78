"""Where the web probes' HTTP exchange used to live; it is `scanner/http_exchange.py` now.

Kept only for `probes/session_expiry.py`, which another change edits at the same time:
once that file imports from `scanner.http_exchange`, this module goes.
"""

from __future__ import annotations

from scanner.http_exchange import Throttled, exchange, follow

__all__ = ["Throttled", "exchange", "follow"]
