"""Package data for a target Python and platform, from the package index: which versions can be installed there,
and what each one declares it requires. Fetched lazily, in parallel where asked, through the index cache.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.version import Version

from pinguard.errors import NetworkError, PinguardError, UnknownPackage
from pinguard.package_data import PackageData
from pinguard.sources.index import FileInfo, IndexClient
from pinguard.specs import marker_environment

_MANYLINUX = ["manylinux_2_%d_x86_64" % minor for minor in range(35, 4, -1)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]


def target_tags(python: Version) -> Set[Tag]:
    """Wheel tags a CPython `python` on Linux x86_64 accepts."""
    version = (python.major, python.minor)
    abi = "cp%d%d%s" % (version[0], version[1], "m" if version < (3, 8) else "")
    tags = set(cpython_tags(python_version=version, abis=[abi, "abi3", "none"], platforms=_MANYLINUX))
    tags.update(compatible_tags(python_version=version, interpreter="cp%d%d" % version, platforms=_MANYLINUX))
    return tags


class IndexPackageData(PackageData):
    """What the resolver needs about real packages, for one target Python on Linux x86_64."""

    def __init__(self, client: IndexClient, python: Version) -> None:
        self.client = client
        self.python = python
        self.tags = target_tags(python)
        self.environment = marker_environment(python)
        self._lock = threading.Lock()
        self._files: Dict[str, Dict[Version, List[FileInfo]]] = {}
        self._requires: Dict[Tuple[str, Version], List[Requirement]] = {}
        #: Index failures met while answering the resolver: a caller that swallows a failed lookup can still tell
        #: that its answer rests on missing data (the CLI then exits with the network error, not a result).
        self.network_errors: List[NetworkError] = []

    def _recorded(self, call, *args):
        try:
            return call(*args)
        except NetworkError as exc:
            with self._lock:
                self.network_errors.append(exc)
            raise

    def _by_version(self, name: str) -> Dict[Version, List[FileInfo]]:
        if name not in self._files:
            grouped: Dict[Version, List[FileInfo]] = {}
            for info in _one_per_filename(self.client.project(name)):
                grouped.setdefault(info.version, []).append(info)
            with self._lock:
                self._files[name] = grouped
        return self._files[name]

    def _usable(self, files: Sequence[FileInfo], allow_yanked: bool) -> List[FileInfo]:
        """Files installable on the target: a matching wheel first, then an sdist."""
        ranked = []
        for info in files:
            if info.yanked and not allow_yanked:
                continue
            if info.requires_python and not _python_ok(info.requires_python, self.python):
                continue
            if info.is_wheel:
                if info.tags & self.tags:
                    ranked.append((0, info))
            else:
                ranked.append((1, info))
        return [info for _, info in sorted(ranked, key=lambda pair: pair[0])]

    def versions(self, name: str, keep: Optional[Version] = None) -> List[Version]:
        """Versions with a file installable on the target (`keep` is admitted even if yanked)."""
        available = []
        for version, files in self._recorded(self._by_version, name).items():
            if self._usable(files, allow_yanked=(version == keep)):
                available.append(version)
        return sorted(available)

    def ranked_files(self, name: str, version: Version) -> List[FileInfo]:
        """The files of one release, best for the target first (a fitting wheel, then the sdist)."""
        return self._usable(self._by_version(name).get(version, []), allow_yanked=True)

    def binary_versions(self, name: str) -> Optional[List[Version]]:
        """Versions with a wheel for the target (sdist-only releases would have to be built)."""
        return sorted(v for v, files in self._by_version(name).items()
                      if any(f.is_wheel for f in self._usable(files, allow_yanked=False)))

    def exists(self, name: str) -> bool:
        try:
            return bool(self._by_version(name))
        except UnknownPackage:
            return False

    def requires(self, name: str, version: Version) -> List[Requirement]:
        """Requires-Dist of `name` `version` that apply on the target (extras dropped)."""
        key = (name, version)
        if key in self._requires:
            return self._requires[key]
        files = self._usable(self._by_version(name).get(Version(version.base_version), []) or
                             self._by_version(name).get(version, []), allow_yanked=True)
        requirements: List[Requirement] = []
        if files:
            metadata = self._recorded(self.client.metadata, files[0])
            for line in metadata.requires_dist:
                try:
                    requirement = Requirement(line)
                except InvalidRequirement:
                    continue
                if requirement.marker is not None and not requirement.marker.evaluate(self.environment):
                    continue
                requirements.append(requirement)
        with self._lock:
            self._requires[key] = requirements
        return requirements

    def _page_quietly(self, name: str) -> None:
        try:
            self._by_version(name)
        except PinguardError:
            pass

    def prefetch(self, pins: Iterable[Tuple[str, Version]]) -> None:
        """Fetch the metadata of many (name, version) pairs in parallel (errors surface later, one by one)."""
        pins = list(pins)
        names = sorted({name for name, _ in pins})
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(self._page_quietly, names))
        wanted = []
        for name, version in pins:
            try:
                files = self._usable(self._by_version(name).get(version, []), allow_yanked=True)
            except PinguardError:
                continue
            if files:
                wanted.append(files[0])
        if wanted:
            try:
                self.client.metadata_many(wanted)
            except PinguardError:
                pass


def _one_per_filename(files: Sequence[FileInfo]) -> List[FileInfo]:
    """The same file listed by several sources counts once, with what the best-informed source says of it: a
    mirror's page without data-requires-python must not make a Python 3.10-only wheel look installable on 3.7."""
    best: Dict[str, FileInfo] = {}
    for info in files:
        known = best.get(info.filename)
        if known is None or _informed(info) > _informed(known):
            best[info.filename] = info
    return list(best.values())


def _informed(info: FileInfo) -> Tuple[bool, bool, bool]:
    return info.requires_python is not None, bool(info.hashes), bool(info.core_metadata)


def _python_ok(requires_python: str, python: Version) -> bool:
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True
    full = Version("%d.%d.%d" % (python.major, python.minor, 18 if python.minor < 8 else 0))
    return spec.contains(full, prereleases=True)
