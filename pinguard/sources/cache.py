"""On-disk cache for index pages and package metadata.

Entries are small JSON files written atomically (temporary file in the same directory, then ``os.replace``), so a
reader never sees a half-written entry from a concurrent writer. A crash can still leave a truncated file behind;
:meth:`Cache.load` detects that and raises :class:`~pinguard.errors.CacheError`, and the index client then drops
the entry and refetches it (or, offline, reports it).

Layout::

    <root>/simple/<sha256(index url)[:16]>/<normalised project name>.json   project pages (expire after a TTL)
    <root>/metadata/<sha[:2]>/<sha256(file url + hash)>.json                 core metadata (never expire)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

from pinguard.errors import CacheError

#: Bumped when the layout or the schema of an entry changes; older entries are then ignored and refetched.
SCHEMA_VERSION = 1


def default_cache_dir() -> Path:
    """``$PINGUARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/pinguard``, else ``~/.cache/pinguard``."""
    explicit = os.environ.get("PINGUARD_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "pinguard"
    return Path.home() / ".cache" / "pinguard"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Cache:
    """JSON entries under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def page_path(self, index_url: str, project: str) -> Path:
        """Where the page of ``project`` (already normalised) on ``index_url`` is kept."""
        return self.root / "simple" / _digest(index_url)[:16] / (project + ".json")

    def metadata_path(self, file_url: str, file_hash: str) -> Path:
        """Where the core metadata of the file at ``file_url`` with hash ``file_hash`` is kept."""
        key = _digest(file_url + "#" + file_hash)
        return self.root / "metadata" / key[:2] / (key + ".json")

    def load(self, path: Path) -> Optional[Dict[str, Any]]:
        """The entry at ``path``; ``None`` when absent or written by another schema version.

        Raises :class:`CacheError` when the file exists but cannot be read or is not a valid entry.
        """
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CacheError("cannot read cache file {}: {}".format(path, _reason(exc))) from None
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise corrupt(path, "not valid JSON: {}".format(exc)) from None
        if not isinstance(entry, dict) or not isinstance(entry.get("schema"), int):
            raise corrupt(path, "not a pinguard cache entry")
        if entry["schema"] != SCHEMA_VERSION:
            return None
        return entry

    def store(self, path: Path, entry: Dict[str, Any]) -> None:
        """Write ``entry`` (plus the schema version) to ``path`` atomically."""
        data = dict(entry)
        data["schema"] = SCHEMA_VERSION
        payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
        tmp_name = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=str(path.parent))
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(tmp_name, str(path))
        except OSError as exc:
            if tmp_name is not None:
                _remove_quietly(Path(tmp_name))
            raise CacheError(
                "cannot write cache file {}: {} (set PINGUARD_CACHE_DIR to a writable directory)".format(
                    path, _reason(exc)
                )
            ) from None

    def discard(self, path: Path) -> None:
        """Remove the entry at ``path`` if it exists."""
        _remove_quietly(path)


def corrupt(path: Path, why: str) -> CacheError:
    """The error for a damaged entry: one line naming the file and what to do."""
    return CacheError("cache file {} is corrupt ({}); delete it, or run once without offline mode".format(path, why))


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
