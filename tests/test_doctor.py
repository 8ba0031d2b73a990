"""`pinguard doctor` on real environments: a Python 3.7 venv with the classic traps planted (a torch build mix,
pip over a conda-recorded package, a dist-info without RECORD, a `pip check` conflict), and Python 3.6."""

import json
import os

import pytest

from tests.guard_helpers import no_traceback, pinguard, site_packages, text

pytestmark = [pytest.mark.slow]


def plant(site, name, version, requires=(), record=True, files=None):
    dist = os.path.join(site, "%s-%s.dist-info" % (name, version))
    os.makedirs(dist)
    with open(os.path.join(dist, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version))
        for requirement in requires:
            handle.write("Requires-Dist: %s\n" % requirement)
        handle.write("\n")
    with open(os.path.join(dist, "INSTALLER"), "w") as handle:
        handle.write("pip\n")
    if record:
        with open(os.path.join(dist, "RECORD"), "w") as handle:
            handle.write("")
    for path, content in (files or {}).items():
        os.makedirs(os.path.dirname(os.path.join(site, path)), exist_ok=True)
        with open(os.path.join(site, path), "w") as handle:
            handle.write(content)


def test_doctor_finds_the_traps_and_names_the_fixes(make_venv):
    venv = make_venv("3.7")
    site = site_packages(venv)
    plant(site, "torch", "1.10.0+cu113", files={"torch/version.py": "__version__ = '1.10.0+cu113'\n"
                                                                     "cuda = '11.3'\nhip = None\n"})
    plant(site, "torchvision", "0.11.1+cu102", requires=["torch==1.10.0"])
    plant(site, "demo", "1.0", requires=["yapf<0.40", "missing-thing"])
    plant(site, "yapf", "0.40.2")
    plant(site, "scipy", "1.7.3", record=False)
    plant(site, "numpy", "1.21.6")
    os.mkdir(os.path.join(venv.path, "conda-meta"))
    with open(os.path.join(venv.path, "conda-meta", "numpy-1.19.2-py37h6de7cb9_0.json"), "w") as handle:
        handle.write("{}")
    result = pinguard("doctor", "--python", venv.python)
    no_traceback(result)
    assert result.returncode == 1, text(result)
    out = result.stdout
    for needle in ("[cuda-build-mix]", "torch 1.10.0+cu113, build cu113, CUDA 11.3", "torchvision 0.11.1+cu102",
                   "[pip-over-conda] numpy: conda installed 1.19.2, pip installed 1.21.6",
                   "[no-record] scipy 1.7.3 has no RECORD", "[pip-check] demo 1.0 has requirement yapf<0.40",
                   "no GPU seen", "[not-protected]", 'fix: pinguard pip install --python %s "yapf<0.40"' % venv.python,
                   "fix: pip uninstall -y numpy && conda install --force-reinstall numpy=1.19.2"):
        assert needle in out, (needle, out)
    payload = json.loads(pinguard("doctor", "--python", venv.python, "--json").stdout)
    assert payload["errors"] >= 1 and all("fix" in f for f in payload["findings"])


def test_python_3_6_is_read_protected_and_restored(make_venv):
    """Python 3.6 (its pip 18.1): doctor reads it, init protects it, a guarded install judges what is requested
    (this pip predates the resolver seam), and --undo restores every file."""
    venv = make_venv("3.6")
    result = pinguard("doctor", "--python", venv.python)
    no_traceback(result)
    assert result.returncode == 0, text(result)
    assert "(Python 3.6." in result.stdout and "[not-protected]" in result.stdout
    from tests.guard_helpers import tree_hashes

    before = tree_hashes(venv.path)
    init = pinguard("init", "torch==1.10.0", "--python", venv.python)
    assert init.returncode == 0, text(init)
    refused = pinguard("pip", "install", "--python", venv.python, "setuptools==60.0.0")
    assert refused.returncode == 1 and "[setuptools-distutils-version]" in refused.stdout, text(refused)
    hook = pinguard("init", "--hook", "--python", venv.python)
    assert hook.returncode == 2 and "--hook needs pip 20.3 or newer" in hook.stderr
    assert pinguard("init", "--undo", "--python", venv.python).returncode == 0
    assert tree_hashes(venv.path) == before
