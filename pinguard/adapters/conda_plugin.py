"""pinguard's conda plugin: every solve in an anchored conda environment is judged before it is carried out.

Registered through the `conda` entry-point group (pyproject.toml: `[project.entry-points.conda] pinguard =
"pinguard.adapters.conda_plugin"`), so it loads when pinguard is installed in the environment that runs conda (base).
Two hooks (conda >= 24.1, called by every solver from `BaseSolver.solve_for_transaction`):

- `conda_pre_solves` -> `pre_solve(specs_to_add, specs_to_remove)`: a requested spec that cannot hold the anchor
  (`numpy=1.21` when anchored to numpy 1.19.5), a constraint the anchor implies (`setuptools=65` next to torch
  1.10), or pytorch's CUDA (`cudatoolkit=10.2` next to a cuda11.3 pytorch), and removing an anchored package, are
  refused before the solver runs.
- `conda_post_solves` -> `post_solve(repodata_fn, unlink_precs, link_precs)`: the solved transaction is judged by
  `engines.conda_rules.judge_transaction` (the same `engines.verdict.judge` the pip guard uses, plus conda's own
  checks): an anchored record replaced or removed, a rule broken, CUDA runtimes mixed.

A refusal raises `PinguardRefusal`, a `conda.CondaError`, so conda prints `PinguardRefusal: <reason>` the usual
way and exits 1. Contract with conda:
- importing this module costs only standard modules conda has already loaded (and conda's plugin types);
- an environment is judged only when `<prefix>/pinguard.toml` (the state `pinguard init` writes, with its
  `anchors = [...]`; adapters/install_state.py, adapters/conda_env.py) exists; all other environments are not
  touched and nothing else is read;
- a request or transaction that touches no package the anchor or the knowledge base speaks of (`conda install
  requests`) is let through after two small reads (the anchor file and the names index of pinguard/kb_cache.py);
  only the others load the engines and the knowledge base (from a snapshot);
- missing or damaged pinguard data (anchor file, knowledge base, conda-meta records), or a bug in pinguard, is a
  one-line `pinguard: warning:` on stderr and conda proceeds: pinguard never breaks conda;
- `PINGUARD_CONDA=off` turns the plugin off for one command (as does conda's own `--no-plugins`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
from typing import Dict, Iterable, List, Optional, Set, Tuple

ANCHOR_FILE = "pinguard.toml"
ENV_SWITCH = "PINGUARD_CONDA"
NAME = "pinguard"

try:  # conda is there when conda loads this module; tests and `pinguard` itself import it without conda
    from conda import CondaError as _Base  # type: ignore[import]
except Exception:  # noqa: BLE001 - any failure means "no usable conda here"
    _Base = Exception


class PinguardRefusal(_Base):  # type: ignore[misc,valid-type]
    """pinguard refuses a conda request or transaction; conda prints the message and exits 1."""

    return_code = 1

    def __init__(self, message: str, refusals=()) -> None:
        _Base.__init__(self, message)
        self.message = message
        self.refusals = list(refusals)

    def __str__(self) -> str:
        return self.message


def _off() -> bool:
    return os.environ.get(ENV_SWITCH, "").strip().lower() in ("off", "0", "false", "no", "disable", "disabled")


_WARNED: Set[str] = set()  # what was already said in this conda command (conda may solve several times)


def _warn(message: str, key: Optional[str] = None) -> None:
    """One `pinguard: warning:` line, once per conda command for the same `key` (default: the message)."""
    key = key or message
    if key in _WARNED:
        return
    _WARNED.add(key)
    try:
        sys.stderr.write("pinguard: warning: %s\n" % message)
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a closed stderr must not break conda either
        pass


def target_prefix() -> str:
    """The environment conda is about to change (`-n`/`-p`, else the active one)."""
    try:
        from conda.base.context import context  # type: ignore[import]

        return str(context.target_prefix)
    except Exception:  # noqa: BLE001
        return os.environ.get("CONDA_PREFIX", "")


def anchored(prefix: str) -> bool:
    return bool(prefix) and os.path.isfile(os.path.join(prefix, ANCHOR_FILE))


class _Guard:
    """Let a refusal through; turn anything else into a warning so conda proceeds."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> "_Guard":
        # conda's heap is large by the time it solves: a full garbage collection triggered by our imports' and the
        # knowledge base's allocations costs more than the hook itself. Nothing here makes reference cycles worth
        # collecting; collection resumes when the hook returns.
        import gc

        self.gc = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if self.gc:
            import gc

            gc.enable()
        if exc is None or isinstance(exc, (PinguardRefusal, KeyboardInterrupt, SystemExit)):
            return False
        from pinguard.errors import PinguardError

        if isinstance(exc, PinguardError):
            _warn("%s; conda proceeds without pinguard's %s check" % (exc, self.what), key=str(exc))
        else:
            _warn("internal error in the %s check (%s: %s); conda proceeds without it (PINGUARD_DEBUG=1 shows the "
                  "traceback)" % (self.what, type(exc).__name__, exc), key="%s: %s" % (type(exc).__name__, exc))
            if os.environ.get("PINGUARD_DEBUG"):
                import traceback

                traceback.print_exception(kind, exc, tb)
        return True


class AnchoredPrefix:
    """What the hooks need about an anchored prefix, read cheaply (see sources.conda_meta)."""

    def __init__(self, prefix: str) -> None:
        from packaging.version import Version

        from pinguard.conda_records import parse_build
        from pinguard.kb_cache import load_slim
        from pinguard.model import Anchor
        from pinguard.sources.conda_meta import (CondaMetaError, peek_record, python_version, read_anchor_file,
                                                 scan_records)

        self.prefix = prefix
        self.kb = load_slim()  # the judged part of the knowledge base, from a snapshot (pinguard/kb_cache.py)
        state = read_anchor_file(prefix)
        if state is None:
            raise CondaMetaError("%s records no anchors" % os.path.join(prefix, ANCHOR_FILE))
        self.anchor_file = str(state["path"])
        names = self.kb.names
        self.anchors = []
        for text in state["requirements"]:  # type: ignore[attr-defined]
            anchor = Anchor.parse(text)
            pypi = names.is_conda_alias(anchor.name)
            if pypi:
                fixed = text.strip().replace(anchor.display, pypi, 1)
                _warn("%s: anchor %s uses conda's name %s; pinguard reads it as %s (anchors use PyPI names)" % (
                    self.anchor_file, text, anchor.display, fixed))
                anchor = Anchor.parse(fixed)
            self.anchors.append(anchor)
        records, notes = scan_records(prefix)
        for note in notes:
            _warn("%s; pinguard ignores that file, as conda does" % note)
        prefer = [a.name for a in self.anchors]
        relevant = {a.name for a in self.anchors} | {"torch", "torchvision", "torchaudio"}
        self.records = []
        for record in records:
            if names.pypi_name(record.name, prefer) in relevant or names.selector(record.name):
                try:
                    record = peek_record(record)
                except CondaMetaError as exc:
                    _warn("%s; pinguard judges that package by its file name" % exc)
                if names.pypi_name(record.name, prefer) == "torch" and parse_build(record.build).kind == "unknown":
                    _warn("cannot tell the backend of %s from its build string (channel %s); CUDA checks are skipped"
                          % (record.dist, record.channel or "not recorded"))
            self.records.append(record)
        recorded = str(state.get("python") or "")
        xy = python_version(self.records) or (recorded if re.match(r"^\d+\.\d+$", recorded) else None)
        self.python = Version(str(xy)) if xy else None
        self._python_xy = python_version(self.records)

    def dists(self):
        from pinguard.sources.conda_meta import python_dists

        return python_dists(self.prefix, self._python_xy, read_installer=False)


_ENVIRONMENTS: Dict[str, Tuple[object, AnchoredPrefix]] = {}


def environment(prefix: str) -> AnchoredPrefix:
    """The prefix read once per conda command: pre- and post-solve see the same records (nothing is linked between
    them); a change to conda-meta/ or to the anchor file is read anew."""
    try:
        stamp = (os.stat(os.path.join(prefix, "conda-meta")).st_mtime_ns,
                 os.stat(os.path.join(prefix, ANCHOR_FILE)).st_mtime_ns)
    except OSError:
        stamp = None
    cached = _ENVIRONMENTS.get(prefix)
    if cached is not None and stamp is not None and cached[0] == stamp:
        return cached[1]
    env = AnchoredPrefix(prefix)
    _ENVIRONMENTS.clear()
    _ENVIRONMENTS[prefix] = (stamp, env)
    return env


GUARD_FILE = os.path.join("etc", "pinguard", "guard.json")


def _format(prefix: str, anchors: List[str], anchor_file: str, what: str, refusals, warnings=()) -> str:
    from pinguard.violation_text import violation_lines, violation_title

    lines = ["pinguard refuses this %s: the environment %s is anchored to %s (%s)." % (
        what, prefix, ", ".join(anchors), anchor_file)]
    for violation in refusals:
        lines.extend(violation_lines(violation))
    for violation in warnings:
        lines.append("  (already there: %s)" % violation_title(violation))
    lines.append("To go ahead anyway, run the command again with %s=off; to move the anchor, run "
                 "`pinguard init ... --prefix %s`." % (ENV_SWITCH, prefix))
    return "\n".join(lines)


def stored_table(prefix: str, installed=None) -> Optional[dict]:
    """The guard table `pinguard init` stored, when it is current: computed from the same knowledge (digest) for
    the same anchors and the Python the environment has now. None sends the caller to the engine path."""
    from pinguard.kb_cache import knowledge_digest

    path = os.path.join(prefix, GUARD_FILE)
    try:
        with open(path, "rb") as handle:
            table = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _damaged_table(path, " ".join(str(exc).split())[:120] or type(exc).__name__)
        return None
    why = _table_problem(table)
    if why is not None:
        _damaged_table(path, why)
        return None
    if table.get("knowledge") != knowledge_digest():
        return None
    anchors = _anchor_names(prefix)
    if anchors is None or sorted(anchors) != sorted(_pypi(m.group(1)) for m in map(_NAME.match, table.get("anchors")
                                                                                                 or ()) if m):
        return None
    if installed is not None:  # conda name -> (version, build), as scan_index reads it
        version = installed.get("python", ("", ""))[0]
        python = ".".join(version.split(".")[:2]) if version.count(".") >= 1 else None
        if python != table.get("python"):
            return None
    return table


def _damaged_table(path: str, why: str) -> None:
    _warn("%s is damaged (%s); pinguard judges this request with its knowledge base instead (`pinguard init "
          "--prefix ...` writes the file again)" % (path, why))


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _table_problem(table: object) -> Optional[str]:
    """Why a guard table cannot be used as it is (None: it can): every field the light path reads, checked."""
    if not isinstance(table, dict) or table.get("version") != 1:
        return "not a version 1 guard table"
    anchored = table.get("anchored") or {}
    if not _strings(table.get("anchors") or []) or not isinstance(anchored, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in anchored.items()):
        return "bad `anchors` or `anchored`"
    guards = table.get("guards")
    if not isinstance(guards, list):
        return "no `guards` list"
    for number, guard in enumerate(guards, 1):
        if not (isinstance(guard, dict) and _strings(guard.get("conda")) and isinstance(guard.get("requirement"), str)
                and isinstance(guard.get("spec"), (str, type(None))) and _strings(guard.get("sources") or [])
                and all(isinstance(guard.get(k, ""), str) for k in ("pypi", "build", "rule", "summary", "confidence"))):
            return "guard entry %d is malformed" % number
    cuda = table.get("cuda") or {}
    selectors = cuda.get("selectors") or {} if isinstance(cuda, dict) else None
    if not isinstance(selectors, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("match"), str) and _strings(v.get("sources") or [])
            for v in selectors.values()):
        return "bad `cuda` selectors"
    if selectors and not (isinstance(cuda.get("major"), int) and isinstance(cuda.get("minor"), int)):
        return "bad `cuda` version"
    return None


_NAME = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9._-]*)")
_SPEC_NAME = re.compile(r"^(?:.*::)?\s*([^\s=<>!~\[]+)")


def _pypi(text: str) -> str:
    from pinguard.pep503 import normalize

    return normalize(text)


def _anchor_names(prefix: str) -> Optional[List[str]]:
    """The anchor file's requirement names (PyPI, normalized), read without parsing requirements; None = unsure."""
    try:
        with open(os.path.join(prefix, ANCHOR_FILE), encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^anchors\s*=\s*(\[.*?\])\s*$", text, re.MULTILINE)
    if not found:
        return None
    try:
        items = json.loads(found.group(1))
    except ValueError:
        return None
    names = []
    for item in items if isinstance(items, list) else ():
        match = _NAME.match(item) if isinstance(item, str) else None
        if match is None:
            return None
        names.append(_pypi(match.group(1)))
    return names


def _relevant(prefix: str, conda_names: Iterable[str], removing: Iterable[str] = ()) -> bool:
    """Can these conda packages matter to the anchor or to any rule? False only when surely not (fast path:
    `conda install requests` in an environment anchored to torch costs a directory stat and two small reads)."""
    from pinguard.kb_cache import load_index

    index = load_index()
    anchors = _anchor_names(prefix)
    if index is None or anchors is None:
        return True
    anchored = set()
    to_conda = index.get("to_conda") or {}
    for name in anchors:
        anchored.add(name)
        anchored.update(to_conda.get(name, ()))
        for glob, condas in index.get("globs") or ():
            if fnmatch.fnmatchcase(name, glob):
                anchored.update(condas)
    relevant = set(index["relevant"]) | anchored
    for name in conda_names:
        if name.lower() in relevant or _pypi(name) in relevant or name.lower().startswith(("nvidia-", "cupy")):
            return True
    return any(name.lower() in anchored or _pypi(name) in anchored for name in removing)


def _spec_name(spec) -> str:
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name:
        return name
    found = _SPEC_NAME.match(str(spec))
    return found.group(1) if found else str(spec)


def pre_solve(specs_to_add, specs_to_remove, prefix: str = "") -> None:
    """conda_pre_solves action: refuse requested specs that contradict the anchor, before solving."""
    if _off():
        return
    prefix = prefix or target_prefix()
    if not anchored(prefix):
        return
    with _Guard("pre-solve"):
        specs_to_add, specs_to_remove = list(specs_to_add or ()), list(specs_to_remove or ())
        if not _relevant(prefix, [_spec_name(s) for s in specs_to_add], [_spec_name(s) for s in specs_to_remove]):
            return
        from pinguard.conda_spec import spec_from_conda

        add = [spec_from_conda(s) for s in specs_to_add]
        remove = [spec_from_conda(s) for s in specs_to_remove]
        from pinguard.sources.conda_meta import scan_index

        installed = scan_index(prefix)
        table = stored_table(prefix, installed)
        if table is not None:  # the light path: no knowledge base, no packaging (engines/conda_request.py)
            from pinguard.engines.conda_request import judge_request_table

            refusals = judge_request_table(table, add, remove, installed)
            if refusals:
                raise PinguardRefusal(_format(prefix, list(table["anchors"]), os.path.join(prefix, ANCHOR_FILE),
                                              "request", refusals), refusals)
            return
        from pinguard.engines.conda_rules import judge_request

        env = environment(prefix)
        violations = judge_request(env.kb, env.anchors, add, remove, env.records, python=env.python)
        if violations:
            raise PinguardRefusal(_format(prefix, [a.text for a in env.anchors], env.anchor_file, "request",
                                          violations), violations)


def record_from_conda(obj):
    """A conda `PackageRecord` (or anything with name / version / build) -> CondaRecord."""
    from pinguard.conda_records import CondaRecord, channel_name

    if isinstance(obj, CondaRecord):
        return obj
    channel = getattr(obj, "channel", "")
    channel = getattr(channel, "canonical_name", None) or str(channel or "")
    try:
        build_number = int(getattr(obj, "build_number", 0) or 0)
    except (TypeError, ValueError):
        build_number = 0
    return CondaRecord(str(obj.name), str(obj.version), str(obj.build), build_number, channel_name(channel),
                       str(getattr(obj, "subdir", "") or ""))


def post_solve(repodata_fn, unlink_precs, link_precs, prefix: str = "") -> None:
    """conda_post_solves action: judge the solved transaction with the verdict engine."""
    if _off():
        return
    prefix = prefix or target_prefix()
    if not anchored(prefix):
        return
    with _Guard("post-solve"):
        unlink_precs, link_precs = list(unlink_precs or ()), list(link_precs or ())
        if not _relevant(prefix, [str(r.name) for r in unlink_precs + link_precs]):
            return
        from pinguard.engines.conda_rules import judge_transaction

        env = environment(prefix)
        unlink = [record_from_conda(r) for r in unlink_precs]
        link = [record_from_conda(r) for r in link_precs]
        verdict = judge_transaction(env.kb, env.anchors, env.records, unlink, link, env.dists(), python=env.python)
        if not verdict.allowed:
            raise PinguardRefusal(_format(prefix, [a.text for a in env.anchors], env.anchor_file, "transaction",
                                          verdict.refusals, verdict.warnings), verdict.refusals)


def _pre_solve_action(specs_to_add, specs_to_remove) -> None:
    pre_solve(specs_to_add, specs_to_remove)


def _post_solve_action(repodata_fn, unlink_precs, link_precs) -> None:
    post_solve(repodata_fn, unlink_precs, link_precs)


try:  # conda >= 24.1 has both hooks; an older conda, or none, gets no hook implementations at all
    from conda.plugins import hookimpl as _hookimpl  # type: ignore[import]
    from conda.plugins.types import CondaPostSolve as _CondaPostSolve  # type: ignore[import]
    from conda.plugins.types import CondaPreSolve as _CondaPreSolve  # type: ignore[import]

    _HOOKS = True
except Exception:  # noqa: BLE001
    _HOOKS = False

if _HOOKS:

    @_hookimpl
    def conda_pre_solves():
        yield _CondaPreSolve(name=NAME, action=_pre_solve_action)

    @_hookimpl
    def conda_post_solves():
        yield _CondaPostSolve(name=NAME, action=_post_solve_action)
