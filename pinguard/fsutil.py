"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile

from pinguard.errors import BadInput


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    """Write `text` (UTF-8, "\\n" line ends) to `path` through a temporary file in the same directory."""
    write_atomic_bytes(path, text.encode("utf-8"), mode)


def write_atomic_bytes(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write `data` exactly (no newline translation) to `path` through a temporary file and os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise BadInput("cannot write %s: directory %s does not exist" % (path, directory))
    if os.path.isdir(path):
        raise BadInput("cannot write %s: a directory is in the way" % path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=".pinguard-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BadInput("cannot write %s: %s" % (path, exc.strerror or exc))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise BadInput("cannot write %s: %s" % (path, exc.strerror or exc))
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def remove_file(path: str) -> None:
    """Remove `path` if it exists; an error is a one-line BadInput."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BadInput("cannot remove %s: %s" % (path, exc.strerror or exc))
