"""conda's MatchSpec strings and version specs, read without conda. Pure.

pinguard must understand `numpy=1.21`, `pytorch==1.10.0=py3.7_cuda11.3_cudnn8.2.0_0`, `conda-forge::numpy[version=
'>=1.20,<1.22']` and `numpy 1.21.* py37*` where conda itself is not importable (tests, the bench, `pinguard check`),
and must answer exactly as conda does. The rules below follow conda's own parser and version order
(conda/models/match_spec.py `_parse_spec_str`, conda/models/version.py `VersionOrder` / `VersionSpec`, BSD-3-Clause,
Anaconda, Inc.): `=1.21` means `1.21.*`; `==1.21` and a bare `1.21` mean exactly 1.21 (which equals 1.21.0); `,` is
"and", `|` is "or" (and binds tighter), `~=`, `!=`, `*` globs and `.*` prefixes; versions compare by conda's
VersionOrder (1.1 == 1.1.0, 1.1dev1 < 1.1a1 < 1.1rc1 < 1.1 < 1.1post1). tests/test_conda_real.py compares these
answers with conda's on the same strings when a conda is at hand.
"""

from __future__ import annotations

import fnmatch
import re
from itertools import zip_longest
from typing import Any, Callable, List, Optional, Tuple, Union

from pinguard.errors import BadInput
from pinguard.lightrecord import Record

_VERSION_CHECK = re.compile(r"^[\*\.\+!_0-9a-z]+$")
_VERSION_SPLIT = re.compile(r"([0-9]+|[*]+|[^0-9*]+)")
_RELATION = re.compile(r"^(=|==|!=|<=|>=|<|>|~=)(?![=<>!~])(\S+)$")
_TOKENS = re.compile(r"\s*\^[^$]*[$]|\s*[()|,]|[^()|,]+")
_BRACKETS = re.compile(r".*(?:(\[.*\]))")
_BRACKETS_KV = re.compile(r"""([a-zA-Z0-9_-]+?)=(["']?)([^'"]*?)(\2)(?:[,\ ]|$)""")
_PARENS = re.compile(r".*(?:(\(.*\)))")
_NAME_VERSION = re.compile(r"([^\ =<>!~]+)?([><!=~\ ].+)?")
_VERSION_BUILD = re.compile(r"((?:.+?)[^><!,|]?)(?:(?<![=!|,<>~])(?:[\ =])([^-=,|<>~]+?))?$")

Component = List[Union[int, float, str]]
_NO_COMPONENT: Component = []  # what a shorter version has where a longer one has a component (never mutated)


class CondaSpecError(BadInput):
    """A conda version or MatchSpec string pinguard cannot read (conda would refuse it too)."""


class VersionOrder:
    """conda's order of version strings (conda/models/version.py), enough to compare and prefix-match."""

    __slots__ = ("text", "version", "local")

    def __init__(self, text: str) -> None:
        version = text.strip().lower()
        if not version:
            raise CondaSpecError("empty conda version")
        if not _VERSION_CHECK.match(version) and "-" in version and "_" not in version:
            version = version.replace("-", "_")
        if not _VERSION_CHECK.match(version):
            raise CondaSpecError("invalid conda version %r" % text)
        self.text = version
        parts = version.split("!")
        if len(parts) > 2 or (len(parts) == 2 and not parts[0].isdigit()):
            raise CondaSpecError("invalid epoch in conda version %r" % text)
        epoch = [parts[0]] if len(parts) == 2 else ["0"]
        main, _, local = parts[-1].partition("+")
        if not main or "+" in local:
            raise CondaSpecError("invalid local part in conda version %r" % text)
        if main.endswith("_"):
            split = main[:-1].replace("_", ".").split(".")
            split[-1] += "_"
        else:
            split = main.replace("_", ".").split(".")
        self.version = [self._component(c, text) for c in epoch + split]
        self.local = [self._component(c, text) for c in local.replace("_", ".").split(".")] if local else []

    @staticmethod
    def _component(text: str, whole: str) -> Component:
        pieces = _VERSION_SPLIT.findall(text)
        if not pieces:
            raise CondaSpecError("empty component in conda version %r" % whole)
        out: Component = []
        for piece in pieces:
            if piece.isdigit():
                out.append(int(piece))
            elif piece == "post":
                out.append(float("inf"))
            elif piece == "dev":
                out.append("DEV")
            else:
                out.append(piece)
        return out if text[0].isdigit() else [0] + out

    @staticmethod
    def _equal(left: List[Component], right: List[Component]) -> bool:
        for one, two in zip_longest(left, right, fillvalue=_NO_COMPONENT):
            for a, b in zip_longest(one, two, fillvalue=0):
                if a != b:
                    return False
        return True

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, VersionOrder) and self._equal(self.version, other.version)
                and self._equal(self.local, other.local))

    def __hash__(self) -> int:  # pragma: no cover - not used as a key
        return hash(self.text)

    def __lt__(self, other: "VersionOrder") -> bool:
        for mine, theirs in ((self.version, other.version), (self.local, other.local)):
            for one, two in zip_longest(mine, theirs, fillvalue=_NO_COMPONENT):
                for a, b in zip_longest(one, two, fillvalue=0):
                    if a == b:
                        continue
                    if isinstance(a, str):
                        if not isinstance(b, str):
                            return True
                    elif isinstance(b, str):
                        return False
                    return a < b  # type: ignore[operator]
        return False

    def __le__(self, other: "VersionOrder") -> bool:
        return not other < self

    def __gt__(self, other: "VersionOrder") -> bool:
        return other < self

    def __ge__(self, other: "VersionOrder") -> bool:
        return not self < other

    def startswith(self, other: "VersionOrder") -> bool:
        if other.local:
            if not self._equal(self.version, other.version):
                return False
            mine, theirs = self.local, other.local
        else:
            mine, theirs = self.version, other.version
        last = len(theirs) - 1
        if not self._equal(mine[:last], theirs[:last]):
            return False
        one: Component = [] if len(mine) <= last else mine[last]
        two = theirs[last]
        inner = len(two) - 1
        if not self._equal([one[:inner]], [two[:inner]]):
            return False
        a = 0 if len(one) <= inner else one[inner]
        b = two[inner]
        if isinstance(b, str):
            return isinstance(a, str) and a.startswith(b)
        return a == b

    def __repr__(self) -> str:
        return "VersionOrder(%r)" % self.text


def _compatible(version: VersionOrder, bound: VersionOrder) -> bool:
    return version >= bound and version.startswith(VersionOrder(".".join(bound.text.split(".")[:-1]) or "0"))


_OPERATORS = {
    "==": lambda v, b: v == b,
    "!=": lambda v, b: not v == b,
    "<=": lambda v, b: v <= b,
    ">=": lambda v, b: v >= b,
    "<": lambda v, b: v < b,
    ">": lambda v, b: v > b,
    "=": lambda v, b: v.startswith(b),
    "!=startswith": lambda v, b: not v.startswith(b),
    "~=": _compatible,
}


class VersionSpec:
    """A conda version spec (`1.21.*`, `>=1.20,<1.22|1.19.5`); `match(version_string) -> bool`."""

    def __init__(self, text: str) -> None:
        self.text = str(text).strip()
        if not self.text:
            raise CondaSpecError("empty conda version spec")
        self._match = self._compile(self.text)

    def match(self, version: str) -> bool:
        return self._match(str(version))

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return "VersionSpec(%r)" % self.text

    def _compile(self, text: str) -> Callable[[str], bool]:
        if re.match(r".*[()|,^$]", text):
            return self._tree(_treeify(text))
        return self._single(text)

    def _tree(self, tree: Any) -> Callable[[str], bool]:
        if isinstance(tree, str):
            return self._single(tree)
        parts = [self._tree(t) for t in tree[1:]]
        if tree[0] == "|":
            return lambda v: any(p(v) for p in parts)
        return lambda v: all(p(v) for p in parts)

    def _single(self, text: str) -> Callable[[str], bool]:
        text = text.strip()
        if text.startswith("^") or text.endswith("$"):
            if not (text.startswith("^") and text.endswith("$")):
                raise CondaSpecError("regex version spec %r must start with ^ and end with $" % text)
            regex = re.compile(text)
            return lambda v: bool(regex.match(v))
        if text[0] in "=<>!~":
            found = _RELATION.match(text)
            if found is None:
                raise CondaSpecError("invalid operator in conda version spec %r" % text)
            operator, bound = found.groups()
            if bound.endswith(".*"):
                if operator in ("=", ">="):
                    bound = bound[:-2]
                elif operator == "!=":
                    bound, operator = bound[:-2], "!=startswith"
                elif operator == "~=":
                    raise CondaSpecError("invalid operator with .* in conda version spec %r" % text)
                else:
                    bound = bound[:-2]
            order = VersionOrder(bound)
            function = _OPERATORS[operator]
            return lambda v: function(VersionOrder(v), order)
        if text == "*":
            return lambda v: True
        if "*" in text.rstrip("*"):
            regex = re.compile(r"^(?:%s)$" % text.replace(".", r"\.").replace("+", r"\+").replace("*", r".*"))
            return lambda v: bool(regex.match(v))
        if text.endswith("*"):
            order = VersionOrder(text.rstrip("*").rstrip(".") or "0")
            return lambda v: VersionOrder(v).startswith(order)
        if "@" in text:
            return lambda v: v == text
        order = VersionOrder(text)
        return lambda v: VersionOrder(v) == order


def _treeify(text: str) -> Any:
    """conda's treeify: `1.2,>3|4` -> ('|', (',', '1.2', '>3'), '4')."""
    tokens = _TOKENS.findall("(%s)" % text)
    output: List[Any] = []
    stack: List[str] = []

    def apply(stop: Tuple[str, ...]) -> None:
        while stack and stack[-1] not in stop:
            if len(output) < 2:
                raise CondaSpecError("cannot join a single expression in conda version spec %r" % text)
            operator = stack.pop()
            right = output.pop()
            right = right[1:] if right[0] == operator else (right,)
            left = output.pop()
            left = left[1:] if left[0] == operator else (left,)
            output.append((operator,) + left + right)

    for token in tokens:
        token = token.strip()
        if token == ",":
            apply(("|", ",", "("))
            stack.append(",")
        elif token == "|":
            apply(("(",))
            stack.append("|")
        elif token == "(":
            stack.append("(")
        elif token == ")":
            apply(("(",))
            if not stack:
                raise CondaSpecError("unbalanced parentheses in conda version spec %r" % text)
            stack.pop()
        elif token:
            output.append(token)
    if stack or len(output) != 1:
        raise CondaSpecError("unbalanced parentheses in conda version spec %r" % text)
    return output[0]


class CondaSpec(Record):
    """The parts of a MatchSpec pinguard uses: name, version (conda version spec text, None = any), build (build
    string glob, None = any), channel, text (as given)."""

    __slots__ = _fields = ("name", "version", "build", "channel", "text")
    _defaults = {"version": None, "build": None, "channel": None, "text": ""}
    name: str
    version: Optional[str]
    build: Optional[str]
    channel: Optional[str]
    text: str

    def version_spec(self) -> Optional[VersionSpec]:
        return VersionSpec(self.version) if self.version else None

    def matches_version(self, version: str) -> bool:
        spec = self.version_spec()
        return spec is None or spec.match(version)

    def matches_build(self, build: str) -> bool:
        if not self.build or self.build == "*":
            return True
        if self.build.startswith("^") and self.build.endswith("$"):
            return bool(re.match(self.build, build))
        return fnmatch.fnmatchcase(build, self.build)

    def __str__(self) -> str:
        return self.text or self.name


def _sanitize_version(version: str, build: Optional[str]) -> str:
    if version in ("==", "=") or not version.startswith("="):
        return version
    bare = version.lstrip("=")
    if version.startswith("==") and build is None:
        return bare
    if not any(c in bare for c in "=,|"):
        if build is None and not bare.endswith("*"):
            return bare + "*"
        return bare
    return version


def parse_matchspec(text: str) -> CondaSpec:
    """Parse a MatchSpec string as conda's classic parser does; raises CondaSpecError for what it cannot read."""
    original = str(text)
    spec = original.split("#", 1)[0].split(" if ", 1)[0].strip()
    if not spec:
        raise CondaSpecError("empty conda package spec %r" % original)
    brackets = {}
    found = _BRACKETS.match(spec)
    if found:
        inner = found.group(1)
        spec = spec.replace(inner, "")
        for key, _, value, _ in _BRACKETS_KV.findall(inner[1:-1]):
            if not key or not value:
                raise CondaSpecError("key-value mismatch in the brackets of conda spec %r" % original)
            brackets[key] = _sanitize_version(value, None) if key == "version" else value
    found = _PARENS.match(spec)
    if found:
        spec = spec.replace(found.group(1), "")
    channel = None
    pieces = spec.rsplit(":", 2)
    if len(pieces) == 3:
        channel, _, spec = pieces
    elif len(pieces) == 2:
        spec = pieces[1]
    channel = brackets.pop("channel", None) or channel
    found = _NAME_VERSION.match(spec.strip())
    name, rest = (found.groups() if found else (None, None))
    if not name:
        raise CondaSpecError("no package name in conda spec %r" % original)
    version = build = None
    rest = rest and rest.strip()
    if rest:
        if "[" in rest:
            raise CondaSpecError("multiple brackets in conda spec %r" % original)
        parts = _VERSION_BUILD.search(rest)
        version, build = (parts.groups() if parts else (rest, None))
        build = build and build.strip()
        version = version and version.replace(" ", "")
        version = _sanitize_version(version, build)
        if version in ("==", "=", "<=", ">=", "<", ">", "!=", "~="):
            raise CondaSpecError("operator without a version in conda spec %r" % original)
    version = brackets.get("version", version)
    build = brackets.get("build", build)
    if version and version.endswith("*") and not version.endswith(".*") and \
            not re.search(r"[=<>!~,|()*]", version[:-1]):
        version = version[:-1] + ".*"  # conda spells `=1.21` as 1.21.*
    if version is not None:
        VersionSpec(version)  # validate now: a bad spec is an error here, not a wrong answer later
    if channel and "/" in channel and "://" not in channel:
        channel = channel.split("/")[0]
    return CondaSpec(name.lower(), version or None, build or None, channel or None, original.strip())


def spec_from_conda(obj: Any) -> CondaSpec:
    """A `conda.models.match_spec.MatchSpec` (or anything that prints as a MatchSpec string) -> CondaSpec."""
    if isinstance(obj, CondaSpec):
        return obj
    get = getattr(obj, "get_raw_value", None)
    name = getattr(obj, "name", None)
    if callable(get) and isinstance(name, str):
        version = get("version")
        build = get("build")
        channel = get("channel")
        return CondaSpec(name.lower(), str(version) if version is not None else None,
                         str(build) if build is not None else None,
                         getattr(channel, "canonical_name", None) or (str(channel) if channel else None),
                         str(obj))
    return parse_matchspec(str(obj))


def from_pep440(specifier: Any) -> str:
    """A PEP 440 specifier set (anything iterating clauses with `.operator` / `.version`) as a conda version spec.

    Local labels are builds in conda, not versions (`==1.10.0+cu113` -> `==1.10.0`); PEP 440's prefix match
    `==1.2.*` is conda's `1.2.*` (conda reads `==1.2.*` as exactly 1.2); `!=1.2.*` means the same in both."""
    parts = []
    for clause in sorted(specifier, key=str):
        version = clause.version.split("+")[0]
        operator = "==" if clause.operator == "===" else clause.operator
        if operator == "==" and version.endswith(".*"):
            operator = ""
        parts.append("%s%s" % (operator, version))
    return ",".join(parts)
