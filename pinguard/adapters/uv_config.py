"""The uv.toml frontend (adapters/frontend.py), for each `init --project DIR`: a project's `uv.toml`:
`constraint-dependencies` for the anchor, read by `uv pip install`, `uv lock` and
`uv sync` run in or below the project directory (uv 0.13 applies the top-level key to `uv pip` too).

The block pinguard adds is marked; the rest of the file is kept as it was. A project whose pyproject.toml has a
[tool.uv] table and no uv.toml is refused: creating uv.toml would make uv ignore that table.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Optional, Sequence, Tuple

from pinguard.adapters.frontend import Frontend, InitTarget, Planned, read_text
from pinguard.adapters.install_state import FileChange
from pinguard.errors import BadInput

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover
    import tomli as _toml

BEGIN = "# >>> pinguard: constraints of the environment's anchor (pinguard init --undo removes this) >>>"
END = "# <<< pinguard <<<"


def uv_toml_path(project: str) -> str:
    return os.path.join(project, "uv.toml")


def _strip(text: str) -> str:
    kept, inside = [], False
    for line in text.splitlines(True):
        if line.strip() == BEGIN:
            inside = True
            continue
        if inside and line.strip() == END:
            inside = False
            continue
        if not inside:
            kept.append(line)
    return "".join(kept)


def _loads(text: str, where: str):
    try:
        return _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise BadInput("%s is not valid TOML (%s); fix it or remove it" % (where, str(exc).splitlines()[0]))


def merge(text: Optional[str], where: str, constraints: Sequence[str], index: Optional[Tuple[str, str]],
          pyproject: Optional[str], label: str) -> str:
    """The new uv.toml text (`text` None = no file yet)."""
    if text is None and pyproject is not None:
        data = _loads(pyproject, os.path.join(os.path.dirname(where), "pyproject.toml"))
        if "uv" in data.get("tool", {}):
            raise BadInput("%s has a [tool.uv] table, which uv ignores once a uv.toml exists; add the output of "
                           "`pinguard generate %s --format uv` to that table instead" % (
                               os.path.join(os.path.dirname(where), "pyproject.toml"), label))
    base = _strip(text or "")
    existing = _loads(base, where)
    if "constraint-dependencies" in existing:
        raise BadInput("%s already sets constraint-dependencies; add the output of `pinguard generate %s "
                       "--format uv` to it yourself" % (where, label))
    top = [BEGIN, "constraint-dependencies = ["]
    top.extend("    %s," % json.dumps(c) for c in constraints)
    top.extend(["]", END])
    result = "\n".join(top) + "\n" + base
    if index is not None:
        option, url = index
        if result and not result.endswith("\n"):
            result += "\n"
        tail = [BEGIN]
        if option == "--find-links":
            if "find-links" in existing:
                raise BadInput("%s already sets find-links; add %s to it yourself" % (where, url))
            # find-links is a top-level key: it must precede every table, so it joins the top block
            result = result.replace("]\n" + END, "]\nfind-links = [%s]\n%s" % (json.dumps(url), END), 1)
        else:
            tail.extend(["[[index]]", "name = %s" % json.dumps("pinguard-torch"), "url = %s" % json.dumps(url), END])
            result += "\n".join(tail) + "\n"
    _loads(result, where)
    return result


class UvTomlFrontend(Frontend):
    """constraint-dependencies in the uv.toml of each `--project DIR` (the earlier inits' ones too)."""

    def plan(self, target: InitTarget) -> Planned:
        planned = Planned()
        generated, state = target.generated, target.state
        label = " ".join(state.anchors) + (" --cuda %s" % target.build if target.build else "")
        for project in state.projects:
            path = uv_toml_path(project)
            pyproject = read_text(os.path.join(project, "pyproject.toml"))
            text = merge(read_text(path), path, [c.requirement for c in generated.constraints], generated.index,
                         pyproject, label)
            planned.changes.append(FileChange(path, "uv.toml", text.encode("utf-8")))
        return planned


FRONTEND = UvTomlFrontend()
