"""A TOML writer for the subset a lock needs (tomli only reads): strings, integers, booleans, arrays of those,
inline tables, tables and arrays of tables. Keys are quoted when they are not bare keys."""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Sequence

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def key(text: str) -> str:
    return text if _BARE.match(text) else string(text)


def string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return '"%s"' % "".join(out)


def value(item: Any) -> str:
    """One value, inline."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, str):
        return string(item)
    if isinstance(item, Mapping):
        return "{ %s }" % ", ".join("%s = %s" % (key(k), value(v)) for k, v in item.items()) if item else "{}"
    if isinstance(item, (list, tuple)):
        return "[%s]" % ", ".join(value(v) for v in item)
    raise TypeError("no TOML form for %r" % type(item).__name__)


def pairs(table: Mapping[str, Any]) -> List[str]:
    """`key = value` lines for a table's values (None values are left out)."""
    return ["%s = %s" % (key(k), value(v)) for k, v in table.items() if v is not None]


def table(name: Sequence[str], body: Mapping[str, Any], array: bool = False) -> List[str]:
    """A `[name]` (or `[[name]]`) header and its `key = value` lines."""
    dotted = ".".join(key(part) for part in name)
    return [("[[%s]]" if array else "[%s]") % dotted] + pairs(body)


def array_of_tables(name: Sequence[str], items: Sequence[Mapping[str, Any]]) -> List[str]:
    """`[[name]]` entries, each followed by a blank line."""
    lines: List[str] = []
    for item in items:
        lines += table(name, item, array=True) + [""]
    return lines
