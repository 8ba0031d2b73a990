"""generate: the engine (pure, in-process) and the command (subprocess, as a user runs it)."""

import json

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.adapters.formats import render
from pinguard.engines.generate import generate
from pinguard.errors import ImpossibleAnchor, UnknownPackage
from pinguard.model import Anchor
from pinguard.specs import satisfiable
from tests.conftest import assert_one_line_error, run_pinguard


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


def pins_of(result):
    return {c.name: str(c.specifier) for c in result.constraints if not c.marker}


def gen(kb, *anchors, **kwargs):
    return generate(kb, [Anchor.parse(a) for a in anchors], **kwargs)


def test_torch_1_10_on_python_3_7(kb):
    result = gen(kb, "torch==1.10.0", python=Version("3.7"))
    pins = pins_of(result)
    assert pins["torch"] == "==1.10.0"
    assert pins["torchvision"] == "==0.11.1"
    assert pins["torchaudio"] == "==0.10.0"
    assert not Requirement("setuptools" + pins["setuptools"]).specifier.contains("59.6.0")
    assert Requirement("setuptools" + pins["setuptools"]).specifier.contains("59.5.0")
    assert result.index is None  # the PyPI default build needs no extra index


def test_cuda_build_pins_local_labels_and_the_index(kb):
    result = gen(kb, "torch==1.10.0", python=Version("3.7"), build="cu113")
    pins = pins_of(result)
    assert pins["torch"] == "==1.10.0+cu113"
    assert pins["torchvision"] == "==0.11.1+cu113"
    assert pins["torchaudio"] == "==0.10.0+cu113"
    assert pins["torchtext"] == "==0.11.0"  # pure Python: no label
    assert result.index == ("--extra-index-url", "https://download.pytorch.org/whl/cu113")
    text = render(kb, result, "pip")
    assert "--extra-index-url https://download.pytorch.org/whl/cu113\n" in text


def test_anchor_with_label_selects_the_build(kb):
    assert pins_of(gen(kb, "torch==1.10.0+cu113"))["torchvision"] == "==0.11.1+cu113"


def test_old_releases_reach_builds_through_find_links(kb):
    result = gen(kb, "torch==1.8.0", build="cu111")
    assert pins_of(result)["torch"] == "==1.8.0+cu111"
    assert result.index == ("--find-links", "https://download.pytorch.org/whl/torch_stable.html")


def test_rules_apply_transitively_from_a_range_anchor(kb):
    pins = pins_of(gen(kb, "mmcv-full<2"))
    assert "yapf" in pins
    assert not Requirement("yapf" + pins["yapf"]).specifier.contains("0.40.2")


def test_python_dependent_rule_gets_a_marker_when_python_is_not_fixed(kb):
    result = gen(kb, "gym==0.21.0")
    marked = [c for c in result.constraints if c.name == "importlib-metadata"]
    assert marked and all("python_version" in c.marker for c in marked)
    fixed = gen(kb, "gym==0.21.0", python=Version("3.7"))
    assert [c.marker for c in fixed.constraints if c.name == "importlib-metadata"] == [""]
    assert not [c for c in gen(kb, "gym==0.21.0", python=Version("3.11")).constraints
                if c.name == "importlib-metadata"]


def test_contradicting_anchors_are_refused_with_the_reason(kb):
    with pytest.raises(ImpossibleAnchor, match="torchvision==0.15.1 pairs with torch 2.0.0, not torch 1.10.0"):
        gen(kb, "torch==1.10.0", "torchvision==0.15.1")
    with pytest.raises(ImpossibleAnchor, match="no wheels for Python 3.10"):
        gen(kb, "torch==1.4.0", python=Version("3.10"))
    with pytest.raises(ImpossibleAnchor, match="contradictory constraints on setuptools"):
        gen(kb, "torch==1.10.0", "setuptools==60.0.0")
    with pytest.raises(ImpossibleAnchor, match="no cu118 build"):
        gen(kb, "torch==1.10.0", build="cu118")
    with pytest.raises(UnknownPackage):
        gen(kb, "torch==1.10.7")


def test_family_member_anchor_selects_torch(kb):
    pins = pins_of(gen(kb, "torchvision==0.11.1"))
    assert pins["torch"] == "==1.10.0"


@pytest.mark.parametrize("fmt", ["pip", "uv", "conda", "json"])
def test_every_release_and_build_renders_without_contradiction(kb, fmt):
    for release in kb.releases:
        for build in release.builds:
            explicit = None if (release.on_pypi and build == release.default_build) else build
            result = gen(kb, "torch==%s" % release.torch, build=explicit)
            seen = set()
            for constraint in result.constraints:
                key = (constraint.name, constraint.marker)
                assert key not in seen, (release.torch, build, key)
                seen.add(key)
                assert satisfiable([constraint.specifier]), (release.torch, build, constraint.requirement)
            assert render(kb, result, fmt)


def test_output_is_deterministic_and_json_carries_sources(kb):
    first = run_pinguard("generate", "torch==1.10.0", "--python", "3.7", "--format", "json")
    second = run_pinguard("generate", "torch==1.10.0", "--python", "3.7", "--format", "json")
    assert first.returncode == 0 and first.stdout == second.stdout
    payload = json.loads(first.stdout)
    by_name = {c["name"]: c for c in payload["constraints"]}
    assert by_name["setuptools"]["rules"] == ["setuptools-distutils-version"]
    assert any("69894" in s for s in by_name["setuptools"]["sources"])


def test_pip_lines_name_their_rules(kb):
    result = run_pinguard("generate", "torch==1.10.0", "--python", "3.7")
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stdout.splitlines() if l and not l.startswith("#")]
    assert all("  # " in line for line in lines), lines
    assert any(l.startswith("setuptools<59.6") and "setuptools-distutils-version" in l for l in lines)


def test_conda_format_uses_conda_names_and_matchspecs(kb):
    result = run_pinguard("generate", "torch==1.10.0", "--python", "3.7", "--cuda", "cu113", "--format", "conda")
    assert result.returncode == 0, result.stderr
    assert "pytorch ==1.10.0 *cuda11.3*" in result.stdout
    assert "cudatoolkit 11.3.*" in result.stdout
    assert "+cu113" not in result.stdout


def test_uv_format_is_valid_toml_with_constraint_dependencies(kb):
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    result = run_pinguard("generate", "torch==1.10.0", "--cuda", "cu113", "--format", "uv")
    data = tomllib.loads(result.stdout)
    assert "torch==1.10.0+cu113" in data["constraint-dependencies"]
    assert data["index"][0]["url"] == "https://download.pytorch.org/whl/cu113"


def test_output_file_is_written_atomically(tmp_path):
    target = tmp_path / "c.txt"
    result = run_pinguard("generate", "torch==1.10.0", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text().count("torchvision==0.11.1") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.txt"]


@pytest.mark.parametrize("args,message", [
    (["generate", "torch=1.10"], "cannot parse anchor 'torch=1.10'"),
    (["generate", "torch==1.10.0", "--cuda", "cu999"], "torch 1.10.0 has no cu999 build"),
    (["generate", "torch==1.10.0", "--cuda", "gpu-please"], "unknown build 'gpu-please'"),
    (["generate", "torch==1.4.0", "--python", "3.10"], "torch 1.4.0 has no wheels for Python 3.10"),
    (["generate", "torch==1.10.0", "torchvision==0.15.1"], "pairs with torch 2.0.0"),
    (["generate", "torch==1.10.0", "--python", "three"], "--python takes a Python version"),
    (["generate", "torch==9.9.9"], "no known torch release matches torch==9.9.9"),
    (["generate", "torch==1.10.0", "-o", "/nonexistent/dir/c.txt"], "directory /nonexistent/dir does not exist"),
    (["generate"], "the following arguments are required"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    assert_one_line_error(run_pinguard(*args), 2, message)
