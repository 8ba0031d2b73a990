"""Real pip (and uv) in real virtual environments obey the files in constraints/.

Never downloads a torch wheel: torchvision is resolved with --no-deps, setuptools on its own.
"""

import glob
import os

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.network, pytest.mark.slow]
CONSTRAINTS = os.path.join(ROOT, "constraints")


def downloaded(directory):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(str(directory), "*")))


def test_python_3_7_old_pip_refuses_new_setuptools_and_picks_the_paired_torchvision(make_venv, network, tmp_path):
    venv = make_venv("3.7")
    pip_version = venv.pip("--version").stdout
    assert pip_version.startswith("pip 2"), pip_version  # the interpreter's own old pip (22.0.x here)
    constraints = os.path.join(CONSTRAINTS, "torch-1.10.0-cu102.txt")
    before = venv.installed()

    refused = venv.pip_retrying("install", "setuptools==60.0.0", "-c", constraints,
                                ok=lambda r: "conflict" in (r.stdout + r.stderr).lower())
    assert refused.returncode != 0, refused.stdout
    assert "setuptools" in refused.stdout + refused.stderr
    assert venv.installed() == before  # nothing changed

    target = tmp_path / "dl"
    picked = venv.pip_retrying("download", "--no-deps", "-d", str(target), "setuptools>=50", "torchvision",
                               "-c", constraints)
    assert picked.returncode == 0, picked.stderr
    files = downloaded(target)
    assert any(f.startswith("setuptools-59.5.0") for f in files), files
    assert any(f.startswith("torchvision-0.11.1-cp37") for f in files), files


def test_current_python_and_pip_dry_run(make_venv, network):
    venv = make_venv("3.11")
    constraints = os.path.join(CONSTRAINTS, "torch-2.1.0-cu121.txt")
    result = venv.pip_retrying("install", "--dry-run", "--no-deps", "torchvision", "-c", constraints)
    assert result.returncode == 0, result.stderr
    assert "Would install torchvision-0.16.0" in result.stdout
    refused = venv.pip_retrying("install", "--dry-run", "setuptools==70.0.0", "-c", constraints,
                                ok=lambda r: "conflict" in (r.stdout + r.stderr).lower())
    assert refused.returncode != 0
    assert "setuptools" in refused.stdout + refused.stderr


def test_uv_obeys_the_same_file(make_venv, network, tmp_path):
    tools = make_venv("3.11", name="tools")
    installed = tools.pip_retrying("install", "uv")
    if installed.returncode != 0:
        pytest.fail("cannot install uv from PyPI: %s" % installed.stderr[-500:])
    uv = os.path.join(tools.path, "bin", "uv")
    target = make_venv("3.11", name="target")
    constraints = os.path.join(CONSTRAINTS, "torch-2.1.0-cu121.txt")
    env = {"UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    result = target.run(uv, "pip", "install", "--dry-run", "--no-deps", "--python", target.python,
                        "torchvision", "-c", constraints, env=env)
    assert result.returncode == 0, result.stderr
    assert "torchvision==0.16.0" in result.stderr + result.stdout
    refused = target.run(uv, "pip", "install", "--dry-run", "--python", target.python, "setuptools==70.0.0",
                         "-c", constraints, env=env)
    assert refused.returncode != 0
    assert "setuptools" in refused.stderr
