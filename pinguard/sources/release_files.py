"""The source files of a released distribution, read one member at a time and cached.

For a (distribution, version) the file is the wheel the target would install (any wheel of that version when no
wheel fits the target: `.py` files do not depend on the platform), else the sdist when it is small. A wheel is
never downloaded: its central directory comes with two range requests (the tail, then the directory), and each
wanted member with one more — neighbouring members share a request (`wheel_range.read_members`). An sdist is
downloaded whole only below `SDIST_LIMIT`.

Cache, under the index client's cache directory (`release-files/<dist>/<version>/`): the listing of the file
(members and where their bytes are) and each member read, keyed by (distribution, version, path). Offline
(`--offline`, PINGUARD_OFFLINE=1) only the cache answers; what it lacks is "unknown", never "absent".

`module(dist, version, "a.b")` answers with a `ModuleLookup`: the module's parsed facts (pinguard.sources.api_facts),
or that the release has no such module, or that it is a compiled extension, or unknown (and why).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
import tokenize
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from pinguard.pep503 import normalize
from packaging.version import Version

from pinguard.errors import CacheError, PinguardError
from pinguard.api_types import ApiView, ModuleLookup, Request
from pinguard.sources.api_facts import module_facts
from pinguard.sources.http_transport import RangeSource, RangeUnsupported, TooLarge
from pinguard.sources.index import FileInfo, IndexClient
from pinguard.sources.wheel_range import BadWheel, ZipMember, read_directory, read_members

SDIST_LIMIT = 10 * 1024 * 1024
_BINARY_SUFFIXES = (".so", ".pyd", ".dylib")
_DATA_DIRS = ("purelib/", "platlib/")
_SDIST_TOOLING = frozenset(["setup.py", "conftest.py", "noxfile.py", "tasks.py"])  # at an sdist's top, not installed


class Listing:
    """The members of one release file, by import-style path (`a/b.py`)."""

    def __init__(self, url: str, members: Sequence[ZipMember], kind: str) -> None:
        self.url = url
        self.kind = kind  # "wheel" | "sdist"
        self.members: Dict[str, ZipMember] = {}
        for member in members:
            self.members.setdefault(_import_path(member.name), member)
        self.directories = {path.rsplit("/", 1)[0] for path in self.members if "/" in path}
        self.directories |= {d.rsplit("/", i)[0] for d in list(self.directories) for i in range(1, d.count("/") + 1)}
        self.binaries: Dict[str, str] = {}  # `a/b` -> `a/b.cpython-37m-x86_64-linux-gnu.so`
        for path in self.members:
            if path.endswith(_BINARY_SUFFIXES):
                parent, _, name = path.rpartition("/")
                self.binaries.setdefault((parent + "/" if parent else "") + name.split(".", 1)[0], path)

    def find(self, module: str) -> Tuple[str, str]:
        """(status, path) of `module` in this file: module, package, binary, namespace package or absent."""
        base = module.replace(".", "/")
        if base + "/__init__.py" in self.members:
            return "package", base + "/__init__.py"
        if base + ".py" in self.members:
            return "module", base + ".py"
        if base in self.binaries:
            return "binary", self.binaries[base]
        if base in self.directories:
            return "package", ""  # a namespace package: exists, binds only its submodules
        return "absent", ""

    def top_level(self) -> List[str]:
        """Import names at the top of the file (packages and modules), `*.dist-info` and data dirs left out."""
        names = set()
        for path in self.members:
            if self.kind == "sdist" and path in _SDIST_TOOLING:
                continue
            head = path.split("/", 1)[0]
            if head.endswith((".dist-info", ".egg-info", ".data")) or head.startswith(("..", "/")):
                continue
            names.add(head.split(".", 1)[0] if "/" not in path else head)
        return sorted(n for n in names if n.isidentifier())


class ReleaseFiles(ApiView):
    """Reads modules of released distributions (see the module docstring)."""

    def __init__(self, client: IndexClient, choose_file=None) -> None:
        """`choose_file(dist, version) -> [FileInfo]` ranks the files of a release for the target (best first);
        by default every wheel of the version, then its sdist."""
        self.client = client
        self.choose_file = choose_file
        self.root = Path(client.cache.root) / "release-files"
        self._listings: Dict[Tuple[str, str], Optional[Listing]] = {}
        self._reasons: Dict[Tuple[str, str], str] = {}
        self._texts: Dict[Tuple[str, str, str], Optional[str]] = {}
        self._lookups: Dict[Tuple[str, str, str], ModuleLookup] = {}
        self._lock = threading.Lock()
        self._key_locks: Dict[Tuple[str, str], threading.Lock] = {}

    # -- public --------------------------------------------------------------------------------------------------

    def listing(self, dist: str, version: Version) -> Optional[Listing]:
        """The listing of the release's file, or None when it cannot be had (see `why`)."""
        key = (normalize(dist), str(version))
        if key in self._listings:
            return self._listings[key]
        with self._key_lock(key):
            if key not in self._listings:
                listing, why = self._load_listing(*key)
                self._listings[key] = listing
                if listing is None:
                    self._reasons[key] = why
        return self._listings[key]

    def why(self, dist: str, version: Version) -> str:
        return self._reasons.get((normalize(dist), str(version)), "")

    def module(self, dist: str, version: Version, module: str) -> ModuleLookup:
        key = (normalize(dist), str(version), module)
        found = self._lookups.get(key)
        if found is None:
            found = self._lookup(dist, version, module)
            if found.status != "unknown" or self.client.offline:
                self._lookups[key] = found
        return found

    def _lookup(self, dist: str, version: Version, module: str) -> ModuleLookup:
        listing = self.listing(dist, version)
        if listing is None:
            return ModuleLookup("unknown", why=self.why(dist, version) or "no file of %s %s" % (dist, version))
        status, path = listing.find(module)
        if status in ("absent", "binary") or not path:
            return ModuleLookup(status, path)
        text = self.text(dist, version, path)
        if text is None:
            return ModuleLookup("unknown", path, why="%s could not be read" % path)
        facts = module_facts(text, module, is_package=(status == "package"))
        if facts is None:
            return ModuleLookup("unknown", path, why="%s does not parse with this Python" % path)
        return ModuleLookup(status, path, facts)

    def text(self, dist: str, version: Version, path: str) -> Optional[str]:
        """The decoded text of one member (None when absent or unreadable)."""
        key = (normalize(dist), str(version), path)
        if key not in self._texts:
            self.prefetch(dist, version, [path])
        return self._texts.get(key)

    def prefetch(self, dist: str, version: Version, paths: Iterable[str]) -> None:
        """Read several members of one release with as few requests as possible (cache first)."""
        name, text_version = normalize(dist), str(version)
        listing = self.listing(dist, version)
        missing: List[ZipMember] = []
        for path in paths:
            key = (name, text_version, path)
            if key in self._texts:
                continue
            cached = self._cached_text(name, text_version, path)
            if cached is not None:
                self._texts[key] = cached
            elif listing is not None and path in listing.members and not self.client.offline:
                missing.append(listing.members[path])
            else:
                self._texts[key] = None
        if missing and listing is not None:
            self._fetch_members(name, text_version, listing, missing)

    def prefetch_many(self, wanted: Iterable[Tuple[str, Version, Sequence[str]]]) -> None:
        """`prefetch` for several releases at once, in parallel."""
        jobs = list(wanted)
        if not jobs:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
            list(pool.map(lambda job: self._quietly(lambda: self.prefetch(*job)), jobs))

    def warm_listings(self, releases: Iterable[Tuple[str, Version]]) -> None:
        """Read the listings of several releases in parallel."""
        jobs = [job for job in releases if (normalize(job[0]), str(job[1])) not in self._listings]
        if jobs:
            with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
                list(pool.map(lambda job: self._quietly(lambda: self.listing(*job)), jobs))

    def warm(self, requests: Iterable[Request]) -> None:
        """Read the files of several modules, grouped by release, releases in parallel."""
        wanted: Dict[Tuple[str, str], Tuple[str, Version, List[str]]] = {}
        requests = list(requests)
        self.warm_listings({(dist, version) for dist, version, _ in requests})
        for dist, version, module in requests:
            listing = self.listing(dist, version)
            if listing is None:
                continue
            status, path = listing.find(module)
            if path and status in ("module", "package"):
                key = (normalize(dist), str(version))
                wanted.setdefault(key, (dist, version, []))[2].append(path)
        self.prefetch_many(wanted.values())

    def top_level(self, dist: str, version: Version) -> Optional[List[str]]:
        listing = self.listing(dist, version)
        return listing.top_level() if listing is not None else None

    # -- listings -------------------------------------------------------------------------------------------------

    def _load_listing(self, dist: str, version: str) -> Tuple[Optional[Listing], str]:
        path = self.root / dist / version / "listing.json"
        entry = self._load(path)
        if entry is not None and isinstance(entry.get("members"), list):
            try:
                members = [ZipMember.from_list(row) for row in entry["members"]]
                return Listing(str(entry.get("url", "")), members, str(entry.get("kind", "wheel"))), ""
            except (TypeError, ValueError):
                self.client.cache.discard(path)
        if self.client.offline:
            return None, "%s %s is not in the cache (offline)" % (dist, version)
        try:
            files = self._files(dist, Version(version))
        except PinguardError as exc:
            return None, str(exc)
        last = "no wheel or small sdist of %s %s" % (dist, version)
        for info in files:
            try:
                listing = self._read_listing(dist, version, info)
            except (BadWheel, PinguardError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
                last = "cannot read %s: %s" % (info.filename, exc)
                continue
            if listing is not None:
                self._store(path, {"url": info.url, "kind": listing.kind,
                                   "members": [m.as_list() for m in listing.members.values()]})
                return listing, ""
        return None, last

    def _files(self, dist: str, version: Version) -> List[FileInfo]:
        if self.choose_file is not None:
            ranked = list(self.choose_file(dist, version))
        else:
            ranked = []
        same = [f for f in self.client.project(dist) if f.version == version and not f.yanked] or [
            f for f in self.client.project(dist) if f.version == version]
        wheels = [f for f in same if f.is_wheel and f not in ranked]
        sdists = [f for f in same if not f.is_wheel and f not in ranked and (f.size or 0) <= SDIST_LIMIT]
        return [f for f in ranked if f.is_wheel] + wheels + [f for f in ranked if not f.is_wheel] + sdists

    def _read_listing(self, dist: str, version: str, info: FileInfo) -> Optional[Listing]:
        if info.is_wheel:
            members = read_directory(self._source(info))
            return Listing(info.url, members, "wheel")
        if info.size is not None and info.size > SDIST_LIMIT:
            return None
        data = self._whole(info)
        texts, members = _sdist_sources(data, info.filename)
        for member_path, text in texts.items():
            self._remember(dist, version, member_path, text)
        return Listing(info.url, members, "sdist")

    def _source(self, info: FileInfo):
        if info.url.startswith("file:"):
            return _LocalFile(urllib.request.url2pathname(urllib.parse.urlsplit(info.url).path))
        return RangeSource(self.client.transport, info.url, info.size, self.client.whole_file_limit,
                           self.client._notice)

    def _whole(self, info: FileInfo) -> bytes:
        if info.url.startswith("file:"):
            with open(urllib.request.url2pathname(urllib.parse.urlsplit(info.url).path), "rb") as handle:
                return handle.read(SDIST_LIMIT + 1)
        try:
            return self.client.transport.fetch(info.url, {}, limit_full=SDIST_LIMIT).body
        except TooLarge:
            raise BadWheel("the sdist is larger than %d MB" % (SDIST_LIMIT // 1024 // 1024)) from None

    # -- members --------------------------------------------------------------------------------------------------

    def _fetch_members(self, dist: str, version: str, listing: Listing, members: List[ZipMember]) -> None:
        info_url = listing.url
        if listing.kind == "sdist":  # pseudo members: the sdist is read whole again (it is small)
            info = next((f for f in self.client.project(dist) if f.url == info_url), None)
            if info is not None:
                self._quietly(lambda: self._read_listing(dist, version, info))
            for member in members:
                self._texts.setdefault((dist, version, _import_path(member.name)), None)
            return
        try:
            source = self._source_for_url(info_url)
            found = read_members(source, members)
        except (BadWheel, RangeUnsupported, PinguardError, OSError) as exc:
            self.client._notice("cannot read %s from %s: %s" % (", ".join(m.name for m in members[:3]), info_url,
                                                                exc))
            found = {}
        by_name = {m.name: m for m in members}
        for name, member in by_name.items():
            raw = found.get(name)
            text = _decode(raw) if raw is not None else None
            self._remember(dist, version, _import_path(name), text, store=raw is not None)

    def _source_for_url(self, url: str):
        if url.startswith("file:"):
            return _LocalFile(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
        return RangeSource(self.client.transport, url, None, self.client.whole_file_limit, self.client._notice)

    def _remember(self, dist: str, version: str, path: str, text: Optional[str], store: bool = True) -> None:
        self._texts[(dist, version, path)] = text
        if text is not None and store:
            self._store(self._member_path(dist, version, path), {"path": path, "text": text})

    def _cached_text(self, dist: str, version: str, path: str) -> Optional[str]:
        entry = self._load(self._member_path(dist, version, path))
        if entry is not None and entry.get("path") == path and isinstance(entry.get("text"), str):
            return entry["text"]
        return None

    def _member_path(self, dist: str, version: str, path: str) -> Path:
        digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:32]
        return self.root / dist / version / "members" / (digest + ".json")

    # -- cache plumbing -------------------------------------------------------------------------------------------

    def _load(self, path: Path) -> Optional[dict]:
        try:
            return self.client.cache.load(path)
        except CacheError as exc:
            if self.client.offline:
                raise
            self.client._notice("%s; dropping it" % exc)
            self.client.cache.discard(path)
            return None

    def _store(self, path: Path, entry: dict) -> None:
        try:
            self.client.cache.store(path, entry)
        except CacheError as exc:
            self.client._notice(str(exc))

    def _key_lock(self, key: Tuple[str, str]) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    @staticmethod
    def _quietly(job) -> None:
        try:
            job()
        except PinguardError:
            pass


class _LocalFile:
    """`tail`/`read` over a local file (a `file://` index or a --find-links directory)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.got_whole_file = False

    def tail(self, length: int) -> Tuple[bytes, int]:
        with open(self.path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - length))
            return handle.read(), size

    def read(self, offset: int, length: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)


def _import_path(member: str) -> str:
    """A wheel member's path as seen from site-packages (`x-1.0.data/purelib/a/b.py` -> `a/b.py`)."""
    head, _, rest = member.partition("/")
    if head.endswith(".data"):
        for prefix in _DATA_DIRS:
            if rest.startswith(prefix):
                return rest[len(prefix):]
    return member


def _decode(raw: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return raw.decode(encoding, errors="replace")
    except (SyntaxError, LookupError):
        return raw.decode("utf-8", errors="replace")


def _sdist_sources(data: bytes, filename: str) -> Tuple[Dict[str, str], List[ZipMember]]:
    """The .py files of an sdist held in memory, by import path (top folder and a `src/` or `lib/` layer dropped),
    and pseudo zip members for every file so that the listing can answer "absent" and "binary"."""
    files: Dict[str, bytes] = {}
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir() and info.file_size <= SDIST_LIMIT:
                    files[info.filename] = archive.read(info) if info.filename.endswith(".py") else b""
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive.getmembers():
                if member.isfile() and member.size <= SDIST_LIMIT:
                    handle = archive.extractfile(member) if member.name.endswith(".py") else None
                    files[member.name] = handle.read() if handle is not None else b""
    texts: Dict[str, str] = {}
    members: List[ZipMember] = []
    for name, raw in files.items():
        parts = name.split("/")[1:]
        if parts[:1] in (["src"], ["lib"]) and len(parts) > 1:
            parts = parts[1:]
        path = "/".join(parts)
        if not path:
            continue
        members.append(ZipMember(path, 0, 0, 0, len(raw), len(raw), 0))
        if name.endswith(".py"):
            texts[path] = _decode(raw)
    return texts, members
