"""The evidence engine on small in-memory releases: missing names, moved modules, removed keywords, caller-side
fixes, the import check, monotone bisection, and `fix` repairing crashes no rule names."""

from typing import Dict, List

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.api_types import ApiView, ModuleLookup
from pinguard.engines import windows
from pinguard.engines.evidence import gather
from pinguard.engines.fix import fix
from pinguard.model import Anchor
from pinguard.sources.api_facts import module_facts
from pinguard.sources.failures import classify, primary
from pinguard.sources.pins import parse_pins
from pinguard.sources.tracebacks import parse_crash
from tests.test_fix import MemoryData

SITE = "/env/lib/python3.7/site-packages"


class MemoryApi(ApiView):
    """dist -> version -> {path: source}: release files in memory, counting the reads."""

    def __init__(self, releases: Dict[str, Dict[str, Dict[str, str]]]) -> None:
        self.releases = releases
        self.reads: List[tuple] = []

    def module(self, dist, version, module):
        files = self.releases.get(dist, {}).get(str(version))
        if files is None:
            return ModuleLookup("unknown", why="no files")
        self.reads.append((dist, str(version), module))
        base = module.replace(".", "/")
        for path, status in ((base + "/__init__.py", "package"), (base + ".py", "module")):
            if path in files:
                return ModuleLookup(status, path, module_facts(files[path], module, status == "package"))
        if any(p.startswith(base + "/") for p in files):
            return ModuleLookup("package")
        return ModuleLookup("absent")

    def top_level(self, dist, version):
        files = self.releases.get(dist, {}).get(str(version), {})
        return sorted({p.split("/")[0].split(".")[0] for p in files})


def crash(site_path, line, code, message, project_first=True):
    frames = ['  File "train.py", line 3, in <module>\n    import applib\n'] if project_first else []
    frames.append('  File "%s/%s", line %d, in <module>\n    %s\n' % (SITE, site_path, line, code))
    return "Traceback (most recent call last):\n" + "".join(frames) + message + "\n"


def failure_of(text):
    return primary(classify(parse_crash(text)))


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


FANCY = {v: {"fancyjson/__init__.py": "def dumps(x): pass\n" + ("def fancy_dumps(x): pass\n" if v < "1.5" else "")}
         for v in ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9")}


def applib_release(uses: bool) -> Dict[str, str]:
    return {"applib/__init__.py": "from . import io\n",
            "applib/io.py": ("from fancyjson import dumps, fancy_dumps\n" if uses else "from fancyjson import dumps\n")}


APPLIB = {v: applib_release(Version(v) < Version("2.5")) for v in ("1.0", "1.5", "2.0", "2.1", "2.4", "2.5", "3.0")}
SAVE_CRASH = crash("applib/io.py", 1, "from fancyjson import dumps, fancy_dumps",
                   "ImportError: cannot import name 'fancy_dumps' from 'fancyjson' (%s/fancyjson/__init__.py)" % SITE)


def test_a_missing_name_moves_the_callee_to_the_nearest_release_that_binds_it():
    api = MemoryApi({"fancyjson": FANCY, "applib": APPLIB})
    pins = {"applib": Version("2.0"), "fancyjson": Version("1.7")}
    versions = {"fancyjson": [Version(v) for v in FANCY], "applib": [Version(v) for v in APPLIB]}
    evidence = gather(failure_of(SAVE_CRASH), pins, set(), versions.get, api, {})
    first = evidence.moves[0]
    assert (first.dist, first.role, str(first.specifier)) == ("fancyjson", "callee", "<=1.4")
    proofs = first.proofs()
    assert proofs[0].holds and proofs[0].version == "1.4" and "binds fancy_dumps" in proofs[0].fact
    assert proofs[1].version == "1.5" and not proofs[1].holds
    assert len({r[1] for r in api.reads if r[0] == "fancyjson"}) < len(FANCY)  # bisected, not read one by one


def test_with_the_callee_anchored_the_caller_moves_to_a_release_that_no_longer_needs_the_name():
    api = MemoryApi({"fancyjson": FANCY, "applib": APPLIB})
    pins = {"applib": Version("2.0"), "fancyjson": Version("1.7")}
    versions = {"fancyjson": [Version(v) for v in FANCY], "applib": [Version(v) for v in APPLIB]}
    evidence = gather(failure_of(SAVE_CRASH), pins, {"fancyjson"}, versions.get, api, {})
    assert [(m.dist, m.role, str(m.specifier)) for m in evidence.moves] == [("applib", "caller", ">=2.5")]
    assert "no longer imports fancy_dumps" in evidence.moves[0].proofs()[0].fact


def test_fix_repairs_a_crash_no_rule_names_and_says_which_file_proves_it(kb):
    api = MemoryApi({"fancyjson": FANCY, "applib": APPLIB})
    data = MemoryData({"fancyjson": {v: [] for v in FANCY}, "applib": {v: ["fancyjson"] for v in APPLIB}})
    env = parse_pins("applib==2.0\nfancyjson==1.7\n")
    result = fix(kb, data, env, [Anchor.parse("applib==2.0")], Version("3.7"), traceback=SAVE_CRASH,
                 failure=failure_of(SAVE_CRASH), api=api)
    assert result.ok, result.impossible
    assert result.pins == [("applib", "2.0"), ("fancyjson", "1.4")]
    assert result.changes[0].reasons == ["evidence"]
    assert result.evidence.moves[0].proofs()[0].fact.startswith("fancyjson/__init__.py binds fancy_dumps")


def test_a_removed_keyword_moves_the_callee_to_a_release_whose_def_accepts_it():
    hub = {v: {"torchish/__init__.py": "from . import hub\n",
               "torchish/hub.py": "def load(url, model_dir=None%s):\n    pass\n" % (
                   ", file_name=None" if Version(v) >= Version("1.6") else "")}
           for v in ("1.3", "1.4", "1.5", "1.6", "1.7")}
    text = ('Traceback (most recent call last):\n  File "run.py", line 9, in <module>\n'
            '    net = torchish.hub.load(url, file_name="w")\n'
            "TypeError: load() got an unexpected keyword argument 'file_name'\n")
    api = MemoryApi({"torchish": hub})
    evidence = gather(failure_of(text), {"torchish": Version("1.4")}, set(),
                      lambda n: [Version(v) for v in hub], api, {})
    move = evidence.moves[0]
    assert (move.dist, str(move.specifier)) == ("torchish", ">=1.6")
    assert "def load(url, model_dir, file_name)" in move.proofs()[0].fact


def test_a_moved_module_prefers_the_release_where_it_is_not_a_deprecation_shim():
    def release(kind):
        files = {"sk/__init__.py": "", "sk/metrics/__init__.py": ""}
        if kind == "real":
            files["sk/metrics/classification.py"] = "def accuracy(a, b): pass\n"
        elif kind == "shim":
            files["sk/metrics/classification.py"] = ("import warnings\nwarnings.warn('moved', FutureWarning)\n"
                                                     "from ._classification import *\n")
        return files
    kinds = {"0.19": "real", "0.20": "real", "0.21": "real", "0.22": "shim", "0.23": "shim", "0.24": "gone"}
    api = MemoryApi({"sk": {v: release(k) for v, k in kinds.items()}})
    text = ('Traceback (most recent call last):\n  File "example.py", line 6, in <module>\n'
            "    from sk.metrics.classification import accuracy\n"
            "ModuleNotFoundError: No module named 'sk.metrics.classification'\n")
    evidence = gather(failure_of(text), {"sk": Version("0.24")}, set(), lambda n: [Version(v) for v in kinds], api,
                      {})
    assert str(evidence.moves[0].specifier) == "<=0.21"
    assert "deprecation shim" in evidence.moves[0].proofs()[1].fact


def test_the_import_check_rejects_a_release_whose_imports_the_pins_cannot_satisfy(kb):
    """modeling moved away in 4.0; 3.5 has it but imports a name the anchored torchish removed in 1.8."""
    def release(version):
        v = Version(version)
        files = {"tfm/__init__.py": "from . import trainer\n", "tfm/trainer.py": "import torchish\n"}
        if v < Version("4.0"):
            files["tfm/modeling.py"] = "class Model: pass\n"
        if Version("3.5") <= v < Version("4.1"):
            files["tfm/trainer.py"] = "from torchish.sched import SAVE_WARNING\n"
        return files
    tfm = {v: release(v) for v in ("3.3", "3.4", "3.5", "4.0", "4.1", "4.3")}
    torchish = {"1.10": {"torchish/__init__.py": "", "torchish/sched.py": "def step(): pass\n"}}
    api = MemoryApi({"tfm": tfm, "torchish": torchish})
    data = MemoryData({"tfm": {v: ["torchish"] for v in tfm}, "torchish": {"1.10": []}})
    text = ('Traceback (most recent call last):\n  File "model.py", line 3, in <module>\n'
            "    from tfm.modeling import Model\nModuleNotFoundError: No module named 'tfm.modeling'\n")
    env = parse_pins("tfm==4.3\ntorchish==1.10\n")
    result = fix(kb, data, env, [Anchor.parse("torchish==1.10")], Version("3.7"), traceback=text,
                 failure=failure_of(text), api=api)
    assert result.ok, result.impossible
    assert dict(result.pins)["tfm"] == "3.4"
    assert any("SAVE_WARNING from torchish.sched, which torchish 1.10 does not provide" in line
               for line in result.considered)


def test_no_evidence_is_no_repair_naming_what_was_looked_for(kb):
    api = MemoryApi({"fancyjson": {"1.7": {"fancyjson/__init__.py": "def dumps(x): pass\n"}}, "applib": APPLIB})
    data = MemoryData({"fancyjson": {"1.7": []}, "applib": {v: [] for v in APPLIB}})
    env = parse_pins("applib==2.0\nfancyjson==1.7\n")
    result = fix(kb, data, env, [Anchor.parse("applib==2.0")], Version("3.7"), traceback=SAVE_CRASH,
                 failure=failure_of(SAVE_CRASH), api=api)
    assert not result.ok
    assert "fancy_dumps in fancyjson" in result.impossible and "\n" not in result.impossible


def test_bisection_reads_few_releases_and_finds_both_windows():
    versions = [Version("1.%d" % i) for i in range(60)]
    read = []

    def test(version):
        read.append(version)
        return (version.minor < 20 or 45 <= version.minor), "x"

    found = windows.search(versions, Version("1.30"), test)
    assert [(w.direction, str(w.nearest), str(w.far) if w.far else None) for w in found] == [
        ("down", "1.19", None), ("up", "1.45", None)]
    assert len(set(read)) <= 20  # of 59 releases on the two sides
    assert found[0].outside.version == Version("1.20") and found[0].outside.holds is False
    assert str(found[0].specifier()) == "<=1.19" and str(found[1].specifier()) == ">=1.45"


def test_a_window_that_closes_again_gets_its_far_end():
    versions = [Version("7.%d" % i) for i in range(10)]
    found = windows.search(versions, Version("7.0"), lambda v: (3 <= v.minor <= 5, ""), directions=("up",))
    assert found[0].specifier() == SpecifierSet(">=7.3,<=7.5")


MMDET_LIKE = '''import mmcvish

def digit_version(version_str):
    digit_version = []
    for x in version_str.split('.'):
        if x.isdigit():
            digit_version.append(int(x))
    return digit_version

mmcv_minimum_version = '1.3.8'
mmcv_maximum_version = '1.4.0'
mmcv_version = digit_version(mmcvish.__version__)

assert (mmcv_version >= digit_version(mmcv_minimum_version)
        and mmcv_version <= digit_version(mmcv_maximum_version)), \\
    f'MMCV=={mmcvish.__version__} is used but incompatible.'
'''


def test_a_library_version_assert_is_read_through_its_names_and_its_own_digit_lists():
    line = MMDET_LIKE.splitlines().index("assert (mmcv_version >= digit_version(mmcv_minimum_version)") + 1
    text = ('Traceback (most recent call last):\n  File "train.py", line 1, in <module>\n    import mmdetish\n'
            '  File "%s/mmdetish/__init__.py", line %d, in <module>\n    assert (mmcv_version >= '
            'digit_version(mmcv_minimum_version)\nAssertionError: MMCV==1.5.0 is used but incompatible.\n'
            % (SITE, line))
    mmcv_versions = ("1.3.7", "1.3.8", "1.3.9", "1.4.0", "1.4.1", "1.5.0")
    api = MemoryApi({"mmdetish": {"2.17.0": {"mmdetish/__init__.py": MMDET_LIKE}},
                     "mmcvish": {v: {"mmcvish/__init__.py": "__version__ = '%s'\n" % v} for v in mmcv_versions}})
    pins = {"mmdetish": Version("2.17.0"), "mmcvish": Version("1.5.0")}
    versions = {"mmcvish": [Version(v) for v in mmcv_versions], "mmdetish": [Version("2.17.0")]}
    evidence = gather(failure_of(text), pins, {"mmdetish"}, versions.get, api, {})
    move = evidence.moves[0]
    # as digit lists, 1.4.0 <= [1, 4, 0] holds and 1.4.1 does not: the window is 1.3.8 .. 1.4.0
    assert (move.dist, move.specifier) == ("mmcvish", SpecifierSet(">=1.3.8,<=1.4.0"))
    assert "passes with mmcvish 1.4.0" in move.proofs()[0].fact
