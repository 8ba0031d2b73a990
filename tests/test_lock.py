"""`pinguard lock` without the network: pinguard's own resolver over a `--find-links` directory of tiny fake wheels
(torch 1.10.0 in five builds, torchvision 0.11.1 in four), the PEP 751 / hashed-requirements writers and reader,
and `lock --check` on locks edited the ways a lock goes wrong."""

from __future__ import annotations

import os
import re
import sys
import time

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.adapters import toml_writer
from pinguard.adapters.lock_session import check_written
from pinguard.engines.closure_resolver import ClosureResolver, requirement_reqs
from pinguard.package_data import PackageData
from pinguard.sources.lock_reader import parse_pylock
from tests.conftest import assert_one_line_error, run_pinguard
from tests.lock_fixtures import build_find_links

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture(scope="module")
def find_links(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("find-links"))
    build_find_links(directory)
    return directory


def lock(find_links, tmp_path, inputs, *args, backend="pinguard", env=None):
    """Run `pinguard lock` on requirement lines against the fake wheels only; (result, {output name: text})."""
    source = tmp_path / "requirements.in"
    source.write_text("".join(line + "\n" for line in inputs))
    extra = {"PIP_NO_INDEX": "1", "PINGUARD_CACHE_DIR": str(tmp_path / "cache"), "PIP_CONFIG_FILE": os.devnull}
    extra.update(env or {})
    result = run_pinguard("lock", str(source), "--find-links", find_links, "--python", "3.7", "--backend", backend,
                          *args, env=extra)
    outputs = {}
    for path in re.findall(r"^wrote (.+)$", result.stdout, re.MULTILINE):
        with open(path) as handle:
            outputs[os.path.basename(path)] = handle.read()
    return result, outputs


def versions(pylock_text):
    return {p["name"]: p["version"] for p in tomllib.loads(pylock_text)["packages"]}


@pytest.mark.parametrize("inputs,args,expected", [
    (["torchvision==0.11.1"], ["--anchor", "torch==1.10.0+cu113"],
     {"torch": "1.10.0+cu113", "torchvision": "0.11.1+cu113"}),
    (["torch==1.10.0", "torchvision==0.11.1"], ["--anchor", "torch==1.10.0"],
     {"torch": "1.10.0", "torchvision": "0.11.1"}),
    (["torchvision"], ["--anchor", "torch==1.10.0", "--cuda", "cpu"],
     {"torch": "1.10.0+cpu", "torchvision": "0.11.1+cpu"}),
])
def test_the_torch_family_stays_on_one_build_whatever_the_labels_sort_as(find_links, tmp_path, inputs, args,
                                                                          expected):
    out = str(tmp_path / "pylock.test.toml")
    result, outputs = lock(find_links, tmp_path, inputs, "-o", out, *args)
    assert result.returncode == 0, result.stderr
    locked = versions(outputs["pylock.test.toml"])
    assert {n: locked[n] for n in expected} == expected
    assert "rocm" not in outputs["pylock.test.toml"]
    # the rules close the set: numpy held below 2 for torch 1.10 (numpy2-abi), setuptools locked although nothing
    # requires it (setuptools-distutils-version)
    assert locked["numpy"] == "1.21.6" and locked["setuptools"] == "59.5.0"
    data = tomllib.loads(outputs["pylock.test.toml"])
    setuptools = next(p for p in data["packages"] if p["name"] == "setuptools")
    assert "setuptools-distutils-version" in setuptools["tool"]["pinguard"]["rules"]
    assert setuptools["tool"]["pinguard"]["reasons"] == ["rule-forced"]


def test_default_name_for_a_build_and_one_resolution_for_every_output(find_links, tmp_path):
    result, _ = lock(find_links, tmp_path, ["torchvision"], "--anchor", "torch==1.10.0+cu113", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    default = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylock.cu113.toml")
    try:
        assert "wrote pylock.cu113.toml" in result.stdout
        with open(default) as handle:
            assert versions(handle.read())["torch"] == "1.10.0+cu113"
    finally:
        if os.path.exists(default):
            os.remove(default)
    toml_out, txt_out = str(tmp_path / "pylock.cu113.toml"), str(tmp_path / "requirements.lock.txt")
    result, outputs = lock(find_links, tmp_path, ["torchvision"], "--anchor", "torch==1.10.0+cu113",
                           "-o", toml_out, "-o", txt_out, "--format", "requirements")
    assert result.returncode == 0, result.stderr
    txt = outputs["requirements.lock.txt"]
    assert "torchvision==0.11.1+cu113 \\" in txt and "--no-index" in txt and "--find-links " + find_links in txt
    for package in tomllib.loads(outputs["pylock.cu113.toml"])["packages"]:
        for wheel in package.get("wheels", []):
            assert "--hash=sha256:%s" % wheel["hashes"]["sha256"] in txt


def test_pylock_has_the_pep751_fields_and_reads_back(find_links, tmp_path):
    out = str(tmp_path / "pylock.toml")
    result, outputs = lock(find_links, tmp_path, ["six"], "--anchor", "torch==1.10.0", "-o", out)
    assert result.returncode == 0, result.stderr
    data = tomllib.loads(outputs["pylock.toml"])
    assert data["lock-version"] == "1.0" and data["created-by"] == "pinguard"
    assert data["requires-python"] == "==3.7.*"
    assert data["environments"] == ['python_version == "3.7" and sys_platform == "linux" and platform_machine == '
                                    '"x86_64"']
    assert [p["name"] for p in data["packages"]] == ["setuptools", "six"]  # torch is the anchor, not an input
    for package in data["packages"]:
        for wheel in package["wheels"]:
            assert wheel["url"].startswith("file://") and wheel["size"] > 0 and len(wheel["hashes"]["sha256"]) == 64
    tool = data["tool"]["pinguard"]
    assert tool["anchors"] == ["torch==1.10.0"] and tool["python"] == "3.7"
    assert tool["knowledge"].startswith("sha256:") and tool["inputs"] == {
        "requirements.in": "sha256:" + __import__("hashlib").sha256(b"six\n").hexdigest()}
    lock_ = parse_pylock(outputs["pylock.toml"], out)
    assert [(p.name, str(p.version)) for p in lock_.packages] == [("setuptools", "59.5.0"), ("six", "1.16.0")]
    assert lock_.target.python == Version("3.7") and not lock_.missing_hashes


def write_lock(find_links, tmp_path):
    out = str(tmp_path / "pylock.cu113.toml")
    result, outputs = lock(find_links, tmp_path, ["torchvision==0.11.1"], "--anchor", "torch==1.10.0+cu113",
                           "-o", out, "-o", str(tmp_path / "requirements.lock.txt"))
    assert result.returncode == 0, result.stderr
    return out, outputs["pylock.cu113.toml"]


def edited(path, text, old, new, count=1):
    assert old in text, old
    with open(path, "w") as handle:
        handle.write(text.replace(old, new, count))
    return path


def test_check_passes_an_untouched_lock_offline_and_fast(find_links, tmp_path):
    out, _ = write_lock(find_links, tmp_path)
    for path in (out, str(tmp_path / "requirements.lock.txt")):
        result = run_pinguard("lock", "--check", path, env={"PINGUARD_OFFLINE": "1"})
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("ok: ")
    kb = kb_module.load()
    started = time.monotonic()
    _, findings = check_written(kb, out, [], None)
    assert findings == [] and time.monotonic() - started < 1.0


def test_check_catches_a_torchvision_from_another_torch(find_links, tmp_path):
    out, text = write_lock(find_links, tmp_path)
    edited(out, text, 'version = "0.11.1+cu113"', 'version = "0.12.0+cu113"')
    result = run_pinguard("lock", "--check", out, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "torch-family-pairing" in result.stdout
    edited(out, text, 'version = "0.11.1+cu113"', 'version = "0.11.1+rocm4.2"')
    result = run_pinguard("lock", "--check", out)
    assert result.returncode == 1 and "[cuda-build-mix]" in result.stdout and "[lock-build]" in result.stdout


def test_check_catches_a_missing_hash_and_a_removed_rule_forced_pin(find_links, tmp_path):
    out, text = write_lock(find_links, tmp_path)
    digest = re.search(r', hashes = \{ sha256 = "[0-9a-f]{64}" \}', text).group(0)
    edited(out, text, digest, ", hashes = {}")
    result = run_pinguard("lock", "--check", out)
    assert result.returncode == 1 and "[lock-file-hash]" in result.stdout, result.stdout
    block = re.search(r'\[\[packages\]\]\nname = "setuptools".*?\n\n', text, re.DOTALL).group(0)
    edited(out, text, block, "")
    result = run_pinguard("lock", "--check", out)
    assert result.returncode == 1 and "[lock-seed]" in result.stdout and "setuptools<59.6" in result.stdout
    txt = str(tmp_path / "requirements.lock.txt")
    with open(txt) as handle:
        lines = handle.read()
    edited(txt, lines, re.search(r"setuptools==59\.5\.0 \\\n(    --hash=\S+ ?\\?\n)+", lines).group(0),
           "setuptools==65.0.0\n")
    result = run_pinguard("lock", "--check", txt)
    assert result.returncode == 1, result.stdout
    assert "[setuptools-distutils-version]" in result.stdout and "[lock-file-hash]" in result.stdout


def test_check_says_when_an_input_changed(find_links, tmp_path):
    out, _ = write_lock(find_links, tmp_path)
    (tmp_path / "requirements.in").write_text("torchvision==0.11.1\nsix\n")
    result = run_pinguard("lock", "--check", out)
    assert result.returncode == 1 and "[lock-inputs]" in result.stdout and "requirements.in changed" in result.stdout


def test_check_command_reads_a_pylock(find_links, tmp_path):
    out, text = write_lock(find_links, tmp_path)
    result = run_pinguard("check", out, "--anchor", "torch==1.10.0+cu113", "--python", "3.7")
    assert result.returncode == 0, result.stdout + result.stderr
    edited(out, text, 'version = "1.21.6"', 'version = "2.0.0"')
    result = run_pinguard("check", out, "--anchor", "torch==1.10.0+cu113", "--python", "3.7")
    assert result.returncode == 1 and "[numpy2-abi]" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["lock", "--anchor", "torch==1.10.0"], "give the target Python"),
    (["lock", "--anchor", "torch==1.10.0", "--python", "3.7", "-o", "lock.json"], "-o lock.json"),
    (["lock", "--anchor", "torch==1.10.0", "--python", "3.7", "-o", "pylock.a.b.toml"], "pylock.<name>.toml"),
    (["lock", "--anchor", "torch==1.4.0", "--python", "3.10"], "has no wheels for Python 3.10"),
    (["lock", "--check", "README.md"], "is not an exact pin"),
    (["lock", "--check", "pinguard/knowledge/torch.toml"], "not a PEP 751 lock"),
    (["lock", "--check", "nothing-here.toml"], "does not exist"),
])
def test_bad_input_is_one_line(args, message):
    assert_one_line_error(run_pinguard(*args, env={"PINGUARD_OFFLINE": "1", "PIP_NO_INDEX": "1",
                                                     "PIP_CONFIG_FILE": os.devnull}), 2, message)


def test_an_unresolvable_lock_names_the_blocking_requirement(find_links, tmp_path):
    result, _ = lock(find_links, tmp_path, ["torchvision==0.11.1", "six>=1.17"], "--anchor", "torch==1.10.0+cu113")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pinguard: error: no lock under the anchor and the rules" in result.stderr and "six>=1.17" in result.stderr
    result, _ = lock(find_links, tmp_path, ["torchvision==0.11.1", "numpy>=2"], "--anchor", "torch==1.10.0+cu113")
    assert_one_line_error(result, 2, "contradictory constraints on numpy: numpy>=2 (--with) vs numpy<2 (rule "
                                     "numpy2-abi)")


class Memory(PackageData):
    def __init__(self, table):
        self.table = {n: {Version(v): [Requirement(r) for r in reqs] for v, reqs in vs.items()}
                      for n, vs in table.items()}

    def versions(self, name, keep=None):
        return sorted({Version(v.split("[")[0]) for v in map(str, self.table.get(name, {}))})

    def requires(self, name, version):
        return [r for r in self.table[name][version] if r.marker is None]

    def requires_extra(self, name, version, extra):
        return [r for r in self.table[name][version] if r.marker is not None and r.marker.evaluate({"extra": extra})]

    def exists(self, name):
        return name in self.table


def test_closure_resolver_newest_first_with_extras_and_constraints():
    data = Memory({
        "app": {"1.0": ["lib>=1"], "2.0": ["lib>=2", "plot; extra == 'viz'"]},
        "lib": {"1.0": [], "2.0": [], "3.0rc1": []},
        "plot": {"0.9": [], "1.1": ["lib<3"]},
    })
    resolver = ClosureResolver(kb_module.load(), data, Version("3.11"), None)
    reqs = requirement_reqs(Requirement("app[viz]"), "input")
    assert resolver.resolve(reqs, {}) == {"app": Version("2.0"), "lib": Version("2.0"), "plot": Version("1.1")}
    from packaging.specifiers import SpecifierSet

    held = resolver.resolve(reqs, {"plot": SpecifierSet("<1"), "lib": SpecifierSet("<2")})
    assert held == {"app": Version("1.0"), "lib": Version("1.0")}  # app 2.0 needs lib>=2; plot[viz] not needed then


def test_toml_writer_escapes_what_toml_must_escape():
    text = "\n".join(toml_writer.pairs({"a": 'q"\\\n\t\x01', "b": [1, True, {"c d": "é"}]}) +
                     toml_writer.table(["tool", "pin.guard"], {"x": "y"}))
    assert tomllib.loads(text) == {"a": 'q"\\\n\t\x01', "b": [1, True, {"c d": "é"}], "tool": {"pin.guard": {"x": "y"}}}


def test_conda_pins_and_json_from_the_same_resolution(find_links, tmp_path):
    conda_out = str(tmp_path / "pinned.txt")
    result, _ = lock(find_links, tmp_path, ["torchvision"], "--anchor", "torch==1.10.0+cu113", "-o", conda_out,
                     "--format", "conda", "--json")
    assert result.returncode == 0, result.stderr
    payload = __import__("json").loads(result.stdout)
    assert payload["ok"] and payload["written"] == [conda_out] and payload["lock"]["build"] == "cu113"
    assert {p["name"]: p["version"] for p in payload["lock"]["packages"]}["torchvision"] == "0.11.1+cu113"
    with open(conda_out) as handle:
        pinned = handle.read().splitlines()
    assert "pytorch ==1.10.0 *cuda11.3*" in pinned and "torchvision ==0.11.1" in pinned
    assert "cudatoolkit 11.3.*" in pinned and "@EXPLICIT" in pinned
