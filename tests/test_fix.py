"""fix: the engine on small in-memory package data, and the command on the seeds against real PyPI."""

import json

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.engines.fix import PackageData, closeness_order, fix
from pinguard.model import Anchor
from pinguard.sources.pins import parse_pins
from tests.conftest import assert_one_line_error, run_pinguard, fixture_path


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


class MemoryData(PackageData):
    """name -> {version: [requirements]}: enough package data for the engine, no network."""

    def __init__(self, table):
        self.table = {n: {Version(v): [Requirement(r) for r in reqs] for v, reqs in versions.items()}
                      for n, versions in table.items()}

    def versions(self, name, keep=None):
        return sorted(self.table[name])

    def requires(self, name, version):
        return self.table.get(name, {}).get(Version(version.base_version), [])

    def exists(self, name):
        return name in self.table


def test_closeness_prefers_same_minor_then_up_then_down():
    versions = [Version(v) for v in ("6.2.2", "7.0.0", "7.1.2", "8.0.1", "8.4.0", "9.0.0", "9.0.1", "9.1.0")]
    ordered = [str(v) for v in closeness_order(versions, Version("9.0.0"))]
    assert ordered == ["9.0.0", "9.0.1", "9.1.0", "8.4.0", "8.0.1", "7.1.2", "7.0.0", "6.2.2"]


def test_pillow_version_crash_moves_only_pillow(kb):
    data = MemoryData({
        "pillow": {v: [] for v in ("6.1.0", "6.2.2", "7.0.0", "8.4.0", "9.0.0")},
        "matplotlib": {"3.3.4": ["pillow>=6.2.0"]},
        "numpy": {"1.18.0": []},
    })
    env = parse_pins("matplotlib==3.3.4\nnumpy==1.18.0\nPillow==9.0.0\ntorch==1.1.0\ntorchvision==0.3.0\n")
    crash = "ImportError: cannot import name 'PILLOW_VERSION' from 'PIL' (/x/PIL/__init__.py)"
    result = fix(kb, data, env, [Anchor.parse("numpy==1.18.0")], Version("3.7"), traceback=crash)
    assert result.ok, result.impossible
    assert result.pins == [("matplotlib", "3.3.4"), ("numpy", "1.18.0"), ("Pillow", "8.4.0"), ("torch", "1.1.0"),
                           ("torchvision", "0.3.0")]
    assert [c.name for c in result.changes] == ["pillow"]
    assert "pillow-pillow-version" in result.changes[0].reasons


def test_requires_dist_of_kept_packages_is_respected(kb):
    # matplotlib 3.3.4 needs pillow>=6.2.0, so 6.1.0 (nearer below 7.0.0) is not an answer
    data = MemoryData({
        "pillow": {v: [] for v in ("6.1.0", "6.2.2", "7.0.0")},
        "matplotlib": {"3.3.4": ["pillow>=6.2.0"]},
    })
    env = parse_pins("matplotlib==3.3.4\nPillow==7.0.0\ntorch==1.1.0\ntorchvision==0.3.0\n")
    crash = "ImportError: cannot import name 'PILLOW_VERSION' from 'PIL'"
    result = fix(kb, data, env, [Anchor.parse("torch==1.1.0")], Version("3.7"), traceback=crash)
    assert dict(result.pins)["Pillow"] == "6.2.2"


def test_anchored_torch_1_8_0_moves_to_its_cu111_build_with_torchvision(kb):
    data = MemoryData({"numpy": {"1.19.5": []}})
    env = parse_pins("numpy==1.19.5\ntorch==1.8.0\ntorchvision==0.9.0\n")
    crash = "RuntimeError: cuDNN error: CUDNN_STATUS_NOT_INITIALIZED"
    result = fix(kb, data, env, [Anchor.parse("torch==1.8.0")], Version("3.7"), traceback=crash,
                 gpu=Version("7.5"))
    assert result.ok, result.impossible
    assert dict(result.pins) == {"numpy": "1.19.5", "torch": "1.8.0+cu111", "torchvision": "0.9.0+cu111"}
    assert result.index_hint == ("--find-links", "https://download.pytorch.org/whl/torch_stable.html")


def test_impossible_repair_exits_with_the_blocking_constraint(kb):
    data = MemoryData({"pillow": {"9.0.0": []}})
    env = parse_pins("Pillow==9.0.0\ntorch==1.1.0\ntorchvision==0.3.0\n")
    crash = "ImportError: cannot import name 'PILLOW_VERSION' from 'PIL'"
    result = fix(kb, data, env, [Anchor.parse("Pillow==9.0.0"), Anchor.parse("torchvision==0.3.0")],
                 Version("3.7"), traceback=crash)
    assert not result.ok
    assert "Pillow==9.0.0" in result.impossible


@pytest.mark.network
@pytest.mark.parametrize("seed,changed", [
    ("mission-torch-1.10.0-torchvision-0.3.0.txt", {"torchvision": "0.11.1"}),
    ("mission-torch-1.8.0-cudnn.txt", {"torch": "1.8.0+cu111", "torchvision": "0.9.0+cu111"}),
])
def test_seed_missions(seed, changed, network, tmp_path):
    path = fixture_path(seed)
    result = run_pinguard("fix", "--mission", path, env={"PINGUARD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    from pinguard.sources.mission import parse_mission

    mission = parse_mission(open(path, encoding="utf-8").read())
    assert [l.split("==")[0] for l in lines] == [l.split("==")[0] for l in mission.env]  # names, order, count
    before = dict(l.split("==", 1) for l in mission.env)
    after = dict(l.split("==", 1) for l in lines)
    assert {n: v for n, v in after.items() if before[n] != v} == changed


@pytest.mark.network
def test_explain_says_why_and_what_is_assumed(network, tmp_path):
    path = fixture_path("mission-torch-1.8.0-cudnn.txt")
    result = run_pinguard("fix", "--mission", path, "--format", "explain",
                          env={"PINGUARD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert "torch180-cudnn" in result.stdout
    assert "sm_75" in result.stdout and "assum" in result.stdout
    assert "torch 1.8.0 -> 1.8.0+cu111" in result.stdout
    assert "download.pytorch.org" in result.stdout


@pytest.mark.network
def test_json_output(network, tmp_path):
    path = fixture_path("mission-torch-1.10.0-torchvision-0.3.0.txt")
    result = run_pinguard("fix", "--mission", path, "--format", "json",
                          env={"PINGUARD_CACHE_DIR": str(tmp_path / "cache")})
    payload = json.loads(result.stdout)
    assert payload["ok"] and payload["changes"] == [
        {"name": "torchvision", "before": "0.3.0", "after": "0.11.1", "rules": payload["changes"][0]["rules"]}]
    assert payload["diagnoses"][0]["sources"]


def test_offline_with_a_cold_cache_is_a_one_line_error(tmp_path):
    path = fixture_path("mission-torch-1.10.0-torchvision-0.3.0.txt")
    result = run_pinguard("fix", "--mission", path, "--offline", env={"PINGUARD_CACHE_DIR": str(tmp_path / "c")})
    assert_one_line_error(result, 4, "offline")  # 4: the cache cannot answer (network)


@pytest.mark.parametrize("files,args,message", [
    ({"m.txt": "just some text\n"}, ["--mission", "m.txt"], "is not a debug-mission file"),
    ({"env.txt": "torch==1.10.0\ntorchvision>=0.3\n"}, ["--env", "env.txt", "--anchor", "torch==1.10.0",
                                                       "--python", "3.7"], "is not an exact pin"),
    ({"env.txt": "torch==1.10.0\n"}, ["--env", "env.txt", "--anchor", "numpy==1.18.3", "--python", "3.7"],
     "the anchor numpy==1.18.3 is not in the environment list"),
    ({"env.txt": "torch==1.10.0\n"}, ["--env", "env.txt", "--anchor", "torch==1.10.0"], "--python"),
    ({"env.txt": "torch==1.10.0\n"}, ["--env", "env.txt", "--anchor", "torch==1.10.0", "--python", "3.7",
                                      "--gpu", "turing"], "--gpu takes"),
    ({}, ["--anchor", "torch==1.10.0"], "give the environment with --env"),
])
def test_bad_input(files, args, message, tmp_path):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    args = [str(tmp_path / a) if a in files else a for a in args]
    assert_one_line_error(run_pinguard("fix", *args, env={"PINGUARD_CACHE_DIR": str(tmp_path / "c")}), 2, message)


@pytest.mark.network
def test_unknown_package_is_a_one_line_error(network, tmp_path):
    env = tmp_path / "env.txt"
    env.write_text("torch==1.10.0\nno-such-package-pinguard-test==1.0\n")
    result = run_pinguard("fix", "--env", str(env), "--anchor", "torch==1.10.0", "--python", "3.7",
                          env={"PINGUARD_CACHE_DIR": str(tmp_path / "c")})
    assert_one_line_error(result, 2, "no-such-package-pinguard-test")


def test_torchaudio_without_label_builds_accepts_a_labelled_torch(kb):
    # torchaudio 0.9.1 (no +cuXXX builds before 0.10) declares torch==1.9.1, which 1.9.1+cu111 meets (PEP 440
    # ignores a candidate's local label against a public ==); generate pairs them, so fix must keep them together
    data = MemoryData({"setuptools": {v: [] for v in ("59.5.0", "60.0.0")}})
    env = parse_pins("setuptools==60.0.0\ntorch==1.9.1+cu111\ntorchaudio==0.9.1\ntorchvision==0.10.1+cu111\n")
    crash = "AttributeError: module 'distutils' has no attribute 'version'"
    result = fix(kb, data, env, [Anchor.parse("torch==1.9.1+cu111")], Version("3.7"), traceback=crash)
    assert result.ok, result.impossible
    assert [c.name for c in result.changes] == ["setuptools"]
    assert dict(result.pins)["torchaudio"] == "0.9.1"


def test_member_without_label_builds_requires_torch_by_public_version(kb):
    from pinguard.engines.fix import FamilyData

    family = FamilyData(kb, MemoryData({}), Version("3.7"), None)
    requirement = family.requires("torchaudio", Version("0.9.1"))[-1]
    assert requirement.specifier.contains(Version("1.9.1+cu111")) and requirement.specifier.contains(Version("1.9.1"))
    labelled = family.requires("torchvision", Version("0.10.1"))[-1]  # the PyPI build goes with the PyPI torch
    assert not labelled.specifier.contains(Version("1.9.1+cu111"))


def test_family_candidates_have_wheels_for_the_target_python(kb):
    from pinguard.engines.fix import FamilyData

    on_311 = FamilyData(kb, MemoryData({}), Version("3.11"), None).versions("torchvision")
    assert Version("0.15.1") in on_311 and Version("0.14.1") not in on_311  # 0.14.x: no cp311 wheel on PyPI
    assert Version("0.14.1") in FamilyData(kb, MemoryData({}), Version("3.10"), None).versions("torchvision")


def test_a_finding_the_crash_does_not_involve_never_blocks_the_repair_and_is_cleared_where_it_can_be(kb):
    # the crash: torchvision 0.3.0 next to torch 1.10.0; the pins also break pyparsing3-matplotlib, which the crash
    # does not involve: the repair comes first, then pyparsing moves too, and nothing remains
    data = MemoryData({"matplotlib": {"3.2.2": ["pyparsing>=2.0.1"]},
                       "pyparsing": {v: [] for v in ("2.4.6", "2.4.7", "3.0.0", "3.1.2")}})
    env = parse_pins("matplotlib==3.2.2\npyparsing==3.1.2\ntorch==1.10.0\ntorchvision==0.3.0\n")
    crash = "ImportError: libcudart.so.9.0: cannot open shared object file: No such file or directory"
    result = fix(kb, data, env, [Anchor.parse("torch==1.10.0")], Version("3.7"), traceback=crash)
    assert result.ok, result.impossible
    assert dict(result.pins) == {"matplotlib": "3.2.2", "pyparsing": "2.4.7", "torch": "1.10.0",
                                 "torchvision": "0.11.1"}
    reasons = {c.name: c.reasons for c in result.changes}
    assert reasons["pyparsing"] == ["clears [pyparsing3-matplotlib]"] and result.remaining == []


def test_a_finding_that_cannot_be_cleared_stays_reported_and_the_repair_stands(kb):
    # the same, with pyparsing anchored at 3.1.2: the finding cannot be cleared, the crash repair still stands
    data = MemoryData({"matplotlib": {"3.2.2": ["pyparsing>=2.0.1"]}, "pyparsing": {"3.1.2": []}})
    env = parse_pins("matplotlib==3.2.2\npyparsing==3.1.2\ntorch==1.10.0\ntorchvision==0.3.0\n")
    crash = "ImportError: libcudart.so.9.0: cannot open shared object file: No such file or directory"
    anchors = [Anchor.parse("torch==1.10.0"), Anchor.parse("pyparsing==3.1.2")]
    result = fix(kb, data, env, anchors, Version("3.7"), traceback=crash)
    assert result.ok, result.impossible
    assert dict(result.pins)["torchvision"] == "0.11.1"
    assert [v.rule for v in result.remaining] == ["pyparsing3-matplotlib"]
