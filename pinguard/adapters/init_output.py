"""Render `pinguard init` and `pinguard init --undo`: what was written or restored (text, or JSON). Pure."""

from __future__ import annotations

import json
from typing import Any, List, Sequence, Tuple

from pinguard.adapters.install_state import describe


def render_init(result: Any, as_json: bool, undo_hint: str) -> str:
    """`result`: protect.init's; `undo_hint`: the options that name the same environment for `init --undo`."""
    if as_json:
        payload = describe(result.state)
        payload.update({"written": result.written, "notes": result.notes, "constraints": result.constraints,
                        "pip": result.env.pip})
        return json.dumps(payload, indent=2) + "\n"
    env = result.env
    lines = ["pinguard: %s (Python %s, pip %s) is anchored to %s (%d constraints)" % (
        env.prefix, env.python_text or "none", env.pip or "not installed", " ".join(result.state.anchors),
        result.constraints)]
    roles = {f.path: f.role for f in result.state.files}
    lines += ["  %-16s %s" % (roles.get(path, ""), path) for path in result.written]
    lines += ["  note: %s" % note for note in result.notes]
    lines.append("  undo: pinguard init --undo%s" % undo_hint)
    return "\n".join(lines) + "\n"


def render_undo(prefix: str, restored: Sequence[str], edited: Sequence[str], as_json: bool) -> Tuple[str, List[str]]:
    """(stdout text, stderr lines) for `init --undo`."""
    notes = ["pinguard: note: %s had been edited since init; those edits are gone" % path for path in edited]
    if as_json:
        return json.dumps({"prefix": prefix, "restored": list(restored), "edited_since_init": list(edited)},
                          indent=2) + "\n", notes
    lines = ["pinguard: restored %d file%s in %s to what they were before init" % (
        len(restored), "" if len(restored) == 1 else "s", prefix)]
    lines += ["  %s" % path for path in restored]
    return "\n".join(lines) + "\n", notes
