"""The dashboard's words in English and Japanese: {key: {"en": ..., "ja": ...}}, read by
scanner.service.ui_text (being built: issue 14)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {}
