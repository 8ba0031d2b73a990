"""Read a pin list: `pip freeze` output or a requirements file, the way pip reads it.

`read_pin_list` follows `-r`/`--requirement` and `-c`/`--constraint` includes (relative to the including file),
joins `\\` continuations, drops per-requirement options (`--hash=...`), accepts a UTF-8 byte-order mark, evaluates
markers for the target Python, and reports every line it cannot judge (`pkg @ URL`, `-e`, a name without an exact
version) instead of passing over it. Input with no exact pin at all is not a pin list: BadInput.
`parse_pins` is the older, include-free reader `fix` uses for a crashed environment's own lines.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

from pinguard.errors import BadInput, quote
from pinguard.model import Pin, parse_requirement
from pinguard.sources.input_files import read_text
from pinguard.specs import marker_environment, normalize

__all__ = ["PinList", "Unjudged", "parse_pins", "read_pin_list", "read_requirements", "read_text"]

MAX_DEPTH = 20
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=?\s*|\s+)(\S.*)$")
_REQUIREMENT_OPTIONS = re.compile(r"(?:^|\s)--?(?:hash|global-option|install-option|config-settings|C)(?:[=\s]|$)")


@dataclass(frozen=True)
class Unjudged:
    """A line check could not judge, and why."""

    where: str
    text: str
    why: str

    def as_dict(self) -> Dict[str, str]:
        return {"where": self.where, "line": self.text, "why": self.why}


@dataclass
class PinList:
    pins: List[Pin] = field(default_factory=list)
    unjudged: List[Unjudged] = field(default_factory=list)
    files: List[str] = field(default_factory=list)  # every file read, the input first


def _logical_lines(text: str):
    pending = ""
    start = 0
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
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


def _requirement_part(line: str) -> str:
    """The requirement without pip's per-requirement options (`--hash=sha256:...` on continuation lines)."""
    found = _REQUIREMENT_OPTIONS.search(line)
    return line[:found.start()].strip() if found else line


def _target_environment(python: Optional[Version]) -> Dict[str, str]:
    """The target's marker values; without a target Python, the running interpreter's."""
    if python is not None:
        return marker_environment(python)
    return {key: str(value) for key, value in default_environment().items()}


def parse_pins(text: str, where: str = "<stdin>", python: Optional[Version] = None) -> List[Pin]:
    """Parse every requirement line; options (-r, -c, --index-url, -e) are skipped, bad lines are errors."""
    environment = _target_environment(python)
    pins: List[Pin] = []
    seen: Dict[str, int] = {}
    for number, raw in _logical_lines(text):
        line = _requirement_part(_strip_comment(raw))
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


class _Reader:
    """One pass over a requirements file and everything it includes."""

    def __init__(self, python: Optional[Version]) -> None:
        self.environment = _target_environment(python)
        self.result = PinList()
        self.requirements: Dict[str, Tuple[Requirement, str]] = {}  # name -> (requirement, where)
        self.constraints: Dict[str, Tuple[Requirement, str]] = {}
        self.order: List[str] = []
        self.visited: Set[str] = set()

    def read(self, text: str, where: str, base: str, constraint: bool, depth: int) -> None:
        for number, raw in _logical_lines(text):
            line = _strip_comment(raw)
            here = "%s:%d" % (where, number)
            if not line:
                continue
            include = _INCLUDE.match(line)
            if include:
                self.include(include.group(2).strip(), include.group(1) in ("-c", "--constraint") or constraint,
                             base, here, depth)
            elif line.startswith(("-e", "--editable")):
                self.result.unjudged.append(Unjudged(here, quote(line, 200), "an editable install"))
            elif not line.startswith("-"):
                self.requirement(_requirement_part(line), here, constraint)

    def include(self, target: str, constraint: bool, base: str, here: str, depth: int) -> None:
        if "://" in target:
            raise BadInput("%s includes %s, which pinguard does not download: save it and include the file" % (
                here, quote(target, 200)))
        path = os.path.normpath(os.path.join(base, os.path.expanduser(target)))
        key = os.path.realpath(path)
        if key in self.visited:
            return
        if depth >= MAX_DEPTH:
            raise BadInput("%s: includes nested more than %d deep" % (here, MAX_DEPTH))
        self.visited.add(key)
        self.result.files.append(path)
        self.read(read_text(path, "included file (%s)" % here), path, os.path.dirname(path), constraint, depth + 1)

    def requirement(self, line: str, here: str, constraint: bool) -> None:
        requirement = parse_requirement(line, "requirement at %s" % here)
        if requirement.marker is not None and not requirement.marker.evaluate(self.environment):
            return
        if requirement.url:
            self.result.unjudged.append(Unjudged(here, quote(line, 200), "installed from a URL, not a version"))
            return
        name = normalize(requirement.name)
        table = self.constraints if constraint else self.requirements
        if name in table and str(table[name][0].specifier) != str(requirement.specifier) and not constraint:
            raise BadInput("%s: %s is listed twice (first at %s)" % (here, requirement.name, table[name][1]))
        if name not in table:
            table[name] = (requirement, here)
            if not constraint and name not in self.order:
                self.order.append(name)

    def pins(self) -> List[Pin]:
        pins = []
        for name in self.order:
            requirement, where = self.requirements[name]
            specifier = requirement.specifier
            if name in self.constraints:
                specifier = specifier & self.constraints[name][0].specifier
            pin = Pin(name, requirement.name, specifier, int(where.rsplit(":", 1)[1]))
            if pin.version is None:
                self.result.unjudged.append(Unjudged(where, quote(str(requirement), 200),
                                                     "no exact version (name==version) to check"))
            pins.append(pin)
        return pins


def read_pin_list(text: str, where: str = "<stdin>", python: Optional[Version] = None,
                  base: Optional[str] = None) -> PinList:
    """Every requirement pip would read from `text` (see the module docstring); `base`: where includes are."""
    reader = _Reader(python)
    if where != "<stdin>":
        reader.visited.add(os.path.realpath(where))
        reader.result.files.append(where)
    reader.read(text, where, base if base is not None else (os.path.dirname(where) if where != "<stdin>" else "."),
                False, 0)
    reader.result.pins = reader.pins()
    if not any(p.version is not None for p in reader.result.pins):
        raise BadInput("%s is not a pin list: no line pins an exact version (name==version), as `pip freeze` "
                       "writes them%s" % (where, "" if reader.result.pins else " (no requirement at all)"))
    return reader.result


def read_requirements(text: str, where: str, python: Optional[Version] = None
                      ) -> Tuple[List[Requirement], List[Requirement], PinList]:
    """(requirements, constraints, what was read) of a requirements file as pip reads it, ranges included (lock's
    input); lines that name no version are not pins here, so they are not reported as unjudged."""
    reader = _Reader(python)
    reader.visited.add(os.path.realpath(where))
    reader.result.files.append(where)
    reader.read(text, where, os.path.dirname(where), False, 0)
    requirements = [reader.requirements[name][0] for name in reader.order]
    constraints = [requirement for requirement, _ in reader.constraints.values()]
    return requirements, constraints, reader.result
