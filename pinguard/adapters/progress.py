"""What a long command is doing, on stderr: for `fix` now, `lock` later.

- stderr not a terminal (CI logs, pipes): one line per phase (`pinguard fix: resolving ...`) and one per retry of
  an index that does not answer; nothing else, so a log stays short;
- stderr a terminal: one line rewritten in place, with the details of the current phase (files fetched, bytes);
  cleared when the command ends;
- quiet (`-q/--quiet`): nothing at all.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Optional, TextIO


class Phases:
    """The reporter; `phase()` starts a phase, `detail()` updates it (terminal only), `note()` always shows."""

    def __init__(self, command: str, quiet: bool = False, stream: Optional[TextIO] = None,
                 terminal: Optional[bool] = None) -> None:
        self.command = command
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        if terminal is None:
            try:
                terminal = self.stream.isatty()
            except (AttributeError, ValueError):
                terminal = False
        self.terminal = terminal
        self.started = time.monotonic()
        self.current = ""
        self._shown = False
        self._lock = threading.Lock()

    def phase(self, text: str) -> None:
        with self._lock:
            self.current = text
            self._emit(text, final=not self.terminal)

    def detail(self, text: str) -> None:
        """Progress inside the current phase: rewrites the line on a terminal, silent otherwise."""
        if not self.terminal:
            return
        with self._lock:
            self._emit("%s: %s" % (self.current, text) if self.current else text, final=False)

    def note(self, text: str) -> None:
        """Something the user should see whatever the stream (an index that does not answer)."""
        with self._lock:
            self._emit(text, final=True)

    def done(self, text: Optional[str] = None) -> None:
        """End: a terminal's rewritten line is cleared; `text` (if any) stays as the last line."""
        with self._lock:
            if self.terminal and self._shown and not self.quiet:
                self._write("\r\033[K")
                self._shown = False
            if text:
                self._emit(text, final=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _emit(self, text: str, final: bool) -> None:
        if self.quiet:
            return
        line = "pinguard %s: %s" % (self.command, " ".join(text.split())[:300])
        if self.terminal:
            self._write("\r\033[K" + line + ("\n" if final else ""))
            self._shown = not final
        else:
            self._write(line + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
