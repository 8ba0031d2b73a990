"""The guard's pure parts and file formats, without pip: argument parsing, pip.conf / activate / uv.toml merges,
pinguard.toml and its transaction, the judge for plans (conda ownership, CUDA builds), doctor's findings,
the GPU probe's driver files, the environment probe on Python 3.6, and the hook's start-up line."""

import configparser
import os
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.adapters import activate, hook, install_state, pip_config, uv_config
from pinguard.adapters.pip_args import elsewhere, requested, split_guard_args
from pinguard.engines import doctor
from pinguard.engines.guard import PlanItem, installed_view, judge_plan, prejudge, rewrite_constraints
from pinguard.engines.verdict import Installed
from pinguard.errors import BadInput
from pinguard.model import Anchor
from pinguard.sources.gpu_probe import probe_gpu
from tests.conftest import hermetic_env, pyenv_python

KB = kb_module.load()
PY37 = Version("3.7")


# -- command line -------------------------------------------------------------------------------------------------

def test_pinguard_options_are_taken_anywhere_and_the_rest_goes_to_pip():
    args = split_guard_args(["-U", "--python", "/x/python", "numpy>=1.20", "--rewrite", "-r", "req.txt",
                             "--dry-run", "--json", "--anchor=torch==1.10.0", "-i", "https://idx/simple", "six"])
    assert (args.python, args.rewrite, args.dry_run, args.json) == ("/x/python", True, True, True)
    assert args.anchors == ["torch==1.10.0"]
    assert args.tool_args == ["-U", "numpy>=1.20", "-r", "req.txt", "-i", "https://idx/simple", "six"]
    reqs, others = requested(args.tool_args)
    assert [str(r) for r in reqs] == ["numpy>=1.20", "six"]
    assert split_guard_args(["-p", "/y/python", "six"], "uv").python == "/y/python"
    assert requested(["./pkg", "git+https://x/y.git", "-e", ".", "--progress-bar", "off", "a==1"])[0] == [
        Requirement("a==1")]
    assert elsewhere(["--target=/tmp/x", "six"]) == "--target" and elsewhere(["six"]) is None
    with pytest.raises(BadInput):
        split_guard_args(["six", "--python"])


# -- pip.conf ---------------------------------------------------------------------------------------------------

def test_pip_conf_new_file_and_build_constraint():
    text = pip_config.merge(None, "pip.conf", "/e/pinguard-constraints.txt", {}, build=True)
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    assert parser.get("install", "constraint") == "/e/pinguard-constraints.txt"
    assert parser.get("install", "build-constraint") == "/e/pinguard-constraints.txt"


def test_pip_conf_keeps_content_and_every_constraint_pip_applied_before():
    original = ("# mine\n[global]\ntimeout = 60\nconstraint = /etc/global.txt\n\n[install]\nupgrade-strategy = eager\n"
                "constraint = /a.txt\n    /b.txt\n[freeze]\nall = true")
    values = {"global.constraint": "/etc/global.txt", "install.constraint": "/a.txt\n/b.txt"}
    text = pip_config.merge(original, "pip.conf", "/e/c.txt", values, build=False)
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    assert parser.get("install", "constraint").split() == ["/a.txt", "/b.txt", "/e/c.txt"]
    assert parser.get("install", "upgrade-strategy") == "eager"
    assert parser.get("global", "constraint") == "/etc/global.txt" and parser.get("freeze", "all") == "true"
    assert text.startswith("# mine\n[global]\ntimeout = 60\n")
    assert pip_config.merge(text, "pip.conf", "/e/c.txt", values, build=False) == text  # idempotent
    carried = pip_config.merge("[global]\ntimeout = 1\n", "pip.conf", "/e/c.txt",
                               {"global.constraint": "/etc/xdg/pip/constraints.txt"}, build=False)
    assert "constraint = /etc/xdg/pip/constraints.txt\n    /e/c.txt\n" in carried  # the global cap survives


def test_pip_conf_damaged_is_bad_input():
    with pytest.raises(BadInput, match="not a valid pip configuration"):
        pip_config.merge("[install\nconstraint = x\n", "/e/pip.conf", "/e/c.txt", {}, build=False)
    assert pip_config.config_file_value("/a b/c.txt").startswith("file:")


# -- activate ---------------------------------------------------------------------------------------------------

def test_activate_sets_and_restores_uv_constraint(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    script = venv / "bin" / "activate"
    original = script.read_text()
    text, restores = activate.with_uv_constraint(original, "/e/pinguard-constraints.txt")
    assert restores
    assert activate.with_uv_constraint(text, "/e/pinguard-constraints.txt")[0] == text  # a second init: same text
    assert activate.strip_blocks(text) == original
    script.write_text(text)
    shell = ('echo "1=${UV_CONSTRAINT-unset}"; source "%s"; echo "2=$UV_CONSTRAINT"; deactivate; '
             'echo "3=${UV_CONSTRAINT-unset}"' % script)
    out = subprocess.run(["bash", "-c", shell], stdout=subprocess.PIPE, universal_newlines=True,
                         env=hermetic_env({"UV_CONSTRAINT": "/mine.txt"})).stdout
    assert out.split() == ["1=/mine.txt", "2=/mine.txt", "/e/pinguard-constraints.txt", "3=/mine.txt"]


# -- uv.toml ----------------------------------------------------------------------------------------------------

def test_uv_toml_merge_and_refusals():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib

    text = uv_config.merge("[pip]\nno-build = false\n", "/p/uv.toml", ["numpy<2", "torch==2.1.0"], None, None, "x")
    data = tomllib.loads(text)
    assert data["constraint-dependencies"] == ["numpy<2", "torch==2.1.0"] and data["pip"]["no-build"] is False
    again = uv_config.merge(text, "/p/uv.toml", ["numpy<2"], ("--extra-index-url", "https://i/cu121"), None, "x")
    assert tomllib.loads(again)["index"][0]["url"] == "https://i/cu121"
    with pytest.raises(BadInput, match="tool.uv"):
        uv_config.merge(None, "/p/uv.toml", ["a"], None, "[tool.uv]\ndev-dependencies = []\n", "x")
    with pytest.raises(BadInput, match="already sets constraint-dependencies"):
        uv_config.merge('constraint-dependencies = ["a"]\n', "/p/uv.toml", ["b"], None, None, "x")
    with pytest.raises(BadInput, match="not valid TOML"):
        uv_config.merge("x = [\n", "/p/uv.toml", ["b"], None, None, "x")


# -- pinguard.toml and the transaction ---------------------------------------------------------------------------

def test_state_round_trip_and_corruption(tmp_path):
    state = install_state.State(str(tmp_path), ["torch==1.10.0+cu113"], "cu113", "3.7.16", True, ["/p"],
                                [install_state.FileRecord(str(tmp_path / "pip.conf"), "pip.conf", True, 0o600,
                                                          b"\x00[x]\r\n\xff", "ab")], dirs=["/d"])
    (tmp_path / "pinguard.toml").write_text(state.render())
    back = install_state.read_state(str(tmp_path))
    assert (back.anchors, back.cuda, back.hook, back.projects, back.dirs) == (
        state.anchors, "cu113", True, ["/p"], ["/d"])
    assert back.files[0].backup == b"\x00[x]\r\n\xff" and back.files[0].mode == 0o600
    for damage in ("anchors = [\n", "format = 99\nanchors = []\n", 'format = 1\nanchors = []\n[[files]]\npath = 1\n'):
        (tmp_path / "pinguard.toml").write_text(damage)
        with pytest.raises(BadInput, match="corrupt"):
            install_state.read_state(str(tmp_path))


def test_a_failed_write_puts_every_file_back(tmp_path):
    prefix = tmp_path
    (prefix / "pip.conf").write_bytes(b"[global]\ntimeout = 1\n")
    (prefix / "etc").mkdir()
    (prefix / "etc" / "conda").write_text("a file where a directory must go")
    before = {p: p.read_bytes() for p in prefix.rglob("*") if p.is_file()}
    state = install_state.State(str(prefix), ["numpy==1.19.5"])
    changes = [install_state.FileChange(str(prefix / "pinguard-constraints.txt"), "constraints", b"numpy==1.19.5\n"),
               install_state.FileChange(str(prefix / "pip.conf"), "pip.conf", b"[install]\nconstraint = x\n"),
               install_state.FileChange(str(prefix / "etc" / "conda" / "activate.d" / "pinguard-uv.sh"), "conda", b"x")]
    with pytest.raises(BadInput, match="cannot create"):
        install_state.Transaction(state, None).apply(changes)
    after = {p: p.read_bytes() for p in prefix.rglob("*") if p.is_file()}
    assert after == before
    assert not (prefix / "pinguard.toml").exists()


# -- judging plans ---------------------------------------------------------------------------------------------

def _installed(**versions):
    return [Installed(name.replace("_", "-"), version, "pip") for name, version in versions.items()]


def test_prejudge_exact_pins_and_ranges():
    torch = [Anchor.parse("torch==1.10.0")]
    verdict = prejudge(KB, [], [Requirement("setuptools>=60")], torch, PY37)
    assert not verdict.allowed and verdict.refusals[0].rule == "setuptools-distutils-version"
    assert prejudge(KB, [], [Requirement("setuptools>=50")], torch, PY37).allowed
    numpy = [Anchor.parse("numpy==1.19.5")]
    assert not prejudge(KB, _installed(numpy="1.19.5"), [Requirement("numpy>=1.20")], numpy, PY37).allowed
    assert not prejudge(KB, _installed(numpy="1.19.5"), [Requirement("numpy==1.21.6")], numpy, PY37).allowed
    assert prejudge(KB, _installed(numpy="1.19.5"), [Requirement("six"), Requirement(
        "numpy==1.21.6; python_version >= '3.8'")], numpy, PY37).allowed


def test_plans_that_overwrite_conda_or_mix_cuda_builds_are_refused():
    conda = installed_view([{"name": "numpy", "version": "1.19.2", "installer": "conda"}], {"numpy": "1.19.2"})
    verdict = judge_plan(KB, conda, [PlanItem("numpy", "1.21.6")], [], PY37)
    assert [r.rule for r in verdict.refusals] == ["conda-owned"]
    rewrite, added = rewrite_constraints(KB, conda, [], verdict, PY37)
    assert added and "numpy==1.19.2" in rewrite.lines
    torch = _installed(torch="1.10.0+cu102")
    mixed = judge_plan(KB, torch, [PlanItem("torchvision", "0.11.1+cu113")], [Anchor.parse("torch==1.10.0")], PY37)
    assert "cuda-build-mix" in [r.rule for r in mixed.refusals]
    assert judge_plan(KB, torch, [PlanItem("torchvision", "0.11.1+cu102")], [Anchor.parse("torch==1.10.0")],
                      PY37).allowed
    nvidia = _installed(nvidia_cublas_cu11="11.10.3.66")
    assert "cuda-build-mix" in [r.rule for r in judge_plan(KB, nvidia, [PlanItem("nvidia-cudnn-cu12", "9.1.0.70")],
                                                           [], PY37).refusals]
    cupy = judge_plan(KB, torch, [PlanItem("cupy-cuda113", "10.6.0")], [], PY37)
    assert "cuda-build-mix" in [r.rule for r in cupy.refusals]
    swapped = judge_plan(KB, _installed(torch="1.10.0+cu113"), [PlanItem("torch", "1.10.0+cu102")],
                         [Anchor.parse("torch==1.10.0")], PY37)
    assert [r.rule for r in swapped.refusals][:1] == ["anchor-changed"]


# -- doctor ------------------------------------------------------------------------------------------------------

def _dist(name, version, installer="pip", record=True, kind="dist-info", location="/site"):
    return {"name": name, "version": version, "installer": installer, "record": record, "kind": kind,
            "location": location, "path": "%s/%s-%s.%s" % (location, name, version, kind)}


def _frontend_env(tmp_path, pip, pip_conf=None):
    """A TargetEnvironment as the probe describes it, in `tmp_path` (a pip.conf with `pip_conf` when given)."""
    from pinguard.sources.environment import TargetEnvironment

    (tmp_path / "site").mkdir(exist_ok=True)
    if pip_conf is not None:
        (tmp_path / "pip.conf").write_text(pip_conf)
    return TargetEnvironment.from_probe({
        "executable": str(tmp_path / "bin" / "python"), "prefix": str(tmp_path), "base_prefix": "/usr",
        "version": [3, 8, 10], "pip": pip, "distributions": [], "conda": None, "torch": None, "writable": True,
        "purelib": str(tmp_path / "site")})


def _protection(env, state, python_option=""):
    from pinguard.adapters.frontend import DoctorTarget, frontends

    return [f for frontend in frontends() for f in frontend.doctor(DoctorTarget(env, state, python_option))]


def test_each_frontend_reports_its_own_files_to_doctor(tmp_path):
    ours = install_state.constraints_path(str(tmp_path))
    state = install_state.State(str(tmp_path), ["torch==1.8.0"], hook=True)
    both = "[install]\nconstraint = %s\nbuild-constraint = %s\n" % (ours, ours)
    assert _protection(_frontend_env(tmp_path, "26.3", pip_conf=both), install_state.State(str(tmp_path))) == []
    (tmp_path / "site" / hook.PTH_NAME).write_text("")
    assert _protection(_frontend_env(tmp_path, "26.3", pip_conf=both), state) == []
    found = _protection(_frontend_env(tmp_path, "26.3", pip_conf="[install]\nconstraint = %s\n" % ours), state,
                        " --python /e/bin/python")
    assert [(f.code, f.fix) for f in found] == [("build-constraint", "pinguard init --python /e/bin/python")]
    (tmp_path / "pip.conf").unlink()
    assert [f.code for f in _protection(_frontend_env(tmp_path, "26.1"), state)] == ["pip-conf"], "26.1: no build-"
    (tmp_path / "site" / hook.PTH_NAME).unlink()
    assert [f.code for f in _protection(_frontend_env(tmp_path, "26.1"), state)] == ["pip-conf", "hook-missing"]
    assert _protection(_frontend_env(tmp_path, "26.1"), None) == [], "before init: nothing to report"
    with pytest.raises(BadInput):
        _protection(_frontend_env(tmp_path, "26.1", pip_conf="[install\n"), None)


def test_doctor_findings_each_with_a_fix(tmp_path):
    ours = install_state.constraints_path(str(tmp_path))
    state = install_state.State(str(tmp_path), ["torch==1.8.0"], hook=True)
    protection = _protection(_frontend_env(tmp_path, "26.3", "[install]\nconstraint = %s\n" % ours), state)
    facts = doctor.Facts(
        prefix="/env", python=Version("3.8"), python_text="3.8.10", pip="26.3",
        distributions=[_dist("torch", "1.8.0"), _dist("torchvision", "0.9.0+cu111"),
                       _dist("numpy", "1.21.6"), _dist("scipy", "1.7.3", record=False),
                       _dist("six", "1.16.0", location="/a"), _dist("six", "1.15.0", location="/b")],
        conda={"numpy": "1.19.2"}, torch={"version": "1.8.0", "cuda": "10.2", "hip": None, "version_py": True},
        gpu={"seen": True, "driver": "418.39", "gpus": [{"name": "RTX 3090", "compute_capability": "8.6",
                                                         "driver": "418.39"}], "how": []},
        anchors=[Anchor.parse("torch==1.8.0")], initialized=True, protection=protection,
        pip_check=["mmcv 1.7.0 has requirement yapf<0.40, but you have yapf 0.40.2.",
                   "a 1.0 requires b, which is not installed."])
    findings = doctor.diagnose(KB, facts)
    codes = {f.code: f for f in findings}
    for code in ("gpu-arch", "driver-too-old", "cuda-build-mix", "pip-over-conda", "no-record", "duplicate",
                 "build-constraint", "hook-missing", "pip-check"):
        assert code in codes, (code, sorted(codes))
        assert codes[code].fix, code
    assert codes["gpu-arch"].severity == "error"
    assert codes["pip-check"].fix in ('pinguard pip install "yapf<0.40"', 'pinguard pip install "b"')
    assert findings[0].severity == "error"
    quiet = doctor.diagnose(KB, doctor.Facts("/env", Version("3.11"), "3.11.7", None, [], None, None,
                                             {"seen": False, "gpus": [], "how": ["no NVIDIA driver"]}))
    assert {"not-protected", "no-gpu", "torch"} <= {f.code for f in quiet}
    assert "no GPU seen" in next(f.summary for f in quiet if f.code == "no-gpu")


def test_gpu_probe_reads_the_driver_files(tmp_path):
    version = tmp_path / "version"
    version.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.144.03  Mon Dec 30 2024\n")
    info = probe_gpu(files=(str(tmp_path / "absent"), str(version)))
    assert info["seen"] and info["driver"] == "550.144.03"
    assert not probe_gpu(files=(str(tmp_path / "absent"),))["seen"] or os.path.exists("/proc/driver/nvidia")


# -- the environment probe and the hook's start-up line ---------------------------------------------------------

def test_probe_reads_python_3_6():
    from pinguard.sources.environment import read_environment

    env = read_environment(pyenv_python("3.6"))
    assert env.python == Version("3.6") and env.pip and any(d["name"] == "pip" for d in env.distributions)


def test_pth_line_never_breaks_start_up(tmp_path):
    """The .pth line, processed by `site` for real, with the hook file missing or broken."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "pinguard-hook.pth").write_text(hook.pth_text(str(tmp_path), str(site_dir / "pinguard-hook.pth")))
    probe = ("import site, sys; site.addsitedir(%r); site.addsitedir(%r); "
             "print(sum(getattr(f, '__name__', '') == '_PinguardHookFinder' for f in sys.meta_path)); "
             "import importlib.util; print(importlib.util.find_spec('json') is not None)" % (str(site_dir),
                                                                                            str(site_dir)))
    for content in (None, "raise SystemExit(4)\n", "def (:\n"):
        if content is not None:
            (tmp_path / "pinguard-hook.py").write_text(content)
        result = subprocess.run([sys.executable, "-c", probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, env=hermetic_env())
        assert (result.returncode, result.stdout.split(), result.stderr) == (0, ["1", "True"], "")
    off = subprocess.run([sys.executable, "-c", probe], stdout=subprocess.PIPE, universal_newlines=True,
                         env=hermetic_env({"PINGUARD_HOOK": "off"}))
    assert off.stdout.split() == ["0", "True"]
    assert len(hook.pth_text("/x").splitlines()) == 1 and hook.pth_text("/x").startswith("import sys;exec(")


def test_init_and_undo_a_conda_environment_without_python(tmp_path):
    """`init --prefix` on a conda environment that has no Python of its own: conda's files join the transaction,
    pip and uv get a constraints file whose pins keep conda's (unlabelled) torch, and --undo restores it all."""
    from tests.conda_fixtures import make_env
    from tests.guard_helpers import pinguard, tree_hashes

    prefix = make_env(str(tmp_path / "env"))
    before = tree_hashes(prefix)
    result = pinguard("init", "torch==1.10.0+cu113", "numpy==1.19.5", "--prefix", prefix)
    assert result.returncode == 0, result.stderr
    constraints = (tmp_path / "env" / "pinguard-constraints.txt").read_text()
    assert "\ntorch==1.10.0 " in constraints and "torchvision==0.11.1 " in constraints
    assert "pytorch ==1.10.0 py3.7_cuda11.3_cudnn8.2.0_0" in (tmp_path / "env" / "conda-meta" / "pinned").read_text()
    state = install_state.read_state(prefix)
    assert state.python == "3.7" and {f.role for f in state.files} >= {"conda-pinned", "conda-guard", "pip.conf"}
    undone = pinguard("init", "--undo", "--prefix", prefix)
    assert undone.returncode == 0, undone.stderr
    assert tree_hashes(prefix) == before and not (tmp_path / "env" / "etc").exists()
