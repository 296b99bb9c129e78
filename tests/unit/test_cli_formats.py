"""--format and --lang: which report files a scan or a re-render writes."""

from __future__ import annotations

import pytest

from scanner.cli.commands import _formats
from scanner.errors import ShinsaError


def test_lang_ja_renders_the_html_report_in_japanese():
    assert _formats("json,html") == ("json", "html")
    assert _formats("json,html", "ja") == ("json", "html-ja")
    assert _formats("html,html-ja", "ja") == ("html-ja",)


def test_an_unknown_format_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(ShinsaError, match="available: json"):
        _formats("json,pdf")
