"""check: pin lists against anchors; exit 0 clean, 1 violations, 2 bad input."""

import json

import pytest
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.engines.check import BUILD_MIX, check
from pinguard.engines.generate import PAIRING
from pinguard.model import Anchor
from pinguard.sources.pins import parse_pins
from tests.conftest import assert_one_line_error, fixture_path, run_pinguard

SEED = "mission-torch-1.10.0-torchvision-0.3.0.txt"


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


def run_check(kb, text, *anchors, python="3.7"):
    return check(kb, parse_pins(text, "test"), [Anchor.parse(a) for a in anchors],
                 python=Version(python) if python else None)


def test_seed_mission_flags_torchvision_0_3_0_against_torch_1_10_0():
    result = run_pinguard("check", fixture_path(SEED), "--anchor", "torch==1.10.0", "--python", "3.7", "--json")
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    pairing = [v for v in payload["violations"] if v["rule"] == PAIRING]
    assert len(pairing) == 1
    assert pairing[0]["packages"] == {"torch": "1.10.0", "torchvision": "0.3.0"}
    assert pairing[0]["fix"] == ["torchvision==0.11.1"]
    assert pairing[0]["sources"]


def test_seed_mission_environment_as_a_plain_pin_list(tmp_path):
    from pinguard.sources.mission import parse_mission

    mission = parse_mission(open(fixture_path(SEED), encoding="utf-8").read())
    pins = tmp_path / "freeze.txt"
    pins.write_text("\n".join(mission.env) + "\n")
    result = run_pinguard("check", str(pins), "--anchor", "torch==1.10.0", "--python", "3.7")
    assert result.returncode == 1
    assert "torchvision 0.3.0" in result.stdout and "fix:      torchvision==0.11.1" in result.stdout


def test_clean_environment_exits_0():
    freeze = "torch==1.10.0\ntorchvision==0.11.1\nsetuptools==59.5.0\nsix==1.16.0\n"
    result = run_pinguard("check", "-", "--anchor", "torch==1.10.0", "--python", "3.7", stdin=freeze)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("ok: 4 pins")


def test_rule_violation_names_rule_fix_and_source(kb):
    result = run_check(kb, "torch==1.10.0\nsetuptools==60.0.0\n", "torch==1.10.0")
    [violation] = [v for v in result.violations if v.rule == "setuptools-distutils-version"]
    assert violation.packages["setuptools"] == "60.0.0"
    assert violation.fix and violation.fix[0].startswith("setuptools<")
    assert any("69894" in s for s in violation.sources)


def test_rule_implied_by_the_anchor_applies_even_without_torch_in_the_list(kb):
    result = run_check(kb, "setuptools==60.0.0\n", "torch==1.10.0")
    assert [v.rule for v in result.violations] == ["setuptools-distutils-version"]


def test_anchor_changed_is_a_violation(kb):
    result = run_check(kb, "numpy==1.21.6\n", "numpy==1.19.5")
    assert [v.rule for v in result.violations] == ["anchor-changed"]


def test_mixed_cuda_builds_are_flagged(kb):
    result = run_check(kb, "torch==1.10.0+cu102\ntorchvision==0.11.1+cu113\n", "torch==1.10.0")
    [mix] = [v for v in result.violations if v.rule == BUILD_MIX]
    assert mix.fix == ("torchvision==0.11.1+cu102",)
    result = run_check(kb, "nvidia-cublas-cu11==11.10.3.66\nnvidia-cudnn-cu12==8.9.2.26\n", "torch==2.1.0")
    assert any(v.rule == BUILD_MIX for v in result.violations)


def test_pip_freeze_forms_are_read(kb):
    text = "# comment\n-e git+https://x/y.git#egg=y\nfoo @ file:///tmp/foo.whl\ntorch==1.10.0 \\\n  ; python_version >= '3'\n"
    pins = parse_pins(text, "freeze")
    assert [p.name for p in pins] == ["foo", "torch"]


@pytest.mark.parametrize("args,stdin,message", [
    (["check", "/nonexistent/pins.txt", "--anchor", "torch==1.10.0"], "", "pin file /nonexistent/pins.txt does not exist"),
    (["check", "-", "--anchor", "torch==1.10.0"], "torch==1.10.0\nthis is not a pin\n", "<stdin>:2"),
    (["check", "-"], "torch==1.10.0\n", "give the anchor with --anchor"),
    (["check", "-", "--anchor", "torch>>1"], "torch==1.10.0\n", "cannot parse anchor"),
    (["check", "-", "--anchor", "torch==1.10.0"], "six==1\nsix==2\n", "six is listed twice"),
])
def test_bad_input_is_one_line_and_exit_2(args, stdin, message):
    assert_one_line_error(run_pinguard(*args, stdin=stdin), 2, message)


def test_unreadable_pin_file_is_exit_2(tmp_path):
    target = tmp_path / "pins.txt"
    target.write_bytes(b"\xff\xfe\x00garbage")
    assert_one_line_error(run_pinguard("check", str(target), "--anchor", "torch==1.10.0"), 2, "cannot read pin file")
