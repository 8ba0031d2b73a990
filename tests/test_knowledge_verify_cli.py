"""`pinguard knowledge verify` end to end against a local index (real HTTP, range requests, real wheels built here)
and a knowledge base of its own: the table, --json, exit 1 on a disagreement and 0 once it is fixed, exit 4 when
the index does not answer, one error line for bad input, and never a whole wheel downloaded."""

import io
import json
import os
import zipfile

import pytest

from tests.conftest import assert_one_line_error, run_pinguard
from tests.test_index_client import fake  # noqa: F401,F811 - the local index fixture

PAD = 1_000_000
TORCH_TOML = """
[family]
members = ["torchvision", "torchaudio", "torchtext", "torchdata"]
unlabelled = ["torchtext", "torchdata"]
sources = ["https://pytorch.org/get-started/previous-versions/"]
confidence = "H"

[index]
url = "https://download.pytorch.org/whl/{build}"
find_links = "https://download.pytorch.org/whl/torch_stable.html"
find_links_before = "1.10.0"
local_labels_since = "1.2.0"
labelled_default_since = "1.9.0"
torchaudio_labels_since = "0.10.0"
sources = ["https://pytorch.org/get-started/previous-versions/"]
confidence = "H"

[[release]]
torch = "1.0.0"
torchvision = "0.1.0"
python = ["3.7", "3.8"]
builds = ["cpu"]
default_build = "cpu"
sources = ["meta:torchvision==0.1.0"]
confidence = "H"

[[release]]
torch = "1.1.0"
torchvision = "0.2.0"
python = ["3.7", "3.8"]
builds = ["cpu"]
default_build = "cpu"
missing_wheels = { torchvision = ["3.8"] }
sources = ["meta:torchvision==0.2.0"]
confidence = "H"
"""
RULES_TOML = """
[[rule]]
id = "demo-verify-kwarg"
summary = "demo 2.0 dropped fmt(verify=...)"
kind = "diagnostic"
when = {{ demo = ">=2.0" }}
require = {{ demo = "<2.0" }}
sources = ["https://example.org/demo/issues/1"]
confidence = "H"

[[rule.evidence]]
kind = "param"
dist = "demo"
path = "demo/api.py"
function = "fmt"
name = "verify"
absent_from = "{boundary}"

[[rule.evidence]]
kind = "requires-dist"
dist = "demo"
version = "1.0"
requirement = "numpy>=1.17"

[[rule]]
id = "demo-gpu"
summary = "a GPU fact"
kind = "diagnostic"
when = {{ demo = "" }}
require = {{}}
sources = ["https://example.org/demo/issues/2"]
confidence = "M"
evidence = [{{ kind = "human", why = "kernels in a binary" }}]
"""


def wheel(name, version, tag, files, requires=()):
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s" % (
        name, version, "".join("Requires-Dist: %s\n" % r for r in requires))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr("%s/_native.bin" % name, os.urandom(PAD))  # what a real wheel's .so would be
        archive.writestr("%s-%s.dist-info/METADATA" % (name, version), meta)
    return "%s-%s-%s.whl" % (name, version, tag), buf.getvalue()


@pytest.fixture
def index(fake):  # noqa: F811
    def add(name, version, tag, files=None, requires=()):
        filename, content = wheel(name, version, tag, files or {"%s/__init__.py" % name: ""}, requires)
        fake.add(name, filename, content, None)

    for python in ("cp37-cp37m", "cp38-cp38"):
        add("torch", "1.0.0", python + "-manylinux2014_x86_64")
        add("torch", "1.1.0", python + "-manylinux2014_x86_64")
        add("torchvision", "0.1.0", python + "-manylinux2014_x86_64", requires=["torch (==1.0.0)"])
    add("torchvision", "0.2.0", "cp37-cp37m-manylinux2014_x86_64", requires=["torch (==1.1.0)"])
    add("torchvision", "0.3.0", "py3-none-any", requires=["torch (==1.2.0)"])  # not in the knowledge base yet
    for version, api in (("1.0", "def fmt(src, verify=False):\n    return src\n"),
                         ("1.1", "def fmt(src, verify=False):\n    return src\n"),
                         ("2.0", "def fmt(src):\n    return src\n")):
        add("demo", version, "py3-none-any", {"demo/__init__.py": "", "demo/api.py": api}, ["numpy>=1.17"])
    return fake


def knowledge(tmp_path, boundary):
    directory = tmp_path / ("kb-" + boundary)
    directory.mkdir(exist_ok=True)
    (directory / "torch.toml").write_text(TORCH_TOML)
    (directory / "rules.toml").write_text(RULES_TOML.format(boundary=boundary))
    return str(directory)


def verify(index, tmp_path, boundary, *args):
    return run_pinguard("knowledge", "verify", "--index-url", index.index_url, "-q", *args,
                        env={"PINGUARD_KNOWLEDGE_DIR": knowledge(tmp_path, boundary),
                             "PINGUARD_CACHE_DIR": str(tmp_path / "cache")})


def test_a_disagreement_exits_1_and_names_the_rule_and_what_the_releases_show(index, tmp_path):
    result = verify(index, tmp_path, "1.1")
    assert result.returncode == 1, (result.stdout, result.stderr)
    disagreed = [line for line in result.stdout.splitlines() if line.startswith("disagreed")]
    assert len(disagreed) == 1 and "demo-verify-kwarg" in disagreed[0], result.stdout
    assert "1.1: present" in disagreed[0] and "[expected absent]" in disagreed[0]
    assert "claim: demo demo/api.py: fmt(verify); absent_from 1.1" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_fixed_knowledge_base_verifies_with_exit_0_and_json(index, tmp_path):
    result = verify(index, tmp_path, "2.0", "--json")
    assert result.returncode == 0, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    by_subject = {(f["check"], f["subject"]): f for f in report["findings"]}
    assert by_subject[("pairing", "torch 1.0.0 / torchvision 0.1.0")]["status"] == "agreed"
    assert by_subject[("pairing", "torch 1.1.0 / torchvision 0.2.0")]["status"] == "agreed"
    assert by_subject[("python", "torch 1.1.0 / torchvision 0.2.0")]["status"] == "agreed"  # missing_wheels 3.8
    assert by_subject[("python", "torch 1.0.0")]["detail"] == "wheels for 3.7, 3.8"
    new = by_subject[("release", "torchvision")]
    assert new["status"] == "new" and "torchvision 0.3.0 (torch==1.2.0)" in new["detail"]
    assert report["summary"]["rule_states"] == {"demo-verify-kwarg": "code", "demo-gpu": "sources"}
    assert report["summary"]["totals"]["disagreed"] == 0 and report["exit"] == 0
    assert 0 < report["bytes"] < PAD  # one member of each release by range requests, never a whole wheel


def test_rules_and_releases_restrict_the_run(index, tmp_path):
    result = verify(index, tmp_path, "2.0", "--rules", "demo-*", "--json")
    kinds = {f["check"] for f in json.loads(result.stdout)["findings"]}
    assert result.returncode == 0 and kinds == {"evidence"}
    result = verify(index, tmp_path, "2.0", "--releases", "1.1.0", "--json")
    subjects = {f["subject"] for f in json.loads(result.stdout)["findings"]}
    assert result.returncode == 0 and subjects == {"torch 1.1.0", "torch 1.1.0 / torchvision 0.2.0"}


@pytest.mark.parametrize("args, contains", [
    (("--releases", "9.9"), "--releases 9.9"),
    (("--rules", "nope"), "--rules nope"),
    (("--sample", "0"), "--sample takes a number of at least 1"),
    (("--sample", "x"), "invalid int value"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, contains):
    result = run_pinguard("knowledge", "verify", "--index-url", "http://127.0.0.1:9/simple", "-q", *args,
                          env={"PINGUARD_KNOWLEDGE_DIR": knowledge(tmp_path, "2.0")})
    assert_one_line_error(result, 2, contains)  # refused before the index is asked


def test_knowledge_without_an_action_is_bad_input():
    assert_one_line_error(run_pinguard("knowledge"), 2, "give an action")


def test_an_index_that_does_not_answer_exits_4_with_one_line(tmp_path):
    result = run_pinguard("knowledge", "verify", "--index-url", "http://127.0.0.1:9/simple", "--sample", "1", "-q",
                          env={"PINGUARD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 4, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("pinguard: error: cannot fetch"), result.stderr
