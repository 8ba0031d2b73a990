"""The light half of `pinguard pip install`: check the command line and start pip in the target interpreter.

Imported before anything heavy (packaging's specifiers, the knowledge base), so pip starts while pinguard is still
loading what it judges with: the time a guarded install adds is pinguard's own start-up, not the sum of both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, Mapping, Optional, Sequence

from pinguard.adapters.pip_args import GuardArgs, elsewhere
from pinguard.errors import BadInput
from pinguard.sources.environment import ISOLATED, probe_source, resolve_interpreter

_HERE = os.path.dirname(os.path.abspath(__file__))
_SCRIPT: Dict[str, str] = {}
METHODS = (None, "session", "report", "requested")


def session_script() -> str:
    if "session" not in _SCRIPT:
        parts = [probe_source()]
        for name in ("pip_versions.py", "pip_patch.py", "pip_session_runtime.py"):
            with open(os.path.join(_HERE, name), encoding="utf-8") as handle:
                parts.append(handle.read())
        parts.append("sys.exit(_pg_session())\n")
        _SCRIPT["session"] = "\n".join(parts)
    return _SCRIPT["session"]


def target_env(extra: Optional[Mapping[str, str]] = None, args: Sequence[str] = ()) -> Dict[str, str]:
    env = dict(os.environ)
    env["PINGUARD_HOOK"] = "off"  # this process judges; the hook (if installed) stands aside
    if "--no-build-isolation" in args and "PIP_BUILD_CONSTRAINT" not in env:
        # pip refuses a configured build-constraint with --no-build-isolation (pip_versions.py); a blank value clears it
        env["PIP_BUILD_CONSTRAINT"] = " "
    env.update(extra or {})
    return env


class Session:
    """One pip process in the target interpreter, driven over two pipes (see pip_session_runtime.py)."""

    def __init__(self, interpreter: str, args: Sequence[str], pip_stdout_to_stderr: bool) -> None:
        child_read, parent_write = os.pipe()
        parent_read, child_write = os.pipe()
        env = target_env({"PINGUARD_SESSION_FDS": "%d,%d" % (child_read, child_write)}, args)
        try:
            self.process = subprocess.Popen([interpreter, ISOLATED, "-c", session_script(), "install"] + list(args),
                                            pass_fds=(child_read, child_write), env=env,
                                            stdout=sys.stderr.fileno() if pip_stdout_to_stderr else None)
        except OSError as exc:
            for fd in (child_read, parent_write, parent_read, child_write):
                os.close(fd)
            raise BadInput("cannot run %s: %s" % (interpreter, exc.strerror or exc))
        os.close(child_read)
        os.close(child_write)
        self._from_child = os.fdopen(parent_read, "r")
        self._to_child = os.fdopen(parent_write, "w")
        self.code: Optional[int] = None

    def receive(self) -> Optional[Dict[str, Any]]:
        line = self._from_child.readline()
        if not line.strip():
            return None
        try:
            return json.loads(line)
        except ValueError:
            return None

    def send(self, action: str) -> None:
        try:
            self._to_child.write(json.dumps({"action": action}) + "\n")
            self._to_child.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def finish(self, action: Optional[str] = None) -> int:
        if action:
            self.send(action)
        for stream in (self._to_child, self._from_child):
            try:
                stream.close()
            except OSError:
                pass
        self.code = self.process.wait()
        return self.code


def preflight(guard: GuardArgs):
    """(interpreter, forced method, a started Session or None); bad command lines are BadInput here."""
    where = elsewhere(guard.tool_args)
    if where:
        raise BadInput("%s installs outside the environment, which pinguard does not guard; run pip directly"
                       % where)
    if not any(not a.startswith("-") for a in guard.tool_args) and not any(
            a.split("=")[0] in ("-r", "--requirement", "-e", "--editable") or a.startswith(("-r", "-e"))
            for a in guard.tool_args):
        raise BadInput("give something to install, e.g. pinguard pip install six")
    forced = os.environ.get("PINGUARD_PIP_METHOD", "").strip().lower() or None
    if forced not in METHODS:
        raise BadInput("PINGUARD_PIP_METHOD must be session, report or requested, not %r" % forced)
    interpreter = resolve_interpreter(guard.python)
    if os.name == "nt" and forced in (None, "session"):
        forced = "report"  # the session's pipes are handed over with pass_fds, which Windows lacks
    session = Session(interpreter, guard.tool_args, guard.json) if forced in (None, "session") else None
    return interpreter, forced, session
