"""The conda plugin's hooks against real-shaped conda-meta records and conda MatchSpec strings.

The hooks are called the way conda calls them (conda/core/solve.py `solve_for_transaction`): pre_solve with the
requested MatchSpecs, post_solve with the PackageRecords to unlink and link. Here they get duplicates of those
objects (tests/conda_fixtures.py: `Spec`, `Record`); test_real_conda_objects passes conda's own classes when conda
is importable, and tests/test_conda_real.py drives a real conda.
Every hook test runs twice: with the guard table `pinguard init` stores (the pre-solve light path) and with only
the anchors recorded (the engine path).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from pinguard import conda_records, kb as kb_module
from pinguard.adapters import conda_plugin
from pinguard.adapters.conda_plugin import PinguardRefusal, post_solve, pre_solve
from pinguard.adapters.protect import init
from pinguard.conda_spec import parse_matchspec
from pinguard.sources import conda_meta
from tests.conda_fixtures import BASE_ENV, PYTORCH_DIST, Record, Spec, make_env, record_json, records, \
    write_anchor, write_record
from tests.conftest import ROOT, assert_one_line_error, run_pinguard

ANCHORS = ["torch==1.10.0+cu113", "numpy==1.19.5"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("PINGUARD_CONDA", raising=False)
    monkeypatch.delenv("PINGUARD_KNOWLEDGE_DIR", raising=False)
    monkeypatch.setenv("PINGUARD_CACHE_DIR", str(tmp_path / "cache"))
    conda_plugin._ENVIRONMENTS.clear()
    getattr(conda_plugin, "_WARNED", set()).clear()  # one conda command per test


def protect(prefix, anchors=ANCHORS, table=True):
    """`pinguard init ANCHORS --prefix PREFIX`, or only the recorded anchors (table=False)."""
    if table:
        init(anchors, None, None, False, [], prefix=prefix)
        assert os.path.exists(os.path.join(prefix, conda_plugin.GUARD_FILE))
    else:
        write_anchor(prefix, anchors)
    return prefix


@pytest.fixture(params=["table", "engine"])
def env(request, tmp_path):
    return protect(make_env(str(tmp_path / "echofusion")), table=request.param == "table")


def refused(call, *args, **kwargs):
    with pytest.raises(PinguardRefusal) as info:
        call(*args, **kwargs)
    return info.value


# --- before the solver ---------------------------------------------------------------------------------------


def test_install_numpy_1_21_in_an_environment_anchored_to_numpy_1_19_is_refused_before_solving(env):
    error = refused(pre_solve, [Spec("numpy=1.21")], [], prefix=env)
    text = str(error)
    assert "[anchor-changed] the request numpy=1.21 excludes numpy==1.19.5" in text
    assert env in text and "pinguard.toml" in text and "PINGUARD_CONDA=off" in text
    assert [r.rule for r in error.refusals] == ["anchor-changed"]


@pytest.mark.parametrize("spec", ["numpy", "numpy 1.19.*", "numpy>=1.19,<1.20", "numpy=1.19.5", "requests",
                                  "conda-forge::numpy", "cudatoolkit=11.3", "pytorch", "pytorch=1.10.0",
                                  "setuptools=58", "pytorch[build=*cuda11.3*]"])
def test_requests_the_anchor_can_meet_pass(env, spec):
    pre_solve([Spec(spec)], [], prefix=env)


@pytest.mark.parametrize("spec,rule", [
    ("conda-forge::numpy[version='>=1.21']", "anchor-changed"),
    ("numpy>=1.20|<1.19", "anchor-changed"),
    ("pytorch=1.11", "anchor-changed"),
    ("pytorch[build=*cpu*]", "anchor-changed"),
    ("setuptools=65", "setuptools-distutils-version"),
    ("torchvision=0.12", "torch-family-pairing"),
    ("cudatoolkit=10.2", "conda-cuda-mix"),
    ("cuda-version=12", "conda-cuda-mix"),
])
def test_requests_that_break_the_anchor_are_refused_with_the_rule(env, spec, rule):
    error = refused(pre_solve, [Spec(spec)], [], prefix=env)
    assert rule in [r.rule for r in error.refusals]
    if rule not in ("anchor-changed", "torch-family-pairing"):
        assert "source:   https://" in str(error)


def test_removing_an_anchored_package_is_refused(env):
    error = refused(pre_solve, [], [Spec("numpy")], prefix=env)
    assert "removing numpy would remove numpy-1.19.5-py37h3e96413_3" in str(error)
    pre_solve([], [Spec("typing_extensions")], prefix=env)


# --- after the solver ----------------------------------------------------------------------------------------


def test_a_transaction_replacing_the_anchored_pytorch_is_refused(env):
    error = refused(post_solve, "repodata.json", records(PYTORCH_DIST),
                    records("pytorch-1.11.0-py3.7_cuda11.3_cudnn8.3.2_0"), prefix=env)
    assert "the transaction replaces %s with pytorch-1.11.0-py3.7_cuda11.3_cudnn8.3.2_0" % PYTORCH_DIST in str(error)
    assert "fix:      pytorch==1.10.0=py3.7_cuda11.3_cudnn8.2.0_0" in str(error)


def test_a_transaction_replacing_the_anchored_build_with_a_cpu_build_is_refused(env):
    error = refused(post_solve, "repodata.json", records(PYTORCH_DIST), records("pytorch-1.10.0-py3.7_cpu_0"),
                    prefix=env)
    assert "(CUDA 11.3 -> CPU only)" in str(error)


def test_relinking_the_same_record_passes(env):
    post_solve("repodata.json", records(PYTORCH_DIST), records(PYTORCH_DIST), prefix=env)


def test_adding_cudatoolkit_10_2_next_to_a_cuda_11_3_pytorch_is_refused(env):
    error = refused(post_solve, "repodata.json", records("cudatoolkit-11.3.1-h2bc3f7f_2"),
                    records("cudatoolkit-10.2.89-hfd86e86_1"), prefix=env)
    assert [r.rule for r in error.refusals] == ["conda-cuda-mix"]
    assert "cudatoolkit 10.2.89 is CUDA 10.2, but %s is built for CUDA 11.3" % PYTORCH_DIST in str(error)
    assert "source:   https://" in str(error)


def test_adding_a_cuda_version_of_another_major_is_refused(env):
    error = refused(post_solve, "repodata.json", [], records("cuda-version-12.1-h1d6eff3_3"), prefix=env)
    assert error.refusals[0].rule == "conda-cuda-mix"


@pytest.mark.parametrize("link", [
    ["requests-2.27.1-pyhd8ed1ab_0"],
    ["requests-2.27.1-pyhd8ed1ab_0", "urllib3-1.26.9-pyhd8ed1ab_0", "idna-3.3-pyhd3eb1b0_0"],
    ["setuptools-57.5.0-py37h06a4308_0"],
    ["cudatoolkit-11.3.1-h3b286be_10"],
])
def test_unrelated_or_harmless_installs_pass(env, link):
    unlink = records("setuptools-58.0.4-py37h06a4308_0") if link[0].startswith("setuptools") else \
        records("cudatoolkit-11.3.1-h2bc3f7f_2") if link[0].startswith("cudatoolkit") else []
    post_solve("repodata.json", unlink, records(*link), prefix=env)


def test_a_rule_broken_by_the_transaction_is_refused(env):
    error = refused(post_solve, "repodata.json", records("setuptools-58.0.4-py37h06a4308_0"),
                    records("setuptools-65.6.3-py37h06a4308_0"), prefix=env)
    assert error.refusals[0].rule == "setuptools-distutils-version"
    assert "https://github.com/pytorch/pytorch/issues/69894" in str(error)


def test_a_bare_conda_install_numpy_leaves_the_anchored_numpy_where_it_is(env):
    # 1. conda's own answer: `init` pins the anchored record in conda-meta/pinned, so the solver keeps it
    if os.path.exists(os.path.join(env, conda_plugin.GUARD_FILE)):
        pins = [parse_matchspec(line) for line in conda_meta.read_pinned(env)]
        numpy = [p for p in pins if p.name == "numpy"]
        assert len(numpy) == 1 and numpy[0].build == "py37h3e96413_3"
        assert numpy[0].matches_version("1.19.5") and not numpy[0].matches_version("1.21.6")
    # 2. the request itself is fine ...
    pre_solve([Spec("numpy")], [], prefix=env)
    # 3. ... but what plain conda answers to it (numpy moved to its newest version) is refused anyway
    error = refused(post_solve, "repodata.json", records("numpy-1.19.5-py37h3e96413_3"),
                    records("numpy-1.21.6-py37h976b520_0"), prefix=env)
    assert "replaces numpy-1.19.5-py37h3e96413_3 with numpy-1.21.6-py37h976b520_0" in str(error)


def test_a_transaction_that_repairs_a_broken_anchor_passes(tmp_path):
    entries = [e for e in _base() if e[0] != "numpy"] + [("numpy", "1.21.6", "py37h976b520_0", "conda-forge", [], 5)]
    prefix = protect(make_env(str(tmp_path / "broken"), entries), table=False)
    post_solve("repodata.json", records("numpy-1.21.6-py37h976b520_0"), records("numpy-1.19.5-py37h3e96413_3"),
               prefix=prefix)
    error = refused(post_solve, "repodata.json", records("numpy-1.21.6-py37h976b520_0"),
                    records("numpy-1.22.0-py37h0000000_0"), prefix=prefix)
    assert error.refusals[0].rule == "anchor-changed"


def test_an_environment_without_python_is_judged_too(tmp_path):
    entries = [e for e in _base() if e[0] in ("cudatoolkit", "pytorch-mutex", "_libgcc_mutex", "libgcc-ng")]
    prefix = protect(make_env(str(tmp_path / "nopython"), entries, dists=()), anchors=["cudatoolkit==11.3.1"])
    refused(pre_solve, [Spec("cudatoolkit=10.2")], [], prefix=prefix)
    refused(post_solve, "repodata.json", records("cudatoolkit-11.3.1-h2bc3f7f_2"),
            records("cudatoolkit-10.2.89-hfd86e86_1"), prefix=prefix)
    post_solve("repodata.json", [], records("zlib-1.2.11-h7f8727e_4"), prefix=prefix)


def _base():
    return list(BASE_ENV)


# --- environments pinguard does not guard, and the switch ----------------------------------------------------


def test_an_environment_without_an_anchor_is_not_touched(tmp_path):
    prefix = make_env(str(tmp_path / "plain"))
    with open(os.path.join(prefix, "conda-meta", "broken-1-0.json"), "w") as handle:
        handle.write("{not json")
    pre_solve([Spec("numpy=1.21"), Spec("numpy[version=]")], [Spec("numpy")], prefix=prefix)
    post_solve("repodata.json", records("numpy-1.19.5-py37h3e96413_3"), records("numpy-1.21.6-py37h976b520_0"),
               prefix=prefix)


def test_pinguard_conda_off_lets_everything_through(env, monkeypatch):
    monkeypatch.setenv("PINGUARD_CONDA", "off")
    pre_solve([Spec("numpy=1.21")], [], prefix=env)
    post_solve("repodata.json", records(PYTORCH_DIST), records("pytorch-1.10.0-py3.7_cpu_0"), prefix=env)


# --- bad input: a clear warning, conda proceeds, never a traceback ------------------------------------------


def test_a_damaged_record_is_named_and_judged_by_its_file_name(env, capsys):
    path = os.path.join(env, "conda-meta", "numpy-1.19.5-py37h3e96413_3.json")
    with open(path, "w") as handle:
        handle.write('{"name": "numpy", "version": ')
    post_solve("repodata.json", [], records("requests-2.27.1-pyhd8ed1ab_0"), prefix=env)
    error = refused(post_solve, "repodata.json", records("numpy-1.19.5-py37h3e96413_3"),
                    records("numpy-1.21.6-py37h976b520_0"), prefix=env)
    assert "numpy" in str(error)
    err = capsys.readouterr().err
    assert "pinguard: warning: %s is damaged: not valid JSON" % path in err
    assert "Traceback" not in err


def test_a_damaged_anchor_file_warns_and_conda_proceeds(env, capsys):
    with open(os.path.join(env, "pinguard.toml"), "w") as handle:
        handle.write("anchors = [unterminated\n")
    pre_solve([Spec("numpy=1.21")], [], prefix=env)
    post_solve("repodata.json", records("numpy-1.19.5-py37h3e96413_3"), records("numpy-1.21.6-py37h976b520_0"),
               prefix=env)
    err = capsys.readouterr().err
    assert err.count("pinguard: warning: %s is damaged" % os.path.join(env, "pinguard.toml")) >= 1
    assert "conda proceeds without pinguard's" in err and "Traceback" not in err


def test_a_damaged_knowledge_base_warns_and_conda_proceeds(tmp_path, monkeypatch, capsys):
    prefix = protect(make_env(str(tmp_path / "env")), table=False)
    knowledge = tmp_path / "knowledge"
    shutil.copytree(kb_module.DATA_DIR, str(knowledge))
    (knowledge / "rules.toml").write_text("[[rule]\nid = broken")
    monkeypatch.setenv("PINGUARD_KNOWLEDGE_DIR", str(knowledge))
    post_solve("repodata.json", records(PYTORCH_DIST), records("pytorch-1.10.0-py3.7_cpu_0"), prefix=prefix)
    err = capsys.readouterr().err
    assert "pinguard: warning: knowledge file %s is not valid TOML" % (knowledge / "rules.toml") in err
    assert "conda proceeds without pinguard's post-solve check" in err


def test_a_knowledge_file_with_bad_bytes_is_named_once_and_not_an_internal_error(tmp_path, monkeypatch, capsys):
    prefix = protect(make_env(str(tmp_path / "env")), table=False)
    knowledge = tmp_path / "knowledge"
    shutil.copytree(kb_module.DATA_DIR, str(knowledge))
    with open(str(knowledge / "rules.toml"), "ab") as handle:
        handle.write(b"\n# \xff\xfe not UTF-8\n")
    monkeypatch.setenv("PINGUARD_KNOWLEDGE_DIR", str(knowledge))
    for attempt in range(3):  # conda's solver may call the hooks several times in one command
        pre_solve([Spec("numpy=1.21")], [], prefix=prefix)
        post_solve("repodata.json", records(PYTORCH_DIST), records("pytorch-1.10.0-py3.7_cpu_0"), prefix=prefix)
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("pinguard: warning: knowledge file %s is not valid TOML: not UTF-8" % (
        knowledge / "rules.toml"))
    assert "internal error" not in lines[0]


@pytest.mark.parametrize("damage", [
    lambda t: t["guards"].__setitem__(0, "numpy"),
    lambda t: t["guards"][0].__setitem__("conda", "numpy"),
    lambda t: t["guards"][0].pop("requirement"),
    lambda t: t["guards"][0].__setitem__("spec", 5),
    lambda t: t.__setitem__("cuda", {"selectors": {"cudatoolkit": "minor"}, "major": 11, "minor": 3}),
    lambda t: t.__setitem__("cuda", {"selectors": {"cudatoolkit": {"match": "minor"}}, "major": "11"}),
    lambda t: t.__setitem__("anchored", ["numpy"]),
], ids=["entry-not-a-table", "conda-not-a-list", "no-requirement", "spec-not-text", "selector-not-a-table",
        "major-not-a-number", "anchored-not-a-table"])
def test_a_damaged_guard_table_is_named_once_and_the_engine_judges_instead(tmp_path, capsys, damage):
    prefix = protect(make_env(str(tmp_path / "env")), table=True)
    path = os.path.join(prefix, conda_plugin.GUARD_FILE)
    with open(path) as handle:
        table = json.load(handle)
    damage(table)
    with open(path, "w") as handle:
        json.dump(table, handle)
    for attempt in range(3):
        error = refused(pre_solve, [Spec("numpy=1.21")], [], prefix=prefix)
        assert "numpy==1.19.5" in str(error)
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("pinguard: warning: %s is damaged (" % path), lines
    assert "internal error" not in lines[0]


def test_a_record_from_an_unknown_channel_with_an_unreadable_build_is_named(tmp_path, capsys):
    prefix = make_env(str(tmp_path / "env"), [e for e in _base() if e[0] not in ("pytorch",)])
    os.unlink(os.path.join(prefix, "conda-meta", "cudatoolkit-11.3.1-h2bc3f7f_2.json"))
    write_record(prefix, record_json("pytorch", "1.10.0", "mybuild_0", "<unknown>", [], 5))
    protect(prefix, ["torch==1.10.0"], table=False)
    post_solve("repodata.json", [], records("cudatoolkit-10.2.89-hfd86e86_1"), prefix=prefix)  # CUDA unknown
    err = capsys.readouterr().err
    assert "cannot tell the backend of pytorch-1.10.0-mybuild_0 from its build string (channel <unknown>)" in err


def test_an_anchor_in_condas_name_is_read_as_the_pypi_name_with_a_warning(tmp_path, capsys):
    prefix = protect(make_env(str(tmp_path / "env")), ["pytorch==1.10.0"], table=False)
    error = refused(post_solve, "repodata.json", records(PYTORCH_DIST),
                    records("pytorch-1.11.0-py3.7_cuda11.3_cudnn8.3.2_0"), prefix=prefix)
    assert "torch==1.10.0" in str(error)
    assert "anchor pytorch==1.10.0 uses conda's name pytorch; pinguard reads it as torch==1.10.0" in \
        capsys.readouterr().err


def test_init_refuses_an_anchor_in_condas_name(tmp_path):
    prefix = make_env(str(tmp_path / "env"))
    with pytest.raises(Exception) as info:
        init(["pytorch==1.10.0"], None, None, False, [], prefix=prefix)
    assert str(info.value) == ("anchor pytorch==1.10.0 names conda's package pytorch; pinguard anchors use PyPI "
                               "names: torch==1.10.0")


def test_an_unreadable_matchspec_warns_and_conda_proceeds(env, capsys):
    pre_solve([Spec("numpy[version=]")], [], prefix=env)
    assert "pinguard: warning:" in capsys.readouterr().err


def test_a_bug_in_pinguard_warns_and_conda_proceeds(env, monkeypatch, capsys):
    from pinguard.engines import conda_rules

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(conda_rules, "judge_transaction", broken)
    post_solve("repodata.json", records(PYTORCH_DIST), records("pytorch-1.10.0-py3.7_cpu_0"), prefix=env)
    err = capsys.readouterr().err
    assert "internal error in the post-solve check (RuntimeError: boom); conda proceeds" in err


# --- the plugin module itself --------------------------------------------------------------------------------


def test_the_plugin_module_imports_cheaply_and_without_conda():
    code = ("import sys; import pinguard.adapters.conda_plugin as p; "
            "print(sorted(m for m in sys.modules if m.startswith(('pinguard', 'packaging', 'tomli'))))")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT), check=True).stdout
    assert json.loads(out.replace("'", '"')) == ["pinguard", "pinguard.adapters", "pinguard.adapters.conda_plugin"]


def test_the_light_path_judges_a_request_without_packaging_or_the_knowledge_base():
    light = ("pinguard.adapters.conda_plugin", "pinguard.engines.conda_request", "pinguard.conda_spec",
             "pinguard.sources.conda_meta", "pinguard.kb_cache", "pinguard.violation_text", "pinguard.pep503")
    code = ("import sys; %s; print(sorted(m for m in sys.modules if m.startswith(('packaging', 'tomli', "
            "'pinguard.kb', 'pinguard.engines.conda_rules'))))" % "; ".join("import " + m for m in light))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT), check=True).stdout
    assert json.loads(out.replace("'", '"')) == ["pinguard.kb_cache"]


def test_the_hooks_are_registered_only_with_a_conda_that_has_them():
    try:
        from conda.plugins.types import CondaPostSolve, CondaPreSolve  # noqa: F401
    except Exception:  # noqa: BLE001
        assert not hasattr(conda_plugin, "conda_pre_solves") and not hasattr(conda_plugin, "conda_post_solves")
        return
    hooks = list(conda_plugin.conda_pre_solves()) + list(conda_plugin.conda_post_solves())
    assert [h.name for h in hooks] == ["pinguard", "pinguard"]


def test_the_entry_point_is_declared():
    with open(os.path.join(ROOT, "pyproject.toml")) as handle:
        text = handle.read()
    assert '[project.entry-points.conda]\npinguard = "pinguard.adapters.conda_plugin"' in text


def test_real_conda_objects(tmp_path):
    """With conda importable in this interpreter, its own MatchSpec and PackageRecord go through the hooks."""
    try:
        from conda.models.match_spec import MatchSpec
        from conda.models.records import PackageRecord
    except Exception as exc:  # noqa: BLE001
        pytest.skip("conda is not importable here (%s); tests/test_conda_real.py drives a real conda when "
                    "PINGUARD_TEST_CONDA_PYTHON names one" % type(exc).__name__)
    prefix = protect(make_env(str(tmp_path / "env")))
    refused(pre_solve, [MatchSpec("numpy=1.21")], [], prefix=prefix)
    pre_solve([MatchSpec("numpy")], [], prefix=prefix)

    def rec(name, version, build, channel="pytorch"):
        return PackageRecord(name=name, version=version, build=build, build_number=0, channel=channel,
                             subdir="linux-64")

    refused(post_solve, "repodata.json", (rec("pytorch", "1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0"),),
            (rec("pytorch", "1.11.0", "py3.7_cuda11.3_cudnn8.3.2_0"),), prefix=prefix)
    from conda import CondaError

    assert issubclass(PinguardRefusal, CondaError)


# --- reading conda environments ------------------------------------------------------------------------------


def test_records_are_read_with_their_channel_and_files(tmp_path):
    prefix = make_env(str(tmp_path / "env"))
    found = {r.name: r for r in conda_meta.read_records(prefix)}
    assert found["pytorch"].build == "py3.7_cuda11.3_cudnn8.2.0_0" and found["pytorch"].channel == "pytorch"
    assert found["cudatoolkit"].channel == "defaults" and found["numpy"].channel == "conda-forge"
    assert len(found["pytorch"].files) == 3000 and "cudatoolkit >=11.3,<11.4" in found["pytorch"].depends
    assert conda_meta.python_version(found.values()) == "3.7"
    peeked = conda_meta.peek_record(conda_records.CondaRecord("pytorch", "1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0",
                                                           path=found["pytorch"].path))
    assert peeked.channel == "pytorch"  # from the head of a 1 MB file


def test_a_record_disagreeing_with_its_file_name_is_named(tmp_path):
    prefix = make_env(str(tmp_path / "env"))
    data = record_json("numpy", "1.21.6", "py37h976b520_0")
    with open(os.path.join(prefix, "conda-meta", "numpy-1.19.5-py37h3e96413_3.json"), "w") as handle:
        json.dump(data, handle)
    with pytest.raises(conda_meta.CondaMetaError) as info:
        conda_meta.read_records(prefix)
    assert "numpy-1.19.5-py37h3e96413_3.json is damaged: it records numpy-1.21.6-py37h976b520_0" in str(info.value)


@pytest.mark.parametrize("build,label,flavor", [
    ("py3.7_cuda11.3_cudnn8.2.0_0", "cu113", "pytorch"), ("py3.8_cpu_0", "cpu", ""),
    ("cuda112py39h4e14dd4_3", "cu112", "conda-forge"), ("cuda120_py310h2c91c31_300", "cu120", "conda-forge"),
    ("cpu_py39hc5866cc_1", "cpu", ""), ("py37_cu113", "cu113", "pytorch"), ("py37_cpu", "cpu", ""),
    ("py3.6_cuda10.0.130_cudnn7.4.1_1", "cu100", "pytorch"), ("py37h6f2ec95_0", None, ""),
])
def test_pytorch_build_strings(build, label, flavor):
    parsed = conda_records.parse_build(build)
    assert (parsed.label, parsed.flavor) == (label, flavor)


@pytest.mark.parametrize("value,name", [
    ("https://conda.anaconda.org/pytorch/linux-64", "pytorch"),
    ("https://conda.anaconda.org/conda-forge", "conda-forge"),
    ("https://repo.anaconda.com/pkgs/main/linux-64", "defaults"), ("pytorch", "pytorch"), ("<unknown>", "<unknown>"),
    ("file:///tmp/chan/linux-64", "local:/tmp/chan"),
])
def test_channel_names(value, name):
    assert conda_records.channel_name(value) == name


def test_pip_over_conda_double_installs_are_found(tmp_path):
    from pinguard.engines.conda_rules import double_installs

    prefix = make_env(str(tmp_path / "env"), dists=(("numpy", "1.19.5", "conda"), ("numpy", "1.21.6", "pip"),
                                                     ("requests", "2.27.1", "pip")))
    view = conda_meta.read_prefix(prefix)
    found = double_installs(kb_module.load(), view.records, view.dists)
    assert [(v.rule, v.packages) for v in found] == [("pip-over-conda", {"numpy": "1.21.6"})]
    assert "conda install --force-reinstall numpy==1.19.5=py37h3e96413_3" in found[0].fix


def test_check_prefix_understands_a_conda_environment(tmp_path):
    prefix = make_env(str(tmp_path / "env"), dists=(("numpy", "1.21.6", "pip"), ("numpy", "1.19.5", "conda"),
                                                     ("mmcv-full", "1.4.0", "pip"), ("yapf", "0.40.2", "pip")))
    write_anchor(prefix, ["torch==1.10.0+cu113"])
    result = run_pinguard("check", "--prefix", prefix, "--json")
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    rules = {v["rule"] for v in payload["violations"]}
    assert {"pip-over-conda", "yapf-verify"} <= rules
    assert payload["anchors"] == ["torch==1.10.0+cu113"] and payload["python"] == "3.7"


def test_check_prefix_clean_and_bad_input(tmp_path):
    prefix = make_env(str(tmp_path / "env"))
    result = run_pinguard("check", "--prefix", prefix, "--anchor", "torch==1.10.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert_one_line_error(run_pinguard("check", "--prefix", prefix), contains="give the anchor with --anchor")
    assert_one_line_error(run_pinguard("check", "--prefix", prefix, "--anchor", "pytorch==1.10.0"),
                          contains="pinguard anchors use PyPI names: torch==1.10.0")
    assert_one_line_error(run_pinguard("check", "--prefix", str(tmp_path)), contains="is not a conda environment")
    with open(os.path.join(prefix, "conda-meta", "zlib-1.2.11-h7f8727e_4.json"), "w") as handle:
        handle.write('{"x": ')
    assert_one_line_error(run_pinguard("check", "--prefix", prefix, "--anchor", "torch==1.10.0"),
                          contains="zlib-1.2.11-h7f8727e_4.json is damaged: not valid JSON")


def test_cuda_runtime_mix_already_present_is_a_check_finding_and_not_a_refusal(tmp_path):
    entries = [e for e in _base() if e[0] != "cudatoolkit"] + [("cudatoolkit", "10.2.89", "hfd86e86_1", "defaults",
                                                                 [], 5)]
    prefix = protect(make_env(str(tmp_path / "env"), entries), table=False)
    result = run_pinguard("check", "--prefix", prefix, "--json")
    assert "conda-cuda-mix" in {v["rule"] for v in json.loads(result.stdout)["violations"]}
    post_solve("repodata.json", [], records("requests-2.27.1-pyhd8ed1ab_0"), prefix=prefix)


def test_duck_typed_records_keep_their_channel():
    record = conda_plugin.record_from_conda(Record("pytorch", "1.10.0", "py3.7_cpu_0", "pytorch"))
    assert (record.name, record.channel, record.build_number) == ("pytorch", "pytorch", 0)
