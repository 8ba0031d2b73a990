"""One lock per environment: `pinguard init` and `init --undo` on the same prefix run one after the other.

Without it, two inits started together both read "never initialized", and the second saves the first one's output
as the original, so `--undo` can never restore the true originals. The lock is an advisory `flock` on
`<prefix>/.pinguard.lock`, so a crashed holder never leaves it locked; the file holds the holder's process id
for the message, and is removed by its holder on release (a waiter that then gets the lock on the removed file
notices and locks the new one). Waiting is bounded: PINGUARD_LOCK_TIMEOUT seconds (default 120), then a one-line
error naming the holder.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator, Optional

from pinguard.errors import BadInput

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; the lock is then a no-op
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".pinguard.lock"
DEFAULT_TIMEOUT = 120.0
_POLL = 0.05


class LockTimeout(BadInput):
    """Another pinguard held the environment's lock for longer than the timeout."""


def lock_path(prefix: str) -> str:
    return os.path.join(prefix, LOCK_NAME)


def timeout_from_env() -> float:
    text = os.environ.get("PINGUARD_LOCK_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise BadInput("PINGUARD_LOCK_TIMEOUT must be a number of seconds, not %r" % text[:40])
    if not 0 <= value < 1e6:
        raise BadInput("PINGUARD_LOCK_TIMEOUT must be between 0 and 1000000 seconds")
    return value


@contextlib.contextmanager
def environment_lock(prefix: str, what: str = "pinguard init", timeout: Optional[float] = None) -> Iterator[None]:
    """Hold `<prefix>/.pinguard.lock` for the duration of the block (see the module docstring)."""
    if fcntl is None:
        yield
        return
    path = lock_path(prefix)
    limit = timeout_from_env() if timeout is None else timeout
    fd = _acquire(path, limit, what)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, ("%d\n" % os.getpid()).encode("ascii"))
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _acquire(path: str, limit: float, what: str) -> int:
    deadline = time.monotonic() + limit
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                         0o644)
        except OSError as exc:
            raise BadInput("cannot lock %s for %s: %s" % (path, what, exc.strerror or exc))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                raise LockTimeout("another pinguard (%s) is changing %s and still holds %s after %.0f s; try again "
                                  "when it is done (PINGUARD_LOCK_TIMEOUT sets the wait)" % (
                                      "pid %s" % holder if holder else "pid unknown", os.path.dirname(path), path,
                                      limit))
            time.sleep(_POLL)
            continue
        if _same_file(fd, path):
            return fd
        os.close(fd)  # locked a file its holder removed on release: lock the current one


def _same_file(fd: int, path: str) -> bool:
    try:
        mine, current = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (current.st_dev, current.st_ino)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):
        return ""
    return text if text.isdigit() else ""
