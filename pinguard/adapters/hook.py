"""`pinguard init --hook`: the opt-in in-process guard, as two files.

- `<site-packages>/pinguard-hook.pth`: one line, run by `site` at every interpreter start. It only puts a finder
  on `sys.meta_path` that waits for `pip._internal.resolution.resolvelib.resolver`; everything it does is inside
  `try: ... except BaseException: pass`, so a missing, damaged or unreadable hook never stops the interpreter
  from starting. PINGUARD_HOOK=off disables it.
- `<prefix>/pinguard-hook.py`: the hook itself (hook_runtime.py with the probe and the pip seam), read and
  executed (never imported, so no bytecode file is written) only when pip imports its resolver.

Supported pip: 20.3 to 26.3 (pip_patch.SUPPORTED_PIP), each release line tested in tests/test_hook.py.
"""

from __future__ import annotations

import json
import os
import sys
from typing import List

from pinguard.adapters import pip_patch
from pinguard.sources.environment import probe_source

PTH_NAME = "pinguard-hook.pth"
HOOK_NAME = "pinguard-hook.py"
_HERE = os.path.dirname(os.path.abspath(__file__))

BOOTSTRAP = '''try:
    import os
    if os.environ.get("PINGUARD_HOOK", "").lower() not in ("off", "0", "no", "false") and not any(
            getattr(f, "__name__", "") == "_PinguardHookFinder" for f in sys.meta_path):
        class _PinguardHookFinder(object):
            hook = %(hook)r
            busy = False

            @classmethod
            def find_spec(cls, name, path=None, target=None):
                if name != "pip._internal.resolution.resolvelib.resolver" or cls.busy:
                    return None
                cls.busy = True
                try:
                    namespace = {"__name__": "_pinguard_hook", "__file__": cls.hook}
                    with open(cls.hook) as handle:
                        exec(compile(handle.read(), cls.hook, "exec"), namespace)
                    return namespace["_pg_find_spec"](cls, name, path, target)
                except BaseException as exc:
                    try:
                        sys.stderr.write("pinguard hook: cannot load %%s (%%s); this install is not judged\\n"
                                         %% (cls.hook, exc))
                    except BaseException:
                        pass
                    return None
                finally:
                    cls.busy = False
        sys.meta_path.insert(0, _PinguardHookFinder)
except BaseException:
    pass
'''


def pth_path(purelib: str) -> str:
    return os.path.join(purelib, PTH_NAME)


def hook_path(prefix: str) -> str:
    return os.path.join(prefix, HOOK_NAME)


def pth_text(prefix: str) -> str:
    """The .pth line: `import sys; exec(<bootstrap>)` (a .pth line runs only when it starts with `import`)."""
    code = BOOTSTRAP % {"hook": hook_path(prefix)}
    return "import sys; exec(%r)\n" % code


def judge_command(prefix: str) -> List[str]:
    """How the hook reaches the pinguard running now: this interpreter, with pinguard's directory first."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bootstrap = "import sys; sys.path.insert(0, %r); from pinguard.cli import main; sys.exit(main(sys.argv[1:]))" % (
        os.path.dirname(root))
    return [sys.executable, "-c", bootstrap, "_judge", "--prefix", prefix]


def _read(name: str) -> str:
    with open(os.path.join(_HERE, name), encoding="utf-8") as handle:
        return handle.read()


def hook_text(prefix: str) -> str:
    parts = [
        "# pinguard install hook for %s: written by `pinguard init --hook`, removed by `pinguard init --undo`." % prefix,
        "# Loaded by pinguard-hook.pth only when pip imports its resolver. Set PINGUARD_HOOK=off to disable it.",
        "_PG_JUDGE = %s" % json.dumps(judge_command(prefix)),
        "_PG_PREFIX = %s" % json.dumps(prefix),
        "",
        probe_source(),
        _read("pip_patch.py"),
        _read("hook_runtime.py"),
    ]
    return "\n".join(parts)


def supported(pip_version: str) -> bool:
    version = pip_patch.pip_version_tuple(pip_version)
    return pip_patch.SUPPORTED_PIP[0] <= version <= pip_patch.SUPPORTED_PIP[1]
