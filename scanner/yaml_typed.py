"""Typed reading of the YAML files a person writes: profiles, credential lists, evidence.

YAML decides a plain value's type by its look: `false` is a boolean but `"false"` is text,
`0123` is the octal number 83, `.nan` is a float, `2026-06-30` a date. A loader that converts
(`bool("false")` is True) turns a quoted `"false"` into yes. Here nothing is converted: a
value has the type its field needs or the file is refused, and the error names the file and
the line of the value, as a person fixing it needs them.

`read()` gives a document whose mappings are `Map` and whose lists are `Seq`: a dict and a
list that remember where each of their values was written (`at()` says where). The accessors
(`text`, `optional_text`, `flag`, `whole`, `mapping`, `sequence`, `only_keys`, `date_of`) read
one field with its type checked; `coerce()` checks a value against a type annotation (the
fields of a check's Params). Profiles, credential lists and evidence files all read through
here, so a rule holds for all three.
"""

from __future__ import annotations

import hashlib
import math
import types
import typing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

#: text shown of a wrong value in a message: enough to recognise it, never a page of it
SHOWN = 40


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a value was written: its file and (1-based) line, when known."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path} line {self.line}" if self.line is not None else str(self.path)


class Map(dict[str, Any]):
    """A YAML mapping that remembers where it starts and where each of its keys is."""

    mark: Mark
    marks: dict[str, Mark]


class Seq(list[Any]):
    """A YAML list that remembers where it starts and where each item is."""

    mark: Mark
    marks: list[Mark]


def at(container: object, key: str | int, default: Mark | None = None) -> Mark | None:
    """Where an entry of a mapping or list (from `read`, or plain from elsewhere) was written;
    else where the container starts; else `default`."""
    marks = getattr(container, "marks", None)
    if isinstance(marks, dict) and isinstance(key, str) and key in marks:
        return typing.cast("Mark", marks[key])
    if isinstance(marks, list) and isinstance(key, int) and 0 <= key < len(marks):
        return typing.cast("Mark", marks[key])
    return typing.cast("Mark | None", getattr(container, "mark", default))


# --- reading -----------------------------------------------------------------------------


def decode(raw: bytes, path: Path) -> str:
    """UTF-8 text (a byte-order mark allowed), or a ConfigError naming the line of the first
    byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{Mark(path, line)}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); save the file as UTF-8"
        ) from None


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:  # a path with a NUL in it
        raise ConfigError(f"{path!r}: cannot read ({exc})") from None


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml's when installed: the credential lists hold thousands of entries)
    whose mappings and lists remember their lines, with duplicate keys refused and dates
    left as text for `date_of` to read (2026-13-01 is then an error with a line, not a
    ValueError from inside the YAML library)."""

    path: Path


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[Map]:
    data = Map()
    data.mark = Mark(loader.path, _line(node))
    data.marks = {}
    yield data
    seen: set[object] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key_node.value)
    constructed = loader.construct_mapping(node)  # merges `<<` keys into node.value too
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a key must be text, not {describe(key)} (quote it)",
                key_node.start_mark,
            )
        data.marks.setdefault(key, Mark(loader.path, _line(key_node)))
    data.update(constructed)


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Iterator[Seq]:
    data = Seq()
    data.mark = Mark(loader.path, _line(node))
    data.marks = [Mark(loader.path, _line(n)) for n in node.value]
    yield data
    data.extend(loader.construct_sequence(node))


def _as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)


def parse(text: str, path: Path) -> object:
    """One YAML document, its mappings `Map` and its lists `Seq`; a ConfigError with the
    line and column of what YAML could not read."""
    loader = _Loader(text)
    loader.path = path
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None
    except RecursionError:  # the pure-Python composer on very deep nesting
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # a value YAML reads but Python refuses:
        # an integer of more than 4,300 digits, a timestamp's impossible date (!!timestamp)
        raise ConfigError(f"{path}: invalid YAML: {shown(str(exc))}") from None
    finally:
        loader.dispose()


def read(path: Path) -> tuple[object, str]:
    """The document in `path` and the sha256 of its bytes."""
    raw = read_bytes(path)
    return parse(decode(raw, path), path), hashlib.sha256(raw).hexdigest()


def read_mapping(path: Path, what: str) -> tuple[Map, str]:
    """A document that must be a mapping at the top (`what` names the kind of file)."""
    data, digest = read(path)
    if not isinstance(data, Map):
        raise ConfigError(f"{path}: expected {what}: a mapping at the top level")
    return data, digest


def merged(base: dict[str, Any], over: dict[str, Any]) -> Map:
    """`base` with `over`'s keys on top, each key keeping where it was written (a child
    profile's block refining its parent's: an error names the file that set the value)."""
    out = Map({**base, **over})
    out.mark = at(over, -1) or at(base, -1) or Mark(Path("<merged>"))
    out.marks = {}
    for source in (base, over):
        for key in source:
            mark = at(source, key)
            if mark is not None:
                out.marks[key] = mark
    return out


# --- what a wrong value is, in words -------------------------------------------------------

_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n"}


def shown(text: str) -> str:
    """Text quoted for a message: bounded, control characters escaped."""
    cut = text if len(text) <= SHOWN else text[:SHOWN] + "…"
    return repr(cut)


def bounded(message: str, limit: int = 300) -> str:
    """A message that may quote a value of any length, cut to `limit` characters."""
    return message if len(message) <= limit else message[:limit] + "…"


def describe(value: object) -> str:
    """A wrong value as a message names it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the number {value}" if abs(value) < 10**SHOWN else "a very large number"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN (.nan)"
        if math.isinf(value):
            return "infinity (.inf)"
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, bytes):
        return "binary data"
    return f"a YAML {type(value).__name__}"


def kind(value: object) -> str:
    """What kind of value it is, without showing it (for a password)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return describe(value) if isinstance(value, (dict, list, date, bytes)) else "a value"


def _hint(value: object, wanted: str) -> str:
    if wanted == "true or false" and isinstance(value, str) and value.lower() in _WORDS:
        return " (write true or false without quotes)"
    return ""


def wrong(mark: Mark | None, label: str, wanted: str, value: object) -> ConfigError:
    """`FILE line N: LABEL: must be WANTED, not VALUE`."""
    return ConfigError(
        f"{_where(mark)}{label}: must be {wanted}, not {describe(value)}{_hint(value, wanted)}"
    )


# --- one value, checked ----------------------------------------------------------------------


def is_whole(value: object) -> bool:
    """An integer, and not a boolean (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def as_number(value: object, mark: Mark | None, label: str) -> float:
    """A finite number (an integer or a decimal); never NaN, infinity or text."""
    if is_whole(value):
        try:
            return float(typing.cast("int", value))
        except OverflowError:
            raise wrong(mark, label, "a finite number", value) from None
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise wrong(mark, label, "a finite number", value)


def coerce(kind: object, value: object, mark: Mark | None, label: str) -> object:
    """`value` as the annotation `kind` wants it (bool, int, float, str, tuple[X, ...], X | None),
    or a ConfigError; a list item's error names the item's own line."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        (kind,) = [o for o in options if o is not type(None)]
        return coerce(kind, value, mark, label)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise wrong(mark, label, "true or false", value)
    if kind is int:
        if is_whole(value):
            return value
        raise wrong(mark, label, "a whole number", value)
    if kind is float:
        return as_number(value, mark, label)
    if kind is str:
        if isinstance(value, str):
            return value
        raise wrong(mark, label, "text", value)
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"unsupported parameter type {kind!r}")
        if not isinstance(value, list):
            raise wrong(mark, label, "a list", value)
        return tuple(
            coerce(args[0], item, at(value, i, mark), f"{label}[{i}]")
            for i, item in enumerate(value)
        )
    raise TypeError(f"unsupported parameter type {kind!r}")


# --- one field of a mapping, checked ---------------------------------------------------------


def _field(m: dict[str, Any], key: str, default: object) -> tuple[object, Mark | None]:
    return m.get(key, default), at(m, key)


def _where(mark: Mark | None) -> str:
    return f"{mark}: " if mark is not None else ""


def text(
    m: dict[str, Any],
    key: str,
    label: str,
    *,
    default: str | None = None,
    empty: bool = False,
    max_len: int | None = None,
) -> str:
    """A text field: present (or `default`), text, non-blank unless `empty`, at most
    `max_len` characters."""
    value, mark = _field(m, key, default)
    if value is None:
        raise ConfigError(f"{_where(mark)}{label}: missing (text needed)")
    if not isinstance(value, str):
        raise wrong(mark, label, "text", value)
    if not empty and not value.strip():
        raise ConfigError(f"{_where(mark)}{label}: must be a non-empty string")
    if max_len is not None and len(value) > max_len:
        raise ConfigError(f"{_where(mark)}{label}: longer than {max_len} characters")
    return value


def optional_text(m: dict[str, Any], key: str, label: str, *, empty: bool = False) -> str | None:
    """A text field that may be absent or null (and blank, when `empty`)."""
    if m.get(key) is None:
        return None
    return text(m, key, label, empty=empty)


def flag(m: dict[str, Any], key: str, label: str, default: bool) -> bool:
    """A boolean field: YAML's unquoted true or false, nothing else."""
    value, mark = _field(m, key, default)
    return typing.cast("bool", coerce(bool, value, mark, label))


def whole(
    m: dict[str, Any],
    key: str,
    label: str,
    *,
    default: int | None = None,
    low: int | None = None,
    high: int | None = None,
) -> int | None:
    """A whole-number field within [low, high] (None when absent and no default)."""
    value, mark = _field(m, key, default)
    if value is None:
        return None
    if not is_whole(value):
        raise wrong(mark, label, "a whole number", value)
    number = typing.cast("int", value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ConfigError(f"{_where(mark)}{label}: must be {low}-{high}, not {number}")
    return number


def mapping(m: dict[str, Any], key: str, label: str) -> dict[str, Any]:
    """A mapping field; absent or null reads as an empty mapping."""
    value, mark = _field(m, key, None)
    if value is None:
        return Map()
    if not isinstance(value, dict):
        raise wrong(mark, label, "a mapping", value)
    return value


def sequence(m: dict[str, Any], key: str, label: str) -> list[Any]:
    """A list field; absent or null reads as an empty list."""
    value, mark = _field(m, key, None)
    if value is None:
        return Seq()
    if not isinstance(value, list):
        raise wrong(mark, label, "a list", value)
    return value


def only_keys(m: dict[str, Any], allowed: Collection[str], label: str) -> None:
    """Every key of `m` is one of `allowed`; else an error at the first unknown key's line."""
    unknown = [k for k in m if k not in allowed]
    if unknown:
        first = unknown[0]
        where = f"{label}.{first}" if label else first
        raise ConfigError(
            f"{at(m, first)}: {where}: unknown field (allowed: {', '.join(sorted(allowed))})"
        )


def date_of(value: object, mark: Mark | None, label: str) -> date:
    """A date written YYYY-MM-DD (dates reach the loaders as text: see `_Loader`)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{_where(mark)}{label}: must be a date (YYYY-MM-DD), not {describe(value)}")
