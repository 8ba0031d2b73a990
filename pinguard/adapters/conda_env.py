"""Protect a conda environment: the conda half of `pinguard init ANCHOR... --prefix PATH` and of `--undo`.

HOW `pinguard init` CALLS THIS. `pinguard init` (adapters/protect.py, issue 3) owns `<prefix>/pinguard.toml` (its
install state: `anchors = [...]`, and a byte-exact backup of every file it changes, restored by `--undo`), pip.conf
and the UV_CONSTRAINT activation scripts. For a conda environment it adds this module's files to the same
transaction, so one state file and one `--undo` cover everything:

    from pinguard.adapters import conda_env

    prefix = args.prefix or conda_env.default_prefix()          # --prefix, else the active CONDA_PREFIX
    if conda_env.is_conda_prefix(prefix):                        # has conda-meta/ (also without a Python of its own)
        extra = conda_env.init_changes(kb, prefix, anchors, python=python, build=cuda,
                                       constraints_file=install_state.constraints_path(prefix))
        changes += [install_state.FileChange(path, role, data) for path, role, data in extra.changes]
        notes += extra.notes

`init_changes` raises BadInput / ImpossibleAnchor (one line) for an anchor conda calls differently (`pytorch==1.10.0`:
"pinguard anchors use PyPI names: torch==1.10.0") or one the installed records contradict. Without pinguard's own
`init` (tests, the bench, a by-hand check), `plan_init` + `apply` write the same files plus a minimal state file
and return the byte-exact undo information that `undo` restores.

Files (each file's previous bytes, or its absence, are what undo restores; a file pinguard wrote earlier counts as
absent, and conda-meta/pinned keeps the user's own lines):
- `<prefix>/conda-meta/pinned`: the anchor's constraints as MatchSpec lines with conda's names, in a block between
  `# >>> pinguard` / `# <<< pinguard` markers after the user's own pins; an anchored package that is installed is
  pinned to its exact installed record (`pytorch ==1.10.0 py3.7_cuda11.3_cudnn8.2.0_0`), so the solver itself
  steers around it (the "rewrite" path) and a bare `conda install numpy` leaves an anchored numpy where it is;
- `<prefix>/etc/pinguard/guard.json`: the same constraints as data (engines/conda_rules.py `guard_table`), so the
  pre-solve hook of the conda plugin needs neither the knowledge base nor `packaging` (used while the knowledge it
  was computed from is current);
- with `scripts=True` (standalone; protect.py writes its own): `<prefix>/etc/conda/activate.d/pinguard.{sh,bat,ps1}`
  and `deactivate.d/pinguard.{sh,bat,ps1}`: PIP_CONSTRAINT and UV_CONSTRAINT set to the constraints file on
  `conda activate` (in front of any value the user had), the previous values back on `conda deactivate`;
- with no `constraints_file`: `<prefix>/etc/pinguard/constraints.txt`, the pip constraints with the torch build
  labels dropped for the packages conda installed (pip sees conda's torch as plain 1.10.0; a labelled pin would
  make pip replace it);
- standalone only: `<prefix>/pinguard.toml` in install_state's format (`format`, `anchors`, `python`), the file
  the conda plugin looks for.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from packaging.version import InvalidVersion, Version

from pinguard.errors import BadInput, ImpossibleAnchor, PinguardError
from pinguard.fsutil import write_atomic_bytes
from pinguard.kb import KnowledgeBase
from pinguard.model import Anchor
from pinguard.conda_records import CondaRecord, parse_build
from pinguard.sources.conda_meta import ANCHOR_FILE, META, PINNED, is_conda_prefix, python_version, read_records

__all__ = ["default_prefix", "is_conda_prefix", "plan_init", "apply", "undo", "describe", "CondaInitPlan"]

BEGIN = "# >>> pinguard: written by `pinguard init`; `pinguard init --undo` removes this block >>>"
END = "# <<< pinguard <<<"
MARK = "pinguard init"  # every file pinguard writes carries this text (so a re-init knows its own files)
UNDO_VERSION = 1
GUARD_FILE = os.path.join("etc", "pinguard", "guard.json")  # = adapters.conda_plugin.GUARD_FILE
SCRIPTS = ("sh", "bat", "ps1")
VARIABLES = ("PIP_CONSTRAINT", "UV_CONSTRAINT")


def default_prefix() -> Optional[str]:
    """The active conda environment (CONDA_PREFIX), or None."""
    prefix = os.environ.get("CONDA_PREFIX")
    return os.path.abspath(prefix) if prefix else None


@dataclass
class FileWrite:
    path: str
    text: str
    mode: int = 0o644
    role: str = ""


@dataclass
class CondaInitPlan:
    prefix: str
    anchors: List[Anchor]
    python: Optional[str]
    constraints_file: str
    writes: List[FileWrite] = field(default_factory=list)
    pinned_lines: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def _read_bytes(path: str) -> Optional[bytes]:
    try:
        with io.open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadInput("cannot read %s: %s" % (path, exc.strerror or exc))


def _strip_block(text: str) -> str:
    """`text` without pinguard's block (and the newline pinguard put before it)."""
    if BEGIN not in text:
        return text
    start = text.index(BEGIN)
    end = text.find(END, start)
    end = len(text) if end < 0 else end + len(END)
    if text[end:end + 1] == "\n":
        end += 1
    head = text[:start]
    if head.endswith("\n\n") and not text[end:]:
        head = head[:-1]
    return head + text[end:]


def _check_anchors(kb: KnowledgeBase, anchors: Sequence[Anchor], records: Dict[str, CondaRecord]) -> None:
    names = kb.names
    _check_anchor_names(kb, anchors)
    from pinguard.engines.conda_rules import as_pypi

    installed = as_pypi(names, records.values(), [a.name for a in anchors])
    for anchor in anchors:
        package = installed.get(anchor.name)
        if package is None:
            continue
        try:
            version = Version(package.version)
        except InvalidVersion:
            raise ImpossibleAnchor("the anchor %s cannot be checked: conda's %s has version %r, which is not a "
                                   "PEP 440 version" % (anchor.text, package.record.dist, package.version))
        if not anchor.specifier.contains(version, prereleases=True):
            build = parse_build(package.record.build)
            raise ImpossibleAnchor("the environment has %s (%s), which is not %s: install the anchor first, or "
                                   "anchor what is installed" % (package.record.dist, build.describe()
                                                                 if anchor.name == "torch" else "version %s" %
                                                                 package.record.version, anchor.text))


class InitChanges:
    """What `pinguard init` adds to its transaction for a conda environment: (path, role, bytes) and notes."""

    def __init__(self, changes: List[tuple], notes: List[str], pinned_lines: List[str]) -> None:
        self.changes = changes
        self.notes = notes
        self.pinned_lines = pinned_lines


def init_changes(kb: KnowledgeBase, prefix: str, anchors: Sequence[Anchor], python: Optional[Version] = None,
                 build: Optional[str] = None, constraints_file: Optional[str] = None,
                 scripts: bool = False) -> InitChanges:
    """The conda files for `pinguard init`'s own transaction (roles: conda-pinned, conda-guard, constraints,
    conda-activate, conda-deactivate). pinguard.toml stays init's."""
    plan = plan_init(kb, prefix, anchors, python, build, constraints_file, scripts=scripts, state_file=False)
    return InitChanges([(w.path, w.role, w.text.encode("utf-8")) for w in plan.writes], plan.notes,
                       plan.pinned_lines)


def plan_init(kb: KnowledgeBase, prefix: str, anchors: Sequence[Anchor], python: Optional[Version] = None,
              build: Optional[str] = None, constraints_file: Optional[str] = None, scripts: bool = True,
              state_file: bool = True) -> CondaInitPlan:
    """Every file `init` writes into a conda environment, computed without touching the disk (reads only)."""
    from pinguard.adapters.formats import render_conda, render_pip
    from pinguard.engines.generate import generate

    prefix = os.path.abspath(prefix)
    if not is_conda_prefix(prefix):
        raise BadInput("%s is not a conda environment (no %s/ directory)" % (prefix, META))
    if not anchors:
        raise BadInput("give at least one anchor, e.g. torch==1.10.0")
    records = {r.name: r for r in read_records(prefix)}
    _check_anchors(kb, anchors, records)
    xy = python_version(records.values())
    if python is not None and xy and "%d.%d" % (python.major, python.minor) != xy:
        raise BadInput("--python %d.%d, but the environment %s has Python %s" % (python.major, python.minor, prefix,
                                                                                  xy))
    python = python or (Version(xy) if xy else None)
    names = kb.names
    notes: List[str] = []
    torch = next((r for r in records.values() if names.pypi_name(r.name) == "torch"), None)
    installed_label = parse_build(torch.build).label if torch is not None else None
    anchor_label = next((a.local for a in anchors if a.name == "torch" and a.local), None)
    chosen = build or anchor_label or installed_label
    try:
        result = generate(kb, anchors, python=python, build=chosen)
    except PinguardError as exc:
        if chosen is None or chosen == anchor_label:
            raise
        notes.append("the installed %s is a build pinguard's torch table does not list (%s); constraints are "
                     "written for torch's default build and the installed build is pinned exactly" % (torch.dist, exc))
        result = generate(kb, anchors, python=python)
    own_constraints = not constraints_file
    constraints_file = os.path.abspath(constraints_file) if constraints_file else os.path.join(
        prefix, "etc", "pinguard", "constraints.txt")
    if any(c.isspace() for c in constraints_file):
        raise BadInput("the constraints file %s has whitespace in its path; pip and uv split PIP_CONSTRAINT and "
                       "UV_CONSTRAINT at whitespace, so give a path without it" % constraints_file)
    prefer = [a.name for a in anchors]
    anchored = {r.name: r for r in records.values() if names.pypi_name(r.name, prefer) in {a.name for a in anchors}}
    pinned = _pinned_lines(render_conda(kb, result), anchored, records, names)
    plan = CondaInitPlan(prefix, list(anchors), "%d.%d" % (python.major, python.minor) if python else None,
                         constraints_file, pinned_lines=pinned, notes=notes)
    plan.notes.extend(_existing_breakage(kb, anchors, records, python))
    pinned_path = os.path.join(prefix, PINNED)
    current = _read_bytes(pinned_path)
    user = _strip_block(current.decode("utf-8", "replace")) if current is not None else ""
    block = "\n".join([BEGIN] + pinned + [END]) + "\n"
    text = (user + ("\n" if user and not user.endswith("\n") else "") + block)
    plan.writes.append(FileWrite(pinned_path, text, role="conda-pinned"))
    if state_file:
        plan.writes.append(FileWrite(os.path.join(prefix, ANCHOR_FILE), _anchor_file(plan), role="state"))
    plan.writes.append(FileWrite(os.path.join(prefix, GUARD_FILE), _guard_file(kb, anchors, records, python),
                                 role="conda-guard"))
    if own_constraints:  # else the caller (init) writes its own file and the scripts point at it
        conda_installed = {names.pypi_name(r.name, prefer) for r in records.values()}
        plan.writes.append(FileWrite(constraints_file, _pip_constraints(render_pip(kb, result), conda_installed),
                                     role="constraints"))
    if scripts:
        for kind in SCRIPTS:
            plan.writes.append(FileWrite(os.path.join(prefix, "etc", "conda", "activate.d", "pinguard." + kind),
                                         _activate(kind, constraints_file), role="conda-activate"))
            plan.writes.append(FileWrite(os.path.join(prefix, "etc", "conda", "deactivate.d", "pinguard." + kind),
                                         _deactivate(kind), role="conda-deactivate"))
    return plan


def _existing_breakage(kb, anchors, records, python) -> List[str]:
    from pinguard.engines.check import check
    from pinguard.engines.conda_rules import cuda_findings, prefix_pins

    pins = prefix_pins(kb.names, list(records.values()), [], [a.name for a in anchors])
    found = check(kb, pins, anchors, python=python).violations + cuda_findings(kb.names, records.values())
    return ["the environment already breaks a rule: [%s] %s (fix: %s)" % (v.rule, v.summary, " ".join(v.fix) or "-")
            for v in found]


def _pinned_lines(rendered: str, anchored: Dict[str, CondaRecord], records: Dict[str, CondaRecord], names) -> List[str]:
    lines = []
    seen = set()
    for line in rendered.splitlines():
        if line.startswith("#") or not line.strip():
            if line.startswith("# generated by") or line.startswith("# not a conda package"):
                lines.append(line)
            continue
        name = line.split()[0]
        seen.add(name)
        record = anchored.get(name)
        if record is not None:
            lines.append("%s ==%s %s  # anchor: the installed record" % (record.name, record.version, record.build))
        else:
            lines.append(line)
    for name, record in sorted(anchored.items()):  # anchored under another conda name (py-opencv for opencv)
        if name not in seen:
            lines.append("%s ==%s %s  # anchor: the installed record" % (record.name, record.version, record.build))
            seen.add(name)
    for record in sorted(records.values(), key=lambda r: r.name):
        if names.selector(record.name) and record.name not in seen and any(
                names.pypi_name(a) == "torch" for a in anchored):
            parts = record.version.split(".")
            if len(parts) >= 2:
                lines.append("%s %s.%s.*  # the CUDA runtime the anchored pytorch is built for" % (
                    record.name, parts[0], parts[1]))
    return lines


def _pip_constraints(text: str, conda_installed) -> str:
    """render_pip's text, with `+label` dropped from the pins of packages conda installed (pip sees conda's torch
    as plain 1.10.0, and a labelled pin would make pip replace it with a wheel)."""
    from pinguard.specs import normalize

    out = [("# written by `%s` for pip and uv in a conda environment (PIP_CONSTRAINT / UV_CONSTRAINT); "
            "--undo removes it" % MARK)]
    for line in text.splitlines():
        requirement, hash_, comment = line.partition("#")
        name, equals, version = requirement.partition("==")
        if equals and "+" in version and not name.strip().startswith("-") and \
                normalize(name.strip()) in conda_installed:
            plain = version.split("+")[0]
            pad = len(requirement) - len(name) - 2 - len(plain)
            line = "%s==%s%s%s%s (installed by conda: no build label)" % (
                name, plain, " " * max(pad, 1), hash_, comment.rstrip())
        out.append(line)
    return "\n".join(out) + "\n"


def _guard_file(kb: KnowledgeBase, anchors: Sequence[Anchor], records: Dict[str, CondaRecord],
                python: Optional[Version]) -> str:
    """The guard table the pre-solve hook holds requests to without loading the knowledge base."""
    import json

    from pinguard.engines.conda_rules import guard_table
    from pinguard.kb_cache import knowledge_digest

    table = {"written_by": MARK, "knowledge": knowledge_digest()}
    table.update(guard_table(kb, anchors, list(records.values()), python))
    return json.dumps(table, indent=1) + "\n"


def _anchor_file(plan: CondaInitPlan) -> str:
    """A minimal `<prefix>/pinguard.toml` in adapters/install_state.py's format (standalone use only)."""
    import json

    from pinguard import __version__

    lines = ["# Written by `%s` (conda, standalone): the anchors pinguard's conda plugin holds this environment to."
             % MARK, "format = 1", "pinguard = %s" % json.dumps(__version__),
             "anchors = [%s]" % ", ".join(json.dumps(a.text) for a in plan.anchors),
             "python = %s" % json.dumps(plan.python or "")]
    return "\n".join(lines) + "\n"


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _activate(kind: str, path: str) -> str:
    if kind == "sh":
        lines = ["# written by `%s`: pip and uv in this environment obey its anchor (removed by --undo)" % MARK,
                 "if [ -z \"${_PINGUARD_ACTIVE:-}\" ]; then",
                 "    _PINGUARD_ACTIVE=1; export _PINGUARD_ACTIVE"]
        for var in VARIABLES:
            lines += ["    if [ -n \"${%s+x}\" ]; then _PINGUARD_OLD_%s=\"$%s\"; export _PINGUARD_OLD_%s; fi" % (
                var, var, var, var),
                "    %s=%s\"${%s:+ $%s}\"; export %s" % (var, _sh_quote(path), var, var, var)]
        lines.append("fi")
        return "\n".join(lines) + "\n"
    if kind == "bat":
        lines = ["@REM written by `%s`: pip and uv in this environment obey its anchor (removed by --undo)" % MARK,
                 "@if defined _PINGUARD_ACTIVE goto :eof",
                 "@set \"_PINGUARD_ACTIVE=1\""]
        for var in VARIABLES:
            lines.append("@if defined %s (set \"_PINGUARD_OLD_%s=%%%s%%\" & set \"%s=%s %%%s%%\") else "
                         "(set \"%s=%s\")" % (var, var, var, var, path, var, var, path))
        return "\r\n".join(lines) + "\r\n"
    lines = ["# written by `%s`: pip and uv in this environment obey its anchor (removed by --undo)" % MARK,
             "if (-not $Env:_PINGUARD_ACTIVE) {",
             "    $Env:_PINGUARD_ACTIVE = \"1\""]
    quoted = "'" + path.replace("'", "''") + "'"
    for var in VARIABLES:
        lines += ["    if (Test-Path Env:%s) { $Env:_PINGUARD_OLD_%s = $Env:%s; $Env:%s = %s + \" \" + $Env:%s }" % (
            var, var, var, var, quoted, var),
            "    else { $Env:%s = %s }" % (var, quoted)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _deactivate(kind: str) -> str:
    if kind == "sh":
        lines = ["# written by `%s`: restores what activate.d/pinguard.sh changed (removed by --undo)" % MARK,
                 "if [ -n \"${_PINGUARD_ACTIVE:-}\" ]; then"]
        for var in VARIABLES:
            lines.append("    if [ -n \"${_PINGUARD_OLD_%s+x}\" ]; then %s=\"$_PINGUARD_OLD_%s\"; export %s; "
                         "unset _PINGUARD_OLD_%s; else unset %s; fi" % (var, var, var, var, var, var))
        lines += ["    unset _PINGUARD_ACTIVE", "fi"]
        return "\n".join(lines) + "\n"
    if kind == "bat":
        lines = ["@REM written by `%s`: restores what activate.d\\pinguard.bat changed (removed by --undo)" % MARK,
                 "@if not defined _PINGUARD_ACTIVE goto :eof"]
        for var in VARIABLES:
            lines.append("@if defined _PINGUARD_OLD_%s (set \"%s=%%_PINGUARD_OLD_%s%%\" & set \"_PINGUARD_OLD_%s=\") "
                         "else (set \"%s=\")" % (var, var, var, var, var))
        lines.append("@set \"_PINGUARD_ACTIVE=\"")
        return "\r\n".join(lines) + "\r\n"
    lines = ["# written by `%s`: restores what activate.d/pinguard.ps1 changed (removed by --undo)" % MARK,
             "if ($Env:_PINGUARD_ACTIVE) {"]
    for var in VARIABLES:
        lines += ["    if (Test-Path Env:_PINGUARD_OLD_%s) { $Env:%s = $Env:_PINGUARD_OLD_%s; "
                  "Remove-Item Env:_PINGUARD_OLD_%s }" % (var, var, var, var),
                  "    else { Remove-Item Env:%s -ErrorAction SilentlyContinue }" % var]
    lines += ["    Remove-Item Env:_PINGUARD_ACTIVE", "}"]
    return "\n".join(lines) + "\n"


def _sha(data: Optional[bytes]) -> Optional[str]:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def apply(plan: CondaInitPlan) -> Dict[str, object]:
    """Write the plan; return the undo info (JSON-able): every file's previous bytes or absence, dirs created."""
    from pinguard.fsutil import write_atomic

    files = []
    created = []
    for write in plan.writes:
        directory = os.path.dirname(write.path)
        missing = []
        probe = directory
        while not os.path.isdir(probe):
            missing.append(probe)
            probe = os.path.dirname(probe)
        for path in reversed(missing):
            try:
                os.mkdir(path)
            except OSError as exc:
                raise BadInput("cannot create %s: %s" % (path, exc.strerror or exc))
            created.append(path)
        before = _read_bytes(write.path)
        if write.path.endswith(os.path.join(META, "pinned")) and before is not None:
            original = _strip_block(before.decode("utf-8", "replace")).encode("utf-8")
            before = original if original or BEGIN.encode() not in before else None
        elif before is not None and MARK.encode() in before[:400]:
            before = None  # written by an earlier `pinguard init`: what was there before that was nothing
        data = write.text.encode("utf-8")
        if write.path.endswith(".bat"):
            _write_bytes(write.path, data)
        else:
            write_atomic(write.path, write.text, write.mode)
        files.append({"path": write.path,
                      "before": base64.b64encode(before).decode("ascii") if before is not None else None,
                      "after_sha256": _sha(data)})
    return {"kind": "conda-prefix", "version": UNDO_VERSION, "prefix": plan.prefix, "files": files,
            "created_dirs": created}


def _write_bytes(path: str, data: bytes) -> None:
    write_atomic_bytes(path, data)


def undo(info: Dict[str, object], force: bool = False) -> List[str]:
    """Put back every file `apply` changed, byte for byte; remove the directories it created (when empty).

    A file changed since `init` is left alone and named in the returned messages (force=True restores it anyway);
    `conda-meta/pinned` changed since then loses only pinguard's block, keeping the user's new lines."""
    if not isinstance(info, dict) or info.get("kind") != "conda-prefix" or info.get("version") != UNDO_VERSION:
        raise BadInput("the undo information is not from this pinguard's conda init")
    messages = []
    for entry in reversed(list(info.get("files") or [])):
        path = str(entry["path"])
        before = entry.get("before")
        old = base64.b64decode(before) if before is not None else None
        current = _read_bytes(path)
        if current is not None and _sha(current) != entry.get("after_sha256") and not force:
            if path.endswith(os.path.join(META, "pinned")) and BEGIN.encode() in current:
                _write_bytes(path, _strip_block(current.decode("utf-8", "replace")).encode("utf-8"))
                messages.append("%s changed since init: removed pinguard's block, kept the rest" % path)
            else:
                messages.append("%s changed since init: left as it is (remove it by hand)" % path)
            continue
        if old is None:
            if current is not None:
                os.unlink(path)
                messages.append("removed %s" % path)
        else:
            _write_bytes(path, old)
            messages.append("restored %s" % path)
    for directory in reversed(list(info.get("created_dirs") or [])):
        try:
            os.rmdir(str(directory))
        except OSError:
            pass
    return messages


def describe(plan: CondaInitPlan) -> str:
    lines = ["conda environment %s anchored to %s" % (plan.prefix, ", ".join(a.text for a in plan.anchors))]
    for write in plan.writes:
        lines.append("  wrote %s" % write.path)
    lines.append("  conda: %d pinned line(s); pip and uv: PIP_CONSTRAINT / UV_CONSTRAINT = %s on `conda activate`" % (
        len([l for l in plan.pinned_lines if not l.startswith("#")]), plan.constraints_file))
    return "\n".join(lines)


def protected(prefix: str) -> bool:
    return os.path.isfile(os.path.join(prefix, ANCHOR_FILE))


def check_prefix(kb: KnowledgeBase, prefix: str, anchor_texts: Sequence[str] = (), python: Optional[Version] = None):
    """`pinguard check --prefix PATH`: the conda environment at PATH against its anchors (--anchor, else the ones
    `pinguard init` recorded). Returns (CheckResult, anchors, number of packages, python text).

    The environment is its conda-meta records (PyPI names, torch builds as +cuXYZ labels) plus the distributions pip
    or uv put in site-packages; findings are check's, conda's CUDA-runtime test, and pip-over-conda double
    installs. A damaged record is a one-line BadInput naming the file."""
    from pinguard.engines.check import check
    from pinguard.engines.conda_rules import cuda_findings, double_installs, prefix_pins
    from pinguard.sources.conda_meta import read_anchor_file, read_prefix

    prefix = os.path.abspath(prefix)
    view = read_prefix(prefix)
    if not anchor_texts:
        state = read_anchor_file(prefix)
        if state is None:
            raise BadInput("give the anchor with --anchor, e.g. --anchor torch==1.10.0 (%s has no pinguard.toml)" %
                           prefix)
        anchor_texts = list(state["requirements"])  # type: ignore[arg-type]
    anchors = [Anchor.parse(a) for a in anchor_texts]
    _check_anchor_names(kb, anchors)
    if python is None and view.python:
        python = Version(view.python)
    prefer = [a.name for a in anchors]
    pins = prefix_pins(kb.names, view.records, view.dists, prefer)
    result = check(kb, pins, anchors, python=python)
    seen = {(v.rule, tuple(sorted(v.packages))) for v in result.violations}
    for violation in cuda_findings(kb.names, view.records) + double_installs(kb.names, view.records, view.dists,
                                                                             prefer):
        if (violation.rule, tuple(sorted(violation.packages))) not in seen:
            result.violations.append(violation)
    if not view.python:
        result.notes.append("%s has no Python of its own: only its conda packages were read" % prefix)
    for record in view.records:
        if record.channel == "<unknown>" and kb.names.pypi_name(record.name, prefer) in ("torch",) + tuple(
                a.name for a in anchors):
            result.notes.append("%s comes from an unknown channel; pinguard judged it by name, version and build"
                                % record.dist)
    return result, anchors, len(pins), ("%d.%d" % (python.major, python.minor) if python else None)


def _check_anchor_names(kb: KnowledgeBase, anchors: Sequence[Anchor]) -> None:
    for anchor in anchors:
        pypi = kb.names.is_conda_alias(anchor.name)
        if pypi:
            raise BadInput("anchor %s names conda's package %s; pinguard anchors use PyPI names: %s" % (
                anchor.text, anchor.display, anchor.text.replace(anchor.display, pypi, 1)))
