"""Safe file writes: atomic, through symlinks, regular files only, no temporary file left behind.

- Atomic: the bytes go to a temporary file in the target's directory, then ``os.replace``; a reader sees the old
  file or the new one, never half of either.
- A symlink stays a symlink: the file it points to is replaced (in that file's directory), not the link.
- Only regular files are replaced: a device, a FIFO, a socket or a directory in the way is a one-line
  :class:`BadInput` (``generate -o /dev/null`` as root used to replace the null device with a file).
- Temporary files are named ``.pinguard-<pid>-<random>.tmp``; one whose process is gone (killed mid-write) is
  removed by the next write in the same directory.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import time
from typing import Optional

from pinguard.errors import BadInput

TEMP_PREFIX = ".pinguard-"
TEMP_SUFFIX = ".tmp"
#: A temporary file of a dead process is removed once it is this old (a writer in another PID namespace that
#: shares the directory finishes its few-kB write long before).
STALE_AFTER = 60.0
#: Temporary files without a process id (pinguard before 0.1.1) are removed once this old.
STALE_UNNAMED_AFTER = 3600.0

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    """'a directory', 'a character device', ... for a non-regular file's st_mode ('not a regular file' else)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def write_atomic(path: str, text: str, mode: Optional[int] = None) -> None:
    """Write `text` (UTF-8, "\\n" line ends) to `path`; see :func:`write_atomic_bytes`."""
    write_atomic_bytes(path, text.encode("utf-8"), mode)


def write_target(path: str) -> str:
    """The regular file a write to `path` must replace: `path` itself, or the file its symlink(s) point to.

    BadInput when that is something other than a regular file (or nothing yet, which is fine)."""
    target = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise BadInput("cannot write %s: %s" % (path, exc.strerror or exc))
    if not stat.S_ISREG(info.st_mode):
        shown = path if target == os.path.abspath(path) else "%s (-> %s)" % (path, target)
        raise BadInput("refusing to write %s: it is %s, not a regular file" % (shown, kind_of(info.st_mode)))
    return target


def write_atomic_bytes(path: str, data: bytes, mode: Optional[int] = None) -> None:
    """Write `data` exactly (no newline translation) to `path` through a temporary file and os.replace.

    `mode` None keeps the mode of the file being replaced (0644 for a new one)."""
    target = write_target(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise BadInput("cannot write %s: directory %s does not exist" % (path, directory))
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            mode = 0o644
    sweep_temporaries(directory)
    try:
        fd, temporary = tempfile.mkstemp(prefix="%s%d-" % (TEMP_PREFIX, os.getpid()), suffix=TEMP_SUFFIX,
                                         dir=directory)
    except OSError as exc:
        raise BadInput("cannot write %s: %s" % (path, exc.strerror or exc))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as exc:
        _unlink_quietly(temporary)
        raise BadInput("cannot write %s: %s" % (path, exc.strerror or exc))
    except BaseException:
        _unlink_quietly(temporary)
        raise


def remove_file(path: str) -> None:
    """Remove `path` if it exists; an error is a one-line BadInput."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BadInput("cannot remove %s: %s" % (path, exc.strerror or exc))


def sweep_temporaries(directory: str, now: Optional[float] = None) -> int:
    """Remove pinguard's temporary files left in `directory` by processes that are gone; how many were removed.

    Only this user's regular files named like pinguard's temporaries are touched; failures are ignored."""
    now = time.time() if now is None else now
    removed = 0
    try:
        names = [n for n in os.listdir(directory) if n.startswith(TEMP_PREFIX) and n.endswith(TEMP_SUFFIX)]
    except OSError:
        return 0
    for name in names:
        path = os.path.join(directory, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or (hasattr(os, "geteuid") and info.st_uid != os.geteuid()):
            continue
        if _stale(name, now - info.st_mtime) and _unlink_quietly(path):
            removed += 1
    return removed


def _stale(name: str, age: float) -> bool:
    pid_text = name[len(TEMP_PREFIX):].split("-", 1)[0]
    if not (pid_text.isascii() and pid_text.isdigit()) or "-" not in name[len(TEMP_PREFIX):]:
        return age > STALE_UNNAMED_AFTER
    pid = int(pid_text)
    return pid != os.getpid() and age > STALE_AFTER and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


def _unlink_quietly(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False
