"""Facts an audit against PyPI corrected (issue 10): each test states what the release files say.

The tables below were read from the releases on PyPI (wheel METADATA, wheel file names, one module of a wheel by
HTTP range requests); the rules must say exactly that, neither more nor less.
"""

import pytest
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.engines.check import check
from pinguard.engines.conditions import rule_holds
from pinguard.model import Anchor, Context
from pinguard.sources.pins import parse_pins


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


# mmdet/__init__.py of every mmdet 2.x/3.x wheel on PyPI: (mmcv_minimum_version, mmcv_maximum_version, maximum
# inclusive?). 2.x compares digit lists with >= and <= (so "1.2" rejects 1.2.0), 3.x compares with >= and <.
MMDET_ASSERTS = {
    "2.3.0": ("1.0.5", "1.0.5", True),
    "2.4.0": ("1.1.1", "1.2", True), "2.5.0": ("1.1.5", "1.2", True),
    "2.6.0": ("1.1.5", "1.3", True), "2.7.0": ("1.1.5", "1.3", True),
    "2.8.0": ("1.2.4", "1.3", True), "2.9.0": ("1.2.4", "1.3", True), "2.10.0": ("1.2.4", "1.3", True),
    "2.11.0": ("1.2.4", "1.4.0", True), "2.12.0": ("1.3.2", "1.4.0", True), "2.13.0": ("1.3.2", "1.4.0", True),
    "2.14.0": ("1.3.8", "1.4.0", True), "2.15.0": ("1.3.8", "1.4.0", True), "2.15.1": ("1.3.8", "1.4.0", True),
    "2.16.0": ("1.3.8", "1.4.0", True), "2.17.0": ("1.3.8", "1.4.0", True), "2.18.0": ("1.3.8", "1.4.0", True),
    "2.18.1": ("1.3.8", "1.4.0", True), "2.19.0": ("1.3.8", "1.5.0", True), "2.19.1": ("1.3.8", "1.5.0", True),
    "2.20.0": ("1.3.17", "1.5.0", True), "2.21.0": ("1.3.17", "1.5.0", True), "2.22.0": ("1.3.17", "1.5.0", True),
    "2.23.0": ("1.3.17", "1.5.0", True), "2.24.0": ("1.3.17", "1.6.0", True), "2.24.1": ("1.3.17", "1.6.0", True),
    "2.25.0": ("1.3.17", "1.6.0", True), "2.25.1": ("1.3.17", "1.7.0", True), "2.25.2": ("1.3.17", "1.7.0", True),
    "2.25.3": ("1.3.17", "1.7.0", True), "2.26.0": ("1.3.17", "1.8.0", True), "2.27.0": ("1.3.17", "1.8.0", True),
    "2.28.0": ("1.3.17", "1.8.0", True), "2.28.1": ("1.3.17", "1.8.0", True), "2.28.2": ("1.3.17", "1.8.0", True),
    "3.0.0rc0": ("2.0.0rc0", "2.1.0", False), "3.0.0rc5": ("2.0.0rc0", "2.1.0", False),
    "3.0.0rc6": ("2.0.0rc4", "2.1.0", False), "3.0.0": ("2.0.0rc4", "2.1.0", False),
    "3.1.0": ("2.0.0rc4", "2.1.0", False), "3.2.0": ("2.0.0rc4", "2.2.0", False),
    "3.3.0": ("2.0.0rc4", "2.2.0", False),
}


def _window_rules(kb, mmdet):
    version = Version(mmdet)
    return [r for r in kb.rules if r.id.startswith("mmdet-mmcv-assert-") and r.kind == "constraint"
            and rule_holds(r, {"mmdet": version}, Context())]


def _digits(text):
    return [int(p) for p in text.split(".") if p.isdigit()]


@pytest.mark.parametrize("mmdet", sorted(MMDET_ASSERTS, key=Version))
def test_mmdet_window_rule_is_exactly_the_assert_in_the_release(kb, mmdet):
    low, high, inclusive = MMDET_ASSERTS[mmdet]
    rules = _window_rules(kb, mmdet)
    assert len(rules) == 1, (mmdet, [r.id for r in rules])
    (name, spec), = rules[0].require.items()
    assert name == ("mmcv-full" if mmdet.startswith("2.") else "mmcv")
    if mmdet.startswith("2."):  # digit lists: the maximum itself passes when it has as many parts as a release
        probes = {"1.0.5", "1.1.0", "1.1.1", "1.1.5", "1.1.6", "1.2.0", "1.2.4", "1.2.7", "1.3.0", "1.3.1", "1.3.2",
                  "1.3.3", "1.3.8", "1.3.14", "1.3.17", "1.3.18", "1.4.0", "1.4.8", "1.5.0", "1.5.3", "1.6.0",
                  "1.6.2", "1.7.0", "1.7.1", "1.8.0"}
        for probe in probes:
            allowed = _digits(low) <= _digits(probe) <= _digits(high)
            assert spec.contains(Version(probe)) == allowed, (mmdet, rules[0].id, probe, str(spec))
    else:
        for probe in ("2.0.0rc0", "2.0.0rc3", "2.0.0rc4", "2.0.1", "2.1.0", "2.2.0"):
            allowed = Version(low) <= Version(probe) < Version(high)
            assert spec.contains(Version(probe), prereleases=True) == allowed, (mmdet, rules[0].id, probe)


def test_mmdet_2_17_with_mmcv_full_1_3_8_is_not_a_violation(kb):
    pins = parse_pins("mmdet==2.17.0\nmmcv-full==1.3.8\n")
    assert not check(kb, pins, [Anchor.parse("mmdet==2.17.0")]).violations
    pins = parse_pins("mmdet==2.25.1\nmmcv-full==1.6.2\n")
    assert not check(kb, pins, [Anchor.parse("mmdet==2.25.1")]).violations


def test_setuptools_pkg_resources_rules_start_at_torch_1_8(kb):
    # every .py member of the PyPI wheels: torch 1.7.1 never mentions pkg_resources, 1.8.0 imports
    # `from pkg_resources import packaging` in torch/utils/cpp_extension.py, 2.1.2 also in torch_version.py,
    # 2.2.0 nowhere
    for rule_id in ("setuptools70-pkg-resources-packaging", "setuptools82-no-pkg-resources"):
        rule = kb.rule(rule_id)
        bad = "70.0.0" if rule_id.startswith("setuptools70") else "82.0.0"
        for torch, expected in (("1.7.1", False), ("1.8.0", True), ("2.1.2", True), ("2.2.0", False)):
            installed = {"torch": Version(torch), "setuptools": Version(bad)}
            assert rule_holds(rule, installed, Context()) == expected, (rule_id, torch)


def test_mmcv_full_1_3_14_cu111_wheel_is_covered_like_1_3_10(kb):
    rule = kb.rule("mmcv-full-1.3.10-libcudart102")
    context = Context(build="cu111")
    for mmcv, expected in (("1.3.10", True), ("1.3.13", False), ("1.3.14", True), ("1.3.9", False)):
        installed = {"mmcv-full": Version(mmcv), "torch": Version("1.9.0")}
        assert rule_holds(rule, installed, context) == expected, mmcv
    assert not rule.require["mmcv-full"].contains(Version("1.3.14"))
    assert any("1380" in s for s in rule.sources) and any("943" in s for s in rule.sources)


def _pins(result):
    return {c.name: str(c.specifier) for c in result.constraints if not c.marker}


def test_torchaudio_2_11_1_serves_torch_2_11_to_2_15(kb):
    # PyPI: torchaudio 2.11.1 (2026-10-28, py3-none wheels, Requires-Python >=3.10) requires torch>=2.11; no
    # torchaudio 2.12 or later exists
    from pinguard.engines.generate import generate

    assert _pins(generate(kb, [Anchor.parse("torch==2.11.0")]))["torchaudio"] == "==2.11.0"
    for torch in ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1", "2.15.0"):
        assert _pins(generate(kb, [Anchor.parse("torch==%s" % torch)]))["torchaudio"] == "==2.11.1", torch
    owners = [str(r.torch) for r in kb.family_releases("torchaudio", Version("2.11.1"))]
    assert owners == ["2.11.0", "2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1", "2.15.0"]
    pins = parse_pins("torch==2.11.0\ntorchaudio==2.11.1\n")
    assert not check(kb, pins, [Anchor.parse("torch==2.11.0")]).violations
    pins = parse_pins("torch==2.13.0\ntorchaudio==2.11.0\n")
    assert [v.rule for v in check(kb, pins, [Anchor.parse("torch==2.13.0")]).violations] == ["torch-family-pairing"]


def test_fix_reads_torchaudio_2_11_1_as_serving_every_torch_it_pairs_with(kb):
    from pinguard.engines.fix import FamilyData, PackageData

    class Nothing(PackageData):
        def exists(self, name):
            return False

    requirement = FamilyData(kb, Nothing(), Version("3.12"), None).requires("torchaudio", Version("2.11.1"))[-1]
    for torch in ("2.11.0", "2.12.0", "2.15.0"):
        assert requirement.specifier.contains(Version(torch)), (torch, requirement)
    assert not requirement.specifier.contains(Version("2.10.0"))


def test_torchaudio_unpinned_rule_excludes_only_2_11_0(kb):
    # torchaudio 2.11.1 declares torch>=2.11 itself; the rule must not exclude it (a torch-range anchor that
    # reaches torch < 2.11 would otherwise forbid the only torchaudio of torch 2.12-2.15)
    spec = kb.rule("torchaudio-unpinned-2.11").require["torchaudio"]
    assert not spec.contains(Version("2.11.0"))
    assert spec.contains(Version("2.11.1")) and spec.contains(Version("2.10.0"))
