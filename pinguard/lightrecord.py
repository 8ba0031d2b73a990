"""Immutable records without `dataclasses`' start-up cost, for the modules the conda plugin imports.

A frozen dataclass costs ~0.3-0.6 ms to define (it generates and execs its methods); the conda hooks run in every
`conda install` and define a dozen such types, so they use this base class instead: fields in `_fields`, defaults
in `_defaults`, positional or keyword construction, equality, hashing, repr and pickling by fields.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple


class Record:
    __slots__ = ()
    _fields: Tuple[str, ...] = ()
    _defaults: Dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError("%s takes at most %d arguments" % (type(self).__name__, len(fields)))
        values = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key not in fields or key in values:
                raise TypeError("%s: unexpected or repeated argument %r" % (type(self).__name__, key))
            values[key] = value
        for name in fields:
            if name in values:
                value = values[name]
            elif name in self._defaults:
                value = self._defaults[name]
                value = value() if callable(value) else value
            else:
                raise TypeError("%s: missing argument %r" % (type(self).__name__, name))
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("%s is immutable" % type(self).__name__)

    def _values(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + self._values())

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (f, getattr(self, f)) for f in self._fields))

    def _replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (as dataclasses.replace)."""
        values = dict(zip(self._fields, self._values()))
        values.update(changes)
        return type(self)(**values)

    def __reduce__(self):
        return (type(self), self._values())
