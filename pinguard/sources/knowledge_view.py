"""The releases on a package index as `knowledge verify` reads them (a `ReleaseView`, pinguard/verify_types.py).

Project pages and metadata come through the index client (PEP 691 pages, PEP 658 metadata or range reads of a
wheel's METADATA, the on-disk cache); a release's files through the fix engine's ReleaseFiles: the central
directory of one wheel, then the wanted members, by range requests — never a whole large wheel (an sdist is read
whole only when small). Every failure becomes `LookupFailed` with its reason; failures that mean the index itself
could not be read (a host that never answered, an offline cache miss) are also kept in `unreachable`.
"""

from __future__ import annotations

import threading
from typing import Dict, List, Optional, Tuple

from packaging.version import Version

from pinguard.errors import NetworkError, PinguardError, UnknownPackage
from pinguard.sources.index import FileInfo, IndexClient, OfflineMiss
from pinguard.sources.release_files import ReleaseFiles
from pinguard.verify_types import LookupFailed, ReleaseFile, ReleaseView
from pinguard.wheel_tags import cpython_of, linux_x86_64, python_tuple, serves, wheel_tags


class IndexReleaseView(ReleaseView):
    def __init__(self, client: IndexClient) -> None:
        self.client = client
        self.release_files = ReleaseFiles(client)
        self.api = self.release_files
        self.unreachable: List[NetworkError] = []
        self._pages: Dict[str, List[FileInfo]] = {}
        self._lock = threading.Lock()
        self._page_locks: Dict[str, threading.Lock] = {}

    # -- project pages ------------------------------------------------------------------------------------------

    def _project(self, dist: str) -> List[FileInfo]:
        with self._lock:
            lock = self._page_locks.setdefault(dist, threading.Lock())
        with lock:
            if dist not in self._pages:
                try:
                    self._pages[dist] = self.client.project(dist)
                except UnknownPackage as exc:
                    raise LookupFailed(str(exc)) from None
                except NetworkError as exc:
                    self._network(exc)
                    raise LookupFailed(str(exc)) from None
            return self._pages[dist]

    def _network(self, exc: NetworkError) -> None:
        if isinstance(exc, OfflineMiss) or self.client.transport.hosts_down:
            with self._lock:
                self.unreachable.append(exc)

    def failures(self) -> List[NetworkError]:
        """Why the index could not be read in this run (empty when it always answered)."""
        found = list(self.unreachable)
        down = self.client.transport.hosts_down
        if down and not found:
            host, why = sorted(down.items())[0]
            found.append(NetworkError("cannot fetch from %s: %s did not answer (%s)" % (
                self.client.index_url, host, why)))
        return found

    def releases(self, dist: str) -> List[Tuple[Version, bool]]:
        yanked: Dict[Version, bool] = {}
        for info in self._project(dist):
            yanked[info.version] = yanked.get(info.version, True) and info.yanked
        return sorted(yanked.items())

    def _files(self, dist: str, version: Version) -> List[FileInfo]:
        found = [f for f in self._project(dist) if f.version == version]
        if not found:
            raise LookupFailed("the index has no files of %s %s" % (dist, version))
        return found

    def files(self, dist: str, version: Version) -> List[ReleaseFile]:
        return [ReleaseFile(f.filename, f.requires_python, f.yanked) for f in self._files(dist, version)]

    # -- metadata -----------------------------------------------------------------------------------------------

    def requires_dist(self, dist: str, version: Version, python: Optional[str] = None) -> List[str]:
        files = self._files(dist, version)
        if python is not None:
            files = [f for f in files if serves(f.filename, f.requires_python, python_tuple(python))]
            if not files:
                raise LookupFailed("%s %s has no Linux x86_64 wheel for Python %s" % (dist, version, python))
        info = _metadata_file(files)
        try:
            return list(self.client.metadata(info).requires_dist)
        except NetworkError as exc:
            self._network(exc)
            raise LookupFailed("metadata of %s: %s" % (info.filename, exc)) from None

    # -- files --------------------------------------------------------------------------------------------------

    def text(self, dist: str, version: Version, paths: Tuple[str, ...]) -> Tuple[str, str]:
        listing = self._listing(dist, version)
        for path in paths:
            if path in listing.members:
                text = self.release_files.text(dist, version, path)
                if text is None:
                    raise LookupFailed("%s of %s %s could not be read" % (path, dist, version))
                return path, text
        raise LookupFailed("absent: no %s in %s" % (" or ".join(paths), listing.url.rsplit("/", 1)[-1]))

    def _listing(self, dist: str, version: Version):
        try:
            listing = self.release_files.listing(dist, version)
        except PinguardError as exc:
            raise LookupFailed(str(exc)) from None
        if listing is None:
            why = self.release_files.why(dist, version) or "no readable file of %s %s" % (dist, version)
            if self.client.offline:
                with self._lock:
                    self.unreachable.append(OfflineMiss(why))
            raise LookupFailed(why)
        return listing

    def warm(self, wanted: List[Tuple[str, Version, Tuple[str, ...]]]) -> None:
        self.release_files.warm_listings({(dist, version) for dist, version, _ in wanted})
        jobs = []
        for dist, version, paths in wanted:
            listing = self.release_files.listing(dist, version)
            if listing is not None:
                present = [p for p in paths if p in listing.members][:1]
                if present:
                    jobs.append((dist, version, present))
        self.release_files.prefetch_many(jobs)


def _metadata_file(files: List[FileInfo]) -> FileInfo:
    """The file whose metadata stands for the release: a Linux x86_64 wheel (the oldest CPython tag), else any
    wheel, else the sdist; files that are not yanked first."""
    def rank(info: FileInfo) -> Tuple[int, int, int, Tuple[int, int]]:
        tags = wheel_tags(info.filename)
        linux = int(any(linux_x86_64(t.platform) for t in tags))
        pythons = [python_tuple(p) for p in (cpython_of(t) for t in tags) if p]
        oldest = min(pythons) if pythons else (0, 0)
        return (int(not info.yanked), linux, int(info.is_wheel), (-oldest[0], -oldest[1]))
    return max(files, key=rank)

