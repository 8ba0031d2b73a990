"""Which CPython versions a wheel installs on, on Linux x86_64, from its file name and Requires-Python. Pure.

A wheel serves CPython X.Y (the default build, not the free-threaded one) when one of its tags has a Linux
x86_64 platform (`manylinux*_x86_64`, `linux_x86_64`) or `any`, and an interpreter/ABI pip accepts there:
`cpXY` with `cpXY`/`cpXYm`/`cpXYmu`/`none`, `cpXY-abi3` for X.Y and later, `pyX` or `pyXY` (and later minors)
with `none`; and its Requires-Python admits some X.Y patch release.
"""

from __future__ import annotations

from typing import FrozenSet, Optional, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

Python = Tuple[int, int]
_ABI_EXACT = ("none", "cp{0}{1}", "cp{0}{1}m", "cp{0}{1}mu")


def wheel_tags(filename: str) -> FrozenSet[Tag]:
    """The tags of a wheel file name (empty for an sdist or a name that does not parse)."""
    if not filename.endswith(".whl"):
        return frozenset()
    try:
        return parse_wheel_filename(filename)[3]
    except (InvalidWheelFilename, InvalidVersion):
        return frozenset()


def linux_x86_64(platform: str) -> bool:
    return platform in ("any", "linux_x86_64") or (platform.startswith("manylinux") and platform.endswith("_x86_64"))


def tag_serves(tag: Tag, python: Python) -> bool:
    """Does one tag install on CPython `python` on Linux x86_64?"""
    if not linux_x86_64(tag.platform):
        return False
    major, minor = python
    interpreter, abi = tag.interpreter, tag.abi
    digits = interpreter[2:]
    if interpreter.startswith("cp") and digits.isdigit() and len(digits) >= 2:
        tag_major, tag_minor = int(digits[0]), int(digits[1:])
        if abi == "abi3":
            return tag_major == major and tag_minor <= minor
        return (tag_major, tag_minor) == python and abi in [a.format(major, minor) for a in _ABI_EXACT]
    if interpreter.startswith("py") and digits.isdigit() and abi == "none":
        if len(digits) == 1:
            return int(digits) == major
        return int(digits[0]) == major and int(digits[1:]) <= minor
    return False


def requires_python_ok(requires_python: Optional[str], python: Python) -> bool:
    """Does Requires-Python admit some patch release of `python` (unparsable: yes, as pip ignores it)?"""
    if not requires_python:
        return True
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True
    return spec.contains(Version("%d.%d.99" % python), prereleases=True)


def serves(filename: str, requires_python: Optional[str], python: Python) -> bool:
    """Does this wheel install on CPython `python` on Linux x86_64?"""
    return requires_python_ok(requires_python, python) and any(tag_serves(t, python) for t in wheel_tags(filename))


def cpython_of(tag: Tag) -> Optional[str]:
    """"X.Y" of a `cpXY` interpreter tag, else None."""
    digits = tag.interpreter[2:]
    if tag.interpreter.startswith("cp") and digits.isdigit() and len(digits) >= 2:
        return "%s.%s" % (digits[0], digits[1:])
    return None


def python_tuple(text: str) -> Python:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)
