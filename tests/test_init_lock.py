"""`pinguard init` / `init --undo` under concurrency, and what they do to symlinks: real venvs, real pip (3.7, 3.11).

Five inits started together on one environment used to leave pip.conf, the activate script and the constraints
file changed for good after `--undo` (the second init saved the first one's output as the original; with
`--hook` the hook stayed). One lock per environment serialises them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pinguard.adapters.env_lock import environment_lock, lock_path
from tests.conftest import ROOT, assert_one_line_error, hermetic_env
from tests.guard_helpers import pinguard, site_packages, text, tree_hashes

pytestmark = pytest.mark.slow

ANCHORS = ["numpy==1.19.5", "six==1.16.0", "numpy==1.19.5", "yapf<0.40.2", "setuptools<59.6"]


def _start_init(venv, anchor: str, hook: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "pinguard", "init", anchor, "--python", venv.python] + (["--hook"] if hook else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            env=hermetic_env({"PYTHONPATH": ROOT}), cwd=ROOT)


@pytest.mark.parametrize("version", ["3.7", "3.11"])
def test_concurrent_inits_then_undo_restore_the_true_originals(make_venv, version):
    venv = make_venv(version)
    before = tree_hashes(venv.path)
    processes = [_start_init(venv, anchor, hook=index % 2 == 0) for index, anchor in enumerate(ANCHORS)]
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, out + err
    assert os.path.exists(os.path.join(site_packages(venv), "pinguard-hook.pth"))
    assert not os.path.exists(lock_path(venv.path))  # released and removed
    undo = pinguard("init", "--undo", "--python", venv.python)
    assert undo.returncode == 0, text(undo)
    assert tree_hashes(venv.path) == before


def test_a_held_lock_makes_init_wait_then_give_up_with_one_line(make_venv):
    venv = make_venv("3.11")
    before = tree_hashes(venv.path)
    with environment_lock(venv.path, timeout=5):
        result = pinguard("init", "numpy==1.19.5", "--python", venv.python, env={"PINGUARD_LOCK_TIMEOUT": "1"})
    assert_one_line_error(result, 2, "still holds %s" % lock_path(venv.path))
    assert "pid %d" % os.getpid() in result.stderr
    assert tree_hashes(venv.path) == before


def test_init_and_undo_keep_a_symlinked_pip_conf_a_symlink(make_venv, tmp_path):
    venv = make_venv("3.11")
    shared = tmp_path / "pip-shared.conf"
    original = b"[global]\ntimeout = 60\n"
    shared.write_bytes(original)
    conf = os.path.join(venv.path, "pip.conf")
    os.symlink(str(shared), conf)
    init = pinguard("init", "numpy==1.19.5", "--python", venv.python)
    assert init.returncode == 0, text(init)
    assert os.path.islink(conf) and b"constraint" in shared.read_bytes()
    undo = pinguard("init", "--undo", "--python", venv.python)
    assert undo.returncode == 0, text(undo)
    assert os.path.islink(conf) and os.readlink(conf) == str(shared)
    assert shared.read_bytes() == original


def test_init_refuses_a_pip_conf_that_is_a_fifo(make_venv):
    venv = make_venv("3.11")
    conf = os.path.join(venv.path, "pip.conf")
    os.mkfifo(conf)
    result = pinguard("init", "numpy==1.19.5", "--python", venv.python)
    assert result.returncode == 2 and "a FIFO (named pipe), not a regular file" in result.stderr, text(result)
    assert not os.path.exists(os.path.join(venv.path, "pinguard.toml"))
