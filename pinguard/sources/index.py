"""Client for a PEP 691/503 "simple" package index (PyPI or a mirror), with an on-disk cache.

What it fetches and how:

* **Project pages** (``project(name)``): the PEP 691 JSON page (PEP 503 HTML is understood too, for indexes such as
  ``download.pytorch.org`` that only serve HTML). Cached for ``page_ttl`` seconds; an expired page is revalidated
  (ETag / Last-Modified), and used stale, with a notice, when the index cannot be reached.
* **Core metadata** (``metadata(file)``): the PEP 658 ``<file url>.metadata`` file when the index has one (its hash is
  checked); otherwise, for a wheel, just the ``METADATA`` member read with HTTP range requests (see
  :mod:`pinguard.sources.wheel_range`); a whole file is downloaded only when there is no other way and it is smaller
  than ``whole_file_limit`` (an sdist, or a server without range support), and that is announced in a notice.
  Metadata never changes for a given file, so it is cached forever, keyed by the file's URL and hash.

Errors are pinguard errors with one-line messages: :class:`UnknownPackage` for a project the index does not have,
:class:`NetworkError` when the index cannot be reached or serves something unusable (bad JSON, a damaged wheel, a
hash mismatch), :class:`CacheError` for a corrupt cache entry in offline mode (online, it is dropped and refetched),
:class:`BadInput` for an invalid package name or index URL.

The parts live beside this module, one job each: :mod:`~pinguard.sources.simple_page` (project pages into file
entries), :mod:`~pinguard.sources.core_metadata` (METADATA / PKG-INFO), :mod:`~pinguard.sources.http_transport`
(GET with retries, range reads, the progress line); this module re-exports what callers used to import from it.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from pinguard.pep503 import normalize
from packaging.version import Version

from pinguard.errors import BadInput, CacheError, NetworkError, PinguardError, UnknownPackage
from pinguard.sources.cache import Cache, corrupt, default_cache_dir
from pinguard.sources.core_metadata import Metadata, header_block, parse_metadata, sdist_pkg_info
from pinguard.sources.find_links import FindLinks
from pinguard.sources.http_transport import (
    HttpTransport,
    Progress,
    ProgressLine,
    RangeSource,
    RangeUnsupported,
    Response,
    TooLarge,
    megabytes,
    one_line,
    verify_hash,
)
from pinguard.sources.index_config import DEFAULT_INDEX_URL, IndexConfig, check_index_url
from pinguard.sources.local_files import is_file_url, local_metadata, local_page
from pinguard.sources.simple_page import (
    HTML_TYPES,
    JSON_TYPE,
    FileInfo,
    file_info,
    parse_html_page,
    parse_json_page,
    valid_page_entry,
)
from pinguard.sources.wheel_range import BadWheel, BytesSource, read_wheel_metadata

__all__ = [
    "DEFAULT_INDEX_URL",
    "FileInfo",
    "IndexClient",
    "Metadata",
    "normalize_name",
    "parse_metadata",
]

log = logging.getLogger(__name__)


class OfflineMiss(NetworkError):
    """Offline, and the cache cannot answer (exit 4 like any network failure)."""


PAGE_TTL = 3600.0
WHOLE_FILE_LIMIT = 20 * 1024 * 1024
WORKERS = 8

_ACCEPT = "{}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1".format(JSON_TYPE)
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_OFFLINE_HINT = "offline mode is on (PINGUARD_OFFLINE)"


def normalize_name(name: str) -> str:
    """PEP 503 normalised form of a project name; :class:`BadInput` if it is not a valid name."""
    if not isinstance(name, str) or not _NAME_RE.match(name.strip()):
        raise BadInput("invalid package name {!r}".format(name))
    return normalize(name.strip())


# --------------------------------------------------------------------------------------------------------------
# The client


class IndexClient:
    """Fetches project pages and core metadata from one simple index, through the cache.

    ``cache_dir`` defaults to :func:`~pinguard.sources.cache.default_cache_dir`; ``offline`` (or
    ``PINGUARD_OFFLINE=1``) answers from the cache only, whatever its age. ``retries`` is the number of tries per
    request (transient failures only: connection errors, timeouts, HTTP 408/429/5xx), ``backoff`` the first pause
    between them (doubled each time). ``page_ttl`` is how long a project page is used without asking the index;
    ``whole_file_limit`` caps downloads of whole files (sdists, servers without range support).

    ``progress`` may be ``True`` (a progress line on stderr when a batch takes more than a second) or a callable
    receiving each progress line; ``on_retry`` receives a line each time a host that did not answer is tried again
    (a host that never answers is then skipped for the rest of the run). Notices (a stale page used, a whole file
    downloaded, a corrupt cache entry dropped) are logged to ``pinguard.sources.index`` and collected in
    :attr:`notices`.
    """

    def __init__(
        self,
        index_url: str = DEFAULT_INDEX_URL,
        cache_dir: Optional[Union[str, Path]] = None,
        offline: bool = False,
        timeout: float = 30.0,
        retries: int = 3,
        *,
        extra_index_urls: Sequence[str] = (),
        find_links: Sequence[str] = (),
        no_index: bool = False,
        page_ttl: float = PAGE_TTL,
        backoff: float = 0.5,
        whole_file_limit: int = WHOLE_FILE_LIMIT,
        workers: int = WORKERS,
        progress: Progress = False,
        on_retry: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.index_url = check_index_url(index_url)
        self.index_urls: List[str] = [] if no_index else list(dict.fromkeys(
            [self.index_url] + [check_index_url(u) for u in extra_index_urls]))
        self.cache = Cache(Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir())
        env_offline = os.environ.get("PINGUARD_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        self.offline = bool(offline) or env_offline
        self.transport = HttpTransport(timeout=timeout, retries=retries, backoff=backoff, on_retry=on_retry)
        self.find_links = FindLinks(find_links, self.transport, self.cache, self.offline, page_ttl, self._notice)
        self.timeout = timeout
        self.retries = self.transport.retries
        self.page_ttl = page_ttl
        self.backoff = backoff
        self.whole_file_limit = whole_file_limit
        self.workers = max(1, int(workers))
        self.progress = progress
        self.notices: List[str] = []
        self._pages: Dict[str, Tuple[float, List[FileInfo]]] = {}

    @classmethod
    def from_config(cls, config: IndexConfig, **options: Any) -> "IndexClient":
        """A client reading every source of an :class:`IndexConfig` (see :mod:`pinguard.sources.index_config`)."""
        return cls(config.index_url, extra_index_urls=config.extra_index_urls, find_links=config.find_links,
                   no_index=config.no_index, **options)

    # -- counters --------------------------------------------------------------------------------------------

    @property
    def bytes_fetched(self) -> int:
        """Response body bytes received from the network so far (headers not counted)."""
        return self.transport.bytes_fetched

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.transport.requests_made

    # -- project pages ---------------------------------------------------------------------------------------

    def project(self, name: str) -> List[FileInfo]:
        """All wheels and sdists of ``name`` on every index and find-links location, merged as pip merges them
        (files with unparsable names are skipped). An index that cannot be read while another answers is a
        notice; UnknownPackage when no source has the project, the first NetworkError when none could answer."""
        key = normalize_name(name)
        memo = self._pages.get(key)
        if memo is not None and self._fresh(memo[0]):
            return list(memo[1])
        files: List[FileInfo] = []
        failures: List[NetworkError] = []
        fetched_at = time.time()
        for index_url in self.index_urls:
            try:
                entry = self._index_page(index_url, name, key)
            except UnknownPackage:
                continue
            except OfflineMiss:
                raise  # offline, the cache must answer for every index: a partial answer would mislead
            except NetworkError as exc:
                failures.append(exc)
                continue
            fetched_at = min(fetched_at, entry["fetched_at"])
            files.extend(f for f in (file_info(raw, key) for raw in entry["files"]) if f is not None)
        files.extend(self.find_links.files(key))
        if not files:
            if failures:
                raise failures[0]
            raise UnknownPackage("no package named {} on {}".format(name, self.sources_text()))
        for failure in failures:
            self._notice("{}; using the other package sources".format(failure))
        self._pages[key] = (fetched_at, files)
        return list(files)

    def sources_text(self) -> str:
        """The package sources read, for messages."""
        return " or ".join(self.index_urls + ["find-links " + f for f in self.find_links.locations]) or "no source"

    def _index_page(self, index_url: str, name: str, key: str) -> Dict[str, Any]:
        """The page entry of one index: a file:// index read directly, an http(s) one through the cache."""
        if is_file_url(index_url):
            return {"files": local_page(index_url, key, name), "fetched_at": time.time()}
        path = self.cache.page_path(index_url, key)
        entry = self._load_cached(path, _check_page_entry)
        if entry is None or not self._fresh(entry["fetched_at"]):
            if self.offline:
                if entry is None:
                    raise OfflineMiss("index page for {} on {} is not in the cache and {}".format(
                        name, index_url, _OFFLINE_HINT))
            else:
                entry = self._refresh_page(index_url, name, key, path, entry)
        return entry

    def versions(self, name: str, include_yanked: bool = False) -> List[Version]:
        """Sorted distinct versions of ``name`` (a version counts as yanked only if all its files are)."""
        found = {f.version for f in self.project(name) if include_yanked or not f.yanked}
        return sorted(found)

    @staticmethod
    def _page_url(index_url: str, key: str) -> str:
        return "{}/{}/".format(index_url, key)

    def _fresh(self, fetched_at: float) -> bool:
        return 0 <= time.time() - fetched_at < self.page_ttl

    def _refresh_page(self, index_url: str, name: str, key: str, path: Path,
                      stale: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        url = self._page_url(index_url, key)
        headers = {"Accept": _ACCEPT, "Accept-Encoding": "gzip"}
        if stale is not None and stale.get("url") == url:
            if stale.get("etag"):
                headers["If-None-Match"] = stale["etag"]
            if stale.get("last_modified"):
                headers["If-Modified-Since"] = stale["last_modified"]
        try:
            resp = self._fetch(url, headers, accept=(200, 304, 404, 410))
            if resp.status in (404, 410):
                self.cache.discard(path)
                raise UnknownPackage("no package named {} on {}".format(name, index_url))
            if resp.status == 304 and stale is not None:
                entry = dict(stale)
            elif resp.status == 200:
                entry = {
                    "url": url,
                    "etag": resp.headers.get("ETag"),
                    "last_modified": resp.headers.get("Last-Modified"),
                    "files": self._parse_page(resp),
                }
            else:
                raise NetworkError("cannot fetch {}: unexpected HTTP {}".format(url, resp.status))
        except NetworkError as exc:
            if stale is None:
                raise
            age = time.time() - stale["fetched_at"]
            self._notice("using the cached index page for {} from {} ago: {}".format(name, _age(age), exc))
            return stale
        entry["fetched_at"] = time.time()
        self.cache.store(path, entry)
        return entry

    def _parse_page(self, resp: Response) -> List[Dict[str, Any]]:
        body = resp.body
        if (resp.headers.get("Content-Encoding") or "").lower() == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as exc:
                raise NetworkError("index page {} has a damaged gzip body ({})".format(
                    resp.url, one_line(exc))) from None
        content_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == JSON_TYPE:
            return parse_json_page(body, resp.url)
        if content_type in HTML_TYPES:
            return parse_html_page(body, resp.url)
        raise NetworkError("index page {} has unsupported content type {!r}".format(resp.url, content_type))

    # -- metadata --------------------------------------------------------------------------------------------

    def metadata(self, file_info: FileInfo) -> Metadata:
        """Core metadata of one file: from the cache, the PEP 658 file, range requests, or (small) whole file."""
        local = is_file_url(file_info.url)  # read directly, never cached
        path = self.cache.metadata_path(file_info.url, file_info.hash_key)
        entry = None if local else self._load_cached(path, _check_metadata_entry)
        if entry is not None:
            return _metadata_from_entry(entry)
        if self.offline and not local:
            raise OfflineMiss("metadata of {} is not in the cache and {}".format(file_info.filename, _OFFLINE_HINT))
        raw, source = local_metadata(file_info) if local else self._fetch_metadata(file_info)
        try:
            meta = parse_metadata(raw)
        except ValueError as exc:
            raise NetworkError("metadata of {} from {} is unusable: {}".format(
                file_info.filename, file_info.url, exc)) from None
        meta.from_sdist = not file_info.is_wheel
        meta.source = source
        if local:
            return meta
        self.cache.store(path, {
            "file_url": file_info.url,
            "headers": header_block(raw),
            "from_sdist": meta.from_sdist,
            "source": source,
        })
        return meta

    def metadata_many(self, file_infos: Iterable[FileInfo]) -> Dict[FileInfo, Metadata]:
        """Metadata of several files, fetched in parallel; raises the first error (in input order) if any."""
        wanted = list(dict.fromkeys(file_infos))
        results: Dict[FileInfo, Metadata] = {}
        if not wanted:
            return results
        progress = ProgressLine(self.progress, len(wanted), self.transport)
        workers = min(self.workers, len(wanted))
        errors: Dict[int, PinguardError] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pinguard-index") as pool:
            futures = {pool.submit(self.metadata, fi): i for i, fi in enumerate(wanted)}
            for future in as_completed(futures):
                index = futures[future]
                if future.cancelled():
                    continue
                try:
                    results[wanted[index]] = future.result()
                except PinguardError as exc:
                    errors[index] = exc
                    for other in futures:
                        other.cancel()
                progress.update(len(results))
        progress.finish()
        if errors:
            raise errors[min(errors)]
        return results

    def _fetch_metadata(self, fi: FileInfo) -> Tuple[bytes, str]:
        if fi.core_metadata:
            raw = self._fetch_pep658(fi)
            if raw is not None:
                return raw, "pep658"
        if fi.is_wheel:
            source = RangeSource(self.transport, fi.url, fi.size, self.whole_file_limit, self._notice)
            try:
                raw = read_wheel_metadata(source, fi.name)
                return raw, "download" if source.got_whole_file else "range"
            except RangeUnsupported:
                why = "the server does not support range requests"
            except BadWheel as exc:
                raise NetworkError("cannot read METADATA from {}: {}".format(fi.url, exc)) from None
        else:
            why = "an sdist has no separate metadata file"
        return self._download_whole(fi, why), "download"

    def _fetch_pep658(self, fi: FileInfo) -> Optional[bytes]:
        url = fi.url.partition("#")[0] + ".metadata"
        resp = self._fetch(url, {}, accept=(200, 404, 410))
        if resp.status != 200:
            self._notice("index lists {} but it is missing (HTTP {}); reading the file instead".format(
                url, resp.status))
            return None
        if isinstance(fi.core_metadata, dict):
            verify_hash(resp.body, fi.core_metadata, "metadata file " + url)
        return resp.body

    def _download_whole(self, fi: FileInfo, why: str) -> bytes:
        limit = self.whole_file_limit
        if fi.size is not None and fi.size > limit:
            raise NetworkError("cannot read the metadata of {}: {}, and the file is {} (limit for whole "
                               "downloads: {})".format(fi.filename, why, megabytes(fi.size), megabytes(limit)))
        self._notice("downloading all of {} ({}) to read its metadata: {}".format(
            fi.filename, megabytes(fi.size), why))
        try:
            resp = self._fetch(fi.url, {}, limit_full=limit)
        except TooLarge as exc:
            raise NetworkError("cannot read the metadata of {}: {}, and the file is larger than {}".format(
                fi.filename, why, megabytes(exc.size or limit))) from None
        verify_hash(resp.body, fi.hashes, fi.filename)
        try:
            if fi.is_wheel:
                return read_wheel_metadata(BytesSource(resp.body), fi.name)
            return sdist_pkg_info(resp.body, fi.filename)
        except BadWheel as exc:
            raise NetworkError("cannot read metadata from {}: {}".format(fi.url, exc)) from None

    # -- cache -----------------------------------------------------------------------------------------------

    def _load_cached(self, path: Path, check: Callable[[Path, Dict[str, Any]], None]) -> Optional[Dict[str, Any]]:
        """A cache entry, or None. Corrupt entries raise offline and are dropped online."""
        try:
            entry = self.cache.load(path)
            if entry is not None:
                check(path, entry)
            return entry
        except CacheError as exc:
            if self.offline:
                raise
            self._notice("{}; dropping it and fetching again".format(exc))
            self.cache.discard(path)
            return None

    # -- HTTP ------------------------------------------------------------------------------------------------

    def _fetch(self, url: str, headers: Dict[str, str], accept: Tuple[int, ...] = (200,),
               limit_full: Optional[int] = None) -> Response:
        return self.transport.fetch(url, headers, accept=accept, limit_full=limit_full)

    # -- messages --------------------------------------------------------------------------------------------

    def _notice(self, message: str) -> None:
        message = one_line(message)
        self.notices.append(message)
        log.warning("%s", message)


# --------------------------------------------------------------------------------------------------------------
# Helpers


def _check_page_entry(path: Path, entry: Dict[str, Any]) -> None:
    if not valid_page_entry(entry):
        raise corrupt(path, "not a project page entry")


def _check_metadata_entry(path: Path, entry: Dict[str, Any]) -> None:
    headers = entry.get("headers")
    if not isinstance(headers, str):
        raise corrupt(path, "no metadata headers")
    try:
        parse_metadata(headers)
    except ValueError as exc:
        raise corrupt(path, str(exc)) from None


def _metadata_from_entry(entry: Dict[str, Any]) -> Metadata:
    meta = parse_metadata(entry["headers"])
    meta.from_sdist = bool(entry.get("from_sdist"))
    meta.source = str(entry.get("source", ""))
    return meta


def _age(seconds: float) -> str:
    if seconds < 120:
        return "{:.0f} s".format(max(0.0, seconds))
    if seconds < 7200:
        return "{:.0f} min".format(seconds / 60)
    if seconds < 172800:
        return "{:.0f} h".format(seconds / 3600)
    return "{:.0f} days".format(seconds / 86400)
