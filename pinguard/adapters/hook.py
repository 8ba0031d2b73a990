"""The hook frontend (adapters/frontend.py), `pinguard init --hook`: the opt-in in-process guard, as two files.

- `<site-packages>/pinguard-hook.pth`: one line, run by `site` at every interpreter start. It only puts a finder
  on `sys.meta_path` that waits for `pip._internal.resolution.resolvelib.resolver`; everything it does is inside
  `try: ... except BaseException: pass`, so a missing, damaged or unreadable hook never stops the interpreter
  from starting. PINGUARD_HOOK=off disables it.
- `<prefix>/pinguard-hook.py`: the hook itself (hook_runtime.py with the probe and the pip seam), read and
  executed (never imported, so no bytecode file is written) only when pip imports its resolver.

Supported pip: pip_versions.SUPPORTED_PIP, each release line tested in tests/test_hook.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from typing import TYPE_CHECKING, List

from packaging.version import Version

from pinguard.adapters import pip_versions
from pinguard.adapters.frontend import DoctorTarget, Frontend, InitTarget, Planned
from pinguard.adapters.install_state import FileChange
from pinguard.errors import BadInput
from pinguard.sources.environment import ISOLATED, probe_source

if TYPE_CHECKING:
    from pinguard.engines.doctor import Finding

PTH_NAME = "pinguard-hook.pth"
HOOK_NAME = "pinguard-hook.py"
_HERE = os.path.dirname(os.path.abspath(__file__))
HOOK_SINCE = Version(pip_versions.RESOLVER_SEAM_SINCE)

BOOTSTRAP = """try:
    import os
    import sys
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
                    why = " ".join(str(exc).split())[:200] or type(exc).__name__
                finally:
                    cls.busy = False
                cls.cannot_judge("cannot load %%s (%%s)" %% (cls.hook, why))

            @staticmethod
            def cannot_judge(why):
                args = sys.argv[1:]
                skip = ("--target", "-t", "--prefix", "--root", "--dry-run")
                if "install" in args and not any(a.split("=")[0] in skip for a in args):
                    from pip._internal.exceptions import InstallationError
                    raise InstallationError("pinguard hook: %%s: this install cannot be judged, so it is refused; "
                                            "to install anyway, run the command again with PINGUARD_HOOK=off" %% why)
                sys.stderr.write("pinguard hook: %%s; this pip command is not judged\\n" %% why)
        sys.meta_path.insert(0, _PinguardHookFinder)
except BaseException:
    pass
"""

# The .pth line is `<head>#<the bootstrap in hex>`. `site` executes a .pth line that starts with "import"; the
# head runs the hex part only when the line has its full length, so a truncated .pth costs one warning line at
# start-up instead of a traceback (only a cut inside the head itself, its first ~250 bytes, still shows one).
# `line` is the variable `site.addpackage` holds the line in (Python 2.7 ... 3.13). A venv's site-packages can be
# processed twice (lib64 -> lib), hence the once-only mark on `sys` for the warning.
_PTH_HEAD = ('import sys;exec(bytes.fromhex(locals().get("line","").strip()[%8d:]))if len(locals().get("line","")'
             '.strip())==%8d else"_pg_pth"in sys.__dict__ or sys.__dict__.setdefault("_pg_pth",sys.stderr.write(%s))#')
_PTH_DAMAGED = ("pinguard hook: %s is damaged (truncated?): pip installs here are not judged; `pinguard init "
                "--hook` writes it again, `pinguard init --undo` removes it\n")


def pth_path(purelib: str) -> str:
    return os.path.join(purelib, PTH_NAME)


def hook_path(prefix: str) -> str:
    return os.path.join(prefix, HOOK_NAME)


def pth_text(prefix: str, pth: str = PTH_NAME) -> str:
    """The one .pth line (see _PTH_HEAD) at `pth`: it only adds the finder of BOOTSTRAP, waiting for pip's resolver."""
    payload = (BOOTSTRAP % {"hook": hook_path(prefix)}).encode("utf-8").hex()
    message = ascii(_PTH_DAMAGED % pth)
    head_length = len(_PTH_HEAD % (0, 0, message))
    return _PTH_HEAD % (head_length, head_length + len(payload), message) + payload + "\n"


def judge_command(prefix: str) -> List[str]:
    """How the hook reaches the pinguard running now: this interpreter, isolated (`-I`: the directory pip runs in
    is never on sys.path), with the directories of pinguard and of its dependencies put first explicitly."""
    return [sys.executable, ISOLATED, "-c", "import sys; sys.path[0:0] = %r; from pinguard.cli import main; "
            "sys.exit(main(sys.argv[1:]))" % _import_dirs(), "_judge", "--prefix", prefix]


def _import_dirs() -> List[str]:
    """Where this process imports pinguard, packaging, resolvelib and tomli from (found without importing)."""
    dirs = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))]
    for name in ("packaging", "resolvelib", "tomli"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        locations = list(getattr(spec, "submodule_search_locations", None) or ()) if spec is not None else []
        for location in locations[:1]:
            parent = os.path.dirname(os.path.abspath(location))
            if parent not in dirs:
                dirs.append(parent)
    return dirs


def _read(name: str) -> str:
    with open(os.path.join(_HERE, name), encoding="utf-8") as handle:
        return handle.read()


def hook_text(prefix: str) -> str:
    parts = [
        "# pinguard install hook for %s: written by `pinguard init --hook`, removed by `pinguard init --undo`."
        % prefix,
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
    return pip_versions.supported_pip(pip_version)


class HookFrontend(Frontend):
    """The in-process guard's two files, with `--hook` (or when an earlier init installed it)."""

    def plan(self, target: InitTarget) -> Planned:
        env, planned = target.env, Planned()
        if not target.state.hook:
            return planned
        if env.pip_version is None or env.pip_version < HOOK_SINCE:
            raise BadInput("--hook needs pip %s or newer in %s (it has %s)" % (HOOK_SINCE, env.prefix,
                                                                              env.pip or "no pip"))
        if not supported(env.pip or ""):
            planned.notes.append("pip %s is newer than the releases the hook was tested with (up to %d.%d); it "
                                 "warns if it cannot attach" % ((env.pip,) + pip_versions.SUPPORTED_PIP[1]))
        if not env.purelib or not os.path.isdir(env.purelib):
            raise BadInput("cannot find the site-packages directory of %s" % env.prefix)
        planned.changes.append(FileChange(hook_path(env.prefix), "hook", hook_text(env.prefix).encode("utf-8")))
        planned.changes.append(FileChange(pth_path(env.purelib), "hook-pth",
                                          pth_text(env.prefix, pth_path(env.purelib)).encode("utf-8")))
        return planned

    def doctor(self, target: DoctorTarget) -> List["Finding"]:
        """The hook pinguard.toml records is still loaded: its .pth file is in site-packages."""
        from pinguard.engines.doctor import Finding

        env = target.env
        if target.state is None or not target.state.hook or (env.purelib and os.path.isfile(pth_path(env.purelib))):
            return []
        return [Finding("warning", "hook-missing", "pinguard.toml records the install hook, but its .pth file is gone",
                        "pinguard init%s --hook" % target.python_option)]


FRONTEND = HookFrontend()
