"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile

from pinguard.errors import BadInput


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    """Write `text` to `path` through a temporary file in the same directory and os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise BadInput("cannot write %s: directory %s does not exist" % (path, directory))
    try:
        fd, temporary = tempfile.mkstemp(prefix=".pinguard-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BadInput("cannot write %s: %s" % (path, exc.strerror or exc))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
