"""Helpers for the guarded-install tests: a pinguard wheel, file-tree hashes, running pinguard and pip."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Optional

import pytest

from tests.conftest import ROOT, hermetic_env, run_pinguard

_WHEEL: Dict[str, str] = {}
# pinguard's runtime dependencies, at releases that still support Python 3.7
DEPS_37 = ["packaging==24.0", "tomli==2.0.1", "resolvelib==1.0.1"]


def pinguard_wheel() -> str:
    """A wheel of the working tree, built once per test process from a copy (the tree is not written to)."""
    if "path" not in _WHEEL:
        work = tempfile.mkdtemp(prefix="pinguard-wheel-")
        source = os.path.join(work, "src")
        os.makedirs(source)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(os.path.join(ROOT, name), source)
        shutil.copytree(os.path.join(ROOT, "pinguard"), os.path.join(source, "pinguard"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        out = os.path.join(work, "dist")
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out,
                                 source], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                env=hermetic_env())
        assert result.returncode == 0, result.stderr[-2000:]
        _WHEEL["path"] = os.path.join(out, [f for f in os.listdir(out) if f.endswith(".whl")][0])
    return _WHEEL["path"]


def tree_hashes(path: str, skip_pycache: bool = True) -> Dict[str, str]:
    """relative path -> sha256 of every file under `path` (symlinks by their target text)."""
    found = {}
    for directory, dirs, files in os.walk(path):
        if skip_pycache:
            dirs[:] = [d for d in dirs if d != "__pycache__"]
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(directory, name)
            rel = os.path.relpath(full, path)
            if os.path.islink(full):
                found[rel] = "link:" + os.readlink(full)
                continue
            with open(full, "rb") as handle:
                found[rel] = hashlib.sha256(handle.read()).hexdigest()
    return found


def site_packages(venv) -> str:
    lib = os.path.join(venv.path, "lib")
    (name,) = [n for n in os.listdir(lib) if n.startswith("python")]
    return os.path.join(lib, name, "site-packages")


def pinguard(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """pinguard from the source tree, run by the test interpreter (the environment is chosen with --python)."""
    return run_pinguard(*args, env=env)


def in_venv(venv, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """pinguard installed in the venv, run by the venv's own interpreter."""
    return venv.run(venv.python, "-m", "pinguard", *args, env=env)


def install_pinguard(venv, deps=None) -> None:
    result = venv.pip_retrying("install", *(deps or DEPS_37))
    assert result.returncode == 0, result.stderr[-2000:]
    result = venv.pip("install", "--no-deps", pinguard_wheel())
    assert result.returncode == 0, result.stderr[-2000:]


def text(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


def require_network() -> None:
    """The `network` fixture's check, callable from module-scoped fixtures."""
    from tests.conftest import INDEX_URL, _INDEX_STATE, _probe_index, skip_or_fail

    if "error" not in _INDEX_STATE:
        _INDEX_STATE["error"] = _probe_index()
    if _INDEX_STATE["error"]:
        skip_or_fail("the package index %s cannot be reached (%s)" % (INDEX_URL, _INDEX_STATE["error"]))


def new_venv(tmp_path_factory, version: str, name: str):
    from tests.conftest import Venv, pyenv_python

    return Venv(str(tmp_path_factory.mktemp(name) / "venv"), pyenv_python(version))


def uv_tool(tmp_path_factory, env=None) -> str:
    """uv installed from PyPI into a venv of its own (uv is not on PATH here); the path of its executable."""
    require_network()
    tools = new_venv(tmp_path_factory, "3.11", "uvtools")
    result = tools.pip_retrying("install", "uv", **({"env": env} if env else {}))
    if result.returncode != 0:
        pytest.fail("cannot install uv from PyPI: %s" % result.stderr[-500:])
    return os.path.join(tools.path, "bin", "uv")
