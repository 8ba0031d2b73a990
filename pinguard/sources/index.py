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

Only the standard library is used for HTTP (``urllib.request``); proxies come from the usual environment variables.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import posixpath
import re
import ssl
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.policy import compat32
from html.parser import HTMLParser
from http.client import HTTPException
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple, Union

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pinguard import __version__
from pinguard.errors import BadInput, CacheError, NetworkError, PinguardError, UnknownPackage
from pinguard.sources.cache import Cache, corrupt, default_cache_dir
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

DEFAULT_INDEX_URL = "https://pypi.org/simple"
PAGE_TTL = 3600.0
WHOLE_FILE_LIMIT = 20 * 1024 * 1024
WORKERS = 8
PROGRESS_DELAY = 1.0

_JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_ACCEPT = "{}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1".format(_JSON_TYPE)
_USER_AGENT = "pinguard/{} (Python {}.{}; urllib)".format(__version__, *sys.version_info[:2])
_RETRY_STATUSES = frozenset([408, 425, 429, 500, 502, 503, 504])
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_HASH_PREFERENCE = ("sha256", "sha512", "sha384", "sha3_256", "sha3_512", "blake2b", "sha224")
_OFFLINE_HINT = "offline mode is on (PINGUARD_OFFLINE)"

Progress = Union[bool, Callable[[str], None]]


# --------------------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class FileInfo:
    """One file of a project on the index, as listed on its simple page.

    ``core_metadata`` is the PEP 658/714 field: ``False`` (no ``.metadata`` file), ``True``, or the hashes of the
    ``.metadata`` file. ``tags`` is empty for sdists. Instances hash by URL, so they can key a dict.
    """

    filename: str
    url: str
    hashes: Dict[str, str]
    requires_python: Optional[str]
    yanked: bool
    yanked_reason: Optional[str]
    size: Optional[int]
    core_metadata: Union[bool, Dict[str, str]]
    name: str
    version: Version
    tags: FrozenSet[Tag]
    build: Tuple[Any, ...] = ()

    def __hash__(self) -> int:
        return hash((self.url, self.filename))

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def hash_key(self) -> str:
        """``algo=hexdigest`` of the strongest known hash of the file (or of its metadata file), or ``""``."""
        for source in (self.hashes, self.core_metadata if isinstance(self.core_metadata, dict) else {}):
            algo = _strongest(source)
            if algo:
                return "{}={}".format(algo, source[algo])
        return ""


@dataclass
class Metadata:
    """The parts of a distribution's core metadata that dependency resolution needs.

    ``source`` says how it was obtained: ``"pep658"``, ``"range"`` (HTTP range requests into the wheel) or
    ``"download"`` (whole file).
    """

    name: str
    version: str
    requires_dist: List[str]
    requires_python: Optional[str]
    provides_extra: List[str] = field(default_factory=list)
    metadata_version: Optional[str] = None
    dynamic: List[str] = field(default_factory=list)
    from_sdist: bool = False
    source: str = ""

    @property
    def requires_dist_known(self) -> bool:
        """False for sdists whose ``PKG-INFO`` may not list their real dependencies (metadata < 2.2 or dynamic)."""
        if not self.from_sdist:
            return True
        try:
            modern = Version(self.metadata_version or "0") >= Version("2.2")
        except InvalidVersion:
            modern = False
        return modern and "requires-dist" not in {d.lower() for d in self.dynamic}


def normalize_name(name: str) -> str:
    """PEP 503 normalised form of a project name; :class:`BadInput` if it is not a valid name."""
    if not isinstance(name, str) or not _NAME_RE.match(name.strip()):
        raise BadInput("invalid package name {!r}".format(name))
    return canonicalize_name(name.strip())


def parse_metadata(raw: Union[bytes, str]) -> Metadata:
    """Parse a ``METADATA`` / ``PKG-INFO`` file (RFC 822 style headers); ``ValueError`` if Name/Version missing."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    msg = HeaderParser(policy=compat32).parsestr(text, headersonly=True)

    def one(key: str) -> Optional[str]:
        value = msg.get(key)
        return _unfold(value) if value is not None else None

    def many(key: str) -> List[str]:
        return [_unfold(v) for v in (msg.get_all(key) or []) if _unfold(v)]

    name, version = one("Name"), one("Version")
    if not name or not version:
        raise ValueError("no {} field".format("Name" if not name else "Version"))
    return Metadata(
        name=name,
        version=version,
        requires_dist=many("Requires-Dist"),
        requires_python=one("Requires-Python") or None,
        provides_extra=many("Provides-Extra"),
        metadata_version=one("Metadata-Version"),
        dynamic=many("Dynamic"),
    )


def _unfold(value: Any) -> str:
    return re.sub(r"\s*\n\s*", " ", str(value)).strip()


def _header_block(raw: bytes) -> str:
    """The header part of a METADATA file (the long description body is not worth caching)."""
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    end = text.find("\n\n")
    return text if end < 0 else text[:end + 1]


# --------------------------------------------------------------------------------------------------------------
# HTTP plumbing


@dataclass
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


class _Retryable(Exception):
    """A failure worth another try (connection trouble, timeout, HTTP 5xx/429)."""


class _TooLarge(Exception):
    """A full (non-range) response would exceed the caller's byte limit; ``size`` is None if unknown."""

    def __init__(self, size: Optional[int]) -> None:
        super().__init__(size)
        self.size = size


class _RangeUnsupported(Exception):
    """The server answered a range request with the whole (too large) file."""


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _strongest(hashes: Mapping[str, str]) -> Optional[str]:
    for algo in _HASH_PREFERENCE:
        if algo in hashes and algo in hashlib.algorithms_available:
            return algo
    return None


def _megabytes(size: Optional[int]) -> str:
    return "unknown size" if size is None else "{:.1f} MB".format(size / 1e6)


# --------------------------------------------------------------------------------------------------------------
# Simple page parsing (PEP 691 JSON, PEP 503 HTML) into plain dicts; these dicts are also what the cache stores.


def _raw_file(filename: str, url: str, hashes: Dict[str, str], requires_python: Optional[str],
              yanked: Union[bool, str], size: Optional[int], core: Union[bool, Dict[str, str]]) -> Dict[str, Any]:
    return {
        "filename": filename,
        "url": url,
        "hashes": hashes,
        "requires_python": requires_python,
        "yanked": yanked,
        "size": size,
        "core_metadata": core,
    }


def _str_dict(value: Any) -> Dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v for k, v in value.items() if isinstance(v, str)}


def _core_field(value: Any) -> Union[bool, Dict[str, str]]:
    if isinstance(value, dict):
        return _str_dict(value)
    return value is True


def _parse_json_page(body: bytes, page_url: str) -> List[Dict[str, Any]]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetworkError("index page {} is not valid JSON ({})".format(page_url, _one_line(exc))) from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise NetworkError("index page {} has no 'files' list; is this a PEP 691 index?".format(page_url))
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    api_version = str(meta.get("api-version", "1.0"))
    if api_version.split(".")[0] != "1":
        raise NetworkError("index page {} uses simple API version {}; pinguard understands 1.x".format(
            page_url, api_version))
    files = []
    for item in data["files"]:
        if not isinstance(item, dict):
            continue
        filename, url = item.get("filename"), item.get("url")
        if not isinstance(filename, str) or not isinstance(url, str):
            continue
        core = item.get("core-metadata", item.get("dist-info-metadata", False))
        yanked = item.get("yanked", False)
        size = item.get("size")
        requires_python = item.get("requires-python")
        files.append(_raw_file(
            filename=filename,
            url=urllib.parse.urljoin(page_url, url),
            hashes=_str_dict(item.get("hashes")),
            requires_python=requires_python if isinstance(requires_python, str) else None,
            yanked=yanked if isinstance(yanked, (bool, str)) else False,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            core=_core_field(core),
        ))
    return files


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: Optional[str] = None
        self.anchors: List[Dict[str, Optional[str]]] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self.anchors.append(dict(attrs))


def _html_hash_attr(value: Optional[str]) -> Union[bool, Dict[str, str]]:
    if value is None:
        return False
    algo, sep, digest = value.partition("=")
    if sep and algo and digest:
        return {algo.lower(): digest}
    return value.strip().lower() != "false"


def _parse_html_page(body: bytes, page_url: str) -> List[Dict[str, Any]]:
    parser = _AnchorParser()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except Exception as exc:  # html.parser raises assorted errors on garbage; never let them escape
        raise NetworkError("index page {} is not valid HTML ({})".format(page_url, _one_line(exc))) from None
    base = urllib.parse.urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, _, fragment = urllib.parse.urljoin(base, href).partition("#")
        algo, sep, digest = fragment.partition("=")
        hashes = {algo.lower(): digest} if sep and algo and digest else {}
        filename = urllib.parse.unquote(posixpath.basename(urllib.parse.urlsplit(url).path))
        core_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        yanked_attr = attrs.get("data-yanked")
        files.append(_raw_file(
            filename=filename,
            url=url,
            hashes=hashes,
            requires_python=attrs.get("data-requires-python") or None,
            yanked=False if yanked_attr is None else (yanked_attr or True),
            size=None,
            core=_html_hash_attr(core_attr) if "data-core-metadata" in attrs or "data-dist-info-metadata" in attrs
            else False,
        ))
    return files


def _file_info(raw: Dict[str, Any], project: str) -> Optional[FileInfo]:
    """A FileInfo for one page entry; ``None`` for files that are not wheels/sdists of ``project``."""
    filename = raw["filename"]
    try:
        if filename.endswith(".whl"):
            name, version, build, tags = parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            build, tags = (), frozenset()
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, ValueError):
        return None
    if canonicalize_name(name) != project:
        return None
    yanked = raw.get("yanked", False)
    return FileInfo(
        filename=filename,
        url=raw["url"],
        hashes=dict(raw.get("hashes") or {}),
        requires_python=raw.get("requires_python"),
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
        size=raw.get("size"),
        core_metadata=raw.get("core_metadata", False),
        name=canonicalize_name(name),
        version=version,
        tags=frozenset(tags),
        build=tuple(build),
    )


def _valid_page_entry(entry: Dict[str, Any]) -> bool:
    files = entry.get("files")
    if not isinstance(files, list) or not isinstance(entry.get("fetched_at"), (int, float)):
        return False
    return all(isinstance(f, dict) and isinstance(f.get("filename"), str) and isinstance(f.get("url"), str)
               for f in files)


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
    receiving each progress line. Notices (a stale page used, a whole file downloaded, a corrupt cache entry
    dropped) are logged to ``pinguard.sources.index`` and collected in :attr:`notices`.
    """

    def __init__(
        self,
        index_url: str = DEFAULT_INDEX_URL,
        cache_dir: Optional[Union[str, Path]] = None,
        offline: bool = False,
        timeout: float = 30.0,
        retries: int = 3,
        *,
        page_ttl: float = PAGE_TTL,
        backoff: float = 0.5,
        whole_file_limit: int = WHOLE_FILE_LIMIT,
        workers: int = WORKERS,
        progress: Progress = False,
    ) -> None:
        self.index_url = _check_index_url(index_url)
        self.cache = Cache(Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir())
        env_offline = os.environ.get("PINGUARD_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        self.offline = bool(offline) or env_offline
        self.timeout = timeout
        self.retries = max(1, int(retries))
        self.page_ttl = page_ttl
        self.backoff = backoff
        self.whole_file_limit = whole_file_limit
        self.workers = max(1, int(workers))
        self.progress = progress
        self.notices: List[str] = []
        self._opener = urllib.request.build_opener()
        self._lock = threading.Lock()
        self._bytes = 0
        self._requests = 0
        self._pages: Dict[str, Tuple[float, List[FileInfo]]] = {}

    # -- counters --------------------------------------------------------------------------------------------

    @property
    def bytes_fetched(self) -> int:
        """Response body bytes received from the network so far (headers not counted)."""
        return self._bytes

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests

    # -- project pages ---------------------------------------------------------------------------------------

    def project(self, name: str) -> List[FileInfo]:
        """All wheels and sdists of ``name`` listed on the index (files with unparsable names are skipped)."""
        key = normalize_name(name)
        memo = self._pages.get(key)
        if memo is not None and self._fresh(memo[0]):
            return list(memo[1])
        path = self.cache.page_path(self.index_url, key)
        entry = self._load_cached(path, _check_page_entry)
        if entry is None or not self._fresh(entry["fetched_at"]):
            if self.offline:
                if entry is None:
                    raise NetworkError("index page for {} is not in the cache and {}".format(name, _OFFLINE_HINT))
            else:
                entry = self._refresh_page(name, key, path, entry)
        files = [f for f in (_file_info(raw, key) for raw in entry["files"]) if f is not None]
        self._pages[key] = (entry["fetched_at"], files)
        return list(files)

    def versions(self, name: str, include_yanked: bool = False) -> List[Version]:
        """Sorted distinct versions of ``name`` (a version counts as yanked only if all its files are)."""
        found = {f.version for f in self.project(name) if include_yanked or not f.yanked}
        return sorted(found)

    def _page_url(self, key: str) -> str:
        return "{}/{}/".format(self.index_url, key)

    def _fresh(self, fetched_at: float) -> bool:
        return 0 <= time.time() - fetched_at < self.page_ttl

    def _refresh_page(self, name: str, key: str, path: Path, stale: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        url = self._page_url(key)
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
                raise UnknownPackage("no package named {} on {}".format(name, self.index_url))
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

    def _parse_page(self, resp: _Response) -> List[Dict[str, Any]]:
        body = resp.body
        if (resp.headers.get("Content-Encoding") or "").lower() == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as exc:
                raise NetworkError("index page {} has a damaged gzip body ({})".format(
                    resp.url, _one_line(exc))) from None
        content_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == _JSON_TYPE:
            return _parse_json_page(body, resp.url)
        if content_type in ("text/html", "application/vnd.pypi.simple.v1+html"):
            return _parse_html_page(body, resp.url)
        raise NetworkError("index page {} has unsupported content type {!r}".format(resp.url, content_type))

    # -- metadata --------------------------------------------------------------------------------------------

    def metadata(self, file_info: FileInfo) -> Metadata:
        """Core metadata of one file: from the cache, the PEP 658 file, range requests, or (small) whole file."""
        path = self.cache.metadata_path(file_info.url, file_info.hash_key)
        entry = self._load_cached(path, _check_metadata_entry)
        if entry is not None:
            return _metadata_from_entry(entry)
        if self.offline:
            raise NetworkError("metadata of {} is not in the cache and {}".format(file_info.filename, _OFFLINE_HINT))
        raw, source = self._fetch_metadata(file_info)
        try:
            meta = parse_metadata(raw)
        except ValueError as exc:
            raise NetworkError("metadata of {} from {} is unusable: {}".format(
                file_info.filename, file_info.url, exc)) from None
        meta.from_sdist = not file_info.is_wheel
        meta.source = source
        self.cache.store(path, {
            "file_url": file_info.url,
            "headers": _header_block(raw),
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
        progress = _ProgressLine(self.progress, len(wanted), self)
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
            source = _HttpRangeSource(self, fi)
            try:
                raw = read_wheel_metadata(source, fi.name)
                return raw, "download" if source.got_whole_file else "range"
            except _RangeUnsupported:
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
            _verify_hash(resp.body, fi.core_metadata, "metadata file " + url)
        return resp.body

    def _download_whole(self, fi: FileInfo, why: str) -> bytes:
        limit = self.whole_file_limit
        if fi.size is not None and fi.size > limit:
            raise NetworkError("cannot read the metadata of {}: {}, and the file is {} (limit for whole "
                               "downloads: {})".format(fi.filename, why, _megabytes(fi.size), _megabytes(limit)))
        self._notice("downloading all of {} ({}) to read its metadata: {}".format(
            fi.filename, _megabytes(fi.size), why))
        try:
            resp = self._fetch(fi.url, {}, limit_full=limit)
        except _TooLarge as exc:
            raise NetworkError("cannot read the metadata of {}: {}, and the file is larger than {}".format(
                fi.filename, why, _megabytes(exc.size or limit))) from None
        _verify_hash(resp.body, fi.hashes, fi.filename)
        try:
            if fi.is_wheel:
                return read_wheel_metadata(BytesSource(resp.body), fi.name)
            return _sdist_pkg_info(resp.body, fi.filename)
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

    def _fetch(self, url: str, headers: Mapping[str, str], accept: Tuple[int, ...] = (200,),
               limit_full: Optional[int] = None) -> _Response:
        """GET ``url``, retrying transient failures with exponential backoff.

        Returns responses whose status is in ``accept``; raises :class:`NetworkError` otherwise. ``limit_full``
        caps the size of a 200 (full-body) response: :class:`_TooLarge` is raised before reading past it.
        """
        reason = ""
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self._fetch_once(url, headers, limit_full)
            except _Retryable as exc:
                reason = str(exc)
                log.debug("attempt %d for %s failed: %s", attempt + 1, url, reason)
                continue
            if resp.status in accept:
                return resp
            raise NetworkError("cannot fetch {}: HTTP {}".format(url, resp.status))
        tries = "1 try" if self.retries == 1 else "{} tries".format(self.retries)
        raise NetworkError("cannot fetch {}: {} (gave up after {})".format(url, reason, tries))

    def _fetch_once(self, url: str, headers: Mapping[str, str], limit_full: Optional[int]) -> _Response:
        request = urllib.request.Request(url, headers=dict(headers, **{"User-Agent": _USER_AGENT}))
        with self._lock:
            self._requests += 1
        try:
            resp = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            status, phrase, resp_headers = exc.code, exc.reason, exc.headers
            exc.close()
            if status in _RETRY_STATUSES:
                raise _Retryable("HTTP {} {}".format(status, _one_line(phrase))) from None
            return _Response(status, resp_headers or {}, b"", url)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise NetworkError("cannot fetch {}: {}".format(url, _one_line(exc.reason))) from None
            raise _Retryable(_one_line(exc.reason)) from None
        except (OSError, HTTPException) as exc:
            raise _Retryable(_describe(exc)) from None
        except ValueError as exc:
            raise NetworkError("cannot fetch {}: {}".format(url, _one_line(exc))) from None
        with resp:
            status = resp.getcode()
            try:
                body = self._read_body(resp, limit_full if status == 200 else None)
            except (OSError, HTTPException) as exc:
                raise _Retryable(_describe(exc)) from None
            return _Response(status, resp.headers, body, resp.geturl())

    def _read_body(self, resp: Any, limit: Optional[int]) -> bytes:
        if limit is not None:
            length = resp.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise _TooLarge(int(length))
        chunks = []
        total = 0
        while True:
            chunk = resp.read(64 * 1024)
            if not chunk:
                break
            with self._lock:
                self._bytes += len(chunk)
            total += len(chunk)
            chunks.append(chunk)
            if limit is not None and total > limit:
                raise _TooLarge(None)
        return b"".join(chunks)

    # -- messages --------------------------------------------------------------------------------------------

    def _notice(self, message: str) -> None:
        message = _one_line(message)
        self.notices.append(message)
        log.warning("%s", message)


class _HttpRangeSource:
    """``tail``/``read`` over HTTP range requests, for :func:`read_wheel_metadata`."""

    def __init__(self, client: IndexClient, fi: FileInfo) -> None:
        self.client = client
        self.fi = fi
        self.url = fi.url.partition("#")[0]
        self.got_whole_file = False

    def tail(self, length: int) -> Tuple[bytes, int]:
        size = self.fi.size
        if size is not None and size > 0:
            start = max(0, size - length)
            resp = self._get("bytes={}-{}".format(start, size - 1))
        else:
            start = None
            resp = self._get("bytes=-{}".format(length))
        if resp.status == 200:
            self.got_whole_file = True
            self.client._notice("{} does not support range requests; downloaded all of it ({}) to read its "
                                "metadata".format(self.url, _megabytes(len(resp.body))))
            return resp.body, len(resp.body)
        first, total = self._content_range(resp)
        if start is not None and first != start:
            raise BadWheel("server returned bytes from {} instead of {}".format(first, start))
        return resp.body, total

    def read(self, offset: int, length: int) -> bytes:
        resp = self._get("bytes={}-{}".format(offset, offset + length - 1))
        if resp.status == 200:
            return resp.body[offset:offset + length]
        first, _ = self._content_range(resp)
        if first != offset:
            raise BadWheel("server returned bytes from {} instead of {}".format(first, offset))
        return resp.body

    def _get(self, byte_range: str) -> _Response:
        try:
            return self.client._fetch(self.url, {"Range": byte_range}, accept=(200, 206),
                                      limit_full=self.client.whole_file_limit)
        except _TooLarge:
            raise _RangeUnsupported() from None

    def _content_range(self, resp: _Response) -> Tuple[int, int]:
        match = _CONTENT_RANGE.match((resp.headers.get("Content-Range") or "").strip())
        if not match or match.group(3) == "*":
            raise BadWheel("server sent a partial response without a usable Content-Range header")
        first, last, total = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if len(resp.body) != last - first + 1:
            raise BadWheel("server sent {} bytes for a {}-byte range".format(len(resp.body), last - first + 1))
        return first, total


class _ProgressLine:
    """``fetched metadata 12/40 (1.3 MB)`` on stderr (or to a callback), only once a batch has run > 1 s."""

    def __init__(self, progress: Progress, total: int, client: IndexClient) -> None:
        self.sink: Optional[Callable[[str], None]] = None
        if callable(progress):
            self.sink = progress
        elif progress:
            self.sink = _stderr_line
        self.total = total
        self.client = client
        self.start = time.monotonic()
        self.start_bytes = client.bytes_fetched
        self.shown = False

    def update(self, done: int) -> None:
        if self.sink is None or time.monotonic() - self.start < PROGRESS_DELAY:
            return
        self.shown = True
        self.sink("fetching metadata: {}/{} files, {} downloaded".format(
            done, self.total, _megabytes(self.client.bytes_fetched - self.start_bytes)))

    def finish(self) -> None:
        if self.shown and self.sink is _stderr_line:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _stderr_line(text: str) -> None:
    sys.stderr.write("\r" + text + "\033[K" if sys.stderr.isatty() else "\r" + text)
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------------------------
# Helpers


def _check_index_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput("index URL must be an http(s) URL, got {!r}".format(url))
    return url.rstrip("/")


def _check_page_entry(path: Path, entry: Dict[str, Any]) -> None:
    if not _valid_page_entry(entry):
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


def _verify_hash(data: bytes, hashes: Mapping[str, str], what: str) -> None:
    algo = _strongest(hashes)
    if algo is None:
        return
    actual = hashlib.new(algo, data).hexdigest()
    if actual.lower() != hashes[algo].lower():
        raise NetworkError("{} does not match its {} hash from the index (damaged download or a tampered "
                           "index)".format(what, algo))


def _sdist_pkg_info(data: bytes, filename: str) -> bytes:
    """``<top>/PKG-INFO`` from an sdist (``.tar.gz`` or ``.zip``) held in memory."""
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                if names:
                    return archive.read(sorted(names)[0])
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                members = [m for m in archive.getmembers()
                           if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
                if members:
                    handle = archive.extractfile(sorted(members, key=lambda m: m.name)[0])
                    if handle is not None:
                        return handle.read()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise BadWheel("damaged sdist ({})".format(_one_line(exc))) from None
    raise BadWheel("no PKG-INFO at the top of the sdist")


def _describe(exc: BaseException) -> str:
    text = _one_line(exc)
    return text if text else type(exc).__name__


def _age(seconds: float) -> str:
    if seconds < 120:
        return "{:.0f} s".format(max(0.0, seconds))
    if seconds < 7200:
        return "{:.0f} min".format(seconds / 60)
    if seconds < 172800:
        return "{:.0f} h".format(seconds / 3600)
    return "{:.0f} days".format(seconds / 86400)
