"""`<prefix>/pinguard.toml`: what `pinguard init` recorded, and the byte-exact backups `--undo` restores.

The file holds the anchors (and --cuda), the Python they were generated for, and one `[[files]]` entry per file
init created or changed: whether it existed, its mode, its original bytes (base64) and the SHA-256 of what init
wrote. A change to several files is a transaction (`Transaction`): pinguard.toml is written first, listing every
file about to change with its backup, then the files one by one (each atomically); if any write fails, the files
already written and pinguard.toml itself are put back, so no run leaves a half-protected environment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pinguard import __version__
from pinguard.errors import BadInput
from pinguard.fsutil import kind_of, remove_file, write_atomic_bytes

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - exercised on the old Pythons pinguard supports
    import tomli as _toml

STATE_NAME = "pinguard.toml"
CONSTRAINTS_NAME = "pinguard-constraints.txt"
FORMAT = 1


def state_path(prefix: str) -> str:
    return os.path.join(prefix, STATE_NAME)


def constraints_path(prefix: str) -> str:
    return os.path.join(prefix, CONSTRAINTS_NAME)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileRecord:
    path: str
    role: str
    existed: bool
    mode: int = 0o644
    backup: bytes = b""  # original bytes (when it existed)
    written: str = ""  # sha256 of what pinguard wrote last

    def as_toml(self) -> List[str]:
        lines = ["[[files]]", "path = %s" % _s(self.path), "role = %s" % _s(self.role),
                 "existed = %s" % ("true" if self.existed else "false"), "mode = %d" % self.mode,
                 "written = %s" % _s(self.written)]
        if self.existed:
            lines.append("backup = %s" % _s(base64.b64encode(self.backup).decode("ascii")))
        return lines


@dataclass
class State:
    prefix: str
    anchors: List[str] = field(default_factory=list)
    cuda: Optional[str] = None
    python: str = ""
    hook: bool = False
    projects: List[str] = field(default_factory=list)
    files: List[FileRecord] = field(default_factory=list)
    pinguard: str = __version__
    dirs: List[str] = field(default_factory=list)  # directories init created (removed by --undo when empty)

    def record(self, path: str) -> Optional[FileRecord]:
        for entry in self.files:
            if entry.path == path:
                return entry
        return None

    def render(self) -> str:
        lines = [
            "# Written by `pinguard init`; `pinguard init --undo` restores every file listed below, byte for byte.",
            "# Do not edit the [[files]] entries: they hold the original contents.",
            "format = %d" % FORMAT,
            "pinguard = %s" % _s(self.pinguard),
            "anchors = [%s]" % ", ".join(_s(a) for a in self.anchors),
        ]
        if self.cuda:
            lines.append("cuda = %s" % _s(self.cuda))
        lines.append("python = %s" % _s(self.python))
        lines.append("hook = %s" % ("true" if self.hook else "false"))
        lines.append("projects = [%s]" % ", ".join(_s(p) for p in self.projects))
        lines.append("dirs = [%s]" % ", ".join(_s(d) for d in self.dirs))
        for entry in self.files:
            lines.append("")
            lines.extend(entry.as_toml())
        return "\n".join(lines) + "\n"


def _s(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, given ensure_ascii=False)."""
    return json.dumps(text, ensure_ascii=False)


def read_state(prefix: str) -> Optional[State]:
    """The recorded state, None when the environment was never initialized; a damaged file is BadInput."""
    path = state_path(prefix)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadInput("cannot read %s: %s" % (path, exc.strerror or exc))
    try:
        data = _toml.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, _toml.TOMLDecodeError) as exc:
        raise BadInput("%s is corrupt (%s); restore it or remove it and run pinguard init again" % (
            path, str(exc).splitlines()[0] if str(exc) else "unreadable"))
    try:
        if data.get("format") != FORMAT:
            raise ValueError("unknown format %r" % data.get("format"))
        anchors = [str(a) for a in data["anchors"]]
        files = []
        for entry in data.get("files", []):
            existed = bool(entry["existed"])
            files.append(FileRecord(str(entry["path"]), str(entry["role"]), existed, int(entry.get("mode", 0o644)),
                                    base64.b64decode(entry["backup"].encode("ascii"), validate=True)
                                    if existed else b"", str(entry.get("written", ""))))
        return State(prefix, anchors, data.get("cuda"), str(data.get("python", "")), bool(data.get("hook", False)),
                     [str(p) for p in data.get("projects", [])], files, str(data.get("pinguard", "")),
                     [str(d) for d in data.get("dirs", [])])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInput("%s is corrupt (%s); restore it or remove it and run pinguard init again" % (path, exc))


def read_bytes(path: str) -> Optional[Tuple[bytes, int]]:
    """(bytes, mode) of a file (through symlinks), None when it does not exist; BadInput for a device, a FIFO..."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput("cannot use %s: it is %s, not a regular file" % (path, kind_of(info.st_mode)))
        with open(path, "rb") as handle:
            data = handle.read()
        return data, stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise BadInput("cannot use %s: it is a directory" % path)
    except OSError as exc:
        raise BadInput("cannot read %s: %s" % (path, exc.strerror or exc))


@dataclass
class FileChange:
    path: str
    role: str
    data: Optional[bytes]  # None = remove
    mode: Optional[int] = None


class Transaction:
    """Apply several file changes so that either all happen or none (see the module docstring)."""

    def __init__(self, state: State, previous_state_bytes: Optional[Tuple[bytes, int]]) -> None:
        self.state = state
        self.previous_state = previous_state_bytes

    def apply(self, changes: Sequence[FileChange]) -> List[str]:
        missing: List[str] = []
        for change in changes:
            directory = os.path.dirname(change.path)
            chain = []
            while directory and not os.path.isdir(directory) and directory not in chain:
                chain.append(directory)
                directory = os.path.dirname(directory)
            missing.extend(d for d in reversed(chain) if d not in missing)
        for directory in missing:
            if directory not in self.state.dirs:
                self.state.dirs.append(directory)
        current = {c.path: (read_bytes(c.path) if os.path.isdir(os.path.dirname(c.path)) else None)
                   for c in changes}
        for change in changes:
            if self.state.record(change.path) is None:
                before = current[change.path]
                self.state.files.append(FileRecord(change.path, change.role, before is not None,
                                                   before[1] if before else 0o644, before[0] if before else b""))
            entry = self.state.record(change.path)
            assert entry is not None  # recorded just above
            entry.written = sha256(change.data) if change.data is not None else ""
        path = state_path(self.state.prefix)
        write_atomic_bytes(path, self.state.render().encode("utf-8"), 0o644)
        done: List[FileChange] = []
        made: List[str] = []
        try:
            for change in changes:
                for directory in missing:  # created just before the first file that needs them
                    if change.path.startswith(directory + os.sep) and not os.path.isdir(directory):
                        try:
                            os.mkdir(directory)
                        except OSError as exc:
                            raise BadInput("cannot create %s: %s" % (directory, exc.strerror or exc))
                        made.append(directory)
                _write(change, current[change.path])
                done.append(change)
        except BaseException:
            for change in reversed(done):
                try:
                    _restore(change.path, current[change.path])
                except Exception:  # noqa: BLE001 - keep restoring the rest
                    pass
            for directory in reversed(made):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
            try:
                _restore(path, self.previous_state)
            except Exception:  # noqa: BLE001
                pass
            raise
        return [c.path for c in changes]


def _write(change: FileChange, before: Optional[Tuple[bytes, int]]) -> None:
    if change.data is None:
        remove_file(change.path)
        return
    mode = change.mode if change.mode is not None else (before[1] if before else 0o644)
    if before is not None and before[0] == change.data and before[1] == mode:
        return
    write_atomic_bytes(change.path, change.data, mode)


def _restore(path: str, before: Optional[Tuple[bytes, int]]) -> None:
    if before is None:
        remove_file(path)
    else:
        write_atomic_bytes(path, before[0], before[1])


def undo(state: State) -> Tuple[List[str], List[str]]:
    """Restore every recorded file, then remove pinguard.toml. (restored paths, paths edited since init)."""
    edited = []
    for entry in state.files:
        now = read_bytes(entry.path)
        if entry.written and (now is None or sha256(now[0]) != entry.written):
            edited.append(entry.path)
    restored = []
    for entry in reversed(state.files):
        _restore(entry.path, (entry.backup, entry.mode) if entry.existed else None)
        restored.append(entry.path)
    for directory in reversed(state.dirs):
        try:
            os.rmdir(directory)
        except OSError:
            pass  # not empty: something else lives there now
    remove_file(state_path(state.prefix))
    return restored, edited


def describe(state: State) -> Dict[str, Any]:
    return {"prefix": state.prefix, "anchors": state.anchors, "cuda": state.cuda, "python": state.python,
            "hook": state.hook, "projects": state.projects,
            "files": [{"path": f.path, "role": f.role, "existed": f.existed} for f in state.files]}
