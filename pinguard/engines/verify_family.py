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

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pinguard.model import FAMILY, Release
from pinguard.verify_types import (AGREED, DISAGREED, NEW, UNVERIFIABLE, Finding, LookupFailed, ReleaseFile,
                                   ReleaseView)

Check = Callable[[ReleaseView], Finding]
BASE_PYTHONS = ("2.7",) + tuple("3.%d" % minor for minor in range(5, 16))
_ABI_EXACT = ("none", "cp{0}{1}", "cp{0}{1}m", "cp{0}{1}mu")


# -- Python versions served by wheel file names -------------------------------------------------------------------


def _linux_x86_64(platform: str) -> bool:
    return platform == "any" or platform == "linux_x86_64" or (
        platform.startswith("manylinux") and platform.endswith("_x86_64"))


def _tag_serves(interpreter: str, abi: str, python: Tuple[int, int]) -> bool:
    """Does a wheel tag's interpreter and ABI install on CPython `python` (the default, non-free-threaded build)?"""
    major, minor = python
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


def _requires_python_ok(requires_python: Optional[str], python: Tuple[int, int]) -> bool:
    if not requires_python:
        return True
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True
    return spec.contains(Version("%d.%d.99" % python), prereleases=True)


def pythons_served(files: Iterable[ReleaseFile], universe: Sequence[str]) -> Set[str]:
    """The Pythons (X.Y, of `universe` and of every cpXY tag seen) with a Linux x86_64 wheel among `files`."""
    parsed = []
    pythons = set(universe)
    for info in files:
        if not info.filename.endswith(".whl"):
            continue
        try:
            _, _, _, tags = parse_wheel_filename(info.filename)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        parsed.append((info, tags))
        pythons.update("%s.%s" % (t.interpreter[2], t.interpreter[3:]) for t in tags
                       if t.interpreter.startswith("cp") and t.interpreter[2:].isdigit() and len(t.interpreter) > 3)
    served = set()
    for text in pythons:
        python = (int(text.split(".")[0]), int(text.split(".")[1]))
        for info, tags in parsed:
            if _requires_python_ok(info.requires_python, python) and any(
                    _linux_x86_64(t.platform) and _tag_serves(t.interpreter, t.abi, python) for t in tags):
                served.add(text)
                break
    return served


def python_key(text: str) -> Tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def _listed(pythons: Iterable[str]) -> str:
    return ", ".join(sorted(pythons, key=python_key)) or "none"


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


def target_environment(python: str) -> Dict[str, str]:
    """Marker values for CPython `python` on Linux x86_64."""
    environment = default_environment()
    environment.update({"python_version": python, "python_full_version": python + ".0", "sys_platform": "linux",
                        "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
                        "implementation_name": "cpython", "platform_python_implementation": "CPython",
                        "extra": ""})
    return environment


def torch_requirements(lines: Iterable[str], python: str) -> List[Requirement]:
    """The requirements on torch among Requires-Dist lines that apply on Linux x86_64 CPython `python`."""
    found = []
    environment = target_environment(python)
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != "torch":
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

    def run(view: ReleaseView) -> Finding:
        requirements = torch_requirements(view.requires_dist(member, version), release.python[-1])
        if not requirements:
            return Finding("pairing", subject, UNVERIFIABLE, claim, "Requires-Dist names no torch")
        shown = "; ".join(str(r) for r in requirements)
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


def release_checks(release: Release) -> List[Tuple[str, Check]]:
    """(kind, check) for one torch release: its Python list, each member's pairing and Python wheels."""
    checks: List[Tuple[str, Check]] = [("python", torch_python_check(release))]
    for member in FAMILY:
        version = release.family.get(member)
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
    return " (%s)" % "; ".join(str(r) for r in requirements) if requirements else " (no torch requirement)"


def known_versions(releases: Sequence[Release]) -> Dict[str, List[Version]]:
    """dist -> every version the knowledge base names (torch releases, paired and `also` members)."""
    known: Dict[str, List[Version]] = {"torch": [r.torch for r in releases if r.on_pypi]}
    for release in releases:
        for member in FAMILY:
            if member in release.family:
                known.setdefault(member, []).append(release.family[member])
            known.setdefault(member, []).extend(release.also.get(member, ()))
    return known
