"""`pinguard init` and `pinguard init --undo`: protect one environment with what pip and uv read.

init writes, in one transaction (install_state.Transaction):

- `<prefix>/pinguard-constraints.txt`: the generated constraints (pip format);
- `<prefix>/pip.conf`: `[install] constraint` (+ `build-constraint` for pip 26.2+), existing content kept;
- `<prefix>/bin/activate` (venv) or `etc/conda/{activate,deactivate}.d/pinguard-uv.sh` (conda): UV_CONSTRAINT;
- `<project>/uv.toml` for each `--project DIR`: constraint-dependencies;
- with `--hook`: `<site-packages>/pinguard-hook.pth` and `<prefix>/pinguard-hook.py`;
- `<prefix>/pinguard.toml`: the anchors and byte-exact backups of all of the above.

A second init updates the same files in place (keeping the first backups); `--undo` restores them all. Both hold
the environment's lock (adapters/env_lock.py), so concurrent runs on one prefix take turns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.adapters import activate, hook, install_state, pip_config, pip_versions, uv_config
from pinguard.adapters.env_lock import environment_lock
from pinguard.adapters.formats import render
from pinguard.engines.family import normalize_build
from pinguard.engines.generate import generate
from pinguard.errors import BadInput
from pinguard.model import Anchor
from pinguard.sources.environment import TargetEnvironment, pip_config_values, read_environment, read_prefix

BUILD_CONSTRAINT_SINCE = Version(pip_versions.BUILD_CONSTRAINT_SINCE)
HOOK_SINCE = Version(pip_versions.RESOLVER_SEAM_SINCE)
SITE_CONFIG_SINCE = Version(pip_versions.SITE_CONFIG_SINCE)


@dataclass
class InitResult:
    env: TargetEnvironment
    state: install_state.State
    written: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    constraints: int = 0
    dropped: List[str] = field(default_factory=list)  # family members left out: no wheel for the env's Python


def _text(path: str) -> Optional[str]:
    found = install_state.read_bytes(path)
    if found is None:
        return None
    try:
        return found[0].decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("%s is not UTF-8 text; fix it or remove it" % path)


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
    if not anchor_texts:
        if previous is None:
            raise BadInput("give the anchor, e.g. pinguard init torch==1.10.0")
        anchor_texts = previous.anchors
        cuda = cuda or previous.cuda
    anchors = [Anchor.parse(a) for a in anchor_texts]
    build = normalize_build(cuda) if cuda else None
    kb = kb_module.load()
    generated = generate(kb, anchors, python=env.python, build=build)

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
    result = InitResult(env, state, constraints=len(generated.constraints), dropped=list(generated.dropped))
    changes: List[install_state.FileChange] = []

    constraints_file = install_state.constraints_path(env.prefix)
    pip_text = render(kb, generated, "pip")
    if env.is_conda:
        pip_text = _conda_pip_pins(kb, pip_text, env)
    changes.append(install_state.FileChange(constraints_file, "constraints", pip_text.encode("utf-8"), 0o644))

    conf = env.pip_conf
    current = _text(conf)
    pip_config.parse(current or "", conf)  # a damaged pip.conf is named before pip is asked about it
    values = pip_config_values(env) if env.has_python else None
    if values is None:
        result.notes.append("pip is not installed in %s: pip.conf is written for when it is" % env.prefix)
        values = {}
    if env.pip_version is not None and env.pip_version < SITE_CONFIG_SINCE and os.path.realpath(
            env.prefix) == os.path.realpath(env.base_prefix):
        result.notes.append("pip %s reads %s only inside a virtual environment: upgrade pip (%s+) so plain pip "
                            "install obeys it" % (env.pip, conf, SITE_CONFIG_SINCE))
    build_constraint = env.pip_version is not None and env.pip_version >= BUILD_CONSTRAINT_SINCE
    ours = pip_config.config_file_value(constraints_file)
    merged = pip_config.merge(current, conf, ours, values, build_constraint)
    changes.append(install_state.FileChange(conf, "pip.conf", merged.encode("utf-8")))
    if build_constraint:
        result.notes.append("pip %s: build-constraint set too (pip 26.2+ keeps -c out of build environments); pip "
                            "refuses it with --no-build-isolation: run those as PIP_BUILD_CONSTRAINT=' ' pip install "
                            "--no-build-isolation ... (pinguard pip install does this itself)" % env.pip)

    script = activate.activate_script(env.prefix)
    if script is not None:
        text, restores = activate.with_uv_constraint(_text(script) or "", constraints_file)
        changes.append(install_state.FileChange(script, "activate", text.encode("utf-8")))
        if not restores:
            result.notes.append("%s has no deactivate function pinguard recognizes: UV_CONSTRAINT stays set after "
                                "deactivate" % script)
    if env.is_conda:
        from pinguard.adapters import conda_env

        conda_changes, conda_notes = conda_env.init_changes(kb, env.prefix, anchors, env.python, build,
                                                            constraints_file)
        changes.extend(conda_changes)
        result.notes.extend(conda_notes)
    if script is None and not env.is_conda:
        result.notes.append("no activate script in %s: for uv, export UV_CONSTRAINT=%s" % (env.prefix,
                                                                                           constraints_file))

    label = " ".join(state.anchors) + (" --cuda %s" % build if build else "")
    for project in state.projects:
        path = uv_config.uv_toml_path(project)
        pyproject = _text(os.path.join(project, "pyproject.toml"))
        text = uv_config.merge(_text(path), path, [c.requirement for c in generated.constraints], generated.index,
                               pyproject, label)
        changes.append(install_state.FileChange(path, "uv.toml", text.encode("utf-8")))

    if state.hook:
        if env.pip_version is None or env.pip_version < HOOK_SINCE:
            raise BadInput("--hook needs pip %s or newer in %s (it has %s)" % (HOOK_SINCE, env.prefix,
                                                                              env.pip or "no pip"))
        if not hook.supported(env.pip or ""):
            result.notes.append("pip %s is newer than the releases the hook was tested with (up to %d.%d); it "
                                "warns if it cannot attach" % ((env.pip,) + pip_versions.SUPPORTED_PIP[1]))
        if not env.purelib or not os.path.isdir(env.purelib):
            raise BadInput("cannot find the site-packages directory of %s" % env.prefix)
        changes.append(install_state.FileChange(hook.hook_path(env.prefix), "hook",
                                            hook.hook_text(env.prefix).encode("utf-8")))
        changes.append(install_state.FileChange(hook.pth_path(env.purelib), "hook-pth",
                                            hook.pth_text(env.prefix, hook.pth_path(env.purelib)).encode("utf-8")))
    result.written = install_state.Transaction(state, previous_bytes).apply(changes)
    return result


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
