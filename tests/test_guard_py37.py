"""Guarded installs on Python 3.7 with its own pip (22.0.4): the issue's "Done when" scenarios, for real.

- numpy 1.19.5 installed, `pinguard init numpy==1.19.5` run by the pinguard installed in that venv;
- `pinguard init torch==1.10.0 --hook` in a venv without torch, run from outside with --python;
- a plan refused only after pip resolved it (a rule triggered by an installed package), and --rewrite.
Every refusal is checked against a hash of site-packages taken before it.
"""

import os

import pytest

from tests.guard_helpers import (in_venv, install_pinguard, new_venv, no_traceback, pinguard, require_network,
                                 site_packages, text, tree_hashes)

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture(scope="module")
def numpy_env(tmp_path_factory):
    require_network()
    venv = new_venv(tmp_path_factory, "3.7", "np37")
    assert venv.pip("--version").stdout.startswith("pip 22.0"), "Python 3.7's own pip expected"
    install_pinguard(venv)
    result = venv.pip_retrying("install", "numpy==1.19.5")
    assert result.returncode == 0, result.stderr[-2000:]
    init = in_venv(venv, "init", "numpy==1.19.5")
    assert init.returncode == 0, text(init)
    return venv


@pytest.fixture(scope="module")
def torch_env(tmp_path_factory):
    require_network()
    venv = new_venv(tmp_path_factory, "3.7", "t37")
    before = tree_hashes(venv.path)
    init = pinguard("init", "torch==1.10.0", "--hook", "--python", venv.python)
    assert init.returncode == 0, text(init)
    return venv, before


def test_guarded_install_of_another_numpy_is_refused_and_changes_nothing(numpy_env):
    venv = numpy_env
    before = tree_hashes(site_packages(venv))
    result = in_venv(venv, "pip", "install", "numpy==1.21.6")
    assert result.returncode == 1, text(result)
    no_traceback(result)
    assert "[anchor-changed]" in result.stdout and "numpy==1.19.5" in result.stdout
    assert venv.installed()["numpy"] == "1.19.5"
    assert tree_hashes(site_packages(venv)) == before


def test_plain_pip_obeys_the_environment_pip_conf(numpy_env):
    venv = numpy_env
    before = tree_hashes(site_packages(venv))
    result = venv.pip_retrying("install", "numpy==1.21.6", ok=lambda r: "conflict" in text(r).lower())
    assert result.returncode != 0, result.stdout
    assert "conflict" in text(result).lower()
    assert venv.installed()["numpy"] == "1.19.5"
    assert tree_hashes(site_packages(venv)) == before


def test_guarded_install_of_an_unrelated_package_installs_it(numpy_env):
    venv = numpy_env
    result = in_venv(venv, "pip", "install", "six")
    assert result.returncode == 0, text(result)
    assert "pinguard: allowed" in result.stdout
    assert "six" in venv.installed()
    assert venv.installed()["numpy"] == "1.19.5"


def test_dry_run_and_json_print_the_verdict_only(numpy_env):
    venv = numpy_env
    before = tree_hashes(site_packages(venv))
    result = in_venv(venv, "pip", "install", "--dry-run", "--json", "six==1.16.0")
    assert result.returncode == 0, text(result)
    import json

    payload = json.loads(result.stdout)
    assert payload["allowed"] is True and payload["installed"] is False and payload["method"] == "session"
    assert {"name": "six", "before": venv.installed()["six"], "after": "1.16.0"} in payload["verdict"]["changes"]
    assert tree_hashes(site_packages(venv)) == before


def test_plain_pip_refuses_the_distutils_setuptools(torch_env):
    venv, _ = torch_env
    before = tree_hashes(site_packages(venv))
    result = venv.pip_retrying("install", "setuptools==60.0.0", ok=lambda r: "conflict" in text(r).lower())
    assert result.returncode != 0
    assert "setuptools<59.6" in text(result)
    assert tree_hashes(site_packages(venv)) == before


def test_guarded_install_names_the_rule_and_its_source(torch_env):
    venv, _ = torch_env
    before = tree_hashes(site_packages(venv))
    result = pinguard("pip", "install", "--python", venv.python, "setuptools==60.0.0")
    assert result.returncode == 1, text(result)
    no_traceback(result)
    assert "[setuptools-distutils-version]" in result.stdout
    assert "https://github.com/pytorch/pytorch/issues/69894" in result.stdout
    assert tree_hashes(site_packages(venv)) == before


def test_hook_judges_a_pip_that_ignores_pip_conf(torch_env):
    venv, _ = torch_env
    before = tree_hashes(site_packages(venv))
    result = venv.pip_retrying("install", "setuptools==60.0.0", env={"PIP_CONFIG_FILE": os.devnull},
                               ok=lambda r: "pinguard" in text(r))
    assert result.returncode == 1, text(result)
    assert "pinguard refused this install: [setuptools-distutils-version]" in result.stderr
    assert tree_hashes(site_packages(venv)) == before


def test_undo_restores_every_file_byte_for_byte(torch_env):
    """Runs last in this module: every install above was refused, so only init's files differ."""
    venv, before = torch_env
    assert tree_hashes(venv.path) != before
    result = pinguard("init", "--undo", "--python", venv.python)
    assert result.returncode == 0, text(result)
    assert tree_hashes(venv.path) == before


def test_a_plan_refused_after_resolution_and_rewritten(make_venv, network):
    """torch 1.10.0 is installed (its metadata only); `setuptools>=50` resolves to a setuptools the distutils rule
    forbids. No anchor, no pip.conf: the judged plan is refused; --rewrite adds setuptools<59.6 and installs."""
    venv = make_venv("3.7")
    site = site_packages(venv)
    dist = os.path.join(site, "torch-1.10.0.dist-info")
    os.makedirs(dist)
    with open(os.path.join(dist, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\nName: torch\nVersion: 1.10.0\n\n")
    with open(os.path.join(dist, "INSTALLER"), "w") as handle:
        handle.write("pip\n")
    with open(os.path.join(dist, "RECORD"), "w") as handle:
        handle.write("")
    before = tree_hashes(site)
    refused = pinguard("pip", "install", "--python", venv.python, "setuptools>=50")
    assert refused.returncode == 1, text(refused)
    assert "[setuptools-distutils-version]" in refused.stdout
    assert "pip's own resolver" in refused.stdout
    assert tree_hashes(site) == before
    rewritten = pinguard("pip", "install", "--python", venv.python, "--rewrite", "setuptools>=50")
    assert rewritten.returncode == 0, text(rewritten)
    assert "setuptools<59.6  # setuptools-distutils-version" in rewritten.stdout
    assert venv.installed()["setuptools"] == "59.5.0"


def test_report_method_needs_a_newer_pip(make_venv):
    venv = make_venv("3.7")
    result = pinguard("pip", "install", "--python", venv.python, "six", env={"PINGUARD_PIP_METHOD": "report"})
    assert result.returncode == 2, text(result)
    assert result.stderr.strip().startswith("pinguard: error: pip 22.0.4 has no --dry-run --report")
