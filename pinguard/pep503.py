"""The one PEP 503 name normaliser of the code base (standard library only: the conda hooks' light path uses it)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """`Foo.Bar_baz` -> `foo-bar-baz`: the key for every package lookup (as packaging's canonicalize_name)."""
    return _SEPARATORS.sub("-", name).lower()
