"""`pinguard lock` against real PyPI and real installers: a Python 3.7 lock of small packages under
`torch==1.10.0` installed by the old pip of a real 3.7 venv (`--require-hashes`) and by uv; a Python 3.11 pylock
synced by uv and installed through the guard (`pinguard pip install -r pylock.toml`, pip >= 25.1); both backends
(uv, pinguard's resolver) writing the same lock, on PyPI and on the fake find-links builds."""

from __future__ import annotations

import os
import re
import sys

import pytest

from tests.conftest import run_pinguard
from tests.guard_helpers import new_venv, uv_tool
from tests.lock_fixtures import build_find_links

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = [pytest.mark.network, pytest.mark.slow]
QUIET_PIP = {"PIP_CONFIG_FILE": os.devnull}


@pytest.fixture(scope="module")
def uv(tmp_path_factory):
    return uv_tool(tmp_path_factory, env=QUIET_PIP)


def lock(tmp_path, lines, *args, uv=None, backend="pinguard", env=None):
    source = tmp_path / "requirements.in"
    source.write_text("".join(line + "\n" for line in lines))
    extra = dict(QUIET_PIP, PINGUARD_UV=uv or "off")
    extra.update(env or {})
    result = run_pinguard("lock", str(source), "--backend", backend, *args, env=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def packages(path):
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return [(p["name"], p["version"], p.get("index"), p.get("wheels"), p.get("sdist"), p.get("tool"))
            for p in data["packages"]]


def test_py37_lock_installs_with_the_old_pip_of_a_37_venv_and_with_uv(uv, tmp_path, tmp_path_factory):
    pylock, txt, pylock_uv = (str(tmp_path / n) for n in ("pylock.toml", "requirements.lock.txt", "pylock.uv.toml"))
    lock(tmp_path, ["six", "tqdm"], "--anchor", "torch==1.10.0", "--python", "3.7", "-o", pylock, "-o", txt)
    lock(tmp_path, ["six", "tqdm"], "--anchor", "torch==1.10.0", "--python", "3.7", "-o", pylock_uv, uv=uv,
         backend="uv")
    assert packages(pylock) == packages(pylock_uv)  # the same lock from both backends
    locked = {name: version for name, version, *_ in packages(pylock)}
    assert locked["setuptools"] == "59.5.0" and "torch" not in locked  # rule-forced; the anchor itself not locked
    assert {"six", "tqdm", "typing-extensions", "zipp", "importlib-metadata"} <= set(locked)

    old = new_venv(tmp_path_factory, "3.7", "pip37")
    assert old.pip("--version").stdout.split()[1].startswith("22."), "expected the 3.7 venv's own old pip"
    result = old.pip_retrying("install", "--require-hashes", "-r", txt, env=QUIET_PIP)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    installed = old.installed()
    assert all(installed.get(n.replace("-", "_"), installed.get(n)) == v for n, v in locked.items()), installed

    with_uv = new_venv(tmp_path_factory, "3.7", "uv37")
    result = with_uv.run(uv, "pip", "install", "--no-config", "-r", pylock, "--python", with_uv.python)
    assert result.returncode == 0, result.stderr[-2000:]
    assert with_uv.installed()["setuptools"] == "59.5.0"
    for path in (pylock, txt):
        check = run_pinguard("lock", "--check", path, env={"PINGUARD_OFFLINE": "1"})
        assert check.returncode == 0, check.stdout + check.stderr


def test_py311_pylock_syncs_with_uv_and_installs_through_the_guard(uv, tmp_path, tmp_path_factory):
    pylock = str(tmp_path / "pylock.toml")
    lock(tmp_path, ["six"], "--anchor", "torch==2.1.0", "--python", "3.11", "-o", pylock, uv=uv, backend="uv")
    locked = {name: version for name, version, *_ in packages(pylock)}
    assert locked == {"setuptools": "69.5.1", "six": "1.17.0"}  # setuptools70-pkg-resources-packaging

    synced = new_venv(tmp_path_factory, "3.11", "sync311")
    result = synced.run(uv, "pip", "sync", "--no-config", pylock, "--python", synced.python)
    assert result.returncode == 0, result.stderr[-2000:]
    assert {k: v for k, v in synced.installed().items() if k != "pip"} == locked

    guarded = new_venv(tmp_path_factory, "3.11", "guard311")
    assert guarded.pip_retrying("install", "--upgrade", "pip>=25.1", env=QUIET_PIP).returncode == 0
    result = run_pinguard("pip", "install", "--python", guarded.python, "--anchor", "torch==2.1.0", "-r", pylock,
                          env=QUIET_PIP)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pinguard: allowed" in result.stdout and guarded.installed()["setuptools"] == "69.5.1"

    loose = str(tmp_path / "pylock.loose.toml")  # no anchor, no rules: setuptools 70.0.0 is what was asked for
    lock(tmp_path, ["six", "setuptools==70.0.0"], "--python", "3.11", "-o", loose)
    result = run_pinguard("pip", "install", "--python", guarded.python, "--anchor", "setuptools<70", "--dry-run",
                          "-r", loose, env=QUIET_PIP)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[anchor-changed]" in result.stdout and guarded.installed()["setuptools"] == "69.5.1"


@pytest.mark.parametrize("lines,args", [
    (["torchvision==0.11.1"], ["--anchor", "torch==1.10.0+cu113"]),
    (["torch==1.10.0", "torchvision==0.11.1"], ["--anchor", "torch==1.10.0"]),
    (["torchvision"], ["--anchor", "torch==1.10.0", "--cuda", "cpu"]),
])
def test_uv_writes_the_same_family_held_lock_as_pinguards_resolver(uv, tmp_path, lines, args):
    find_links = str(tmp_path / "find-links")
    build_find_links(find_links)
    common = ["--python", "3.7", "--find-links", find_links] + args
    env = {"PIP_NO_INDEX": "1"}
    mine, theirs = str(tmp_path / "pylock.a.toml"), str(tmp_path / "pylock.b.toml")
    lock(tmp_path, lines, "-o", mine, *common, env=env)
    lock(tmp_path, lines, "-o", theirs, *common, uv=uv, backend="uv", env=env)
    assert packages(mine) == packages(theirs)
    versions = {name: version for name, version, *_ in packages(theirs)}
    label = re.sub(r"^[^+]*", "", versions["torch"])
    assert versions["torchvision"] == "0.11.1" + label and "rocm" not in label
