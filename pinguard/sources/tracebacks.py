"""Read a Python crash text: every traceback block, its frames and its exception, chained ones included.

Pure parsing of text, no I/O. Understands the formats CPython prints (2.7 to 3.13): "Traceback (most recent call
last):" blocks joined by "During handling of the above exception, another exception occurred:" or "The above
exception was the direct cause of the following exception:", worker tracebacks re-raised by multiprocessing and
torch's DataLoader ("Original Traceback (most recent call last):"), 3.11+ caret lines, frames without source
lines (`File "<string>"`), multi-line exception messages, and noise around them (progress bars, log lines).

A frame whose file lies under `site-packages/` or `dist-packages/` belongs to an installed distribution: its path
below that folder (`torchvision/transforms/functional.py`) is kept as `site_path`, and `module` is the import name
(`torchvision.transforms.functional`). Every other frame is the project's own code.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

from pinguard.crash import Block, CrashText, Frame

_HEADER = re.compile(r"^\s*(?:Original )?Traceback \(most recent call last\):\s*$")
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>.+?))?\s*$')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")
_SITE = re.compile(r"[\\/](?:site|dist)-packages[\\/](?P<rest>.+)$")
_EGG = re.compile(r"[\\/][^\\/]+\.egg[\\/](?P<rest>.+)$")
_CARETS = re.compile(r"^\s*[\^~\s]+$")
_CHAIN_MARKERS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
#: Exception type names that are not Python identifiers ending like an exception class still count when they
#: are known builtins or qualified names (`torch.cuda.OutOfMemoryError`, `KeyError`, `StopIteration`).
_BUILTIN_NAMES = frozenset([
    "AssertionError", "AttributeError", "ImportError", "ModuleNotFoundError", "KeyError", "IndexError",
    "TypeError", "ValueError", "RuntimeError", "OSError", "NameError", "NotImplementedError", "StopIteration",
    "SystemExit", "KeyboardInterrupt", "SyntaxError", "UnicodeDecodeError", "ZeroDivisionError", "IOError",
    "FileNotFoundError", "PermissionError", "RecursionError", "MemoryError", "OverflowError", "EOFError",
])
MAX_TEXT = 2 * 1024 * 1024  # a crash text longer than this is cut at its end (the end is what matters)


def site_path_of(path: str) -> Optional[str]:
    """The part of a frame's path below `site-packages/` (or an `.egg/`), else None (project code)."""
    match = _SITE.search(path) or _EGG.search(path)
    if not match:
        return None
    rest = match.group("rest").replace("\\", "/")
    return rest if rest.endswith((".py", ".pyc", ".so", ".pyd", ".pyx")) or "/" in rest else None


def parse_crash(text: str) -> CrashText:
    """Every traceback block in `text`; a text without a traceback header still yields its exception line."""
    if len(text) > MAX_TEXT:
        text = text[-MAX_TEXT:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: List[Block] = []
    index = 0
    while index < len(lines):
        if _HEADER.match(lines[index]):
            block, index = _read_block(lines, index + 1)
            blocks.append(block)
        else:
            index += 1
    if blocks:
        return CrashText(tuple(blocks))
    loose = tuple(line.strip() for line in lines if _exception_line(line.strip()) is not None)
    if loose:
        exc_type, message = _exception_line(loose[-1]) or ("", "")
        return CrashText((Block((), exc_type, message),), loose)
    return CrashText(())


def _read_block(lines: List[str], index: int) -> Tuple[Block, int]:
    frames: List[Frame] = []
    while index < len(lines):
        match = _FRAME.match(lines[index])
        if match:
            code, index = _code_line(lines, index + 1)
            path = match.group("path")
            frames.append(Frame(path, int(match.group("line")), (match.group("function") or "").strip(), code,
                                site_path_of(path)))
            continue
        stripped = lines[index].strip()
        if not stripped or _CARETS.match(lines[index]) or stripped.startswith("..."):
            index += 1
            continue
        break
    exc_type, message, index = _read_exception(lines, index)
    return Block(tuple(frames), exc_type, message), index


def _code_line(lines: List[str], index: int) -> Tuple[str, int]:
    """The source line printed under a frame (if any), skipping 3.11+ caret lines."""
    if index < len(lines) and lines[index].startswith((" ", "\t")) and not _FRAME.match(lines[index]) \
            and not _HEADER.match(lines[index]):
        code = lines[index].strip()
        index += 1
        while index < len(lines) and lines[index].strip() and _CARETS.match(lines[index]):
            index += 1
        return code, index
    return "", index


def _read_exception(lines: List[str], index: int) -> Tuple[str, str, int]:
    """The exception line after the frames and its continuation lines, up to the next block or chain marker."""
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines):
        return "", "", index
    parsed = _exception_line(lines[index].strip())
    if parsed is None:
        return "", lines[index].strip(), index + 1
    exc_type, message = parsed
    index += 1
    extra: List[str] = []
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if _HEADER.match(line) or stripped in _CHAIN_MARKERS or _FRAME.match(line):
            break
        extra.append(line.rstrip())
        index += 1
    while extra and not extra[-1].strip():
        extra.pop()
    if extra and message is not None:
        message = "\n".join([message] + extra) if message else "\n".join(extra)
    return exc_type, message or "", index


def _exception_line(line: str) -> Optional[Tuple[str, str]]:
    """(type, message) when `line` looks like `SomeError: message` (or a bare `SomeError`)."""
    match = _EXCEPTION.match(line)
    if not match:
        return None
    exc_type = match.group("type")
    name = exc_type.rsplit(".", 1)[-1]
    if not (name in _BUILTIN_NAMES or name.endswith(("Error", "Exception", "Warning", "Exit", "Interrupt"))
            or name[:1].isupper() and "." in exc_type and match.group("message") is not None):
        return None
    return exc_type, (match.group("message") or "").strip()
