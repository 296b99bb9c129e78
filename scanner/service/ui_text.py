"""The words of the service's pages in English and Japanese.

`TEXT` holds the frame's own words (navigation, login, language switch); the dashboard's
catalogue (`scanner.service.dashboard_text.TEXT`) is merged over it, so one lookup serves
every template. A missing Japanese entry falls back to English, a missing key to the key
itself (visible on the page, so a test or a reader notices).
"""

from __future__ import annotations

from scanner.service import dashboard_text

LANGS = ("en", "ja")

TEXT: dict[str, dict[str, str]] = {
    "app.name": {"en": "shinsa", "ja": "shinsa"},
    "app.tagline": {"en": "Operation service", "ja": "運用サービス"},
    "nav.fleet": {"en": "Fleet", "ja": "機器一覧"},
    "nav.devices": {"en": "Devices", "ja": "機器"},
    "nav.runs": {"en": "Runs", "ja": "スキャン履歴"},
    "nav.schedules": {"en": "Schedules", "ja": "スケジュール"},
    "nav.alerts": {"en": "Alerts", "ja": "アラート"},
    "nav.inventory": {"en": "Inventory", "ja": "資産台帳"},
    "nav.users": {"en": "Users", "ja": "ユーザー"},
    "nav.main": {"en": "Main navigation", "ja": "メインメニュー"},
    "lang.switch": {"en": "日本語", "ja": "English"},
    "lang.label": {"en": "Language", "ja": "表示言語"},
    "logout": {"en": "Log out", "ja": "ログアウト"},
    "signed_in_as": {"en": "Signed in as {name} ({role})", "ja": "{name}（{role}）でログイン中"},
    "role.viewer": {"en": "viewer", "ja": "閲覧者"},
    "role.operator": {"en": "operator", "ja": "運用者"},
    "role.admin": {"en": "admin", "ja": "管理者"},
    "login.title": {"en": "Log in", "ja": "ログイン"},
    "login.name": {"en": "User name", "ja": "ユーザー名"},
    "login.password": {"en": "Password", "ja": "パスワード"},
    "login.submit": {"en": "Log in", "ja": "ログイン"},
    "login.failed": {
        "en": "Login failed: wrong user name or password.",
        "ja": "ログインできませんでした。ユーザー名またはパスワードが違います。",
    },
    "login.locked": {
        "en": "Too many failed logins: this name is locked for a while. Try again later.",
        "ja": "ログインの失敗が続いたため、このユーザー名は一時的にロックされています。"
        "しばらくしてから再度お試しください。",
    },
    "login.notice": {
        "en": "Authorised users only. Every login and change is recorded in the audit log.",
        "ja": "許可された利用者のみ使用できます。ログインと操作はすべて監査ログに記録されます。",
    },
    "error.forbidden": {
        "en": "You may not do this: {reason}.",
        "ja": "この操作は許可されていません（{reason}）。",
    },
    "error.not_found": {"en": "Not found.", "ja": "見つかりません。"},
}


def catalogue() -> dict[str, dict[str, str]]:
    """The frame's words with the dashboard's merged over them."""
    merged = {key: dict(value) for key, value in TEXT.items()}
    for key, value in dashboard_text.TEXT.items():
        merged.setdefault(key, {}).update(value)
    return merged


_CATALOGUE: dict[str, dict[str, str]] | None = None


def text(lang: str, key: str, **fields: object) -> str:
    """The words for `key` in `lang` (en fallback, then the key), with `fields` filled in
    by str.format."""
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = catalogue()
    entry = _CATALOGUE.get(key)
    words = key if entry is None else entry.get(lang) or entry.get("en") or key
    # a field not given stays as written ({n} shows as {n}), never a KeyError on a page
    return words.format_map(_Fields(fields)) if fields else words


class _Fields(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
