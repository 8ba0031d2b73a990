"""The activate frontend (adapters/frontend.py): uv reads no pip.conf (astral-sh/uv docs, "pip compatibility"); it
does read UV_CONSTRAINT. pinguard sets it when the environment is activated and restores it on `deactivate`: a
virtual environment's `bin/activate` (sh, bash, zsh) gets two marked blocks, one at the top of `deactivate` (restore
the previous UV_CONSTRAINT) and one at the end (save it, then append pinguard's file). (A conda environment gets
activate.d scripts instead: adapters/conda_env.py.)

Other shells' activate scripts (fish, csh, nushell, PowerShell) are left alone.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Optional, Tuple

from pinguard.adapters.frontend import Frontend, InitTarget, Planned, read_text
from pinguard.adapters.install_state import FileChange

BEGIN = "# >>> pinguard: uv obeys this environment's constraints (pinguard init --undo removes this) >>>"
END = "# <<< pinguard <<<"
_DEACTIVATE = re.compile(r"^deactivate\s*\(\)\s*\{\s*$", re.MULTILINE)

RESTORE = """\
    {begin}
    if [ -n "${{_PINGUARD_UV_CONSTRAINT_SET:-}}" ] ; then
        if [ -n "${{_PINGUARD_OLD_UV_CONSTRAINT:-}}" ] ; then
            UV_CONSTRAINT="${{_PINGUARD_OLD_UV_CONSTRAINT}}"
            export UV_CONSTRAINT
        else
            unset UV_CONSTRAINT
        fi
        unset _PINGUARD_OLD_UV_CONSTRAINT _PINGUARD_UV_CONSTRAINT_SET
    fi
    {end}
"""

SET = """\
{begin}
_PINGUARD_OLD_UV_CONSTRAINT="${{UV_CONSTRAINT:-}}"
_PINGUARD_UV_CONSTRAINT_SET=1
UV_CONSTRAINT="${{UV_CONSTRAINT:+${{UV_CONSTRAINT}} }}"{path}
export UV_CONSTRAINT
{end}
"""

def activate_script(prefix: str) -> Optional[str]:
    path = os.path.join(prefix, "bin", "activate")
    return path if os.path.isfile(path) else None


def strip_blocks(text: str) -> str:
    """`text` without pinguard's marked blocks."""
    lines = text.splitlines(True)
    kept, inside = [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            continue
        if inside and stripped == END:
            inside = False
            continue
        if not inside:
            kept.append(line)
    return "".join(kept)


def with_uv_constraint(text: str, constraints: str) -> Tuple[str, bool]:
    """(new activate text, whether deactivate restores UV_CONSTRAINT)."""
    base = strip_blocks(text)
    match = _DEACTIVATE.search(base)
    restores = match is not None
    if match is not None:
        insert = match.end() + 1 if base[match.end():match.end() + 1] == "\n" else match.end()
        base = base[:insert] + RESTORE.format(begin=BEGIN, end=END) + base[insert:]
    if base and not base.endswith("\n"):
        base += "\n"
    return base + SET.format(begin=BEGIN, end=END, path=shlex.quote(constraints)), restores


class ActivateFrontend(Frontend):
    """UV_CONSTRAINT in a virtual environment's bin/activate."""

    def plan(self, target: InitTarget) -> Planned:
        env, planned = target.env, Planned()
        script = activate_script(env.prefix)
        if script is not None:
            text, restores = with_uv_constraint(read_text(script) or "", target.constraints_file)
            planned.changes.append(FileChange(script, "activate", text.encode("utf-8")))
            if not restores:
                planned.notes.append("%s has no deactivate function pinguard recognizes: UV_CONSTRAINT stays set "
                                     "after deactivate" % script)
        elif not env.is_conda:  # a conda environment gets its activate.d scripts (conda_env.py)
            planned.notes.append("no activate script in %s: for uv, export UV_CONSTRAINT=%s" % (
                env.prefix, target.constraints_file))
        return planned


FRONTEND = ActivateFrontend()
