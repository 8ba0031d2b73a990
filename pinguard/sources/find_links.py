"""`--find-links` locations, as pip reads them: a local directory of wheels and sdists, a local HTML file, or an
http(s) (or file://) page of links.

Files are matched to a project by their names (wheel and sdist file names parsed with `packaging`); a local file's
size and SHA-256 come from the file itself (cached in memory, keyed by path, size and modification time). An
http(s) page is fetched once per run through the index client's transport and kept in the on-disk cache like a
project page, so `--offline` can answer from it.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from pinguard.errors import BadInput, CacheError, NetworkError
from pinguard.sources.cache import Cache
from pinguard.sources.http_transport import HttpTransport
from pinguard.sources.local_files import describe_missing, file_sha256, is_file_url, path_to_url, url_to_path
from pinguard.sources.simple_page import FileInfo, file_info, parse_html_page, valid_page_entry

_HASHES: Dict[Tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


class FindLinks:
    """The files every find-links location offers for one project at a time."""

    def __init__(self, locations: Sequence[str], transport: HttpTransport, cache: Cache, offline: bool,
                 page_ttl: float, notice: Callable[[str], None]) -> None:
        self.locations = list(locations)
        self.transport = transport
        self.cache = cache
        self.offline = offline
        self.page_ttl = page_ttl
        self.notice = notice
        self._pages: Dict[str, List[Dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def files(self, project: str) -> List[FileInfo]:
        """FileInfos of `project` (normalised name) in every location, in the order the locations were given."""
        found: List[FileInfo] = []
        for location in self.locations:
            for raw in self._entries(location, project):
                info = file_info(raw, project)
                if info is not None:
                    found.append(info)
        return found

    def _entries(self, location: str, project: str) -> List[Dict[str, Any]]:
        path = url_to_path(location) if is_file_url(location) else location
        if not (is_file_url(location) or "://" not in location):
            return self._remote_page(location)
        why = describe_missing(path)
        if why is not None:
            raise BadInput("find-links location {}".format(why))
        if os.path.isdir(path):
            return [_local_entry(os.path.join(path, name)) for name in sorted(os.listdir(path))
                    if name.lower().endswith(_ARCHIVES) and _may_be(name, project)]
        with self._lock:
            if location not in self._pages:
                with open(path, "rb") as handle:
                    self._pages[location] = parse_html_page(handle.read(), path_to_url(path))
        return [_with_local_hash(raw) for raw in self._pages[location]]

    def _remote_page(self, url: str) -> List[Dict[str, Any]]:
        with self._lock:
            if url in self._pages:
                return self._pages[url]
            cache_path = self.cache.page_path(url, "_find-links")
            try:
                entry = self.cache.load(cache_path)
            except CacheError:  # a damaged entry is fetched again
                entry = None
            if entry is not None and not valid_page_entry(entry):
                entry = None
            fresh = entry is not None and 0 <= time.time() - entry["fetched_at"] < self.page_ttl
            if not fresh and not self.offline:
                entry = self._fetch_page(url, entry)
            if entry is None:
                raise NetworkError("find-links page {} is not in the cache and offline mode is on".format(url))
            self._pages[url] = entry["files"]
            return entry["files"]

    def _fetch_page(self, url: str, stale: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        try:
            resp = self.transport.fetch(url, {"Accept": "text/html"})
        except NetworkError as exc:
            if stale is None:
                raise
            self.notice("using the cached find-links page {}: {}".format(url, exc))
            return stale
        entry = {"url": url, "files": parse_html_page(resp.body, resp.url), "fetched_at": time.time()}
        self.cache.store(self.cache.page_path(url, "_find-links"), entry)
        return entry


def _may_be(filename: str, project: str) -> bool:
    """Cheap pre-filter before parsing: the file name starts with the project's name in some spelling."""
    head = filename.lower().replace("_", "-").replace(".", "-")
    return head.startswith(project + "-")


def _local_entry(path: str) -> Dict[str, Any]:
    size = os.path.getsize(path)
    return {"filename": os.path.basename(path), "url": path_to_url(path), "hashes": {"sha256": local_hash(path)},
            "requires_python": None, "yanked": False, "size": size, "core_metadata": False}


def _with_local_hash(raw: Dict[str, Any]) -> Dict[str, Any]:
    """A local page's link to a local file without a hash gets the file's own."""
    if raw.get("hashes") or not is_file_url(raw["url"]):
        return raw
    path = url_to_path(raw["url"])
    if not os.path.isfile(path):
        return raw
    return dict(raw, hashes={"sha256": local_hash(path)}, size=os.path.getsize(path))


def local_hash(path: str) -> str:
    """SHA-256 of a local file, computed once per (path, size, mtime) in this process."""
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    with _HASH_LOCK:
        known = _HASHES.get(key)
    if known is None:
        known = file_sha256(path)
        with _HASH_LOCK:
            _HASHES[key] = known
    return known
