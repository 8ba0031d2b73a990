"""`pinguard pip --help` and `pinguard pip install --help` (and the same for `uv pip`): pinguard's own options,
then, for `install --help`, the tool's own help for everything else."""

from __future__ import annotations

import os
import subprocess
import sys

from pinguard.adapters.pip_args import GuardArgs
from pinguard.errors import EXIT_OK, BadInput

_OPTIONS = """\
pinguard's options (anywhere among ARGS; everything else goes to {tool} unchanged):
  --python PATH   the environment's interpreter or directory (default: the one pinguard runs in)
  --anchor REQ    judge against this anchor too (default: the anchors `pinguard init` recorded); repeatable
  --rewrite       turn a refusal into constraints and plan again (up to three rounds)
  --dry-run       print the verdict only; install nothing
  --json          the verdict as JSON on stdout ({tool}'s own output goes to stderr)
Environment: PINGUARD_PIP_METHOD=session|report|requested forces how the plan is obtained.
exit codes: 0 installed (or allowed, with --dry-run), 1 refused, 2 bad input, 3 internal error (a bug),
4 network; {tool}'s own code when {tool} fails.
"""


def usage(tool: str) -> str:
    command = "pip" if tool == "pip" else "uv pip"
    return ("usage: pinguard %s install [--python PATH] [--anchor REQ] [--rewrite] [--dry-run] [--json] ARGS...\n\n"
            "A guarded `%s install`: the plan is judged against the environment's anchor before anything is "
            "installed.\n\n" % (command, command)) + _OPTIONS.format(tool=command)


def install_help(guard: GuardArgs, tool: str) -> int:
    """pinguard's options, then `<tool> install --help` of the target environment (its exit code)."""
    sys.stdout.write(usage(tool) + "\n%s's own options:\n" % ("pip" if tool == "pip" else "uv pip"))
    sys.stdout.flush()
    if tool == "pip":
        from pinguard.sources.environment import ISOLATED, resolve_interpreter

        command = [resolve_interpreter(guard.python), ISOLATED, "-m", "pip", "install", "--help"]
    else:
        from pinguard.adapters.uv_guard import find_uv
        from pinguard.sources.environment import read_environment

        command = [find_uv(read_environment(guard.python)), "pip", "install", "--help"]
    try:
        return subprocess.run(command, env=dict(os.environ, PINGUARD_HOOK="off")).returncode or EXIT_OK
    except OSError as exc:
        raise BadInput("cannot run %s: %s" % (command[0], exc.strerror or exc))
