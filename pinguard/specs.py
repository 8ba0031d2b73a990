"""Small helpers over `packaging` specifiers that packaging itself does not offer.

`packaging` answers "does this version satisfy this set"; pinguard also needs "can these sets hold together"
(is an anchor contradictory? can a rule's trigger hold under a range anchor?). Those are decided over a finite
set of probe versions built from the boundaries the specifiers mention, which is exact for the comparison
operators PEP 440 defines as long as the probes straddle every boundary.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional, Set

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pinguard.errors import BadInput
from pinguard.pep503 import normalize  # noqa: F401 - the one normaliser, re-exported for the engines

_BOUNDARY = re.compile(r"^(~=|===|==|!=|<=|>=|<|>)\s*(.+?)(\.\*)?$")


#: Bounds on what pinguard parses from a user: a requirement line's length, a version number's digits (Python
#: refuses to convert integers of more than 4300 digits, and no real version comes near these).
MAX_REQUIREMENT = 10000
MAX_DIGITS = 100
_DIGITS = re.compile(r"\d{%d,}" % (MAX_DIGITS + 1))


def check_size(text: str, what: str = "requirement") -> None:
    """BadInput for input too big to be a requirement or version (instead of an error deep inside packaging)."""
    if len(text) > MAX_REQUIREMENT:
        raise BadInput("%s is %d characters long; pinguard reads at most %d" % (what, len(text), MAX_REQUIREMENT))
    found = _DIGITS.search(text)
    if found:
        raise BadInput("%s has a %d-digit number; version numbers are limited to %d digits" % (
            what, len(found.group(0)), MAX_DIGITS))


def quote_detail(detail: str) -> str:
    """A parser's own message, cut short: it may repeat the input."""
    return detail if len(detail) <= 200 else detail[:200] + "..."


def _probes_around(version: Version) -> List[Version]:
    release = list(version.release)
    probes = [version, Version(".".join(map(str, release)))]
    bumped = release[:-1] + [release[-1] + 1]
    probes.append(Version(".".join(map(str, bumped))))
    probes.append(Version(".".join(map(str, release + [1]))))
    probes.append(Version(".".join(map(str, release + [0, 1]))))
    if release[-1] > 0:
        lowered = release[:-1] + [release[-1] - 1, 999]
        probes.append(Version(".".join(map(str, lowered))))
    elif len(release) > 1 and release[-2] > 0:
        lowered = release[:-2] + [release[-2] - 1, 999]
        probes.append(Version(".".join(map(str, lowered))))
    return probes


def probe_versions(specs: Iterable[SpecifierSet], extra: Iterable[Version] = ()) -> List[Version]:
    """Versions that straddle every boundary mentioned in ``specs`` (plus ``extra`` known versions)."""
    found: Set[Version] = {Version("0"), Version("0.0.1"), Version("99999")}
    found.update(extra)
    for spec_set in specs:
        for spec in spec_set:
            text = spec.version.rstrip("*").rstrip(".")
            try:
                found.update(_probes_around(Version(text)))
            except InvalidVersion:
                continue
    return sorted(found)


def satisfiable(specs: Iterable[SpecifierSet], known: Iterable[Version] = ()) -> bool:
    """True when some version satisfies every set (pre-releases count only if a set names one)."""
    specs = list(specs)
    for version in probe_versions(specs, known):
        if all(spec.contains(version, prereleases=True) for spec in specs):
            return True
    return False


def implies(specs: Iterable[SpecifierSet], other: SpecifierSet) -> bool:
    """True when every version allowed by all of `specs` is allowed by `other` too."""
    specs = list(specs)
    for version in probe_versions(specs + [other]):
        if all(s.contains(version, prereleases=True) for s in specs) and not other.contains(version, prereleases=True):
            return False
    return True


def intersect(specs: Iterable[SpecifierSet]) -> SpecifierSet:
    """The conjunction of several specifier sets, with duplicate clauses dropped and a stable order."""
    clauses = {str(s) for spec_set in specs for s in spec_set}
    labelled = {c.split("+")[0] for c in clauses if c.startswith("==") and "+" in c}
    clauses = {c for c in clauses if c not in labelled}  # ==1.10.0 is implied by ==1.10.0+cu113
    return SpecifierSet(",".join(sorted(clauses, key=_clause_key)))


def _clause_key(clause: str):
    match = _BOUNDARY.match(clause)
    if not match:
        return (Version("0"), clause)
    try:
        return (Version(match.group(2).rstrip(".")), clause)
    except InvalidVersion:
        return (Version("0"), clause)


def exact_version(spec: SpecifierSet) -> Optional[Version]:
    """The version an ``==X`` (or ``===X``) set pins, else None."""
    clauses = list(spec)
    pins = [c for c in clauses if c.operator in ("==", "===") and not c.version.endswith("*")]
    if len(pins) != 1:
        return None
    try:
        return Version(pins[0].version)
    except InvalidVersion:
        return None


def python_marker(spec: SpecifierSet) -> str:
    """A PEP 508 marker expressing a specifier over the Python version."""
    parts = []
    for clause in sorted(spec, key=lambda c: str(c)):
        version = clause.version
        field = "python_version" if version.count(".") <= 1 and not version.endswith("*") else "python_full_version"
        parts.append('%s %s "%s"' % (field, clause.operator, version))
    return " and ".join(parts)


def marker_environment(python: Version) -> Dict[str, str]:
    """The marker values of a target CPython `python` (X.Y) on Linux x86_64: the one marker environment of the code
    base. `python_full_version` is X.Y.18 for 3.7 and older (their users run late patches, and packages such as pandas
    1.x require >= 3.7.1) and X.Y.0 from 3.8 on."""
    return {"python_version": "%d.%d" % (python.major, python.minor),
            "python_full_version": "%d.%d.%d" % (python.major, python.minor, 18 if python.minor < 8 else 0),
            "sys_platform": "linux", "platform_system": "Linux", "platform_release": "", "platform_version": "",
            "os_name": "posix", "platform_machine": "x86_64", "implementation_name": "cpython",
            "implementation_version": "%d.%d.0" % (python.major, python.minor),
            "platform_python_implementation": "CPython", "extra": ""}
