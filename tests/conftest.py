"""Shared test helpers: real interpreters from pyenv, real virtual environments, and the network policy.

Policy (CI=true makes every "skip" below a failure):
- a test that needs a Python this machine lacks skips with the reason;
- a network test retries, then skips with the reason when the index cannot be reached.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from typing import Callable, Dict, List, Optional

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
IN_CI = os.environ.get("CI", "").lower() == "true"
INDEX_URL = "https://pypi.org/simple/"
PROGRESS = re.compile(r"^pinguard (fix|lock): ")  # progress lines (adapters/progress.py), not error lines


def skip_or_fail(reason: str) -> None:
    """Skip with the reason, except under CI=true where a missing prerequisite is a failure."""
    if IN_CI:
        pytest.fail("CI=true and a prerequisite is missing: " + reason)
    pytest.skip(reason)


def _probe_index(tries: int = 3) -> Optional[str]:
    last = ""
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(INDEX_URL + "pip/", timeout=15) as response:
                response.read(256)
            return None
        except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
            last = "%s: %s" % (type(exc).__name__, exc)
            time.sleep(1 + attempt)
    return last


_INDEX_STATE: Dict[str, Optional[str]] = {}


@pytest.fixture
def network() -> None:
    """Use in network-marked tests: skip (or fail under CI) when PyPI cannot be reached after retries."""
    if "error" not in _INDEX_STATE:
        _INDEX_STATE["error"] = _probe_index()
    if _INDEX_STATE["error"]:
        skip_or_fail("the package index %s cannot be reached (%s)" % (INDEX_URL, _INDEX_STATE["error"]))


def pyenv_python(version: str) -> str:
    """Path of pyenv's interpreter for `version` (e.g. "3.7"), or skip/fail with the reason."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        skip_or_fail("pyenv is not installed, so Python %s is not available" % version)
    try:
        names = subprocess.run([pyenv, "versions", "--bare"], stdout=subprocess.PIPE, universal_newlines=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as exc:
        skip_or_fail("pyenv versions failed: %s" % exc)
    matches = sorted((n for n in names if n == version or n.startswith(version + ".")),
                     key=lambda n: [int(p) for p in n.split(".") if p.isdigit()])
    if not matches:
        skip_or_fail("pyenv has no Python %s (has: %s)" % (version, ", ".join(names)))
    prefix = subprocess.run([pyenv, "prefix", matches[-1]], stdout=subprocess.PIPE, universal_newlines=True,
                            check=True).stdout.strip()
    path = os.path.join(prefix, "bin", "python")
    if not os.path.exists(path):
        skip_or_fail("pyenv's Python %s has no interpreter at %s" % (version, path))
    return path


def hermetic_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for subprocesses: no user/global pip config, no stray PIP_*/UV_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PINGUARD_", "VIRTUAL_ENV"))}
    env["XDG_CONFIG_DIRS"] = os.path.join(ROOT, ".no-global-config")  # hides /etc/xdg/pip/pip.conf
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


class Venv:
    """A real virtual environment made from a real interpreter."""

    def __init__(self, path: str, base_python: str) -> None:
        self.path = path
        self.base_python = base_python
        subprocess.run([base_python, "-m", "venv", path], check=True)
        self.python = os.path.join(path, "bin", "python")

    def run(self, *args: str, check: bool = False, env: Optional[Dict[str, str]] = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=hermetic_env(env), check=check, timeout=timeout, cwd=self.path)

    def pip(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(self.python, "-m", "pip", *args, **kwargs)

    def pip_retrying(self, *args: str, tries: int = 3, ok: Callable[[subprocess.CompletedProcess], bool] = None,
                     **kwargs) -> subprocess.CompletedProcess:
        """Run pip; retry when the failure looks like the network, not like the resolver."""
        result = None
        for attempt in range(tries):
            result = self.pip(*args, **kwargs)
            text = result.stdout + result.stderr
            if (ok(result) if ok else result.returncode == 0) or not _looks_like_network(text):
                return result
            time.sleep(2 * (attempt + 1))
        return result

    def installed(self) -> Dict[str, str]:
        """name (lower-case) -> version, as pip lists them."""
        out = self.pip("list", "--format=json", check=True)
        return {item["name"].lower(): item["version"] for item in json.loads(out.stdout)}


def _looks_like_network(text: str) -> bool:
    markers = ("NewConnectionError", "Connection refused", "Read timed out", "Temporary failure in name",
               "ConnectTimeout", "Max retries exceeded", "ProxyError", "SSLError", "RemoteDisconnected")
    return any(m in text for m in markers)


@pytest.fixture
def make_venv(tmp_path) -> Callable[[str], Venv]:
    def factory(version: str, name: str = "venv") -> Venv:
        return Venv(str(tmp_path / ("%s-%s" % (name, version))), pyenv_python(version))

    return factory


def run_pinguard(*args: str, stdin: str = "", env: Optional[Dict[str, str]] = None,
                 python: str = sys.executable) -> subprocess.CompletedProcess:
    """`python -m pinguard ARGS` in a subprocess, as a user runs it (from the source tree)."""
    extra = {"PYTHONPATH": ROOT}
    extra.update(env or {})
    return subprocess.run([python, "-m", "pinguard"] + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=hermetic_env(extra), cwd=ROOT,
                          timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int = 2, contains: str = "") -> None:
    """Bad input: exit `code`, exactly one line on stderr, no traceback, nothing on stdout."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not PROGRESS.match(line)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pinguard: error:"), lines[0]
    assert contains in lines[0], (contains, lines[0])
    assert result.stdout == "", result.stdout


def fixture_path(name: str) -> str:
    """A file of tests/fixtures/ (the tests carry their own data; ../shared is read only by bench/)."""
    return os.path.join(FIXTURES, name)


def pip_list_lines(text: str) -> List[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
