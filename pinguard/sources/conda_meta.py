"""Read a conda environment from disk: `conda-meta/*.json` records, `conda-meta/pinned`, the Python packages in
site-packages (to see pip-over-conda double installs). The record types and the parsers of their strings (build,
channel) are pure and live in pinguard/conda_records.py.

Two speeds:
- `scan_records(prefix)` reads only the directory listing: conda names each record file `NAME-VERSION-BUILD.json`
  (and ignores a record whose contents disagree with its file name), so name, version and build come for free.
  The conda plugin uses this: a real environment's records hold tens of MB of file lists (pytorch's alone several
  MB), far too much to parse on every `conda install`. `peek_record` reads the channel of the few records that
  matter from the head of the file (conda writes the keys sorted, `channel` before `files`).
- `read_records(prefix)` parses every record (name, version, build, channel, subdir, depends, files) and says which
  file is damaged, in one line (`check --prefix`, `doctor`).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from typing import Dict, Iterable, List, Optional, Tuple

from pinguard.conda_records import CondaRecord, PythonDist, channel_name
from pinguard.errors import BadInput
from pinguard.pep503 import normalize

META = "conda-meta"
PINNED = os.path.join(META, "pinned")
ANCHOR_FILE = "pinguard.toml"
SMALL_RECORD = 64 * 1024  # records below this size are parsed whole even on the fast path
_HEAD = 8192
_CHANNEL_IN_HEAD = re.compile(r'"(?:channel|schannel)"\s*:\s*"([^"]*)"')


class CondaMetaError(BadInput):
    """A conda-meta record pinguard cannot read; the message names the file."""


def split_dist(filename: str) -> Tuple[str, str, str]:
    """`pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0.json` -> (pytorch, 1.10.0, py3.7_cuda11.3_cudnn8.2.0_0)."""
    stem = os.path.basename(filename)
    if stem.endswith(".json"):
        stem = stem[:-5]
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        raise CondaMetaError("conda-meta/%s is not named NAME-VERSION-BUILD.json" % os.path.basename(filename))
    return parts[0], parts[1], parts[2]


def is_conda_prefix(prefix: str) -> bool:
    return os.path.isdir(os.path.join(prefix, META))


def record_files(prefix: str) -> List[str]:
    directory = os.path.join(prefix, META)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        raise CondaMetaError("%s is not a conda environment (it has no conda-meta/ directory)" % prefix)
    except OSError as exc:
        raise CondaMetaError("cannot list %s: %s" % (directory, exc.strerror or exc))
    return [os.path.join(directory, n) for n in sorted(names) if n.endswith(".json") and not n.startswith(".")]


def scan_records(prefix: str) -> Tuple[List[CondaRecord], List[str]]:
    """Records from the file names alone (fast path) and a note for each file that is not NAME-VERSION-BUILD."""
    records, notes = [], []
    for path in record_files(prefix):
        try:
            name, version, build = split_dist(path)
        except CondaMetaError as exc:
            notes.append(str(exc))
            continue
        records.append(CondaRecord(name, version, build, path=path))
    return records, notes


def scan_index(prefix: str) -> Dict[str, Tuple[str, str]]:
    """conda name -> (version, build) from the record file names alone: the lightest read of an environment."""
    index = {}
    for path in record_files(prefix):
        parts = os.path.basename(path)[:-5].rsplit("-", 2)
        if len(parts) == 3 and all(parts):
            index[parts[0]] = (parts[1], parts[2])
    return index


def peek_record(record: CondaRecord) -> CondaRecord:
    """`record` with its channel filled in, reading as little of its file as possible.

    A small file is parsed whole (so damage is seen); a large one is read from its head, where conda's sorted keys
    put `channel`. Raises CondaMetaError naming the file when it is unreadable or damaged."""
    path = record.path
    try:
        size = os.path.getsize(path)
        if size <= SMALL_RECORD:
            return load_record(path)
        with io.open(path, "rb") as handle:
            head = handle.read(_HEAD).decode("utf-8", "replace")
    except OSError as exc:
        raise CondaMetaError("cannot read %s: %s" % (_short(path), exc.strerror or exc))
    if not head.lstrip().startswith("{"):
        raise CondaMetaError("%s is damaged: it is not a JSON object" % _short(path))
    found = _CHANNEL_IN_HEAD.search(head)
    channel = channel_name(found.group(1)) if found else ""
    return CondaRecord(record.name, record.version, record.build, record.build_number, channel,
                       record.subdir, record.depends, record.files, path)


def load_record(path: str) -> CondaRecord:
    """Parse one conda-meta record; a damaged one is a CondaMetaError naming the file and the fault."""
    where = _short(path)
    try:
        with io.open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        raise CondaMetaError("cannot read %s: %s" % (where, exc.strerror or exc))
    except UnicodeDecodeError:
        raise CondaMetaError("%s is damaged: not UTF-8 text" % where)
    except ValueError as exc:
        raise CondaMetaError("%s is damaged: not valid JSON (%s)" % (where, str(exc).split(":")[0]))
    if not isinstance(data, dict):
        raise CondaMetaError("%s is damaged: not a JSON object" % where)
    missing = [k for k in ("name", "version", "build") if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise CondaMetaError("%s is damaged: no %s" % (where, ", ".join(missing)))
    channel = data.get("schannel") or data.get("channel") or data.get("url") or ""
    files = data.get("files") or ()
    depends = data.get("depends") or ()
    try:
        build_number = int(data.get("build_number") or 0)
    except (TypeError, ValueError):
        build_number = 0
    return CondaRecord(
        name=data["name"], version=data["version"], build=data["build"], build_number=build_number,
        channel=channel_name(str(channel)), subdir=str(data.get("subdir") or ""),
        depends=tuple(str(d) for d in depends if isinstance(d, str)),
        files=tuple(str(f) for f in files if isinstance(f, str)), path=path)


def read_records(prefix: str) -> List[CondaRecord]:
    """Every record, parsed; the first damaged file is an error (one line naming it)."""
    records = []
    for path in record_files(prefix):
        record = load_record(path)
        try:
            expected = split_dist(path)
        except CondaMetaError:
            expected = None
        if expected is not None and expected != (record.name, record.version, record.build):
            raise CondaMetaError("%s is damaged: it records %s, not %s (conda ignores such a record)" % (
                _short(path), record.dist, "-".join(expected)))
        records.append(record)
    return records


def read_pinned(prefix: str) -> List[str]:
    """The spec lines of `conda-meta/pinned` (comments and blanks dropped), as conda reads them."""
    path = os.path.join(prefix, PINNED)
    try:
        with io.open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise CondaMetaError("cannot read %s: %s" % (path, getattr(exc, "strerror", None) or exc))
    return [line.strip() for line in text.strip().splitlines() if line.strip() and not line.strip().startswith("#")]


def python_version(records: Iterable[CondaRecord]) -> Optional[str]:
    """"3.7" when the environment has conda's python 3.7.x, else None (an environment without Python)."""
    for record in records:
        if record.name == "python":
            parts = record.version.split(".")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                return "%s.%s" % (parts[0], parts[1])
    return None


def site_packages(prefix: str, python: Optional[str]) -> Optional[str]:
    candidates = []
    if python:
        candidates.append(os.path.join(prefix, "lib", "python%s" % python, "site-packages"))
    candidates.append(os.path.join(prefix, "Lib", "site-packages"))
    for candidate in candidates:
        if os.path.isdir(candidate):
            return candidate
    return None


_DIST_DIR = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+?)(?:-py\d[\d.]*)?(?:-[^-]+)?\.(?:dist-info|egg-info)$")


def python_dists(prefix: str, python: Optional[str], read_installer: bool = True) -> List[PythonDist]:
    """The distributions in the environment's site-packages (name, version, INSTALLER)."""
    directory = site_packages(prefix, python)
    if directory is None:
        return []
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return []
    dists = []
    for entry in entries:
        found = _DIST_DIR.match(entry)
        if not found:
            continue
        path = os.path.join(directory, entry)
        installer = ""
        if read_installer and entry.endswith(".dist-info"):
            try:
                with io.open(os.path.join(path, "INSTALLER"), encoding="utf-8") as handle:
                    installer = handle.read().strip()
            except (OSError, UnicodeDecodeError):
                installer = ""
        dists.append(PythonDist(normalize(found.group("name")), found.group("version"), installer, path))
    return dists


def _short(path: str) -> str:
    return os.path.abspath(path)


def read_anchor_file(prefix: str) -> Optional[Dict[str, object]]:
    """The anchors `pinguard init` recorded in `<prefix>/pinguard.toml` (adapters/install_state.py's state file:
    top-level `anchors = [...]`, `python`), or None when the environment has none.

    Raises CondaMetaError (one line naming the file) when the file is damaged."""
    path = os.path.join(prefix, ANCHOR_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with io.open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise CondaMetaError("cannot read %s: %s" % (path, exc.strerror or exc))
    data = _simple_toml(raw)
    if data is None:  # not the plain form pinguard writes: the real TOML parser decides
        if sys.version_info >= (3, 11):
            import tomllib as toml
        else:  # pragma: no cover - older Pythons
            import tomli as toml
        try:
            data = toml.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CondaMetaError("%s is damaged: %s" % (path, str(exc).splitlines()[0] if str(exc) else "unreadable"))
    requirements = data.get("anchors")
    if requirements == []:
        return None  # nothing anchored: nothing to guard
    if not isinstance(requirements, list) or not all(
            isinstance(r, str) and r.strip() for r in requirements):
        raise CondaMetaError("%s is damaged: `anchors` must be a non-empty list of requirements" % path)
    python = data.get("python")
    return {"requirements": list(requirements), "python": python if isinstance(python, str) and python else None,
            "path": path}


_PAIR = re.compile(r"^([A-Za-z0-9_-]+)\s*=\s*(.+)$")


def _simple_toml(raw: bytes) -> Optional[Dict[str, object]]:
    """The top-level keys of pinguard.toml in the plain form pinguard writes (`key = JSON value` lines, comments),
    read without a TOML parser (which costs a conda command ~2 ms to import); None for anything else."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    data: Dict[str, object] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            break  # the top-level keys come first; tables ([[files]] backups) are not the hooks' business
        found = _PAIR.match(line)
        if not found:
            return None
        try:
            value = json.loads(found.group(2))
        except ValueError:
            return None
        if found.group(1) in data:
            return None
        data[found.group(1)] = value
    return data


class PrefixView:
    """What the conda side knows about a prefix, for `check --prefix` and `doctor`."""

    def __init__(self, prefix: str, records: Optional[List[CondaRecord]] = None,
                 dists: Optional[List[PythonDist]] = None, python: Optional[str] = None,
                 pinned: Optional[List[str]] = None) -> None:
        self.prefix = prefix
        self.records = list(records or [])
        self.dists = list(dists or [])
        self.python = python
        self.pinned = list(pinned or [])


def read_prefix(prefix: str) -> PrefixView:
    records = read_records(prefix)
    python = python_version(records)
    return PrefixView(prefix, records, python_dists(prefix, python), python, read_pinned(prefix))
