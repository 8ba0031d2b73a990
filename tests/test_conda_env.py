"""`pinguard init --prefix` for conda environments, as it ships (adapters/protect.py with adapters/conda_env.py):
conda-meta/pinned, the guard table, the UV_CONSTRAINT activation scripts, and an exact undo."""

import json
import os
import shutil
import subprocess

import pytest

from pinguard.adapters import conda_env, install_state, protect
from pinguard.conda_spec import parse_matchspec
from pinguard.errors import BadInput, ImpossibleAnchor
from pinguard.sources import conda_meta
from tests.conda_fixtures import BASE_ENV, make_env

ANCHORS = ["torch==1.10.0+cu113", "numpy==1.19.5"]
USER_PINNED = b"# my own pins\r\nopenssl 1.1.1*\n"


def init(prefix, anchors=ANCHORS):
    """`pinguard init ANCHORS --prefix PREFIX`, in process."""
    return protect.init(anchors, None, None, False, [], prefix=prefix)


def undo(prefix):
    """`pinguard init --undo --prefix PREFIX`: (restored paths, paths edited since init)."""
    _, _, restored, edited = protect.undo(None, prefix)
    return restored, edited


@pytest.fixture
def prefix(tmp_path):
    path = make_env(str(tmp_path / "echofusion"))
    with open(os.path.join(path, "conda-meta", "pinned"), "wb") as handle:
        handle.write(USER_PINNED)
    return path


def snapshot(root):
    files = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, root)] = handle.read()
    dirs = sorted(os.path.relpath(d, root) for d, _, _ in os.walk(root))
    return files, dirs


def test_init_pins_the_anchor_in_condas_own_terms(prefix):
    init(prefix)
    with open(os.path.join(prefix, "conda-meta", "pinned"), "rb") as handle:
        text = handle.read()
    assert text.startswith(USER_PINNED), "the user's own pins stay first, byte for byte"
    specs = {s.name: s for s in (parse_matchspec(l) for l in conda_meta.read_pinned(prefix))}
    assert (specs["pytorch"].version, specs["pytorch"].build) == ("1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0")
    assert (specs["numpy"].version, specs["numpy"].build) == ("1.19.5", "py37h3e96413_3")
    assert specs["cudatoolkit"].version == "11.3.*" and specs["setuptools"].version == "<59.6"
    assert specs["torchvision"].version == "0.11.1" and specs["openssl"].version == "1.1.1.*"
    guard = json.load(open(os.path.join(prefix, "etc", "pinguard", "guard.json")))
    assert guard["anchors"] == ANCHORS and guard["python"] == "3.7"
    assert guard["cuda"]["major"] == 11 and guard["cuda"]["minor"] == 3
    state = conda_meta.read_anchor_file(prefix)
    assert state["requirements"] == ANCHORS and state["python"] == "3.7"


def test_pip_constraints_drop_the_label_of_condas_torch(tmp_path):
    entries = [e for e in BASE_ENV if e[0] not in ("torchvision", "torchaudio")]
    prefix = make_env(str(tmp_path / "env"), entries)
    init(prefix)
    lines = open(install_state.constraints_path(prefix)).read().splitlines()
    assert any(l.startswith("torch==1.10.0 ") and "installed by conda" in l for l in lines)
    assert any(l.startswith("torchvision==0.11.1+cu113") for l in lines), "not installed: the labelled build"


def test_init_records_condas_files_in_its_own_transaction(prefix):
    result = init(prefix)
    roles = {f.role: f.path for f in result.state.files}
    assert {"conda-pinned", "conda-guard", "conda-activate", "conda-deactivate"} <= set(roles)
    assert roles["conda-activate"] == os.path.join(prefix, "etc", "conda", "activate.d", "pinguard-uv.sh")
    assert all(path.startswith(prefix) for path in roles.values())
    assert not any(path.endswith("pinguard.toml") for path in roles.values()), "pinguard.toml is the record itself"


def test_undo_restores_every_file_byte_for_byte(prefix):
    before = snapshot(prefix)
    init(prefix)
    assert snapshot(prefix) != before
    undo(prefix)
    assert snapshot(prefix) == before


def test_a_second_init_then_undo_still_restores_the_state_before_the_first(prefix):
    before = snapshot(prefix)
    init(prefix)
    init(prefix, ["torch==1.10.0+cu113"])
    with open(os.path.join(prefix, "conda-meta", "pinned"), "rb") as handle:
        assert handle.read().count(conda_env.BEGIN.encode()) == 1
    undo(prefix)
    assert snapshot(prefix) == before


def test_undo_names_what_the_user_changed_since_and_restores_the_original(prefix):
    init(prefix)
    pinned = os.path.join(prefix, "conda-meta", "pinned")
    with open(pinned, "ab") as handle:
        handle.write(b"scipy 1.7.*\n")
    restored, edited = undo(prefix)
    with open(pinned, "rb") as handle:
        assert handle.read() == USER_PINNED
    assert edited == [pinned] and pinned in restored


def _bash(script_body, environment):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    return subprocess.run([bash, "-c", script_body], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=environment, check=True).stdout


@pytest.mark.parametrize("old", [None, "/home/me/mine.txt"])
def test_activation_sets_and_deactivation_restores_uv_constraint(prefix, old):
    init(prefix)
    on, off = conda_env.activation_scripts(prefix)
    constraints = install_state.constraints_path(prefix)
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if old is not None:
        environment.update(UV_CONSTRAINT=old, PIP_CONSTRAINT=old)
    show = 'echo "${UV_CONSTRAINT-<unset>}|${PIP_CONSTRAINT-<unset>}"'
    out = _bash(". %s; %s; . %s; %s" % (on, show, off, show), environment)
    active, after = out.strip().splitlines()
    unset_or_old = old or "<unset>"
    assert active == "%s|%s" % ((old + " " if old else "") + constraints, unset_or_old), "pip reads pip.conf"
    assert after == "%s|%s" % (unset_or_old, unset_or_old)


def test_init_refuses_an_environment_that_contradicts_the_anchor(prefix):
    before = snapshot(prefix)
    with pytest.raises(ImpossibleAnchor) as info:
        init(prefix, ["torch==1.10.0+cpu"])
    assert "pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0 (CUDA 11.3), which is not torch==1.10.0+cpu" in str(info.value)
    assert snapshot(prefix) == before, "nothing written"


def test_a_python_that_is_not_the_environments_is_refused(prefix):
    from packaging.version import Version

    from pinguard import kb as kb_module
    from pinguard.model import Anchor

    with pytest.raises(BadInput) as info:
        conda_env.init_changes(kb_module.load(), prefix, [Anchor.parse(a) for a in ANCHORS], Version("3.8"), None,
                               install_state.constraints_path(prefix))
    assert "--python 3.8, but the environment %s has Python 3.7" % prefix in str(info.value)


def test_init_protects_an_environment_without_python(tmp_path):
    entries = [e for e in BASE_ENV if e[0] in ("cudatoolkit", "_libgcc_mutex", "libgcc-ng")]
    prefix = make_env(str(tmp_path / "cuda-only"), entries, dists=())
    init(prefix, ["cudatoolkit==11.3.1"])
    specs = {s.name: s for s in (parse_matchspec(l) for l in conda_meta.read_pinned(prefix))}
    assert specs["cudatoolkit"].build == "h2bc3f7f_2"
    assert conda_meta.read_anchor_file(prefix)["python"] is None


def test_not_a_conda_environment(tmp_path):
    with pytest.raises(BadInput) as info:
        init(str(tmp_path))
    assert "has no Python interpreter (bin/python) and is not a conda environment" in str(info.value)
