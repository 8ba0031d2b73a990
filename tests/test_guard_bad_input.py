"""Bad input to init, pip install, uv pip install, doctor: one line, a non-zero exit, no traceback, and no file
half-written (every environment is hashed before and after)."""

import os
import subprocess
import sys

import pytest

from tests.conftest import assert_one_line_error
from tests.guard_helpers import no_traceback, pinguard, site_packages, text, tree_hashes


@pytest.fixture
def bare(tmp_path):
    """A virtual environment without pip (made in a blink from the test interpreter)."""
    path = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return str(path), os.path.join(str(path), "bin", "python")


@pytest.mark.parametrize("argv", [
    ["init", "numpy==1.19.5", "--python", "/nonexistent/bin/python"],
    ["init", "--undo", "--python", "/nonexistent/bin/python"],
    ["doctor", "--python", "/nonexistent/bin/python"],
    ["pip", "install", "--python", "/nonexistent/bin/python", "six"],
    ["uv", "pip", "install", "--python", "/nonexistent/bin/python", "six"],
])
def test_unknown_interpreter(argv):
    assert_one_line_error(pinguard(*argv), 2, "no Python interpreter at /nonexistent/bin/python")


def test_not_a_python():
    assert_one_line_error(pinguard("doctor", "--python", "/bin/false"), 2, "not a working Python")


@pytest.mark.parametrize("argv, message", [
    (["pip"], "usage: pinguard pip install"),
    (["pip", "uninstall", "numpy"], "guards `install` only"),
    (["uv", "install", "six"], "uv pip install"),
    (["pip", "install"], "give something to install"),
    (["pip", "install", "--target", "/tmp/x", "six"], "--target installs outside the environment"),
    (["pip", "install", "six", "--python"], "--python needs a path"),
    (["init", "--undo", "torch==1.10.0"], "--undo takes no anchors"),
    (["init", "torch==1.10.0", "--cuda", "cu999x"], "unknown build"),
])
def test_bad_command_lines(argv, message):
    assert_one_line_error(pinguard(*argv), 2, message)


def test_impossible_anchor_for_the_environment(bare):
    prefix, python = bare
    before = tree_hashes(prefix)
    assert_one_line_error(pinguard("init", "torch==1.4.0", "--python", python), 2, "has no wheels for Python")
    assert tree_hashes(prefix) == before


def test_nothing_recorded(bare):
    prefix, python = bare
    assert_one_line_error(pinguard("init", "--python", python), 2, "give the anchor")
    assert_one_line_error(pinguard("init", "--undo", "--python", python), 2, "nothing to undo")


def test_pip_missing(bare):
    prefix, python = bare
    before = tree_hashes(prefix)
    assert_one_line_error(pinguard("pip", "install", "--python", python, "six"), 2, "pip is not installed in")
    assert tree_hashes(prefix) == before


def test_unwritable_prefix(bare):
    prefix, python = bare
    os.mkdir(os.path.join(prefix, "pinguard-constraints.txt"))  # a directory where init must write a file
    before = tree_hashes(prefix)
    assert_one_line_error(pinguard("init", "numpy==1.19.5", "--python", python), 2, "pinguard-constraints.txt")
    assert tree_hashes(prefix) == before and not os.path.exists(os.path.join(prefix, "pinguard.toml"))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes through file modes")
def test_read_only_prefix(bare):
    prefix, python = bare
    before = tree_hashes(prefix)
    os.chmod(prefix, 0o555)
    try:
        assert_one_line_error(pinguard("init", "numpy==1.19.5", "--python", python), 2, "cannot write")
    finally:
        os.chmod(prefix, 0o755)
    assert tree_hashes(prefix) == before


def test_a_write_failing_half_way_leaves_every_file_as_it_was(bare):
    """A conda-like prefix whose etc/conda is a file: init has written pinguard.toml, the constraints and pip.conf
    by the time it fails, and must put them all back."""
    prefix, python = bare
    os.mkdir(os.path.join(prefix, "conda-meta"))
    os.mkdir(os.path.join(prefix, "etc"))
    with open(os.path.join(prefix, "etc", "conda"), "w") as handle:
        handle.write("not a directory\n")
    with open(os.path.join(prefix, "pip.conf"), "w") as handle:
        handle.write("[global]\ntimeout = 5\n")
    before = tree_hashes(prefix)
    assert_one_line_error(pinguard("init", "numpy==1.19.5", "--python", python), 2, "cannot create")
    assert tree_hashes(prefix) == before


def test_corrupt_pinguard_toml(bare):
    prefix, python = bare
    state = os.path.join(prefix, "pinguard.toml")
    with open(state, "w") as handle:
        handle.write("anchors = [\"numpy==1.19.5\"\n")
    before = tree_hashes(prefix)
    for argv in (["init", "numpy==1.19.5"], ["init"], ["init", "--undo"], ["doctor"]):
        assert_one_line_error(pinguard(*argv, "--python", python), 2, "pinguard.toml is corrupt")
    assert tree_hashes(prefix) == before


def test_corrupt_pip_conf(bare):
    prefix, python = bare
    with open(os.path.join(prefix, "pip.conf"), "w") as handle:
        handle.write("[install\nconstraint = /x\n")
    before = tree_hashes(prefix)
    assert_one_line_error(pinguard("init", "numpy==1.19.5", "--python", python), 2,
                          "pip.conf is not a valid pip configuration file")
    assert_one_line_error(pinguard("doctor", "--python", python), 2, "pip.conf is not a valid pip configuration")
    assert_one_line_error(pinguard("pip", "install", "--python", python, "six"), 2,
                          "pip.conf is not a valid pip configuration")
    assert tree_hashes(prefix) == before


def test_corrupt_pinguard_toml_stops_a_guarded_install(make_venv):
    venv = make_venv("3.11")
    with open(os.path.join(venv.path, "pinguard.toml"), "w") as handle:
        handle.write("format = 1\nanchors = 7\n")
    before = tree_hashes(site_packages(venv))
    assert_one_line_error(pinguard("pip", "install", "--python", venv.python, "six"), 2, "pinguard.toml is corrupt")
    assert tree_hashes(site_packages(venv)) == before


def test_no_network(make_venv):
    """pip cannot reach its index: pip's own messages, then one pinguard line; pip's exit code; nothing changed."""
    venv = make_venv("3.11")
    before = tree_hashes(site_packages(venv))
    offline = {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0",
               "PIP_TIMEOUT": "2", "PIP_NO_CACHE_DIR": "1"}
    result = pinguard("pip", "install", "--python", venv.python, "six", env=offline)
    assert result.returncode != 0, text(result)
    no_traceback(result)
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("pinguard: error: pip failed before installing anything (exit 1)"), result.stderr
    assert tree_hashes(site_packages(venv)) == before
