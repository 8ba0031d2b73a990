"""generate applies a rule only when its trigger is reachable from what the user asked for (issue 10).

Asked for: anchors, --with requirements and the torch-family members paired with an anchor. A rule's bound
constrains a package *if* it is installed; it does not install it, so it never reaches another rule's trigger. A
versioned request (`mmcv-full<2`, `--with mmdet==2.17.0`) may be any version in its range; an unversioned one
(`--with matplotlib`) is some version the resolver picks, so a trigger on its version holds only when the request's
range (narrowed by the bounds of other rules) lies inside the trigger.
"""

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.engines.generate import generate
from pinguard.model import Anchor
from tests.conftest import run_pinguard


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


def names(kb, *anchors, **kwargs):
    with_ = [Requirement(w) for w in kwargs.pop("with_", ())]
    result = generate(kb, [Anchor.parse(a) for a in anchors], with_=with_, **kwargs)
    return {c.name: str(c.specifier) for c in result.constraints}


def test_a_rule_bound_does_not_reach_another_rule(kb):
    # mmcv-full-1.3.10-libcudart102 bounds mmcv-full in cu111 files; that must not bring yapf-verify along
    pins = names(kb, "torch==1.9.1", build="cu111")
    assert "mmcv-full" in pins and "yapf" not in pins
    assert "yapf" not in names(kb, "torch==1.9.1")


def test_asking_for_mmcv_full_brings_the_yapf_bound_on_every_build(kb):
    for build in ("cu111", None):
        pins = names(kb, "torch==1.9.1", "mmcv-full<1.7", build=build)
        assert Requirement("yapf" + pins["yapf"]).specifier.contains("0.40.1")
        assert not Requirement("yapf" + pins["yapf"]).specifier.contains("0.40.2")


def test_unversioned_with_is_some_version_not_every_version(kb):
    assert "pyparsing" not in names(kb, "torch==1.10.0", with_=["matplotlib"], python=Version("3.7"))
    assert "pyparsing" in names(kb, "torch==1.10.0", with_=["matplotlib<3.5"], python=Version("3.7"))
    assert "yapf" not in names(kb, "torch==1.10.0", with_=["mmcv-full"])


def test_unversioned_with_mmdet_is_not_a_contradiction(kb):
    pins = names(kb, "torch==1.10.0", with_=["mmdet"])
    assert "mmcv-full" not in pins and "mmcv" not in pins
    pins = names(kb, "torch==1.10.0", with_=["mmdet==2.17.0"])
    assert Requirement("mmcv-full" + pins["mmcv-full"]).specifier.contains("1.3.8")


def test_bounds_narrow_an_unversioned_request_into_a_trigger(kb):
    # mmdet 2.17 holds mmcv-full to 1.3.8-1.4.0, all older than 1.7.2: the mmcv-full the user asks for then
    # needs the yapf bound whatever version the resolver picks
    pins = names(kb, "torch==1.10.0", with_=["mmdet==2.17.0", "mmcv-full"])
    assert "yapf" in pins
    assert "yapf" not in names(kb, "torch==1.10.0", with_=["mmdet==2.17.0"])


def test_cli_with_mmdet_succeeds():
    result = run_pinguard("generate", "torch==1.10.0", "--with", "mmdet")
    assert result.returncode == 0, result.stderr
    assert "contradictory" not in result.stderr
