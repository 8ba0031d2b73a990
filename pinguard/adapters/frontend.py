"""The installer seam: what `pinguard init` writes for each installer frontend, and what `doctor` asks it.

A frontend is one module with one `Frontend` object, listed in `frontends()` in the order init writes them:

- pip_config.py: plain `pip install` reads `<prefix>/pip.conf`;
- activate.py: `uv pip` in an activated virtual environment reads UV_CONSTRAINT, set by `<prefix>/bin/activate`;
- conda_env.py: conda's solver reads `conda-meta/pinned`, pinguard's conda plugin `etc/pinguard/guard.json`, uv in
  an activated conda environment UV_CONSTRAINT (`etc/conda/{activate,deactivate}.d/pinguard-uv.sh`);
- uv_config.py: uv in a project (`--project DIR`) reads `<project>/uv.toml`;
- hook.py: every `pip install` loads the hook (`--hook`: `<site-packages>/pinguard-hook.pth`,
  `<prefix>/pinguard-hook.py`).

Each has two methods:

- `plan(target)`: the files the frontend changes for `init` (FileChange: path, role, the new bytes) and notes for the
  user, computed from the target without writing anything; BadInput when it cannot protect this environment. init
  writes every frontend's changes with the constraints file in one transaction (install_state.Transaction), which
  records each file's original bytes in pinguard.toml: `init --undo` restores them byte for byte from there, without
  asking the frontends again.
- `doctor(target)`: findings about the frontend's own files in the live environment (a pip.conf that no longer names
  the constraints, a hook whose .pth is gone); none when all is in place or nothing was asked of it.

A new frontend (pixi, poetry) is one module with a `Frontend` and one line in `frontends()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence

from pinguard.adapters.install_state import FileChange, State, read_bytes
from pinguard.errors import BadInput
from pinguard.lightrecord import Record
from pinguard.model import Anchor
from pinguard.sources.environment import TargetEnvironment

if TYPE_CHECKING:  # the engines are imported where they run: pip_guard reads pip.conf through this seam's modules
    from pinguard.engines.doctor import Finding
    from pinguard.engines.generate import Generated
    from pinguard.kb_types import KnowledgeBase

# The seam's records are lightrecord.Records, not dataclasses: `pinguard pip install` imports pip_config.py (for its
# pip.conf parser) while pip starts, and a dataclass costs ~0.5 ms to define.


class InitTarget(Record):
    """What every frontend plans from: the environment, the anchors and their constraints, the state being written."""

    __slots__ = _fields = ("env", "kb", "anchors", "build", "generated", "state", "constraints_file")
    env: TargetEnvironment
    kb: "KnowledgeBase"
    anchors: List[Anchor]
    build: Optional[str]  # --cuda, normalized (cu113), or the recorded one
    generated: "Generated"
    state: State
    constraints_file: str  # <prefix>/pinguard-constraints.txt, which every frontend points its installer at


class DoctorTarget(Record):
    __slots__ = _fields = ("env", "state", "python_option")
    env: TargetEnvironment
    state: Optional[State]  # None: the environment was never initialized
    python_option: str  # " --python PATH" for the fix commands, "" for the environment pinguard runs in


class Planned(Record):
    """A frontend's file changes and notes for the user (both lists grow in place)."""

    __slots__ = _fields = ("changes", "notes")
    _defaults = {"changes": list, "notes": list}
    changes: List[FileChange]
    notes: List[str]


class Frontend:
    """One installer frontend (see the module docstring)."""

    def plan(self, target: InitTarget) -> Planned:
        raise NotImplementedError

    def doctor(self, target: DoctorTarget) -> List["Finding"]:
        return []


def frontends() -> Sequence[Frontend]:
    """Every frontend, in the order init writes them (imported here, not at the top: each module imports this one)."""
    from pinguard.adapters import activate, conda_env, hook, pip_config, uv_config

    return (pip_config.FRONTEND, activate.FRONTEND, conda_env.FRONTEND, uv_config.FRONTEND, hook.FRONTEND)


def read_text(path: str) -> Optional[str]:
    """A file a frontend edits, as text (None when it does not exist); BadInput when it is not UTF-8."""
    found = read_bytes(path)
    if found is None:
        return None
    try:
        return found[0].decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("%s is not UTF-8 text; fix it or remove it" % path)
