"""Reading a user's input file (a pin list, a mission, a crash text) without ever hanging or exhausting memory.

- size bounded (MAX_INPUT): an endless stream (`/dev/zero` through stdin, `yes |`) is refused, not read forever;
- only regular files and FIFOs: a device (`/dev/zero`, `/dev/urandom`), a socket or a directory is refused;
- a FIFO is read while its writer writes; no writer within FIFO_TIMEOUT seconds (or a writer that stops writing
  for that long without closing) is a one-line error;
- UTF-8, with or without a byte-order mark (as pip reads requirements files).
"""

from __future__ import annotations

import os
import select
import stat
import sys
import time
from typing import BinaryIO, List, Optional

from pinguard.errors import BadInput
from pinguard.fsutil import kind_of

MAX_INPUT = 10 * 1024 * 1024
FIFO_TIMEOUT = 10.0


def read_text(path: Optional[str], what: str = "pin file") -> str:
    """The text of `path`, or of stdin for None / '-' (see the module docstring)."""
    if path in (None, "-"):
        name = "<stdin>"
        data = _read_stream(sys.stdin.buffer, name)
    else:
        name = path
        data = read_bytes(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput("cannot read %s %s: not UTF-8 text (byte %d)" % (what, name, exc.start))


def read_bytes(path: str, what: str) -> bytes:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise BadInput("%s %s does not exist" % (what, path))
    except OSError as exc:
        raise BadInput("cannot read %s %s: %s" % (what, path, exc.strerror or exc))
    if stat.S_ISFIFO(info.st_mode):
        return _read_fifo(path, what)
    if not stat.S_ISREG(info.st_mode):
        raise BadInput("cannot read %s %s: it is %s, not a file" % (what, path, kind_of(info.st_mode)))
    if info.st_size > MAX_INPUT:
        raise BadInput("%s %s is %d bytes; pinguard reads at most %d" % (what, path, info.st_size, MAX_INPUT))
    try:
        with open(path, "rb") as handle:
            return _read_stream(handle, path)
    except OSError as exc:
        raise BadInput("cannot read %s %s: %s" % (what, path, exc.strerror or exc))


def _read_stream(handle: BinaryIO, name: str) -> bytes:
    data = handle.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise BadInput("%s is longer than %d bytes; pinguard reads at most that" % (name, MAX_INPUT))
    return data


def _read_fifo(path: str, what: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise BadInput("cannot read %s %s: %s" % (what, path, exc.strerror or exc))
    chunks: List[bytes] = []
    total, started = 0, False
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], FIFO_TIMEOUT)
            if not ready:
                raise BadInput("%s %s is a FIFO and %s within %.0f s" % (
                    what, path, "its writer stopped writing" if started else "nothing wrote to it", FIFO_TIMEOUT))
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            if not chunk:
                return b"".join(chunks)
            started = True
            total += len(chunk)
            if total > MAX_INPUT:
                raise BadInput("%s %s is longer than %d bytes; pinguard reads at most that" % (what, path, MAX_INPUT))
            chunks.append(chunk)
    finally:
        os.close(fd)
