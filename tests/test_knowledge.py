"""The shipped knowledge base loads, every fact has a source, and damage is reported by file and entry."""

import re
import shutil

import pytest
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.errors import KnowledgeError


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


def test_every_torch_release_from_1_0_to_the_newest_is_known(kb):
    versions = [str(r.torch) for r in kb.releases]
    assert versions[0] == "1.0.0"
    assert "2.15.0" in versions
    for expected in ("1.8.0", "1.8.1", "1.10.0", "1.13.1", "2.0.0", "2.11.0"):
        assert expected in versions


def test_known_pairings(kb):
    release = kb.release(Version("1.10.0"))
    assert str(release.family["torchvision"]) == "0.11.1"
    assert str(release.family["torchaudio"]) == "0.10.0"
    assert release.default_build == "cu102"
    assert "cu113" in release.builds and "3.7" in release.python
    assert str(kb.release(Version("2.0.0")).family["torchvision"]) == "0.15.1"


# torchvision/torchaudio releases whose metadata requires a torch range, not one release (checked on PyPI)
LOOSE = {("torchaudio", "2.11.1"): "torch>=2.11"}


def test_each_family_release_pairs_with_at_most_one_torch(kb):
    for member in kb.family.members:
        owners = {}
        for release in kb.releases:
            version = release.family.get(member)
            # torchtext/torchdata releases that pin no torch may serve several torch releases
            if version is not None and member in ("torchvision", "torchaudio") and (member, str(version)) not in LOOSE:
                assert version not in owners, (member, version, owners.get(version), release.torch)
                owners[version] = release.torch


def test_default_build_is_among_the_builds(kb):
    for release in kb.releases:
        if release.on_pypi:
            assert release.default_build in release.builds, release.torch


def test_more_than_40_rules_each_with_sources_confidence_and_compiled_signatures(kb):
    assert len(kb.rules) > 40
    for rule in kb.rules:
        assert rule.sources, rule.id
        assert all(s.startswith(("https://", "meta:")) for s in rule.sources), rule.id
        assert rule.confidence[0] in "HML", rule.id
        for pattern in rule.signatures:
            assert hasattr(pattern, "search"), rule.id


def test_rules_from_the_issue_are_present(kb):
    ids = {r.id for r in kb.rules}
    for rule_id in ("setuptools-distutils-version", "yapf-verify", "pillow-pillow-version", "numpy2-abi",
                    "protobuf4-descriptors", "librosa-numba-decorators", "tv03-libcudart90", "torch180-cudnn",
                    "cuda-arch-missing"):
        assert rule_id in ids, rule_id


def test_signatures_match_real_crash_text(kb):
    crash = "AttributeError: module 'distutils' has no attribute 'version'"
    assert kb.rule("setuptools-distutils-version").matches_traceback(crash)
    crash = "TypeError: FormatCode() got an unexpected keyword argument 'verify'"
    assert kb.rule("yapf-verify").matches_traceback(crash)
    assert not kb.rule("yapf-verify").matches_traceback("ImportError: libcudart.so.9.0: cannot open shared object")


def test_gpu_and_driver_tables_are_typed_records_with_sources(kb):
    gpu = kb.gpu
    for table in (gpu.archs, gpu.build_archs, gpu.drivers, gpu.driver_compat, gpu.cuda_wheels):
        assert table
        for entry in table:
            assert entry.sources and entry.confidence in ("H", "M", "L"), entry
    assert gpu.default is not None and gpu.default.sm == Version("7.5") and gpu.default.sources
    assert gpu.min_driver(Version("11.3")).linux == Version("450.80.02")
    assert gpu.build_archs_for(Version("1.10.0"), "cu113").runs_on(Version("8.6"))
    assert gpu.build_archs_for(Version("1.10.0"), "cu999") is None


def test_family_facts_are_data(kb):
    assert kb.family.all == ("torch", "torchvision", "torchaudio", "torchtext", "torchdata")
    assert kb.family.unlabelled == ("torchtext", "torchdata") and kb.family.sources
    assert not kb.carries_label("torchtext", Version("0.11.0"))
    assert not kb.carries_label("torchaudio", Version("0.9.0")) and kb.carries_label("torchaudio", Version("0.10.0"))
    assert kb.gpu.cuda_wheel("nvidia-cudnn-cu12")[1] == "12" and kb.gpu.cuda_wheel("cupy-cuda102")[1] == "10"
    assert kb.gpu.cuda_wheel("cupy-cuda11x")[0].for_major("12") == "cupy-cuda12x"
    assert kb.gpu.cuda_wheel("numpy") is None
    assert kb.finding_sources("conda-owned") and kb.finding_sources("pip-over-conda")


@pytest.mark.parametrize("file, old, new, message", [
    ("gpu.toml", 'archs = ["3.5", "5.0", "6.0", "6.1"]', 'archs = ["3.5", "five"]',
     "gpu.toml: build_archs >=1.0,<1.1: archs = 'five' is not a version"),
    ("gpu.toml", 'cuda_major = 12', 'cuda_major = "12"', "gpu.toml: driver_compat 12: cuda_major must be an integer"),
    ("gpu.toml", 'sm = "7.5"\nname = "Turing"', 'sm = "7.7"\nname = "Turing"',
     "gpu.toml: [default_gpu]: sm 7.7 is not an [[arch]]"),
    ("gpu.toml", 'pattern = "^nvidia-.*-cu(?P<cuda>\\\\d+)$"', 'pattern = "^nvidia-.*-cu(\\\\d+)$"',
     "gpu.toml: cuda_wheels nvidia: pattern"),
    ("torch.toml", 'unlabelled = ["torchtext", "torchdata"]', 'unlabelled = ["torchtext", "torchdatum"]',
     "torch.toml: [family]: unlabelled names torchdatum, which is not a member"),
    ("names.toml", 'sources = ["https://github.com/conda/conda/issues/11559"]\nconfidence = "H"\n\n[[finding]]',
     'sources = []\nconfidence = "H"\n\n[[finding]]', "names.toml: finding conda-owned has no sources"),
])
def test_a_damaged_gpu_family_or_finding_entry_is_an_error_naming_it(tmp_path, file, old, new, message):
    target = _copy_kb(tmp_path)
    _damage(target / file, old, new)
    with pytest.raises(KnowledgeError) as caught:
        kb_module.load(str(target))
    assert str(caught.value).startswith(message), str(caught.value)


def _copy_kb(tmp_path):
    target = tmp_path / "knowledge"
    shutil.copytree(kb_module.DATA_DIR, str(target))
    return target


def _damage(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_rule_without_source_is_an_error_naming_file_and_rule(tmp_path):
    target = _copy_kb(tmp_path)
    rules = target / "rules.toml"
    text = rules.read_text(encoding="utf-8")
    text = re.sub(r'(id = "setuptools-distutils-version".*?)\nsources = \[[^\]]*\]', r"\1\nsources = []", text,
                  count=1, flags=re.S)
    rules.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"rules\.toml: rule setuptools-distutils-version has no sources"):
        kb_module._load(str(target))


def test_signature_that_does_not_compile_is_an_error(tmp_path):
    target = _copy_kb(tmp_path)
    with open(str(target / "rules.toml"), "a", encoding="utf-8") as handle:
        handle.write('\n[[rule]]\nid = "broken-regex"\nsummary = "x"\nkind = "diagnostic"\nsignatures = [\'(unclosed\']'
                     '\nsources = ["https://example.org/x"]\nconfidence = "L"\n')
    with pytest.raises(KnowledgeError, match=r"rule broken-regex: signature .* does not compile"):
        kb_module._load(str(target))


def test_bad_version_in_torch_table_names_the_release(tmp_path):
    target = _copy_kb(tmp_path)
    _damage(target / "torch.toml", 'torchvision = "0.11.1"', 'torchvision = "zero.eleven"')
    with pytest.raises(KnowledgeError, match=r"torch\.toml: release 1\.10\.0: torchvision"):
        kb_module._load(str(target))


def test_invalid_toml_names_the_file(tmp_path):
    target = _copy_kb(tmp_path)
    with open(str(target / "rules.toml"), "a", encoding="utf-8") as handle:
        handle.write("\n[[rule]\n")
    with pytest.raises(KnowledgeError, match=r"rules\.toml is not valid TOML"):
        kb_module._load(str(target))


def test_damaged_knowledge_base_is_a_one_line_cli_error(tmp_path):
    from tests.conftest import assert_one_line_error, run_pinguard

    target = _copy_kb(tmp_path)
    _damage(target / "torch.toml", 'default_build = "cu102"', 'default_build = "cu999"')
    result = run_pinguard("generate", "torch==1.10.0", env={"PINGUARD_KNOWLEDGE_DIR": str(target)})
    assert_one_line_error(result, 2, "default_build 'cu999' is not among its builds")
