"""pinguard's conda plugin inside a real conda (optional, by hand).

conda is not on PyPI, so neither CI nor a fresh machine has one. Set PINGUARD_TEST_CONDA_PYTHON to an interpreter
that can `import conda` and has pinguard installed (so conda finds the plugin through its entry point), e.g.:

    python3.11 -m venv /tmp/conda-venv
    /tmp/conda-venv/bin/pip install <conda's source tree, with its `menuinst` requirement left out>
    /tmp/conda-venv/bin/pip install -e .
    PINGUARD_TEST_CONDA_PYTHON=/tmp/conda-venv/bin/python python -m pytest tests/test_conda_real.py

The test builds a local `file://` channel of small stand-in packages (numpy 1.19.5 / 1.21.6, pytorch 1.10.0 for
CUDA 11.3 and CPU, pytorch 1.11.0, cudatoolkit 11.3.1 / 10.2.89, setuptools, requests), creates an environment
with conda's classic solver, protects it with `pinguard init --prefix`, and runs real `conda install` commands.
"""

import hashlib
import io
import json
import os
import subprocess
import tarfile
import textwrap

import pytest

from tests.conftest import ROOT

PYTHON = os.environ.get("PINGUARD_TEST_CONDA_PYTHON", "")

pytestmark = pytest.mark.skipif(
    not PYTHON, reason="optional manual check (also under CI): set PINGUARD_TEST_CONDA_PYTHON to a Python that can "
                       "import conda and has pinguard installed (conda is not on PyPI; see this file's docstring)")

PACKAGES = [
    ("numpy", "1.19.5", "py37h3e96413_3", []),
    ("numpy", "1.21.6", "py37h976b520_0", []),
    ("cudatoolkit", "11.3.1", "h2bc3f7f_2", []),
    ("cudatoolkit", "10.2.89", "hfd86e86_1", []),
    ("pytorch", "1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0", ["cudatoolkit >=11.3,<11.4", "numpy >=1.19"]),
    ("pytorch", "1.10.0", "py3.7_cpu_0", ["numpy >=1.19"]),
    ("pytorch", "1.11.0", "py3.7_cuda11.3_cudnn8.3.2_0", ["cudatoolkit >=11.3,<11.4", "numpy >=1.19"]),
    ("requests", "2.27.1", "pyhd8ed1ab_0", []),
    ("setuptools", "58.0.4", "py37h06a4308_0", []),
    ("setuptools", "65.6.3", "py37h06a4308_0", []),
]


def make_channel(root):
    """A conda channel on disk: linux-64/*.tar.bz2 stand-in packages and their repodata.json."""
    subdir = os.path.join(root, "linux-64")
    os.makedirs(subdir)
    os.makedirs(os.path.join(root, "noarch"))
    repodata = {"info": {"subdir": "linux-64"}, "packages": {}, "packages.conda": {}, "removed": [],
                "repodata_version": 1}
    for name, version, build, depends in PACKAGES:
        filename = "%s-%s-%s.tar.bz2" % (name, version, build)
        index = {"name": name, "version": version, "build": build, "build_number": int(build.rsplit("_", 1)[-1]),
                 "depends": depends, "subdir": "linux-64", "arch": "x86_64", "platform": "linux", "license": "MIT",
                 "timestamp": 1635000000000}
        payload = ("share/standin/%s.txt" % name, ("%s %s %s\n" % (name, version, build)).encode())
        paths = {"paths": [{"_path": payload[0], "path_type": "hardlink", "size_in_bytes": len(payload[1]),
                            "sha256": hashlib.sha256(payload[1]).hexdigest()}], "paths_version": 1}
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:bz2") as tar:
            for member, data in (("info/index.json", json.dumps(index).encode()),
                                 ("info/files", (payload[0] + "\n").encode()),
                                 ("info/paths.json", json.dumps(paths).encode()), payload):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        data = buffer.getvalue()
        with open(os.path.join(subdir, filename), "wb") as handle:
            handle.write(data)
        repodata["packages"][filename] = dict(index, md5=hashlib.md5(data).hexdigest(),
                                              sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    with open(os.path.join(subdir, "repodata.json"), "w") as handle:
        json.dump(repodata, handle)
    with open(os.path.join(root, "noarch", "repodata.json"), "w") as handle:
        json.dump(dict(repodata, info={"subdir": "noarch"}, packages={}), handle)
    return "file://" + root


@pytest.fixture(scope="module")
def conda(tmp_path_factory):
    work = tmp_path_factory.mktemp("conda-real")
    check = subprocess.run([PYTHON, "-c", "import conda, pinguard.adapters.conda_plugin as p; "
                            "from importlib.metadata import entry_points as e; "
                            "print(conda.__version__, p._HOOKS, any(x.value == p.__name__ for x in "
                            "(e(group='conda') if hasattr(e(), 'select') else e().get('conda', []))))"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert check.returncode == 0, "PINGUARD_TEST_CONDA_PYTHON=%s cannot import conda and pinguard: %s" % (
        PYTHON, check.stderr.strip().splitlines()[-1:])
    version, hooks, registered = check.stdout.split()
    assert hooks == "True", "conda %s has no pre/post-solve hooks (conda >= 24.1 needed)" % version
    assert registered == "True", "pinguard's conda entry point is not installed next to conda (pip install -e .)"
    channel = make_channel(str(work / "channel"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CONDA", "PINGUARD"))}
    environment.update(CONDA_PKGS_DIRS=str(work / "pkgs"), CONDA_SOLVER="classic", CONDA_ALWAYS_YES="true",
                       CONDA_OFFLINE="true", CONDA_OVERRIDE_CUDA="11.8", CONDA_CHANNELS=channel,
                       PINGUARD_CACHE_DIR=str(work / "cache"), PYTHONPATH=ROOT)
    prefix = str(work / "echofusion")

    def run(*args):
        command = [PYTHON, "-m", "conda"] + list(args[:1]) + (["-p", prefix] if args[0] != "_" else []) + \
            list(args[1:]) + ["--override-channels", "-c", channel]
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              env=environment, timeout=600)
        return done.returncode, done.stdout

    code, out = run("create", "numpy=1.19.5", "pytorch=1.10.0=py3.7_cuda11.3_cudnn8.2.0_0", "cudatoolkit=11.3.1",
                    "setuptools=58.0.4")
    assert code == 0, out
    subprocess.run([PYTHON, "-m", "pinguard", "init", "torch==1.10.0+cu113", "numpy==1.19.5", "--prefix", prefix],
                   env=environment, check=True)
    run.prefix = prefix
    return run


def installed(prefix):
    return sorted(n[:-5] for n in os.listdir(os.path.join(prefix, "conda-meta")) if n.endswith(".json"))


def test_install_numpy_1_21_is_refused_before_solving(conda):
    code, out = conda("install", "numpy=1.21")
    assert code == 1 and "PinguardRefusal: pinguard refuses this request" in out, out
    assert "[anchor-changed] the request numpy=1.21 excludes numpy==1.19.5" in out and "Traceback" not in out
    assert "numpy-1.19.5-py37h3e96413_3" in installed(conda.prefix)


def test_a_bare_install_numpy_leaves_it_where_it_is(conda):
    code, out = conda("install", "numpy")
    assert code == 0, out
    assert "numpy-1.19.5-py37h3e96413_3" in installed(conda.prefix)


def test_the_answer_plain_conda_gives_is_refused_after_solving(conda):
    code, out = conda("install", "numpy", "--no-pin")
    assert code == 1 and "PinguardRefusal: pinguard refuses this transaction" in out, out
    assert "replaces numpy-1.19.5-py37h3e96413_3 with numpy-1.21.6-py37h976b520_0" in out


@pytest.mark.parametrize("args,text", [
    (("install", "cudatoolkit=10.2"), "[conda-cuda-mix]"),
    (("update", "pytorch", "--no-pin"), "replaces pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0"),
    (("install", "pytorch=1.10.0=py3.7_cpu_0"), "excludes the anchored build"),
    (("install", "setuptools=65", "--no-pin"), "[setuptools-distutils-version]"),
    (("remove", "numpy"), "removing numpy would remove"),
])
def test_changes_to_the_anchor_are_refused(conda, args, text):
    code, out = conda(*args)
    assert code == 1 and text in out and "PinguardRefusal" in out, out
    assert "pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0" in installed(conda.prefix)


def test_an_unrelated_install_goes_through(conda):
    code, out = conda("install", "requests")
    assert code == 0, out
    assert "requests-2.27.1-pyhd8ed1ab_0" in installed(conda.prefix)


def test_pinguard_reads_version_specs_as_this_conda_does():
    from tests.test_conda_spec import EXPECTED, MATCHSPECS, VERSIONS

    code = textwrap.dedent("""
        import json, sys
        from conda.models.version import VersionSpec
        from conda.models.match_spec import MatchSpec
        from pinguard.conda_spec import VersionSpec as Mine, parse_matchspec
        specs, matchspecs, versions = json.load(sys.stdin)
        bad = [(s, v) for s in specs for v in versions if VersionSpec(s).match(v) != Mine(s).match(v)]
        for text in matchspecs:
            m, p = MatchSpec(text), parse_matchspec(text)
            raw = lambda k: None if m.get_raw_value(k) is None else str(m.get_raw_value(k))
            if (m.name, raw("version"), raw("build")) != (p.name, p.version, p.build):
                bad.append(text)
        print(json.dumps(bad))
    """)
    tables = json.dumps([[s for s, _ in EXPECTED], [m[0] for m in MATCHSPECS], VERSIONS])
    out = subprocess.run([PYTHON, "-c", code], input=tables, stdout=subprocess.PIPE, universal_newlines=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), check=True).stdout
    assert json.loads(out) == []
