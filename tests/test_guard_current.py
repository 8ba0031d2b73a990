"""The same scenarios on a current Python (3.11) with the newest pip, and with uv installed from PyPI.

numpy 1.19.5 and torch 1.10.0 have no Python 3.11 wheels, so the anchors are their current counterparts:
numpy 1.26.4 (another numpy refused), torch 2.1.0 (its rule `setuptools<70`, pytorch's
`from pkg_resources import packaging`, refuses setuptools 70.0.0).
"""

import json
import os

import pytest

from tests.guard_helpers import new_venv, no_traceback, pinguard, require_network, uv_tool, site_packages, text, tree_hashes

pytestmark = [pytest.mark.network, pytest.mark.slow]


def newest_pip(venv) -> str:
    result = venv.pip_retrying("install", "--upgrade", "pip")
    assert result.returncode == 0, result.stderr[-2000:]
    return venv.pip("--version").stdout.split()[1]


@pytest.fixture(scope="module")
def uv(tmp_path_factory):
    return uv_tool(tmp_path_factory)


@pytest.fixture(scope="module")
def numpy_env(tmp_path_factory):
    require_network()
    venv = new_venv(tmp_path_factory, "3.11", "np311")
    version = newest_pip(venv)
    assert int(version.split(".")[0]) >= 26, version
    result = venv.pip_retrying("install", "numpy==1.26.4")
    assert result.returncode == 0, result.stderr[-2000:]
    init = pinguard("init", "numpy==1.26.4", "--python", venv.python)
    assert init.returncode == 0, text(init)
    return venv


@pytest.fixture(scope="module")
def torch_env(tmp_path_factory):
    require_network()
    venv = new_venv(tmp_path_factory, "3.11", "t311")
    newest_pip(venv)
    project = str(tmp_path_factory.mktemp("project"))
    with open(os.path.join(project, "pyproject.toml"), "w") as handle:
        handle.write("[project]\nname = \"demo\"\nversion = \"0\"\n")
    before = tree_hashes(venv.path), tree_hashes(project)
    init = pinguard("init", "torch==2.1.0", "--hook", "--project", project, "--python", venv.python)
    assert init.returncode == 0, text(init)
    return venv, project, before


def test_numpy_anchor_guarded_and_plain(numpy_env):
    venv = numpy_env
    site = site_packages(venv)
    before = tree_hashes(site)
    guarded = pinguard("pip", "install", "--python", venv.python, "numpy==2.0.0")
    assert guarded.returncode == 1, text(guarded)
    no_traceback(guarded)
    plain = venv.pip_retrying("install", "numpy==2.0.0", ok=lambda r: "conflict" in text(r).lower())
    assert plain.returncode != 0
    assert venv.installed()["numpy"] == "1.26.4"
    assert tree_hashes(site) == before
    allowed = pinguard("pip", "install", "--python", venv.python, "six")
    assert allowed.returncode == 0, text(allowed)
    assert "six" in venv.installed()


def test_report_method_installs_the_judged_plan(numpy_env):
    venv = numpy_env
    env = {"PINGUARD_PIP_METHOD": "report"}
    site = site_packages(venv)
    before = tree_hashes(site)
    refused = pinguard("pip", "install", "--python", venv.python, "numpy>=2", env=env)
    assert refused.returncode == 1, text(refused)
    assert tree_hashes(site) == before
    result = pinguard("pip", "install", "--python", venv.python, "--json", "six==1.16.0", env=env)
    assert result.returncode == 0, text(result)
    payload = json.loads(result.stdout)
    assert payload["method"] == "report" and payload["installed"] is True
    assert venv.installed()["six"] == "1.16.0"


def test_doctor_json(numpy_env):
    venv = numpy_env
    result = pinguard("doctor", "--python", venv.python, "--json")
    assert result.returncode == 0, text(result)
    payload = json.loads(result.stdout)
    codes = {f["code"] for f in payload["findings"]}
    assert {"protected", "anchor-ok", "torch", "no-gpu"} <= codes
    assert payload["anchors"] == ["numpy==1.26.4"]


def test_torch_anchor_refuses_setuptools_70_everywhere(torch_env):
    venv, _, _ = torch_env
    site = site_packages(venv)
    before = tree_hashes(site)
    plain = venv.pip_retrying("install", "setuptools==70.0.0", ok=lambda r: "conflict" in text(r).lower())
    assert plain.returncode != 0 and "setuptools<70" in text(plain)
    guarded = pinguard("pip", "install", "--python", venv.python, "setuptools==70.0.0")
    assert guarded.returncode == 1, text(guarded)
    assert "[setuptools70-pkg-resources-packaging]" in guarded.stdout
    assert "source:   https://" in guarded.stdout
    hooked = venv.pip_retrying("install", "setuptools==70.0.0", env={"PIP_CONFIG_FILE": os.devnull},
                               ok=lambda r: "pinguard" in text(r))
    assert hooked.returncode == 1 and "pinguard refused this install" in hooked.stderr
    assert tree_hashes(site) == before


def test_anchor_need_not_be_installed(torch_env):
    venv, _, _ = torch_env
    for request, wanted in (("torch", "torch-2.1.0"), ("torchvision", "torchvision-0.16.0")):
        result = venv.pip_retrying("install", "--dry-run", "--no-deps", request)
        assert result.returncode == 0, text(result)
        assert "Would install %s" % wanted in result.stdout, result.stdout


def test_uv_is_held_too(torch_env, numpy_env, uv):
    venv, project, _ = torch_env
    site = site_packages(venv)
    before = tree_hashes(site)
    env = {"PINGUARD_UV": uv, "UV_CACHE_DIR": os.path.join(os.path.dirname(uv), "..", "uv-cache")}
    guarded = pinguard("uv", "pip", "install", "--python", venv.python, "setuptools==70.0.0", env=env)
    assert guarded.returncode == 1, text(guarded)
    assert "[setuptools70-pkg-resources-packaging]" in guarded.stdout
    activate = os.path.join(venv.path, "bin", "activate")
    script = 'source "%s" && echo "UV_CONSTRAINT=$UV_CONSTRAINT" && "%s" pip install setuptools==70.0.0; code=$?; ' \
             'deactivate; echo "after=${UV_CONSTRAINT-unset}"; exit $code' % (activate, uv)
    plain = venv.run("bash", "-c", script, env=env)
    assert plain.returncode != 0, text(plain)
    assert "UV_CONSTRAINT=%s" % os.path.join(venv.path, "pinguard-constraints.txt") in plain.stdout
    assert "after=unset" in plain.stdout
    in_project = venv.run(uv, "pip", "install", "--dry-run", "--python", venv.python, "setuptools==70.0.0",
                          env=env)
    assert in_project.returncode == 0  # outside the project, nothing tells uv
    project_run = venv.run("bash", "-c", 'cd "%s" && "%s" pip install --dry-run --python "%s" setuptools==70.0.0' % (
        project, uv, venv.python), env=env)
    assert project_run.returncode != 0 and "setuptools<70" in text(project_run)
    assert tree_hashes(site) == before
    allowed = pinguard("uv", "pip", "install", "--python", venv.python, "six", env=env)
    assert allowed.returncode == 0, text(allowed)
    assert "six" in venv.installed()
    np_env = numpy_env
    numpy = pinguard("uv", "pip", "install", "--python", np_env.python, "numpy==2.0.0", env=env)
    assert numpy.returncode == 1 and np_env.installed()["numpy"] == "1.26.4"


def test_undo_restores_every_file_byte_for_byte(torch_env):
    """Runs last: restores the venv and the project's files, after the installs above (whose files differ)."""
    venv, project, (venv_before, project_before) = torch_env
    result = pinguard("init", "--undo", "--python", venv.python)
    assert result.returncode == 0, text(result)
    after = tree_hashes(venv.path)
    site = os.path.relpath(site_packages(venv), venv.path)
    changed = {p for p in set(venv_before) | set(after) if venv_before.get(p) != after.get(p)}
    # what differs is what was installed on purpose (six, by pip and by uv) and uv's own lock file
    assert all((p.startswith(site + os.sep) and "six" in p) or p == ".lock" for p in changed), sorted(changed)
    assert not any(p.startswith("pinguard") or "pinguard" in p for p in after)
    assert tree_hashes(project) == project_before
