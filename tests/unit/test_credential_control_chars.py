"""A username or password holding a control character is refused when it is loaded, from
every source (built-in lists, `--credentials` files, the profile's test account), naming the
file and line and never showing the password: sent raw, a CR/LF inside a Telnet password made
one list entry three logins on the device (issue 11 #5)."""

from __future__ import annotations

import json
import unicodedata
from typing import TYPE_CHECKING

import pytest

from probes.registry import all_checks
from scanner.cli import main
from scanner.credential_lists import BUILTIN, load_catalog, load_list
from scanner.credentials import control_character
from scanner.errors import ConfigError
from scanner.judging.profiles import load_profile

if TYPE_CHECKING:
    from pathlib import Path

#: a control character as written in a double-quoted YAML string, and its code point
CONTROLS = [
    ("\\r\\n", 0x0D),
    ("\\n", 0x0A),
    ("\\0", 0x00),
    ("\\t", 0x09),  # refused too: see control_character()
    ("\\x1b", 0x1B),
    ("\\x7f", 0x7F),  # DEL: a terminal's line discipline erases with it
    ("\\x85", 0x85),  # NEL (C1): a line end to a Latin-1 client
    ("\\x9f", 0x9F),
]
SECRET = "Sup3rSecret"


def write(tmp_path: Path, text: str, name: str = "list.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("escaped", "code"), CONTROLS)
def test_a_password_with_a_control_character_is_refused_with_file_and_line(tmp_path, escaped, code):
    path = write(
        tmp_path,
        "format: shinsa-credentials/1\ncredentials:\n  - protocols: [telnet]\n    source: s\n"
        f'    pairs:\n      - [admin, admin]\n      - [admin, "{SECRET}{escaped}x"]\n',
    )
    with pytest.raises(ConfigError) as info:
        load_list(path, user=True)
    message = str(info.value)
    assert message.startswith(f"{path} line 7: credentials[0]: pairs[1] password: ")
    assert f"U+{code:04X}" in message
    assert SECRET not in message


@pytest.mark.parametrize(("escaped", "code"), CONTROLS)
def test_a_username_with_a_control_character_is_refused(tmp_path, escaped, code):
    path = write(
        tmp_path,
        "format: shinsa-credentials/1\ncredentials:\n"
        f'  - {{protocols: [ftp], source: s, pairs: [["ad{escaped}min", pw]]}}\n',
    )
    with pytest.raises(ConfigError, match=rf"line 3: .*username: holds U\+{code:04X}"):
        load_list(path, user=True)


def test_a_json_bodied_list_is_checked_too(tmp_path):
    """The imported data sets' fast path (JSON) refuses what the YAML path refuses."""
    entries = [
        {"protocols": ["ssh"], "pairs": [["root", "root"]], "source": "s"},
        {"protocols": ["telnet"], "pairs": [["root", "a\r\nroot"]], "source": "s"},
    ]
    body = ",\n".join(json.dumps(e) for e in entries)
    path = write(
        tmp_path,
        f'# generated\n{{"format": "shinsa-credentials/1", "credentials": [\n{body}\n]}}\n',
    )
    with pytest.raises(ConfigError, match=r"list\.yaml line 4: credentials\[1\]: pairs\[0\] pass"):
        load_list(path)


def test_scan_refuses_a_credentials_file_with_a_crlf_password(tmp_path, capsys):
    path = write(
        tmp_path,
        "format: shinsa-credentials/1\ncredentials:\n"
        '  - {protocols: [telnet], source: site, pairs: [[admin, "x\\r\\nreboot"]]}\n',
    )
    code = main(["scan", "127.0.76.9", "--credentials", str(path), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{path} line 3" in err
    assert "U+000D (CR)" in err
    assert "reboot" not in err
    assert "Traceback" not in err


def test_a_test_account_username_with_a_control_character_is_refused(tmp_path):
    path = write(
        tmp_path,
        'profile: p\nextends: base\ntest_account:\n  username: "op\\r\\nroot"\n'
        "  password_env: SHINSA_TEST_PW\n",
        "p.yaml",
    )
    with pytest.raises(ConfigError, match=r"p\.yaml line 4: test_account\.username: holds U\+000D"):
        load_profile(str(path), all_checks())


def test_a_test_account_password_with_a_control_character_is_refused_at_load(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        "profile: p\nextends: base\ntest_account:\n  username: op\n"
        "  password_env: SHINSA_TEST_PW\n",
        "p.yaml",
    )
    monkeypatch.setenv("SHINSA_TEST_PW", f"{SECRET}\n")
    with pytest.raises(ConfigError) as info:
        load_profile(str(path), all_checks())
    message = str(info.value)
    assert message.startswith(f"{path.resolve()} line 5: test_account: $SHINSA_TEST_PW")
    assert "U+000A (LF)" in message
    assert SECRET not in message
    monkeypatch.setenv("SHINSA_TEST_PW", SECRET)  # the same account with a clean password
    account = load_profile(str(path), all_checks()).test_account
    assert account is not None
    credential = account.credential()
    assert credential is not None
    assert credential.password == SECRET


def test_printable_unicode_and_spaces_are_not_control_characters():
    for text in ("pässwörd", "パスワード", "admin admin", "p@ss!#%^&*()~`", "", "\u00a0nbsp"):
        assert control_character(text) is None, text


def test_every_code_point_of_the_cc_category_is_refused():
    for code in range(0x110000):
        ch = chr(code)
        assert (control_character(ch) is not None) == (unicodedata.category(ch) == "Cc"), code


def test_the_shipped_lists_load_and_hold_no_control_character():
    catalog = load_catalog([BUILTIN.parent / "mirai-2016.yaml"])
    assert len(catalog.entries) > 1000
    for entry in catalog.entries:
        for cred in entry.pairs:
            assert control_character(cred.username) is None
            assert control_character(cred.password) is None
