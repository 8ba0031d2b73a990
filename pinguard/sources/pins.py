"""Read a pin list: `pip freeze` output or a requirements file (one requirement per line)."""

from __future__ import annotations

import io
import sys
from typing import List, Optional, TextIO

from packaging.markers import default_environment
from packaging.version import Version

from pinguard.errors import BadInput
from pinguard.model import Pin, parse_requirement
from pinguard.specs import normalize


def read_text(path: Optional[str]) -> str:
    """The text of `path`, or of stdin for None / '-'."""
    if path in (None, "-"):
        return sys.stdin.read()
    try:
        with io.open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise BadInput("pin file %s does not exist" % path)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput("cannot read pin file %s: %s" % (path, getattr(exc, "strerror", None) or exc))


def _logical_lines(text: str):
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _strip_comment(line: str) -> str:
    position = line.find(" #")
    if line.lstrip().startswith("#"):
        return ""
    if position >= 0:
        line = line[:position]
    return line.strip()


def parse_pins(text: str, where: str = "<stdin>", python: Optional[Version] = None) -> List[Pin]:
    """Parse every requirement line; options (-r, -c, --index-url, -e) are skipped, bad lines are errors."""
    environment = default_environment()
    if python is not None:
        environment["python_version"] = "%d.%d" % (python.major, python.minor)
        environment["python_full_version"] = "%d.%d.0" % (python.major, python.minor)
    pins: List[Pin] = []
    seen = {}
    for number, raw in _logical_lines(text):
        line = _strip_comment(raw)
        if not line or line.startswith("-"):
            continue
        requirement = parse_requirement(line, "requirement at %s:%d" % (where, number))
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = normalize(requirement.name)
        if name in seen:
            raise BadInput("%s:%d: %s is listed twice (first at line %d)" % (where, number, requirement.name,
                                                                             seen[name]))
        seen[name] = number
        pins.append(Pin(name, requirement.name, requirement.specifier, number))
    return pins
