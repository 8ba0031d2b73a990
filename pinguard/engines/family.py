"""The torch family: which torch release an anchor set points at, its build, and the labels of its pins."""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.errors import BadInput, ImpossibleAnchor, UnknownPackage
from pinguard.kb_types import KnowledgeBase, describe_pythons
from pinguard.model import Release

_CUDA_DOTTED = re.compile(r"^(?:cuda)?(\d+)\.(\d)$")
_BUILD = re.compile(r"^(cu\d{2,3}|cpu|rocm\d+(\.\d+)*|xpu)$")


def normalize_build(text: str) -> str:
    """`cu113`, `cuda11.3`, `11.3` -> `cu113`; `cpu`, `rocm4.2`, `xpu` as they are."""
    value = text.strip().lower()
    dotted = _CUDA_DOTTED.match(value)
    if dotted:
        value = "cu%s%s" % dotted.groups()
    if not _BUILD.match(value):
        raise BadInput("unknown build %r (expected e.g. cu113, cu121, cpu, rocm6.1)" % text)
    return value


def _base_spec(spec: SpecifierSet) -> SpecifierSet:
    """The set with local labels dropped (`==1.10.0+cu113` -> `==1.10.0`): releases are matched by base version."""
    return SpecifierSet(",".join(str(s).split("+")[0] for s in spec))


def candidate_releases(kb: KnowledgeBase, specs: Mapping[str, SpecifierSet],
                       python: Optional[Version]) -> List[Release]:
    """Torch releases consistent with every family spec (and the Python, when fixed).

    Raises ImpossibleAnchor with the reason when the specs select releases but none fits.
    """
    torch_spec = _base_spec(specs.get("torch", SpecifierSet()))
    chosen = [r for r in kb.releases if torch_spec.contains(r.torch, prereleases=True)]
    if "torch" in specs and not chosen:
        raise UnknownPackage("no known torch release matches torch%s (known: %s ... %s)" % (
            specs["torch"], kb.releases[0].torch, kb.releases[-1].torch))
    for member in kb.family.members:
        if member not in specs:
            continue
        spec = _base_spec(specs[member])
        narrowed = [r for r in chosen if member in r.family and spec.contains(r.family[member], prereleases=True)]
        if not narrowed:
            raise ImpossibleAnchor(_no_pairing_reason(kb, member, specs[member], chosen))
        chosen = narrowed
    if python is not None and chosen:
        fitting = [r for r in chosen if r.supports_python(python)]
        if not fitting:
            release = chosen[0] if len(chosen) == 1 else None
            if release is not None:
                raise ImpossibleAnchor("torch %s has no wheels for Python %s (it has %s)" % (
                    release.torch, _xy(python), describe_pythons(release.python)))
            raise ImpossibleAnchor("no torch release matching the anchors has wheels for Python %s" % _xy(python))
        chosen = _members_with_wheels(fitting, [m for m in kb.family.members if m in specs], python)
    return chosen


def _members_with_wheels(releases: List[Release], members: Sequence[str], python: Version) -> List[Release]:
    """The releases whose anchored members have wheels for `python`; ImpossibleAnchor naming one when none does."""
    fitting = [r for r in releases if all(r.member_supports_python(m, python) for m in members)]
    if not fitting:
        release = releases[0]
        member = next(m for m in members if not release.member_supports_python(m, python))
        raise ImpossibleAnchor("%s %s has no wheels for Python %s (torch %s has)" % (
            member, release.family[member], _xy(python), release.torch))
    return fitting


def _no_pairing_reason(kb: KnowledgeBase, member: str, spec: SpecifierSet, chosen: Sequence[Release]) -> str:
    pairs = [r for r in kb.releases if member in r.family and spec.contains(r.family[member], prereleases=True)]
    if not pairs:
        return "no known %s release matches %s%s" % (member, member, spec)
    if len(chosen) == 1:
        release = chosen[0]
        paired = release.family.get(member)
        return "%s%s pairs with torch %s, not torch %s (torch %s pairs with %s)" % (
            member, spec, ", ".join(str(r.torch) for r in pairs), release.torch, release.torch,
            "%s %s" % (member, paired) if paired else "no %s release" % member)
    return "%s%s pairs with torch %s, which the torch anchor excludes" % (
        member, spec, ", ".join(str(r.torch) for r in pairs))


def _xy(python: Version) -> str:
    return "%d.%d" % (python.major, python.minor)


def check_build(kb: KnowledgeBase, release: Release, build: Optional[str]) -> Optional[str]:
    """Validate an explicitly chosen build against the release; None means PyPI's default."""
    if build is None:
        if not release.on_pypi:
            raise ImpossibleAnchor("torch %s is not on PyPI; choose one of its builds with --cuda (%s)" % (
                release.torch, ", ".join(release.builds)))
        return None
    if build not in release.builds:
        raise ImpossibleAnchor("torch %s has no %s build (its builds: %s)" % (
            release.torch, build, ", ".join(release.builds)))
    return build


def labelled(kb: KnowledgeBase, release: Release, member: str, version: Version, build: Optional[str]) -> str:
    """The version string to pin: with `+build` where that build carries labels for this package."""
    if build is None or build not in kb.labelled_builds(release):
        return str(version)
    if not kb.carries_label(member, version):
        return str(version)
    return "%s+%s" % (version, build)


def family_pins(kb: KnowledgeBase, release: Release, build: Optional[str]) -> Dict[str, str]:
    """name -> exact version string for torch and every paired family member."""
    pins = {"torch": labelled(kb, release, "torch", release.torch, build)}
    for member in kb.family.members:
        if member in release.family:
            pins[member] = labelled(kb, release, member, release.family[member], build)
    return pins
