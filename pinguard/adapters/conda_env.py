"""The conda frontend (adapters/frontend.py): the files `pinguard init` writes into a conda environment.

`pinguard init` (adapters/protect.py) owns `<prefix>/pinguard.toml` (the anchors and a byte-exact backup of every
file it changes) and the constraints file, the other frontends pip.conf and the rest; for a conda environment this
frontend adds its files (`init_changes`) to the same transaction, so one state file and one `--undo` cover
everything. It raises BadInput / ImpossibleAnchor (one line) for an anchor conda calls differently
(`pytorch==1.10.0`: "pinguard anchors use PyPI names: torch==1.10.0") or one the installed records contradict.

Files (undo restores each one's previous bytes, or its absence):
- `<prefix>/conda-meta/pinned`: the anchor's constraints as MatchSpec lines with conda's names, in a block between
  `# >>> pinguard` / `# <<< pinguard` markers after the user's own pins; an anchored package that is installed is
  pinned to its exact installed record (`pytorch ==1.10.0 py3.7_cuda11.3_cudnn8.2.0_0`), so the solver itself
  steers around it (the "rewrite" path) and a bare `conda install numpy` leaves an anchored numpy where it is;
- `<prefix>/etc/pinguard/guard.json`: the same constraints as data (engines/conda_rules.py `guard_table`), so the
  pre-solve hook of the conda plugin needs neither the knowledge base nor `packaging` (used while the knowledge it
  was computed from is current);
- `<prefix>/etc/conda/activate.d/pinguard-uv.sh` and `deactivate.d/pinguard-uv.sh`: UV_CONSTRAINT set to init's
  constraints file on `conda activate` (after any value the user had), the previous value back on `conda
  deactivate` (uv reads no pip.conf; pip in the environment reads the pip.conf init writes).

`check_prefix` is `pinguard check --prefix PATH`: the environment's conda-meta records judged against the anchor.
"""

from __future__ import annotations

import io
import os
import shlex
from typing import Any, Dict, List, Optional, Sequence, Tuple

from packaging.version import InvalidVersion, Version

from pinguard.adapters.frontend import Frontend, InitTarget, Planned
from pinguard.adapters.install_state import FileChange
from pinguard.conda_records import CondaRecord, parse_build
from pinguard.errors import BadInput, ImpossibleAnchor, PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor
from pinguard.sources.conda_meta import META, PINNED, is_conda_prefix, python_version, read_records

BEGIN = "# >>> pinguard: written by `pinguard init`; `pinguard init --undo` removes this block >>>"
END = "# <<< pinguard <<<"
MARK = "pinguard init"  # guard.json's `written_by`
GUARD_FILE = os.path.join("etc", "pinguard", "guard.json")  # = adapters.conda_plugin.GUARD_FILE

CONDA_ACTIVATE = """\
# pinguard: uv obeys this environment's constraints (pinguard init --undo removes this file)
export _PINGUARD_OLD_UV_CONSTRAINT="${{UV_CONSTRAINT:-}}"
export UV_CONSTRAINT="${{UV_CONSTRAINT:+${{UV_CONSTRAINT}} }}"{path}
"""

CONDA_DEACTIVATE = """\
# pinguard: restore UV_CONSTRAINT (pinguard init --undo removes this file)
if [ -n "${_PINGUARD_OLD_UV_CONSTRAINT:-}" ] ; then
    export UV_CONSTRAINT="${_PINGUARD_OLD_UV_CONSTRAINT}"
else
    unset UV_CONSTRAINT
fi
unset _PINGUARD_OLD_UV_CONSTRAINT
"""


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
    _check_anchor_names(kb, anchors)
    from pinguard.engines.conda_rules import as_pypi

    installed = as_pypi(kb, records.values(), [a.name for a in anchors])
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


def init_changes(kb: KnowledgeBase, prefix: str, anchors: Sequence[Anchor], python: Optional[Version],
                 build: Optional[str], constraints_file: str) -> Planned:
    """The conda files of `pinguard init`'s transaction (roles: conda-pinned, conda-guard, conda-activate,
    conda-deactivate) and notes for the user, computed without writing anything (see the module docstring)."""
    prefix = os.path.abspath(prefix)
    records = _anchored_records(kb, prefix, anchors)
    python = _python(prefix, records, python)
    notes: List[str] = []
    result = _generate(kb, anchors, python, build, records, notes)
    if any(c.isspace() for c in os.path.abspath(constraints_file)):
        raise BadInput("the constraints file %s has whitespace in its path; pip and uv split PIP_CONSTRAINT and "
                       "UV_CONSTRAINT at whitespace, so give a path without it" % os.path.abspath(constraints_file))
    pinned = _pinned_lines(kb, result, anchors, records)
    notes.extend(_existing_breakage(kb, anchors, records, python))
    on, off = activation_scripts(prefix)
    changes = [FileChange(os.path.join(prefix, PINNED), "conda-pinned", _pinned_text(prefix, pinned).encode("utf-8")),
               FileChange(os.path.join(prefix, GUARD_FILE), "conda-guard",
                          _guard_file(kb, anchors, records, python).encode("utf-8")),
               FileChange(on, "conda-activate", CONDA_ACTIVATE.format(path=shlex.quote(constraints_file)).encode()),
               FileChange(off, "conda-deactivate", CONDA_DEACTIVATE.encode())]
    return Planned(changes, notes)


class CondaFrontend(Frontend):
    """A conda environment's pinned file, guard table and UV_CONSTRAINT activate.d scripts."""

    def plan(self, target: InitTarget) -> Planned:
        env = target.env
        if not env.is_conda:
            return Planned()
        return init_changes(target.kb, env.prefix, target.anchors, env.python, target.build, target.constraints_file)


FRONTEND = CondaFrontend()


def activation_scripts(prefix: str) -> Tuple[str, str]:
    """conda runs these on `conda activate` / `conda deactivate` (etc/conda/{activate,deactivate}.d/)."""
    return (os.path.join(prefix, "etc", "conda", "activate.d", "pinguard-uv.sh"),
            os.path.join(prefix, "etc", "conda", "deactivate.d", "pinguard-uv.sh"))


def _anchored_records(kb: KnowledgeBase, prefix: str, anchors: Sequence[Anchor]) -> Dict[str, CondaRecord]:
    """The environment's records by conda name, once the anchors are known to fit them."""
    if not is_conda_prefix(prefix):
        raise BadInput("%s is not a conda environment (no %s/ directory)" % (prefix, META))
    if not anchors:
        raise BadInput("give at least one anchor, e.g. torch==1.10.0")
    records = {r.name: r for r in read_records(prefix)}
    _check_anchors(kb, anchors, records)
    return records


def _python(prefix: str, records: Dict[str, CondaRecord], python: Optional[Version]) -> Optional[Version]:
    """X.Y of the environment's Python: conda's python record, which an explicit `python` must agree with."""
    xy = python_version(records.values())
    if python is not None and xy and "%d.%d" % (python.major, python.minor) != xy:
        raise BadInput("--python %d.%d, but the environment %s has Python %s" % (python.major, python.minor, prefix,
                                                                                  xy))
    return python or (Version(xy) if xy else None)


def _generate(kb: KnowledgeBase, anchors: Sequence[Anchor], python: Optional[Version], build: Optional[str],
              records: Dict[str, CondaRecord], notes: List[str]):
    """The anchor's constraints for the torch build asked for, else the anchor's, else the installed one."""
    from pinguard.engines.generate import generate

    torch = next((r for r in records.values() if kb.names.pypi_name(r.name) == "torch"), None)
    installed_label = parse_build(torch.build).label if torch is not None else None
    anchor_label = next((a.local for a in anchors if a.name == "torch" and a.local), None)
    chosen = build or anchor_label or installed_label
    try:
        return generate(kb, anchors, python=python, build=chosen)
    except PinguardError as exc:
        if chosen is None or chosen == anchor_label:
            raise
        notes.append("the installed %s is a build pinguard's torch table does not list (%s); constraints are "
                     "written for torch's default build and the installed build is pinned exactly" % (
                         torch.dist if torch else "torch", exc))
        return generate(kb, anchors, python=python)


def _pinned_text(prefix: str, pinned: List[str]) -> str:
    """conda-meta/pinned: the user's own lines as they are, then pinguard's block (replacing an earlier one)."""
    current = _read_bytes(os.path.join(prefix, PINNED))
    user = _strip_block(current.decode("utf-8", "replace")) if current is not None else ""
    block = "\n".join([BEGIN] + pinned + [END]) + "\n"
    return user + ("\n" if user and not user.endswith("\n") else "") + block


def _existing_breakage(kb, anchors, records, python) -> List[str]:
    from pinguard.engines.check import check
    from pinguard.engines.conda_rules import cuda_findings, prefix_pins

    pins = prefix_pins(kb, list(records.values()), [], [a.name for a in anchors])
    found = check(kb, pins, anchors, python=python).violations + cuda_findings(kb.names, records.values())
    return ["the environment already breaks a rule: [%s] %s (fix: %s)" % (v.rule, v.summary, " ".join(v.fix) or "-")
            for v in found]


def _pinned_lines(kb: KnowledgeBase, result, anchors: Sequence[Anchor], records: Dict[str, CondaRecord]) -> List[str]:
    """The MatchSpec lines of pinguard's block: render_conda's, an installed anchor pinned to its exact record, and
    the CUDA runtime of an anchored pytorch."""
    from pinguard.adapters.formats import render_conda

    names = kb.names
    prefer = [a.name for a in anchors]
    anchored = {r.name: r for r in records.values() if names.pypi_name(r.name, prefer) in {a.name for a in anchors}}
    rendered = render_conda(kb, result)
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


def _guard_file(kb: KnowledgeBase, anchors: Sequence[Anchor], records: Dict[str, CondaRecord],
                python: Optional[Version]) -> str:
    """The guard table the pre-solve hook holds requests to without loading the knowledge base."""
    import json

    from pinguard.engines.conda_rules import guard_table
    from pinguard.kb_cache import knowledge_digest

    table: Dict[str, Any] = {"written_by": MARK, "knowledge": knowledge_digest()}
    table.update(guard_table(kb, anchors, list(records.values()), python))
    return json.dumps(table, indent=1) + "\n"


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
        anchor_texts = list(state["requirements"])  # type: ignore[call-overload]
    anchors = [Anchor.parse(a) for a in anchor_texts]
    _check_anchor_names(kb, anchors)
    if python is None and view.python:
        python = Version(view.python)
    prefer = [a.name for a in anchors]
    pins = prefix_pins(kb, view.records, view.dists, prefer)
    result = check(kb, pins, anchors, python=python)
    seen = {(v.rule, tuple(sorted(v.packages))) for v in result.violations}
    for violation in cuda_findings(kb.names, view.records) + double_installs(kb, view.records, view.dists,
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
