# The install hook, loaded inside pip only when pip imports its resolver. `pinguard init --hook` writes
# <prefix>/pinguard-hook.py = the judge command + env_probe.py + pip_patch.py + this file, and a one-line .pth in
# site-packages that, at interpreter start-up, only adds a finder waiting for that one module (anything going
# wrong there is swallowed: the interpreter always starts).
#
# When `pip install` has a plan, the hook sends it with the installed distributions to the pinguard that ran
# init (`_PG_JUDGE`, a subprocess, isolated from the current directory) and reads its verdict. A refusal stops pip
# with its own InstallationError (exit 1, nothing installed). A plan that cannot be judged (pinguard gone, a
# damaged pinguard.toml, a pip the hook cannot attach to) is refused the same way, with one line saying why and
# that PINGUARD_HOOK=off lets this one command through: the safe default (only `--dry-run` goes on, with a warning).
# Self-contained, standard library only, Python 3.6+ syntax.

import json
import os
import subprocess
import sys


def _pg_warn(message):
    try:
        sys.stderr.write("pinguard hook: %s\n" % message)
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass


def _pg_short(text):
    return " ".join(str(text).split())[:300] or "no reason given"


def _pg_installing():
    """Is this pip command an install into this environment? (pip download/wheel, --target/--prefix/--root and
    --dry-run change nothing here.)"""
    args = sys.argv[1:]
    skip = ("--target", "-t", "--prefix", "--root", "--dry-run")
    return "install" in args and not any(a.split("=")[0] in skip for a in args)


def _pg_cannot_judge(why, installing):
    """Refuse an install that cannot be judged (pip prints the one line, exits 1); anything else only warns."""
    if not installing:
        _pg_warn("%s; this pip command is not judged" % why)
        return
    from pip._internal.exceptions import InstallationError

    raise InstallationError("pinguard hook: %s: this install cannot be judged, so it is refused; to install anyway, "
                            "run the command again with PINGUARD_HOOK=off" % why)


class _PgLoader(object):
    """Wraps the real loader of pip's resolver module: execute it, then attach the guard."""

    def __init__(self, inner):
        self._inner = inner

    def create_module(self, spec):
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        self._inner.exec_module(module)
        try:
            patch_resolver(module, _pg_on_resolved)
        except Exception as exc:  # noqa: BLE001
            _pg_cannot_judge("cannot attach to this pip (%s)" % _pg_short(exc), _pg_installing())

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _pg_find_spec(finder, name, path=None, target=None):
    spec = None
    for other in list(sys.meta_path):
        if other is finder:
            continue
        find = getattr(other, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, path, target)
        except TypeError:
            spec = find(name, path)
        if spec is not None:
            break
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return spec
    spec.loader = _PgLoader(spec.loader)
    return spec


def _pg_on_resolved(resolver, requirement_set, options):
    summary = options_summary(options)
    if summary["target"] or summary["prefix"] or summary["root"]:
        return  # not this environment (pip's own isolated build environments install with --prefix)
    plan = plan_of(resolver, requirement_set)
    if not plan:
        return
    message = {"type": "plan", "env": probe(), "plan": plan, "options": summary, "method": "hook"}
    env = dict(os.environ)
    env["PINGUARD_HOOK"] = "off"
    installing = not summary["dry_run"]
    try:
        process = subprocess.run(_PG_JUDGE, input=json.dumps(message), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=600)
    except Exception as exc:  # noqa: BLE001
        _pg_cannot_judge("cannot run pinguard (%s)" % _pg_short(exc), installing)
        return
    try:
        answer = json.loads(process.stdout)
        if not isinstance(answer, dict):
            raise ValueError(answer)
    except ValueError:
        lines = [l for l in (process.stderr or "").splitlines() if l.strip()]
        _pg_cannot_judge("pinguard could not judge this install (%s)" % _pg_short(
            lines[-1].strip() if lines else "exit %d" % process.returncode), installing)
        return
    try:
        for line in answer.get("lines", []):
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    if answer.get("allowed", True) or summary["dry_run"]:
        return
    from pip._internal.exceptions import InstallationError

    raise InstallationError(answer.get("error") or "pinguard refused this install")
