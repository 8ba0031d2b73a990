"""`pinguard init --prefix` for conda environments (adapters/conda_env.py): conda-meta/pinned, the guard table,
activation scripts, and an exact undo."""

import json
import os
import shutil
import subprocess

import pytest

from pinguard import kb as kb_module
from pinguard.adapters import conda_env
from pinguard.conda_spec import parse_matchspec
from pinguard.errors import BadInput, ImpossibleAnchor
from pinguard.model import Anchor
from pinguard.sources import conda_meta
from tests.conda_fixtures import BASE_ENV, make_env

ANCHORS = [Anchor.parse("torch==1.10.0+cu113"), Anchor.parse("numpy==1.19.5")]
USER_PINNED = b"# my own pins\r\nopenssl 1.1.1*\n"


@pytest.fixture
def kb():
    return kb_module.load()


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


def test_init_pins_the_anchor_in_condas_own_terms(kb, prefix):
    plan = conda_env.plan_init(kb, prefix, ANCHORS)
    conda_env.apply(plan)
    with open(os.path.join(prefix, "conda-meta", "pinned"), "rb") as handle:
        text = handle.read()
    assert text.startswith(USER_PINNED), "the user's own pins stay first, byte for byte"
    specs = {s.name: s for s in (parse_matchspec(l) for l in conda_meta.read_pinned(prefix))}
    assert (specs["pytorch"].version, specs["pytorch"].build) == ("1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0")
    assert (specs["numpy"].version, specs["numpy"].build) == ("1.19.5", "py37h3e96413_3")
    assert specs["cudatoolkit"].version == "11.3.*" and specs["setuptools"].version == "<59.6"
    assert specs["torchvision"].version == "0.11.1" and specs["openssl"].version == "1.1.1.*"
    guard = json.load(open(os.path.join(prefix, "etc", "pinguard", "guard.json")))
    assert guard["anchors"] == ["torch==1.10.0+cu113", "numpy==1.19.5"] and guard["python"] == "3.7"
    assert guard["cuda"]["major"] == 11 and guard["cuda"]["minor"] == 3
    state = conda_meta.read_anchor_file(prefix)
    assert state["requirements"] == ["torch==1.10.0+cu113", "numpy==1.19.5"]


def test_pip_constraints_drop_the_label_of_condas_torch(kb, tmp_path):
    entries = [e for e in BASE_ENV if e[0] not in ("torchvision", "torchaudio")]
    prefix = make_env(str(tmp_path / "env"), entries)
    conda_env.apply(conda_env.plan_init(kb, prefix, ANCHORS))
    lines = open(os.path.join(prefix, "etc", "pinguard", "constraints.txt")).read().splitlines()
    assert any(l.startswith("torch==1.10.0 ") and "installed by conda" in l for l in lines)
    assert any(l.startswith("torchvision==0.11.1+cu113") for l in lines), "not installed: the labelled build"


def test_undo_restores_every_file_byte_for_byte(kb, prefix):
    before = snapshot(prefix)
    info = conda_env.apply(conda_env.plan_init(kb, prefix, ANCHORS))
    info = json.loads(json.dumps(info))  # the caller stores it as JSON
    assert snapshot(prefix) != before
    conda_env.undo(info)
    assert snapshot(prefix) == before


def test_a_second_init_then_undo_still_restores_the_state_before_the_first(kb, prefix):
    before = snapshot(prefix)
    conda_env.apply(conda_env.plan_init(kb, prefix, ANCHORS))
    info = conda_env.apply(conda_env.plan_init(kb, prefix, [Anchor.parse("torch==1.10.0+cu113")]))
    with open(os.path.join(prefix, "conda-meta", "pinned"), "rb") as handle:
        assert handle.read().count(conda_env.BEGIN.encode()) == 1
    conda_env.undo(info)
    assert snapshot(prefix)[0] == before[0]


def test_undo_keeps_what_the_user_changed_since(kb, prefix):
    info = conda_env.apply(conda_env.plan_init(kb, prefix, ANCHORS))
    pinned = os.path.join(prefix, "conda-meta", "pinned")
    with open(pinned, "ab") as handle:
        handle.write(b"scipy 1.7.*\n")
    script = os.path.join(prefix, "etc", "conda", "activate.d", "pinguard.sh")
    with open(script, "a") as handle:
        handle.write("echo mine\n")
    messages = conda_env.undo(info)
    with open(pinned, "rb") as handle:
        assert handle.read() == USER_PINNED + b"scipy 1.7.*\n"
    assert os.path.exists(script) and any("left as it is" in m for m in messages)


def _bash(prefix, script_body, environment):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    return subprocess.run([bash, "-c", script_body], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=environment, check=True).stdout


@pytest.mark.parametrize("old", [None, "/home/me/mine.txt"])
def test_activation_sets_and_deactivation_restores_pip_and_uv_constraints(kb, prefix, old):
    conda_env.apply(conda_env.plan_init(kb, prefix, ANCHORS))
    on = os.path.join(prefix, "etc", "conda", "activate.d", "pinguard.sh")
    off = os.path.join(prefix, "etc", "conda", "deactivate.d", "pinguard.sh")
    constraints = os.path.join(prefix, "etc", "pinguard", "constraints.txt")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if old is not None:
        environment.update(PIP_CONSTRAINT=old, UV_CONSTRAINT=old)
    show = 'echo "${PIP_CONSTRAINT-<unset>}|${UV_CONSTRAINT-<unset>}"'
    out = _bash(prefix, ". %s; %s; . %s; %s; . %s; . %s; %s" % (on, show, on, show, off, off, show), environment)
    first, again, after = out.strip().splitlines()
    expected = constraints + (" " + old if old else "")
    assert first == again == "%s|%s" % (expected, expected), "activating twice does not stack"
    assert after == ("%s|%s" % (old, old) if old else "<unset>|<unset>")


def test_init_changes_are_for_inits_own_transaction(kb, prefix):
    extra = conda_env.init_changes(kb, prefix, ANCHORS, constraints_file=os.path.join(prefix, "pinguard-c.txt"))
    roles = {role for _, role, _ in extra.changes}
    assert roles == {"conda-pinned", "conda-guard"}
    assert all(isinstance(data, bytes) and path.startswith(prefix) for path, _, data in extra.changes)
    assert not any(path.endswith("pinguard.toml") for path, _, _ in extra.changes), "pinguard.toml stays init's"


def test_init_refuses_an_environment_that_contradicts_the_anchor(kb, prefix):
    with pytest.raises(ImpossibleAnchor) as info:
        conda_env.plan_init(kb, prefix, [Anchor.parse("torch==1.10.0+cpu")])
    assert "pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0 (CUDA 11.3), which is not torch==1.10.0+cpu" in str(info.value)
    with pytest.raises(BadInput):
        conda_env.plan_init(kb, prefix, ANCHORS, python=__import__("packaging.version").version.Version("3.8"))


def test_init_protects_an_environment_without_python(kb, tmp_path):
    entries = [e for e in BASE_ENV if e[0] in ("cudatoolkit", "_libgcc_mutex", "libgcc-ng")]
    prefix = make_env(str(tmp_path / "cuda-only"), entries, dists=())
    plan = conda_env.plan_init(kb, prefix, [Anchor.parse("cudatoolkit==11.3.1")])
    conda_env.apply(plan)
    specs = {s.name: s for s in (parse_matchspec(l) for l in conda_meta.read_pinned(prefix))}
    assert specs["cudatoolkit"].build == "h2bc3f7f_2"
    assert conda_meta.read_anchor_file(prefix)["python"] is None


def test_not_a_conda_environment(kb, tmp_path):
    with pytest.raises(BadInput) as info:
        conda_env.plan_init(kb, str(tmp_path), ANCHORS)
    assert "is not a conda environment" in str(info.value)


def test_default_prefix_is_the_active_conda_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONDA_PREFIX", str(tmp_path))
    assert conda_env.default_prefix() == str(tmp_path)
    monkeypatch.delenv("CONDA_PREFIX")
    assert conda_env.default_prefix() is None
