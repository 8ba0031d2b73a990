"""Package data for `lock`: the fix resolver's index data plus what a lock needs besides versions and requirements,
the extras' requirements and, for each locked release, its files for the target (wheels and sdist, with URL, size
and hash) and the index that serves them. Metadata still comes from PEP 658 files or range reads, never from a
whole large wheel (see sources/index.py); files come from the project pages, never downloaded.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from pinguard.engines.closure_resolver import NoLock
from pinguard.engines.lock import LockFile
from pinguard.errors import PinguardError
from pinguard.sources.index import FileInfo, IndexClient
from pinguard.sources.metadata import IndexPackageData
from pinguard.sources.simple_page import strongest_hash

Files = Tuple[List[LockFile], Optional[LockFile], Optional[str]]


class LockPackageData(IndexPackageData):
    """IndexPackageData with extras and files (see the module docstring)."""

    def __init__(self, client: IndexClient, python: Version) -> None:
        super().__init__(client, python)
        self._per_index: Dict[str, IndexClient] = {}

    def prefetch_pages(self, names: Iterable[str]) -> None:
        """The project pages of these packages, fetched in parallel (an index answers each after a round trip)."""
        wanted = [n for n in dict.fromkeys(names) if n not in self._files]
        if len(wanted) > 1:
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(self._page_quietly, wanted))

    def requires_extra(self, name: str, version: Version, extra: str) -> List[Requirement]:
        """Requires-Dist lines that `name[extra]` adds on the target (markers naming the extra)."""
        files = self.ranked_files(name, version)
        if not files:
            return []
        metadata = self._recorded(self.client.metadata, files[0])
        with_extra = dict(self.environment, extra=extra)
        found = []
        for line in metadata.requires_dist:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            marker = requirement.marker
            if marker is not None and marker.evaluate(with_extra) and not marker.evaluate(self.environment):
                found.append(requirement)
        return found

    def files(self, resolved: Mapping[str, Version],
              known: Optional[Mapping[str, Tuple[List[LockFile], Optional[LockFile]]]] = None) -> Dict[str, Files]:
        """name -> (target wheels, sdist, index) for every resolved release; NoLock when one has no hashed file.
        `known`: files a backend already read from the same pages (uv), used as they are where complete."""
        names = sorted(resolved)
        found: Dict[str, Files] = {}
        for name in list(names):
            wheels, sdist = (known or {}).get(name, ([], None))
            chosen = [f for f in wheels if f.tags & self.tags] + ([sdist] if sdist is not None else [])
            if chosen and all(f.hashes and f.size is not None for f in chosen):
                found[name] = ([f for f in wheels if f.tags & self.tags], sdist,
                               self._index_of(name, [f.filename for f in chosen]))
                names.remove(name)
        with ThreadPoolExecutor(max_workers=16) as pool:
            found.update(zip(names, pool.map(lambda n: self._release_files(n, resolved[n]), names)))
        return found

    def _release_files(self, name: str, version: Version) -> Files:
        ranked = [f for f in self.ranked_files(name, version) if f.version == version]
        wheels = [f for f in ranked if f.is_wheel]
        sdists = [f for f in ranked if not f.is_wheel][:1]
        chosen = wheels + sdists
        if not chosen:
            raise NoLock("%s %s has no file for the target on %s" % (name, version, self.client.sources_text()))
        unhashed = [f.filename for f in chosen if not strongest_hash(f.hashes)]
        if unhashed:
            raise NoLock("%s: the index gives no hash for %s; pinguard never downloads a whole file to hash it" % (
                name, ", ".join(unhashed)))
        index = self._index_of(name, [f.filename for f in chosen])
        return ([_lock_file(f) for f in wheels], _lock_file(sdists[0]) if sdists else None, index)

    def _index_of(self, name: str, filenames: Sequence[str]) -> Optional[str]:
        """The index whose page lists these files (None: a find-links location)."""
        indexes = list(self.client.index_urls)
        if len(indexes) == 1 and not self.client.find_links.locations:
            return indexes[0]
        wanted = set(filenames)
        for url in indexes:
            try:
                listed = {f.filename for f in self._index_client(url).project(name)}
            except PinguardError:
                continue
            if wanted & listed:
                return url
        return None

    def _index_client(self, url: str) -> IndexClient:
        if url not in self._per_index:
            self._per_index[url] = IndexClient(url, cache_dir=self.client.cache.root, offline=self.client.offline,
                                               timeout=self.client.timeout, retries=self.client.retries)
        return self._per_index[url]


def _lock_file(info: FileInfo) -> LockFile:
    algo = strongest_hash(info.hashes) or "sha256"
    hashes = {algo: info.hashes[algo]}
    if "sha256" in info.hashes:
        hashes = {"sha256": info.hashes["sha256"]}
    return LockFile(info.filename, info.url.partition("#")[0], hashes, info.size)
