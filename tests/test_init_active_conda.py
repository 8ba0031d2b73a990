"""`pinguard init ANCHOR --prefix` with no path protects the active conda environment (CONDA_PREFIX)."""

import os

from tests.conftest import assert_one_line_error, run_pinguard


def _files(root):
    found = {}
    for base, _, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, str(root))] = handle.read()
    return found


def test_prefix_alone_means_conda_prefix_and_undo_restores_it(tmp_path):
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").write_text("==> 2026-01-01 <==\n")
    before = _files(prefix)
    env = {"CONDA_PREFIX": str(prefix)}
    result = run_pinguard("init", "numpy==1.19.5", "--prefix", env=env)
    assert result.returncode == 0, result.stderr
    assert (prefix / "pinguard.toml").exists()
    pinned = (prefix / "conda-meta" / "pinned").read_text()
    assert "numpy" in pinned and "1.19.5" in pinned
    undone = run_pinguard("init", "--undo", "--prefix", env=env)
    assert undone.returncode == 0, undone.stderr
    assert _files(prefix) == before


def test_prefix_alone_without_an_active_conda_environment_is_bad_input():
    result = run_pinguard("init", "numpy==1.19.5", "--prefix", env={"CONDA_PREFIX": ""})
    assert_one_line_error(result, 2, "CONDA_PREFIX is not set")
