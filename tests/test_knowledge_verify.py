"""knowledge verify's engines on small in-memory releases: boundary claims, the kinds of evidence, assert bounds
with mmdet 2.x digit lists, pairings and Python lists, new releases, the plan and the rule states."""

import ast
from typing import Dict, List, Optional

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.pyast import digit_list_helpers
from pinguard import kb as kb_module
from pinguard.api_types import ApiView, ModuleLookup
from pinguard.claims import parse_evidence
from pinguard.engines import version_expr
from pinguard.engines.knowledge_verify import plan, rule_states, spread
from pinguard.engines.verify_family import (member_python_check, new_release_check, pairing_check,
                                            pythons_served, torch_python_check)
from pinguard.engines.verify_rules import evidence_checks, imported_names, raise_messages
from pinguard.errors import BadInput, KnowledgeError
from pinguard.model import Release, Rule
from pinguard.sources.api_facts import module_facts
from pinguard.verify_types import LookupFailed, ReleaseFile, ReleaseView
from pinguard.wheel_tags import serves

LINUX = "manylinux2014_x86_64"


class Release_:
    """One release in memory: its files' text, its wheels (file name, Requires-Python, Requires-Dist)."""

    def __init__(self, files: Optional[Dict[str, str]] = None, wheels=(), yanked: bool = False) -> None:
        self.files = files or {}
        self.wheels = list(wheels)
        self.yanked = yanked


class MemoryView(ReleaseView):
    def __init__(self, releases: Dict[str, Dict[str, Release_]]) -> None:
        self.data = releases
        self.api = _Api(self)
        self.reads: List[tuple] = []

    def _release(self, dist, version) -> Release_:
        try:
            return self.data[dist][str(version)]
        except KeyError:
            raise LookupFailed("the index has no files of %s %s" % (dist, version))

    def releases(self, dist):
        if dist not in self.data:
            raise LookupFailed("no package named %s" % dist)
        return sorted((Version(v), r.yanked) for v, r in self.data[dist].items())

    def files(self, dist, version):
        return [ReleaseFile(name, python) for name, python, _ in self._release(dist, version).wheels]

    def requires_dist(self, dist, version, python=None):
        wheels = self._release(dist, version).wheels
        if python is not None:
            wheels = [w for w in wheels if serves(w[0], w[1], tuple(int(p) for p in python.split(".")))]
            if not wheels:
                raise LookupFailed("no wheel for %s" % python)
        return list(wheels[0][2]) if wheels else []

    def text(self, dist, version, paths):
        files = self._release(dist, version).files
        self.reads.append((dist, str(version)))
        for path in paths:
            if path in files:
                return path, files[path]
        raise LookupFailed("absent: no %s" % " or ".join(paths))


class _Api(ApiView):
    def __init__(self, view: MemoryView) -> None:
        self.view = view

    def module(self, dist, version, module):
        files = self.view._release(dist, version).files
        self.view.reads.append((dist, str(version)))
        base = module.replace(".", "/")
        for path, status in ((base + "/__init__.py", "package"), (base + ".py", "module")):
            if path in files:
                return ModuleLookup(status, path, module_facts(files[path], module, status == "package"))
        return ModuleLookup("absent")


def rule(evidence: list, require=None, rule_id="demo-rule", sources=("https://example.org/issue",)) -> Rule:
    require = {k: SpecifierSet(v) for k, v in (require or {}).items()}
    return Rule(id=rule_id, summary="s", when=(), require=require, alternatives=(), implicates=(), signatures=(),
                kind="diagnostic", sources=tuple(sources), confidence="H",
                evidence=parse_evidence(evidence, "rules.toml: rule " + rule_id, require))


def run(rule_: Rule, view: ReleaseView):
    return [check(view) for check in evidence_checks(rule_)]


# A library whose api.py drops OLD and fmt(verify=) in 2.0; 1.2rc1 (a pre-release) and 1.3 (yanked) are skipped
# when the neighbour of a boundary is looked for.
OLD_API = ("OLD = 1\nfrom .util import helper\n"
           "def fmt(src, *, style=None, verify=False):\n    raise ValueError(f'bad {src} style')\n")
NEW_API = "def fmt(src, *, style=None):\n    return src\n"
DEMO = {
    "1.0": Release_({"demo/__init__.py": "", "demo/api.py": OLD_API}),
    "1.1.0": Release_({"demo/__init__.py": "", "demo/api.py": OLD_API}),
    "1.2rc1": Release_({"demo/__init__.py": "", "demo/api.py": NEW_API}),
    "1.3": Release_({"demo/__init__.py": "", "demo/api.py": NEW_API}, yanked=True),
    "2.0": Release_({"demo/__init__.py": "", "demo/api.py": NEW_API}),
}


def test_a_boundary_reads_the_release_and_its_neighbour_skipping_yanked_and_pre_releases():
    view = MemoryView({"demo": DEMO})
    finding, = run(rule([{"kind": "name", "dist": "demo", "path": "demo/api.py", "name": "OLD",
                          "absent_from": "2.0"}]), view)
    assert finding.status == "agreed", finding
    assert "1.1.0: present" in finding.detail and "2.0: absent" in finding.detail
    assert set(view.reads) == {("demo", "1.1.0"), ("demo", "2.0")}  # two releases, not every one


def test_a_wrong_boundary_disagrees_and_says_what_each_release_has():
    finding, = run(rule([{"kind": "name", "dist": "demo", "path": "demo/api.py", "name": "OLD",
                          "absent_from": "1.1.0"}]), MemoryView({"demo": DEMO}))
    assert finding.status == "disagreed"
    assert "1.1.0: present" in finding.detail and "[expected absent]" in finding.detail


def test_a_boundary_release_the_index_does_not_have_disagrees():
    finding, = run(rule([{"kind": "module", "dist": "demo", "module": "demo.api", "present_from": "0.5"}]),
                   MemoryView({"demo": DEMO}))
    assert finding.status == "disagreed" and "no release 0.5" in finding.detail


def test_the_first_release_is_judged_alone_and_present_in_reads_only_what_it_lists():
    view = MemoryView({"demo": DEMO})
    first, listed = run(rule([
        {"kind": "module", "dist": "demo", "module": "demo.api", "present_from": "1.0"},
        {"kind": "name", "dist": "demo", "path": "demo/api.py", "name": "OLD", "present_in": ["1.0"],
         "absent_in": ["2.0"]},
    ]), view)
    assert first.status == "agreed" and listed.status == "agreed", (first, listed)


def test_param_text_and_setter_claims():
    lightning = {
        "1.2": Release_({"pl/core.py": "class Module:\n    @property\n    def hparams(self):\n        return 1\n"
                                      "    @hparams.setter\n    def hparams(self, value):\n        pass\n"}),
        "1.3": Release_({"pl/core.py": "class Module:\n    @property\n    def hparams(self):\n        return 1\n"}),
    }
    view = MemoryView({"demo": DEMO, "pl": lightning})
    findings = run(rule([
        {"kind": "param", "dist": "demo", "path": "demo/api.py", "function": "fmt", "name": "verify",
         "absent_from": "2.0"},
        {"kind": "param", "dist": "demo", "path": "demo/api.py", "function": "fmt", "name": "style",
         "positional": True, "absent_in": ["1.0", "2.0"]},  # keyword-only: not positional
        {"kind": "text", "dist": "demo", "path": "demo/api.py", "text": "demo.util.helper", "in": "import",
         "absent_from": "2.0"},  # a relative import, resolved
        {"kind": "text", "dist": "demo", "path": "demo/api.py", "text": "bad  style", "in": "raise",
         "absent_from": "2.0"},  # f-string parts joined
        {"kind": "setter", "dist": "pl", "path": "pl/core.py", "name": "Module.hparams", "absent_from": "1.3"},
    ]), view)
    assert [f.status for f in findings] == ["agreed"] * 5, findings


def test_text_in_import_and_raise_read_the_syntax_not_comments():
    tree = ast.parse("# from torch._six import inf\nimport a.b\nfrom .x import y\n"
                     "def f():\n    from torch._six import inf\n"
                     "raise RuntimeError('Numba needs ' 'NumPy 1.20 or less')\n")
    assert imported_names(tree, "pkg.mod", False) == {"a.b", "pkg.x", "pkg.x.y", "torch._six", "torch._six.inf"}
    assert raise_messages(tree) == ["Numba needs NumPy 1.20 or less"]


MMDET_INIT = """import mmcv


def digit_version(version_str):
    digit_version = []
    for x in version_str.split('.'):
        if x.isdigit():
            digit_version.append(int(x))
        elif x.find('rc') != -1:
            patch_version = x.split('rc')
            digit_version.append(int(patch_version[0]) - 1)
            digit_version.append(int(patch_version[1]))
    return digit_version


mmcv_minimum_version = '1.0'
mmcv_maximum_version = '1.1'
mmcv_version = digit_version(mmcv.__version__)

assert (mmcv_version >= digit_version(mmcv_minimum_version)
        and mmcv_version <= digit_version(mmcv_maximum_version)), \\
    f'MMCV=={mmcv.__version__} is used but incompatible.'
"""


def _asserting():
    return {"checker": {"2.0": Release_({"checker/__init__.py": MMDET_INIT})},
            "mmcv-full": {v: Release_() for v in ("0.9", "1.0", "1.0rc0", "1.1.0", "2.0")}}


def test_assert_bounds_are_evaluated_as_the_release_compares_them_digit_lists_not_pep_440():
    claim = {"kind": "assert-bounds", "dist": "checker", "path": "checker/__init__.py", "versions": ["2.0"],
             "checked": "mmcv-full", "module": "mmcv"}
    right, = run(rule([claim], require={"mmcv-full": ">=1.0,<1.1"}), MemoryView(_asserting()))
    assert right.status == "agreed", right
    assert "mmcv_maximum_version='1.1'" in right.detail and "digit lists" in right.detail
    # [1, 1, 0] > [1, 1]: the assert rejects 1.1.0, which a PEP 440 reading (<=1.1) would admit
    wrong, = run(rule([dict(claim, expect=">=1.0,<=1.1")]), MemoryView(_asserting()))
    assert wrong.status == "disagreed" and "rejects 1.1.0" in wrong.detail, wrong


def test_assert_bounds_without_an_assert_on_the_module_disagree():
    data = _asserting()
    data["checker"]["2.0"] = Release_({"checker/__init__.py": "import mmcv\n"})
    finding, = run(rule([{"kind": "assert-bounds", "dist": "checker", "path": "checker/__init__.py",
                          "versions": ["2.0"], "checked": "mmcv-full", "module": "mmcv", "expect": ">=1"}]),
                   MemoryView(data))
    assert finding.status == "disagreed" and "no assert on mmcv.__version__" in finding.detail


def test_digit_list_helpers_are_recognised_by_their_shape_only():
    tree = ast.parse(MMDET_INIT)
    assert digit_list_helpers(tree) == {"digit_version"}
    other = ast.parse("def digit_version(v):\n    return tuple(v.split('.'))\n")
    assert digit_list_helpers(other) == set()
    names = {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign)}
    test = next(n for n in tree.body if isinstance(n, ast.Assert)).test
    assert version_expr.holds(test, {"mmcv": "1.1.0"}, names, {"digit_version"}) is False
    assert version_expr.holds(test, {"mmcv": "1.1.0"}, names) is True  # the fix engine's reading is unchanged


def test_requires_dist_compares_specifier_and_marker_and_absence():
    view = MemoryView({"lib": {"1.0": Release_(wheels=[("lib-1.0-py3-none-any.whl", None, [
        "numpy<2,>=1.22; python_version < \"3.11\"", "torch==2.1.0", "rich; extra == \"cli\""])])}})
    findings = run(rule([
        {"kind": "requires-dist", "dist": "lib", "version": "1.0", "requirement": "torch==2.1.0"},
        {"kind": "requires-dist", "dist": "lib", "version": "1.0", "requirement": "numpy>=1.22,<2"},
        {"kind": "requires-dist", "dist": "lib", "version": "1.0",
         "requirement": "numpy<2,>=1.22; python_version < \"3.11\""},
        {"kind": "requires-dist", "dist": "lib", "version": "1.0", "requirement": "packaging", "absent": True},
        {"kind": "requires-dist", "dist": "lib", "version": "1.0", "requirement": "torch", "absent": True},
    ]), view)
    assert [f.status for f in findings] == ["agreed", "disagreed", "agreed", "agreed", "disagreed"], findings


def test_a_claim_the_index_cannot_answer_is_unverifiable_and_human_claims_are_backed_by_sources():
    findings = run(rule([{"kind": "requires-dist", "dist": "nowhere", "version": "1.0", "requirement": "x"},
                         {"kind": "human", "why": "GPU kernels"}]), MemoryView({}))
    assert [f.status for f in findings] == ["unverifiable", "sources"]


@pytest.mark.parametrize("filename, requires_python, pythons", [
    ("torch-1.0.0-cp27-cp27mu-linux_x86_64.whl", None, {"2.7"}),
    ("torch-2.6.0-cp313-cp313t-manylinux_2_28_x86_64.whl", None, set()),  # free-threaded only
    ("x-1.0-cp38-abi3-manylinux2014_x86_64.whl", None, {"3.8", "3.9", "3.10"}),
    ("x-1.0-py3-none-any.whl", ">=3.9", {"3.9", "3.10"}),
    ("x-1.0-py2.py3-none-any.whl", None, {"2.7", "3.7", "3.8", "3.9", "3.10"}),
    ("x-1.0-cp39-cp39-macosx_11_0_arm64.whl", None, set()),
    ("x-1.0-cp37-cp37m-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", None, {"3.7"}),
])
def test_pythons_served_by_wheel_file_names(filename, requires_python, pythons):
    assert pythons_served([ReleaseFile(filename, requires_python)], ("2.7", "3.7", "3.8", "3.9", "3.10")) == pythons


def release(torch="1.0.0", python=("3.7", "3.8"), family=None, missing=None) -> Release:
    return Release(torch=Version(torch), family={k: Version(v) for k, v in (family or {}).items()}, also={},
                   python=tuple(python), builds=("cpu",), default_build="cpu", on_pypi=True, index=None,
                   sources=("x",), confidence="H", missing_wheels=missing or {})


def wheels(name, version, pythons, requires):
    return [("%s-%s-cp%s-cp%s%s-%s.whl" % (name, version, p.replace(".", ""), p.replace(".", ""),
                                          "m" if p == "3.7" else "", LINUX), None, requires) for p in pythons]


def test_pairings_are_read_per_python_of_the_release():
    view = MemoryView({"torchvision": {
        "0.5": Release_(wheels=wheels("torchvision", "0.5", ("3.7", "3.8"), ["torch==1.0.0"])
                        + wheels("torchvision", "0.5", ("3.9",), ["torch==1.1.0"])),  # another torch, on 3.9 only
        "0.6": Release_(wheels=wheels("torchvision", "0.6", ("3.7",), ["torch>=1.0"])
                        + wheels("torchvision", "0.6", ("3.8",), ["torch==1.1.0"])),
        "0.7": Release_(wheels=wheels("torchvision", "0.7", ("3.7", "3.8"), ["torch>=1.0"])),
        "0.8": Release_(wheels=wheels("torchvision", "0.8", ("3.7", "3.8"), ["torch<1.0"])),
    }})
    statuses = [pairing_check(release(family={"torchvision": v}), "torchvision", Version(v))(view).status
                for v in ("0.5", "0.6", "0.7", "0.8")]
    assert statuses == ["agreed", "disagreed", "unverifiable", "disagreed"]


def test_python_lists_of_torch_and_of_each_member_with_missing_wheels():
    view = MemoryView({
        "torch": {"1.0.0": Release_(wheels=wheels("torch", "1.0.0", ("3.7", "3.8", "3.9"), []))},
        "torchvision": {"0.5": Release_(wheels=wheels("torchvision", "0.5", ("3.7",), ["torch==1.0.0"]))},
    })
    assert "wheels also for 3.9" in torch_python_check(release())(view).detail
    assert torch_python_check(release(python=("3.7", "3.8", "3.9")))(view).status == "agreed"
    member = release(family={"torchvision": "0.5"}, missing={"torchvision": ("3.8",)})
    assert member_python_check(member, "torchvision", Version("0.5"))(view).status == "agreed"
    unlisted = release(family={"torchvision": "0.5"})
    finding = member_python_check(unlisted, "torchvision", Version("0.5"))(view)
    assert finding.status == "disagreed" and "no wheel for 3.8" in finding.detail


def test_new_releases_are_found_and_a_members_older_unnamed_releases_are_not():
    view = MemoryView({
        "torch": {v: Release_() for v in ("1.0.0", "1.1.0", "1.2.0rc1")},
        "torchvision": {"0.1": Release_(), "0.5": Release_(), "0.6": Release_(
            wheels=[("torchvision-0.6-py3-none-any.whl", None, ["torch==1.1.0"])])},
    })
    torch = new_release_check("torch", [Version("1.0.0")], newest_only=False)(view)
    assert torch.status == "new" and "torch 1.1.0" in torch.detail and "rc1" not in torch.detail
    member = new_release_check("torchvision", [Version("0.5")], newest_only=True)(view)
    assert member.status == "new" and "torchvision 0.6 (torch==1.1.0)" in member.detail
    assert "0.1" not in member.detail


def test_spread_plan_and_selection():
    assert spread(list(range(10)), 3) == [0, 4, 9] and spread([1, 2], 5) == [1, 2] and spread([1, 2, 3], 1) == [2]
    kb = kb_module.load()
    both = plan(kb, sample=2)
    assert len(both.releases) == 2 and len(both.rules) == 2
    assert all(any(e.machine for e in r.evidence) for r in both.rules)
    only_rules = plan(kb, rules=["mmdet-mmcv-assert-2.1*"])
    assert not only_rules.releases and {r.id for r in only_rules.rules} == {
        "mmdet-mmcv-assert-2.1", "mmdet-mmcv-assert-2.11", "mmdet-mmcv-assert-2.12-2.13",
        "mmdet-mmcv-assert-2.14-2.16", "mmdet-mmcv-assert-2.17", "mmdet-mmcv-assert-2.18",
        "mmdet-mmcv-assert-2.19"}
    assert all(kind != "release" for kind, _ in only_rules.checks)
    only_release = plan(kb, releases=["1.10.0"])
    assert [str(r.torch) for r in only_release.releases] == ["1.10.0"] and not only_release.rules
    for bad in ({"releases": ["9.9"]}, {"rules": ["no-such-rule"]}, {"sample": 0}):
        with pytest.raises(BadInput):
            plan(kb, **bad)


def test_rule_states():
    view = MemoryView({"demo": DEMO})
    rules = [rule([{"kind": "module", "dist": "demo", "module": "demo.api", "present_in": ["1.0"]}], rule_id="a"),
             rule([{"kind": "module", "dist": "demo", "module": "demo.api", "present_in": ["1.0"]},
                   {"kind": "human", "why": "ABI"}], rule_id="b"),
             rule([{"kind": "human", "why": "ABI"}], rule_id="c"),
             rule([{"kind": "module", "dist": "demo", "module": "demo.api", "absent_in": ["1.0"]}], rule_id="d"),
             rule([{"kind": "module", "dist": "gone", "module": "gone", "present_in": ["1.0"]}], rule_id="e")]
    findings = [f for r in rules for f in run(r, view)]
    assert rule_states(rules, findings) == {"a": "code", "b": "code+sources", "c": "sources", "d": "disagreed",
                                            "e": "unverifiable"}


@pytest.mark.parametrize("entry, message", [
    ({"kind": "guess"}, "kind 'guess' is not one of"),
    ({"kind": "name", "dist": "x", "path": "x.py", "name": "y"}, "needs a boundary"),
    ({"kind": "name", "dist": "x", "path": "x.py", "name": "y", "absent_from": "1.0", "absnt_in": ["2"]},
     "does not take absnt_in"),
    ({"kind": "module", "dist": "x", "module": "x", "present_from": "one"}, "present_from = 'one' is not a version"),
    ({"kind": "text", "dist": "x", "path": "x.py", "text": "t", "in": "comment", "present_from": "1"},
     "in = 'comment' is not one of"),
    ({"kind": "requires-dist", "dist": "x", "version": "1.0", "requirement": "not a requirement!"},
     "is not a PEP 508 requirement"),
    ({"kind": "assert-bounds", "dist": "x", "path": "x.py", "versions": ["1"], "checked": "y"},
     "give expect, or make the rule require y"),
    ({"kind": "wheel-tags", "dist": "x", "version": "1", "pythons": ["3"]}, "not an X.Y version"),
    ({"kind": "human"}, "human needs why"),
])
def test_damaged_evidence_is_an_error_naming_the_rule_and_the_entry(entry, message):
    with pytest.raises(KnowledgeError) as caught:
        parse_evidence([entry], "rules.toml: rule demo", {})
    assert "rules.toml: rule demo: evidence #1" in str(caught.value) and message in str(caught.value)


def test_assert_bounds_expect_defaults_to_the_rules_require():
    evidence, = parse_evidence([{"kind": "assert-bounds", "dist": "mmdet", "path": "mmdet/__init__.py",
                                 "versions": ["2.0"], "checked": "mmcv-full"}], "r", {"mmcv-full": SpecifierSet("<2")})
    assert evidence.expect == SpecifierSet("<2") and evidence.module == "mmcv_full"


def test_every_shipped_rule_carries_evidence_and_most_are_checked_by_code():
    kb = kb_module.load()
    assert all(r.evidence for r in kb.rules), [r.id for r in kb.rules if not r.evidence]
    by_code = [r for r in kb.rules if any(e.machine for e in r.evidence)]
    assert len(by_code) >= 80
    for r in kb.rules:  # a claim that a machine can check is not only typed in
        if not any(e.machine for e in r.evidence):
            assert all(e.why for e in r.evidence), r.id
