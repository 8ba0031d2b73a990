"""Read the "Debug Mission" text format (shared/seeds): environment, Python, traceback, anchor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from pinguard.errors import BadInput

_MARK = "**Debug Mission**"
_ENV = re.compile(r"^\s*- Current environment:\s*(.*)$")
_PYTHON = re.compile(r"^\s*- Python version:\s*(\S+)")
_TRACEBACK = re.compile(r"^\s*- Crash traceback:\s*(.*)$")
_ANCHOR = re.compile(r"PRIMARY CONSTRAINT:\s*Maintain\s+(\S+)")
_SECTION = re.compile(r"^\s*(- [A-Z][\w ()]+:|\*\*[A-Z][\w ]+\*\*)")


@dataclass(frozen=True)
class Mission:
    env: List[str]  # pin lines, in the mission's order and spelling
    python: Optional[str]
    traceback: str
    anchor: Optional[str]


def is_mission(text: str) -> bool:
    return _MARK in text


def parse_mission(text: str, where: str = "<mission>") -> Mission:
    if not is_mission(text):
        raise BadInput("%s is not a debug-mission file (no %r header)" % (where, _MARK))
    lines = text.splitlines()
    env: List[str] = []
    traceback: List[str] = []
    python = anchor = None
    state = None
    for line in lines:
        env_match, tb_match = _ENV.match(line), _TRACEBACK.match(line)
        if env_match:
            state = "env"
            line = env_match.group(1)
        elif tb_match:
            state = "traceback"
            line = tb_match.group(1)
        elif _SECTION.match(line):
            state = None
        python_match = _PYTHON.match(line)
        if python_match:
            python = python_match.group(1)
        anchor_match = _ANCHOR.search(line)
        if anchor_match:
            anchor = anchor_match.group(1)
        if state == "env":
            if line.strip():
                env.append(line.strip())
            elif env:
                state = None
        elif state == "traceback":
            traceback.append(line)
    if not env:
        raise BadInput("%s: no '- Current environment:' list found" % where)
    return Mission(env, python, "\n".join(traceback).strip(), anchor)
