"""Wire the sources to the lock engine: read the inputs, plan, resolve with uv (when found) or pinguard's closure
resolver, close the set under the rules, read each release's files from the index, write every output from that
one resolution, and check a written lock (`lock --check`). Shared by `pinguard lock` and bench/bench_lock.py."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard import __version__
from pinguard.adapters import format_names
from pinguard.adapters.conda_lock_output import render_conda_lock
from pinguard.adapters.hashed_requirements import render_requirements
from pinguard.adapters.progress import Phases
from pinguard.adapters.pylock_output import check_name, is_pylock_name, render_pylock
from pinguard.adapters.uv_lock import UvResolver, find_uv
from pinguard.engines import lock as engine
from pinguard.engines.closure_resolver import ClosureResolver, requirement_reqs
from pinguard.errors import BadInput
from pinguard.fsutil import write_atomic
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Violation
from pinguard.sources.index import IndexClient
from pinguard.sources.index_config import IndexConfig
from pinguard.sources.lock_data import LockPackageData
from pinguard.sources.lock_inputs import LockInputs, file_digest, knowledge_digest, relative_digests
from pinguard.sources.lock_reader import read_lock
from pinguard.sources.metadata import target_tags
from pinguard.specs import marker_environment

FORMATS = format_names.LOCK


@dataclass
class LockOptions:
    anchors: List[str]
    python: Version
    build: Optional[str] = None
    gpu: Optional[Version] = None
    outputs: List[str] = field(default_factory=list)
    fmt: Optional[str] = None  # for `-o -` and --format conda
    backend: str = "auto"  # auto | uv | pinguard
    offline: bool = False


@dataclass
class LockOutcome:
    lock: Optional[engine.Lock]
    closed: engine.Closed
    backend: str
    written: List[str] = field(default_factory=list)
    stdout: str = ""
    notes: List[str] = field(default_factory=list)
    client: Optional[IndexClient] = None

    @property
    def findings(self) -> List[Violation]:
        return self.closed.findings


def default_output(build: Optional[str]) -> str:
    return "pylock.%s.toml" % build.replace(".", "-") if build else "pylock.toml"


def output_format(path: str, fmt: Optional[str]) -> str:
    """pylock / requirements / conda for one -o name (`-` takes --format, default pylock)."""
    if fmt == "conda":
        return "conda"
    name = os.path.basename(path)
    if path == "-":
        return fmt or "pylock"
    if name.endswith(".toml"):
        check_name(name)
        return "pylock"
    if name.endswith(".txt"):
        return "requirements"
    raise BadInput("-o %s: a lock is written as pylock.toml / pylock.<name>.toml, a hashed requirements *.txt, or "
                   "with --format conda" % path)


def _requirements(inputs: LockInputs, python: Version) -> List[Requirement]:
    environment = marker_environment(python)
    return [r for r in inputs.requirements if r.marker is None or Marker(str(r.marker)).evaluate(environment)]


def _resolver(kb: KnowledgeBase, options: LockOptions, config: IndexConfig, data: LockPackageData,
              build: Optional[str]):
    """(resolve function, backend name)."""
    uv = find_uv() if options.backend in ("auto", "uv") else None
    if options.backend == "uv" and uv is None:
        raise BadInput("--backend uv: uv is not on PATH (or set PINGUARD_UV to its path)")
    if uv is not None:
        return UvResolver(uv, config, options.python, offline=options.offline), "uv"
    closure = ClosureResolver(kb, data, options.python, build, options.gpu)

    def resolve(roots: Sequence[Requirement], constraints: Mapping[str, SpecifierSet]) -> Dict[str, Version]:
        reqs = [req for r in roots for req in requirement_reqs(r, "input")]
        return closure.resolve(reqs, constraints)

    return resolve, "pinguard"


def run_lock(kb: KnowledgeBase, options: LockOptions, inputs: LockInputs,
             sources: Callable[[], Tuple[IndexConfig, IndexClient]], phases: Phases,
             lock_dir: str = ".") -> LockOutcome:
    """Plan (bad anchors are bad input before any index is read), resolve and close; the Lock (None when the check
    still finds something)."""
    anchors = [Anchor.parse(a) for a in options.anchors]
    requirements = _requirements(inputs, options.python)
    plan = engine.plan(kb, anchors, requirements, options.python, options.build, options.gpu, inputs.constraints)
    config, client = sources()
    data = LockPackageData(client, options.python)
    resolve, backend = _resolver(kb, options, config, data, plan.target.build)
    phases.phase("resolving %d requirement%s for Python %s on %s with %s" % (
        len(plan.roots), "" if len(plan.roots) == 1 else "s", options.python, plan.target.platform,
        "uv" if backend == "uv" else "pinguard's resolver"))
    closed = engine.close(kb, plan, resolve)
    if data.network_errors:
        raise data.network_errors[0]
    outcome = LockOutcome(None, closed, backend, notes=list(plan.notes), client=client)
    if closed.findings:
        return outcome
    phases.phase("reading the files of %d packages" % len(closed.resolved))
    files = data.files(closed.resolved, getattr(resolve, "files", None))
    if data.network_errors:
        raise data.network_errors[0]
    packages = engine.assemble(closed, files, engine.reasons(closed, lambda n, v: []))
    outcome.lock = engine.Lock(plan.target, [a.text for a in anchors], packages, knowledge_digest(),
                               relative_digests(inputs.files, lock_dir), _sources(config), plan.build_index,
                               backend, __version__)
    return outcome


def _sources(config: IndexConfig) -> List[tuple]:
    sources = [] if config.no_index else [("--index-url", config.index_url)]
    sources += [("--extra-index-url", url) for url in config.extra_index_urls if not config.no_index]
    return sources + [("--find-links", location) for location in config.find_links]


def render(kb: KnowledgeBase, lock: engine.Lock, fmt: str) -> str:
    header = "written by pinguard lock %s; check with: pinguard lock --check" % __version__
    if fmt == "requirements":
        return render_requirements(lock, header)
    if fmt == "conda":
        return render_conda_lock(kb, lock, header)
    return render_pylock(lock, header)


def write_outputs(kb: KnowledgeBase, outcome: LockOutcome, options: LockOptions) -> None:
    """Every -o from the one resolution (atomic writes; `-` is stdout)."""
    outputs = options.outputs or [default_output(outcome.lock.target.build if outcome.lock else None)]
    if outcome.lock is None:
        return
    for path in outputs:
        text = render(kb, outcome.lock, output_format(path, options.fmt))
        if path == "-":
            outcome.stdout += text
        else:
            write_atomic(path, text)
            outcome.written.append(path)


# -- lock --check -------------------------------------------------------------------------------------------------


def find_lock(directory: str = ".") -> str:
    """The one pylock*.toml here, for `lock --check` without a FILE."""
    found = sorted(n for n in os.listdir(directory) if is_pylock_name(n))
    if len(found) != 1:
        raise BadInput("give the lock to check: %s" % (
            "no pylock.toml here" if not found else "several here (%s)" % ", ".join(found)))
    return os.path.join(directory, found[0])


def check_written(kb: KnowledgeBase, path: str, anchors: Sequence[str], python: Optional[Version]):
    """(the lock read back, its findings); offline, from the files alone."""
    lock = read_lock(path, python)
    if anchors:
        lock.anchors = list(dict.fromkeys(list(lock.anchors) + list(anchors)))
    base = os.path.dirname(os.path.abspath(path))
    now = {p: file_digest(os.path.join(base, p)) for p in lock.inputs}
    findings = engine.check_lock(kb, lock, target_tags(lock.target.python), knowledge_digest(), now)
    return lock, findings


def stderr_notes(notes: Sequence[str]) -> None:
    for note in notes:
        print("pinguard: note: %s" % note, file=sys.stderr)
