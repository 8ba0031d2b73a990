"""A rule's claim about code or metadata, as data a machine can check: the `evidence` list of a rule in rules.toml.

Each entry names one kind of claim (schema in pinguard/knowledge/README.md, "evidence"):

- `assert-bounds`: the version assert in `path` of the asserting `dist`'s `versions` accepts exactly the releases
  of `checked` that `expect` (default: the rule's `require` for `checked`) admits;
- `name`, `module`, `text`, `param`, `setter`: something present or absent in one file (or module) of `dist`,
  with boundary versions (`present_from`, `present_until`, `absent_from`): the release at the boundary and its
  neighbour are read, one member each, not every release; or with lists of releases read as they are
  (`present_in`, `absent_in`: the newest release of a project that still has it, say);
- `requires-dist`: `version`'s Requires-Dist holds `requirement` (or, with `absent = true`, names no such
  package);
- `wheel-tags`: the CPython versions `version` has Linux x86_64 wheels for are exactly `pythons`;
- `human`: a fact code cannot show (GPU kernels, ABI, drivers, CUDA, behaviour at run time): `why` says what,
  the rule's `sources` back it.

Validated on load: a damaged entry is a KnowledgeError naming the rule and the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pinguard.pep503 import normalize
from packaging.version import InvalidVersion, Version

from pinguard.errors import KnowledgeError

BOUNDARIES = ("present_from", "present_until", "absent_from")
AT_VERSIONS = ("present_in", "absent_in")  # releases read as they are, without their neighbours
WITHIN = ("source", "raise", "import")
FILE_KINDS = ("name", "module", "text", "param", "setter")
KINDS = ("assert-bounds",) + FILE_KINDS + ("requires-dist", "wheel-tags", "human")

_COMMON = ("kind", "dist")
_KEYS: Dict[str, Tuple[str, ...]] = {
    "assert-bounds": ("path", "versions", "checked", "module", "expect"),
    "name": ("path", "name") + BOUNDARIES + AT_VERSIONS,
    "module": ("module",) + BOUNDARIES + AT_VERSIONS,
    "text": ("path", "text", "in") + BOUNDARIES + AT_VERSIONS,
    "param": ("path", "function", "name", "positional") + BOUNDARIES + AT_VERSIONS,
    "setter": ("path", "name") + BOUNDARIES + AT_VERSIONS,
    "requires-dist": ("version", "requirement", "absent"),
    "wheel-tags": ("version", "pythons"),
    "human": ("why",),
}
_REQUIRED: Dict[str, Tuple[str, ...]] = {
    "assert-bounds": ("dist", "path", "versions", "checked"),
    "name": ("dist", "path", "name"),
    "module": ("dist", "module"),
    "text": ("dist", "path", "text"),
    "param": ("dist", "path", "function", "name"),
    "setter": ("dist", "path", "name"),
    "requires-dist": ("dist", "version", "requirement"),
    "wheel-tags": ("dist", "version", "pythons"),
    "human": ("why",),
}


@dataclass(frozen=True)
class Evidence:
    """One checkable claim of a rule (see the module docstring); fields a kind does not use stay empty."""

    kind: str
    dist: str = ""  # normalized distribution name
    paths: Tuple[str, ...] = ()  # the file, or alternatives (the first the release has is read)
    module: str = ""  # `module`: the module; `assert-bounds`: the import name of `checked`
    name: str = ""  # `name`: the bound name; `param`: the parameter; `setter`: Class.attribute
    function: str = ""  # `param`: `f` or `Class.method`
    text: str = ""
    within: str = "source"  # `text`: where to look: the file's source, raise/assert messages, import statements
    positional: bool = False  # `param`: present only when it can be passed positionally
    boundaries: Tuple[Tuple[str, Version], ...] = ()  # (present_from | present_until | absent_from, version)
    at_versions: Tuple[Tuple[Version, bool], ...] = ()  # present_in / absent_in: (release, present there?)
    version: Optional[Version] = None
    versions: Tuple[Version, ...] = ()
    checked: str = ""  # `assert-bounds`: the distribution whose version the assert reads (normalized)
    expect: Optional[SpecifierSet] = None
    requirement: Optional[Requirement] = None
    absent: bool = False
    pythons: Tuple[str, ...] = ()
    why: str = ""

    @property
    def machine(self) -> bool:
        """Can a machine check it (every kind but `human`)?"""
        return self.kind != "human"

    def describe(self) -> str:
        """One line: what the claim says."""
        if self.kind == "human":
            return "human: %s" % self.why
        where = "%s %s" % (self.dist, "|".join(self.paths)) if self.paths else self.dist
        if self.kind == "assert-bounds":
            versions = ", ".join(str(v) for v in self.versions)
            return "assert in %s (%s %s) accepts %s %s" % ("|".join(self.paths), self.dist, versions, self.checked,
                                                         self.expect if self.expect is not None else "(require)")
        if self.kind == "requires-dist":
            what = "no requirement on %s" % self.requirement.name if self.absent and self.requirement else \
                str(self.requirement)
            return "%s %s Requires-Dist: %s" % (self.dist, self.version, what)
        if self.kind == "wheel-tags":
            return "%s %s Linux x86_64 wheels: %s" % (self.dist, self.version, ", ".join(self.pythons))
        subject = {"name": "name %s" % self.name, "module": "module %s" % self.module,
                   "text": "%r in %s" % (self.text, self.within),
                   "param": "%s(%s%s)" % (self.function, self.name, ", positional" if self.positional else ""),
                   "setter": "setter of %s" % self.name}[self.kind]
        bounds = ["%s %s" % (k, v) for k, v in self.boundaries]
        bounds += ["%s %s" % ("present_in" if present else "absent_in", v) for v, present in self.at_versions]
        return "%s: %s; %s" % (where, subject, ", ".join(bounds))


def parse_evidence(value: Any, where: str, require: Mapping[str, SpecifierSet]) -> Tuple[Evidence, ...]:
    """The `evidence` list of one rule (`where` names the rule for errors); () when absent."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise KnowledgeError("%s: evidence must be a non-empty list of tables" % where)
    return tuple(_entry(item, "%s: evidence #%d" % (where, index + 1), require) for index, item in enumerate(value))


def _entry(item: Any, where: str, require: Mapping[str, SpecifierSet]) -> Evidence:
    if not isinstance(item, dict):
        raise KnowledgeError("%s must be a table" % where)
    kind = item.get("kind")
    if kind not in KINDS:
        raise KnowledgeError("%s: kind %r is not one of %s" % (where, kind, ", ".join(KINDS)))
    allowed = set(_COMMON + _KEYS[kind])
    stray = sorted(set(item) - allowed)
    if stray:
        raise KnowledgeError("%s: %s does not take %s" % (where, kind, ", ".join(stray)))
    missing = [key for key in _REQUIRED[kind] if item.get(key) in (None, "", [])]
    if missing:
        raise KnowledgeError("%s: %s needs %s" % (where, kind, ", ".join(missing)))
    fields: Dict[str, Any] = {"kind": kind}
    if "dist" in item:
        fields["dist"] = _name(item["dist"], where, "dist")
    if "path" in item:
        fields["paths"] = _paths(item["path"], where)
    for key in ("module", "name", "function", "text", "why"):
        if key in item:
            fields[key] = _text(item[key], where, key)
    if "in" in item:
        if item["in"] not in WITHIN:
            raise KnowledgeError("%s: in = %r is not one of %s" % (where, item["in"], ", ".join(WITHIN)))
        fields["within"] = item["in"]
    for key in ("positional", "absent"):
        if key in item:
            if not isinstance(item[key], bool):
                raise KnowledgeError("%s: %s must be true or false" % (where, key))
            fields[key] = item[key]
    fields.update(_versions(item, where))
    if kind in FILE_KINDS and not fields.get("boundaries") and not fields.get("at_versions"):
        raise KnowledgeError("%s: %s needs a boundary (%s) or a list of releases (%s)" % (
            where, kind, ", ".join(BOUNDARIES), ", ".join(AT_VERSIONS)))
    if kind == "assert-bounds":
        fields.update(_assert_bounds(item, where, require))
    if kind == "requires-dist":
        fields["requirement"] = _requirement(item["requirement"], where)
    if kind == "wheel-tags":
        fields["pythons"] = _python_list(item["pythons"], where)
    return Evidence(**fields)


def _versions(item: Mapping[str, Any], where: str) -> Dict[str, Any]:
    fields: Dict[str, Any] = {}
    bounds = [(key, version_field(item[key], where, key)) for key in BOUNDARIES if key in item]
    if bounds:
        fields["boundaries"] = tuple(bounds)
    if "version" in item:
        fields["version"] = version_field(item["version"], where, "version")
    if "versions" in item:
        fields["versions"] = _version_list(item["versions"], where, "versions")
    at = [(v, key == "present_in") for key in AT_VERSIONS if key in item
          for v in _version_list(item[key], where, key)]
    if at:
        fields["at_versions"] = tuple(at)
    return fields


def _version_list(values: Any, where: str, key: str) -> Tuple[Version, ...]:
    if not isinstance(values, list) or not values:
        raise KnowledgeError("%s: %s must be a non-empty list of versions" % (where, key))
    return tuple(version_field(v, where, key) for v in values)


def _assert_bounds(item: Mapping[str, Any], where: str, require: Mapping[str, SpecifierSet]) -> Dict[str, Any]:
    checked = _name(item["checked"], where, "checked")
    if "expect" in item:
        try:
            expect = SpecifierSet(_text(item["expect"], where, "expect"))
        except InvalidSpecifier:
            raise KnowledgeError("%s: expect = %r is not a PEP 440 specifier" % (where, item["expect"]))
    elif checked in require:
        expect = require[checked]
    else:
        raise KnowledgeError("%s: give expect, or make the rule require %s" % (where, checked))
    module = item.get("module") or checked.replace("-", "_")
    return {"checked": checked, "expect": expect, "module": _text(module, where, "module")}


def _name(value: Any, where: str, key: str) -> str:
    return str(normalize(_text(value, where, key)))


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError("%s: %s must be a non-empty string" % (where, key))
    return value


def _paths(value: Any, where: str) -> Tuple[str, ...]:
    values: List[Any] = value if isinstance(value, list) else [value]
    if not values:
        raise KnowledgeError("%s: path must be a file path or a list of them" % where)
    return tuple(_text(v, where, "path").strip("/") for v in values)


def version_field(value: Any, where: str, key: str) -> Version:
    """A knowledge file's version field; a KnowledgeError naming the entry and key when it is not one."""
    try:
        return Version(str(value))
    except InvalidVersion:
        raise KnowledgeError("%s: %s = %r is not a version" % (where, key, value))


def _requirement(value: Any, where: str) -> Requirement:
    try:
        return Requirement(_text(value, where, "requirement"))
    except InvalidRequirement:
        raise KnowledgeError("%s: requirement = %r is not a PEP 508 requirement" % (where, value))


def _python_list(value: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeError("%s: pythons must be a list of X.Y strings" % where)
    for text in value:
        parts = text.split(".")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise KnowledgeError("%s: pythons lists %r, not an X.Y version" % (where, text))
    return tuple(value)

