"""torch.toml against the index: pairings against Requires-Dist, Python lists against wheel tags, new releases.

Pure: every answer comes from a `ReleaseView` (pinguard/verify_types.py); nothing here reads the network.

- A pairing (torch T, member M v) agrees when M v's Requires-Dist pins torch to T (`==T`, a local label ignored);
  it disagrees when the requirement pins another torch or excludes T; a requirement that admits T without pinning
  it (`torch>=1.1.0`, none at all) cannot verify the pairing.
- A Python list agrees when the Pythons with a Linux x86_64 wheel of torch T are exactly `python`; for a member,
  when each Python of `python` has a wheel unless `missing_wheels` lists it, and has none when it does.
- New releases: torch versions on the index that torch.toml does not list, and member releases newer than any
  the knowledge base names.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from pinguard.pep503 import normalize
from packaging.version import InvalidVersion, Version

from pinguard.model import Release
from pinguard.specs import marker_environment
from pinguard.verify_types import (AGREED, DISAGREED, NEW, UNVERIFIABLE, Finding, LookupFailed, ReleaseFile,
                                   ReleaseView)
from pinguard.wheel_tags import cpython_of, python_tuple, serves, wheel_tags

Check = Callable[[ReleaseView], Finding]
BASE_PYTHONS = ("2.7",) + tuple("3.%d" % minor for minor in range(5, 16))


# -- Python versions served by wheel file names -------------------------------------------------------------------


def pythons_served(files: Iterable[ReleaseFile], universe: Sequence[str]) -> Set[str]:
    """The Pythons (X.Y, of `universe` and of every cpXY tag seen) with a Linux x86_64 wheel among `files`."""
    files = [f for f in files if wheel_tags(f.filename)]
    pythons = set(universe)
    for info in files:
        pythons.update(p for p in (cpython_of(t) for t in wheel_tags(info.filename)) if p)
    return {p for p in pythons if any(serves(f.filename, f.requires_python, python_tuple(p)) for f in files)}


def _listed(pythons: Iterable[str]) -> str:
    return ", ".join(sorted(pythons, key=python_tuple)) or "none"


# -- checks -------------------------------------------------------------------------------------------------------


def _guarded(check: str, subject: str, claim: str, body: Check) -> Check:
    """`body`, with a view that cannot answer turned into an unverifiable finding."""
    def run(view: ReleaseView) -> Finding:
        try:
            return body(view)
        except LookupFailed as exc:
            return Finding(check, subject, UNVERIFIABLE, claim, str(exc))
    return run


def torch_python_check(release: Release) -> Check:
    claim = "torch %s: Linux x86_64 wheels for %s" % (release.torch, _listed(release.python))
    subject = "torch %s" % release.torch

    def run(view: ReleaseView) -> Finding:
        if not release.on_pypi:
            known = [v for v, _ in view.releases("torch")]
            if release.torch in known:
                return Finding("python", subject, DISAGREED, claim, "on_pypi = false, but the index has torch %s"
                               % release.torch)
            return Finding("python", subject, UNVERIFIABLE, claim, "not on the index (on_pypi = false): no wheels "
                           "to read")
        served = pythons_served(view.files("torch", release.torch), BASE_PYTHONS)
        return _compare_pythons("python", subject, claim, served, set(release.python))
    return _guarded("python", subject, claim, run)


def _compare_pythons(check: str, subject: str, claim: str, served: Set[str], claimed: Set[str]) -> Finding:
    if served == claimed:
        return Finding(check, subject, AGREED, claim, "wheels for %s" % _listed(served))
    extra, missing = served - claimed, claimed - served
    parts = []
    if extra:
        parts.append("wheels also for %s" % _listed(extra))
    if missing:
        parts.append("no wheel for %s" % _listed(missing))
    return Finding(check, subject, DISAGREED, claim, "; ".join(parts) + " (wheels for %s)" % _listed(served))


def member_python_check(release: Release, member: str, version: Version) -> Check:
    missing = set(release.missing_wheels.get(member, ()))
    expected = set(release.python) - missing
    claim = "torch %s: %s %s has wheels for %s%s" % (
        release.torch, member, version, _listed(expected), "; none for %s" % _listed(missing) if missing else "")

    subject = "torch %s / %s %s" % (release.torch, member, version)

    def run(view: ReleaseView) -> Finding:
        served = pythons_served(view.files(member, version), release.python) & set(release.python)
        return _compare_pythons("python", subject, claim, served, expected)
    return _guarded("python", subject, claim, run)


def torch_requirements(lines: Iterable[str], python: str) -> List[Requirement]:
    """The requirements on torch among Requires-Dist lines that apply on Linux x86_64 CPython `python`."""
    found = []
    environment = marker_environment(Version(python))
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if normalize(requirement.name) != "torch":
            continue
        if requirement.marker is None or requirement.marker.evaluate(environment):
            found.append(requirement)
    return found


def _pinned(requirement: Requirement) -> Optional[Version]:
    """The torch release an exact `==X` / `===X` pins (a local label dropped), else None."""
    for spec in requirement.specifier:
        if spec.operator in ("==", "===") and not spec.version.endswith(".*"):
            try:
                return Version(Version(spec.version).public)
            except InvalidVersion:
                return None
    return None


def pairing_check(release: Release, member: str, version: Version, how: str = "pairs with") -> Check:
    claim = "%s %s %s torch %s" % (member, version, how, release.torch)
    subject = "torch %s / %s %s" % (release.torch, member, version)

    pythons = [p for p in release.python if p not in release.missing_wheels.get(member, ())] or \
        list(release.python)

    def run(view: ReleaseView) -> Finding:
        requirements: List[Requirement] = []
        for python in pythons:  # wheels of one release may differ (torchtext 0.16.2: cp312 pins another torch)
            for requirement in torch_requirements(view.requires_dist(member, version, python), python):
                if str(requirement) not in [str(r) for r in requirements]:
                    requirements.append(requirement)
        if not requirements:
            return Finding("pairing", subject, UNVERIFIABLE, claim, "Requires-Dist names no torch")
        shown = "; ".join(_requirement_text(r) for r in requirements)
        pins = {p for p in (_pinned(r) for r in requirements) if p is not None}
        if pins:
            if pins == {release.torch}:
                return Finding("pairing", subject, AGREED, claim, "Requires-Dist: %s" % shown)
            return Finding("pairing", subject, DISAGREED, claim, "Requires-Dist pins another torch: %s" % shown)
        if all(r.specifier.contains(release.torch, prereleases=True) for r in requirements):
            return Finding("pairing", subject, UNVERIFIABLE, claim, "Requires-Dist %s admits torch %s but pins "
                           "no release" % (shown, release.torch))
        return Finding("pairing", subject, DISAGREED, claim, "Requires-Dist %s excludes torch %s" % (
            shown, release.torch))
    return _guarded("pairing", subject, claim, run)


def _requirement_text(requirement: Requirement) -> str:
    return str(requirement) if requirement.specifier else "%s (any version)" % requirement.name


def release_checks(release: Release) -> List[Tuple[str, Check]]:
    """(kind, check) for one torch release: its Python list, each member's pairing and Python wheels."""
    checks: List[Tuple[str, Check]] = [("python", torch_python_check(release))]
    for member, version in release.family.items():
        if version is not None:
            checks.append(("pairing", pairing_check(release, member, version)))
            if release.on_pypi:
                checks.append(("python", member_python_check(release, member, version)))
        for other in release.also.get(member, ()):
            checks.append(("pairing", pairing_check(release, member, other, "also serves")))
    return checks


def new_release_check(dist: str, known: Sequence[Version], newest_only: bool) -> Check:
    """Releases of `dist` on the index that the knowledge base does not know: for torch every unlisted version,
    for a member those newer than the newest it names (older unnamed ones are deliberate: yanked, pre-1.0)."""
    known_set = set(known)
    newest = max(known) if known else None
    claim = "the knowledge base knows %s up to %s" % (dist, newest)

    def run(view: ReleaseView) -> Finding:
        fresh = [v for v, yanked in view.releases(dist) if not yanked and not v.is_prerelease and not v.is_devrelease
                 and v not in known_set and (not newest_only or newest is None or v > newest)]
        if not fresh:
            return Finding("release", dist, AGREED, claim, "no release on the index that the knowledge base lacks")
        shown = []
        for version in fresh:
            shown.append("%s %s%s" % (dist, version, _requires_torch(view, dist, version)))
        return Finding("release", dist, NEW, claim, "not in the knowledge base: %s" % ", ".join(shown))
    return _guarded("release", dist, claim, run)


def _requires_torch(view: ReleaseView, dist: str, version: Version) -> str:
    if dist == "torch":
        return ""
    try:
        lines = view.requires_dist(dist, version)
    except LookupFailed:
        return ""
    requirements = torch_requirements(lines, "3.99")
    if not requirements:
        return " (no torch requirement)"
    return " (%s)" % "; ".join(_requirement_text(r) for r in requirements)


def known_versions(releases: Sequence[Release], members: Sequence[str]) -> Dict[str, List[Version]]:
    """dist -> every version the knowledge base names (torch releases, paired and `also` members)."""
    known: Dict[str, List[Version]] = {"torch": [r.torch for r in releases if r.on_pypi]}
    for release in releases:
        for member in members:
            if member in release.family:
                known.setdefault(member, []).append(release.family[member])
            known.setdefault(member, []).extend(release.also.get(member, ()))
    return known
