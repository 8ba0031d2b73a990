"""`pinguard init` and `pinguard init --undo`: protect one environment with what its installers read.

init writes, in one transaction (install_state.Transaction):

- `<prefix>/pinguard-constraints.txt`: the generated constraints (pip format), which every frontend points at;
- what each installer frontend plans (adapters/frontend.py `frontends()`): pip.conf, the activate script's
  UV_CONSTRAINT, a conda environment's files, each `--project DIR`'s uv.toml, the `--hook` files;
- `<prefix>/pinguard.toml`: the anchors and byte-exact backups of all of the above.

A second init updates the same files in place (keeping the first backups); `--undo` restores them all. Both hold
the environment's lock (adapters/env_lock.py), so concurrent runs on one prefix take turns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from pinguard import kb as kb_module
from pinguard.adapters import install_state
from pinguard.adapters.env_lock import environment_lock
from pinguard.adapters.formats import render
from pinguard.adapters.frontend import InitTarget, frontends
from pinguard.engines.family import normalize_build
from pinguard.engines.generate import generate
from pinguard.errors import BadInput
from pinguard.model import Anchor
from pinguard.sources.environment import TargetEnvironment, read_environment, read_prefix


@dataclass
class InitResult:
    env: TargetEnvironment
    state: install_state.State
    written: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    constraints: int = 0
    dropped: List[str] = field(default_factory=list)  # family members left out: no wheel for the env's Python


def target(python: Optional[str], prefix: Optional[str]) -> TargetEnvironment:
    """--python PATH (an interpreter) or --prefix PATH (an environment); default: the one pinguard runs in."""
    if python and prefix:
        raise BadInput("give --python or --prefix, not both")
    return read_prefix(prefix) if prefix else read_environment(python)


def _conda_pip_pins(kb, text: str, env: TargetEnvironment) -> str:
    """For packages conda installed without a build label (pip sees conda's torch as plain 1.10.0), drop the
    `+label` from their pins: a labelled pin would make pip replace conda's package with a wheel."""
    from pinguard.specs import normalize

    installed = {normalize(kb.names.pypi_name(n)): v for n, v in (env.conda or {}).items()}
    conda = set(installed)
    for dist in env.distributions:
        if (dist.get("installer") or "").lower() == "conda":
            conda.add(dist["name"])
        installed[dist["name"]] = dist.get("version") or ""
    out = []
    for line in text.splitlines():
        requirement, hash_, comment = line.partition("#")
        name, equals, version = requirement.partition("==")
        key = normalize(name.strip()) if equals and not name.strip().startswith("-") else ""
        if key in conda and "+" in version and "+" not in installed.get(key, "+"):
            plain = version.split("+")[0]
            line = "%s==%s%s%s%s (installed by conda: no build label)" % (
                name, plain, " " * max(len(requirement) - len(name) - 2 - len(plain), 1), hash_, comment.rstrip())
        out.append(line)
    return "\n".join(out) + "\n"


def init(anchor_texts: Sequence[str], python: Optional[str], cuda: Optional[str], with_hook: bool,
         projects: Sequence[str], prefix: Optional[str] = None) -> InitResult:
    """Protect the environment (see the module docstring), holding its lock: concurrent inits run in turn."""
    env = target(python, prefix)
    _require_writable(env)
    with environment_lock(env.prefix):
        return _init(env, anchor_texts, cuda, with_hook, projects)


def _require_writable(env: TargetEnvironment) -> None:
    if not env.writable and not os.access(env.prefix, os.W_OK):
        raise BadInput("cannot write to %s (the environment's prefix); run as its owner" % env.prefix)


def _init(env: TargetEnvironment, anchor_texts: Sequence[str], cuda: Optional[str], with_hook: bool,
          projects: Sequence[str]) -> InitResult:
    previous = install_state.read_state(env.prefix)
    previous_bytes = install_state.read_bytes(install_state.state_path(env.prefix))
    anchor_texts, cuda = _requested(previous, anchor_texts, cuda)
    anchors = [Anchor.parse(a) for a in anchor_texts]
    build = normalize_build(cuda) if cuda else None
    kb = kb_module.load()
    generated = generate(kb, anchors, python=env.python, build=build)
    state = _next_state(previous, env, anchors, build, with_hook, projects)
    result = InitResult(env, state, constraints=len(generated.constraints), dropped=list(generated.dropped))
    target = InitTarget(env, kb, anchors, build, generated, state, install_state.constraints_path(env.prefix))
    changes = [_constraints_change(target)]
    for frontend in frontends():
        planned = frontend.plan(target)
        changes.extend(planned.changes)
        result.notes.extend(planned.notes)
    result.written = install_state.Transaction(state, previous_bytes).apply(changes)
    return result


def _requested(previous: Optional[install_state.State], anchor_texts: Sequence[str],
               cuda: Optional[str]) -> Tuple[Sequence[str], Optional[str]]:
    """The anchors and --cuda to protect with: the ones given, else the ones the last init recorded."""
    if anchor_texts:
        return anchor_texts, cuda
    if previous is None:
        raise BadInput("give the anchor, e.g. pinguard init torch==1.10.0")
    return previous.anchors, cuda or previous.cuda


def _next_state(previous: Optional[install_state.State], env: TargetEnvironment, anchors: Sequence[Anchor],
                build: Optional[str], with_hook: bool, projects: Sequence[str]) -> install_state.State:
    """pinguard.toml's new contents but the file records (the transaction adds those): anchors, build, Python, the
    hook and the projects (every earlier one stays)."""
    state = previous or install_state.State(env.prefix)
    state.anchors = [a.text for a in anchors]
    state.cuda = build
    state.python = str(env.python or "")
    state.hook = bool(with_hook or (previous.hook if previous else False))
    for project in projects:
        path = os.path.abspath(project)
        if not os.path.isdir(path):
            raise BadInput("--project %s is not a directory" % project)
        if path not in state.projects:
            state.projects.append(path)
    return state


def _constraints_change(target: InitTarget) -> install_state.FileChange:
    """The constraints file every frontend points its installer at."""
    text = render(target.kb, target.generated, "pip")
    if target.env.is_conda:
        text = _conda_pip_pins(target.kb, text, target.env)
    return install_state.FileChange(target.constraints_file, "constraints", text.encode("utf-8"), 0o644)


def undo(python: Optional[str], prefix: Optional[str] = None):
    """Restore every file init changed, holding the environment's lock (an init running now finishes first)."""
    env = target(python, prefix)
    _require_writable(env)
    with environment_lock(env.prefix, "pinguard init --undo"):
        state = install_state.read_state(env.prefix)
        if state is None:
            raise BadInput("nothing to undo: %s has no %s" % (env.prefix, install_state.STATE_NAME))
        restored, edited = install_state.undo(state)
    return env, state, restored, edited
