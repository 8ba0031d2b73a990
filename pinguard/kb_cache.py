"""The knowledge base without its crash signatures, through a pickle in pinguard's cache directory.

For the install doors that run inside another program's command (the conda plugin): parsing the TOML files and
compiling every rule's crash signatures costs ~25 ms on each `conda install`, unpickling the judged part ~2 ms.
The verdict engines (generate, check, judge) never read `Rule.signatures` (only `fix` does) nor `Rule.evidence`
(only `knowledge verify` does), so the snapshot drops them; `kb.load()` is untouched and still the only loader for
everything else.

The snapshot is keyed by pinguard's version, the Python version and the size and mtime of every knowledge file and
of the modules that define the pickled types, so an edited knowledge base or an upgraded pinguard is re-read. A
missing, stale, unreadable or unwritable cache only costs the slow path; it is never an error. It lives in the
user's own cache directory (`$PINGUARD_CACHE_DIR`, `$XDG_CACHE_HOME/pinguard`, `~/.cache/pinguard`), created 0700.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import sys
import tempfile
from typing import Any, Dict, Optional

from pinguard import __version__

_SLIM: Dict[str, object] = {}
_HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(_HERE, "knowledge")  # = pinguard.kb.DATA_DIR, without importing kb (and packaging)
_CODE = ("kb.py", "kb_types.py", "model.py", "conda_names.py", "lightrecord.py", "kb_cache.py")


def cache_root() -> str:
    explicit = os.environ.get("PINGUARD_CACHE_DIR")
    if explicit:
        return os.path.expanduser(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return os.path.join(os.path.expanduser(xdg), "pinguard")
    return os.path.join(os.path.expanduser("~"), ".cache", "pinguard")


def _key(directory: str) -> Optional[str]:
    here = _HERE
    parts = [__version__, "%d.%d" % sys.version_info[:2], os.path.abspath(directory)]
    try:
        for name in sorted(os.listdir(directory)):
            if name.endswith(".toml"):
                stat = os.stat(os.path.join(directory, name))
                parts.append("%s:%d:%d" % (name, stat.st_size, stat.st_mtime_ns))
        for name in _CODE:
            stat = os.stat(os.path.join(here, name))
            parts.append("%s:%d:%d" % (name, stat.st_size, stat.st_mtime_ns))
    except OSError:
        return None
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:24]


def knowledge_digest(directory: Optional[str] = None) -> str:
    """A digest of the knowledge files' contents and pinguard's version: a guard table computed by one pinguard
    install (`pinguard init` in an environment) is current for another (the plugin in conda's base) when equal."""
    directory = directory or os.environ.get("PINGUARD_KNOWLEDGE_DIR") or DATA_DIR
    digest = hashlib.sha256(__version__.encode("utf-8"))
    try:
        for name in sorted(os.listdir(directory)):
            if name.endswith(".toml"):
                digest.update(name.encode("utf-8") + b"\0")
                with open(os.path.join(directory, name), "rb") as handle:
                    digest.update(handle.read())
    except OSError:
        return ""
    return "sha256:" + digest.hexdigest()


def _paths(directory: str):
    key = _key(directory)
    if key is None:
        return None, None
    base = os.path.join(cache_root(), "kb", "slim-%s" % key)
    return base + ".pickle", base + ".json"


def names_index(kb) -> Dict[str, Any]:
    """What a hook needs to tell, without the knowledge base, whether a conda package can matter at all.

    `relevant`: conda names of every package the knowledge base speaks of (rules, the torch family, conda-only
    CUDA packages, python); `to_conda`: PyPI name -> conda names, `globs`: [PyPI glob, conda names]."""
    names = kb.names
    mentioned = set(kb.family.all)
    for rule in kb.rules:
        mentioned.update(rule.packages())
    to_conda: Dict[str, list] = {}
    for conda, pypis in names.to_pypi.items():
        for pypi in pypis:
            if "*" not in pypi:
                to_conda.setdefault(pypi, []).append(conda)
    for pypi, conda in names.to_conda.items():
        if conda not in to_conda.setdefault(pypi, []):
            to_conda[pypi].append(conda)
    globs = []
    for glob, conda in names.globs:
        globs.append([glob, sorted({conda} | {c for c, p in names.to_pypi.items() if glob in p})])
    relevant = set(names.conda_only) | {"python"}
    for pypi in mentioned:
        relevant.add(pypi)
        relevant.update(to_conda.get(pypi, ()))
        for glob, condas in globs:
            import fnmatch

            if fnmatch.fnmatchcase(pypi, glob):
                relevant.update(condas)
        conda = names.conda_name(pypi)
        if conda:
            relevant.add(conda)
    return {"relevant": sorted(relevant), "to_conda": {k: sorted(v) for k, v in sorted(to_conda.items())},
            "globs": globs}


def load_index(directory: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The names index of the current snapshot (a small JSON file), or None when there is none yet."""
    import json

    directory = directory or os.environ.get("PINGUARD_KNOWLEDGE_DIR") or DATA_DIR
    _, path = _paths(directory)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except Exception:  # noqa: BLE001 - no index yet, or a damaged one: the caller takes the slow path
        return None
    if not isinstance(data, dict) or not isinstance(data.get("relevant"), list):
        return None
    return data


def load_slim(directory: Optional[str] = None):
    """The knowledge base for judging (signatures dropped), from the snapshot when it is current."""
    from pinguard import kb as kb_module
    from pinguard.kb_types import KnowledgeBase

    directory = directory or os.environ.get("PINGUARD_KNOWLEDGE_DIR") or DATA_DIR
    if directory in _SLIM:
        return _SLIM[directory]
    path, index_path = _paths(directory)
    if path is not None:
        try:
            with open(path, "rb") as handle:
                loaded = pickle.load(handle)
            if isinstance(loaded, KnowledgeBase):
                _SLIM[directory] = loaded
                if not os.path.exists(index_path):
                    _store_json(index_path, names_index(loaded))
                return loaded
        except Exception:  # noqa: BLE001 - absent, truncated or from another version: take the slow path
            pass
    full = kb_module.load(directory)  # raises KnowledgeError for a damaged knowledge base, as always
    slim = full._replace(rules=tuple(dataclasses.replace(r, signatures=(), evidence=()) for r in full.rules))
    _SLIM[directory] = slim
    if path is not None:
        _store(path, slim)
        _store_json(index_path, names_index(slim))
    return slim


def _store_json(path: str, value: object) -> None:
    import json

    _store(path, json.dumps(value, sort_keys=True).encode("utf-8"), raw=True)


def _store(path: str, value: object, raw: bool = False) -> None:
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".slim-", suffix=".tmp", dir=directory)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            if raw:
                handle.write(value)  # type: ignore[arg-type]
            else:
                pickle.dump(value, handle, protocol=4)
        os.replace(temporary, path)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        try:
            os.unlink(temporary)
        except OSError:
            pass
