"""names.toml: a two-way PyPI <-> conda mapping for every package the knowledge base speaks of, with sources."""

import os
import shutil

import pytest

from pinguard import kb as kb_module
from pinguard.conda_names import parse
from pinguard.errors import KnowledgeError


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


def kb_packages(kb):
    names = set(kb.family.all)
    for rule in kb.rules:
        names.update(rule.packages())
    return names


def test_every_package_the_knowledge_base_speaks_of_has_a_conda_name_or_is_marked_pip_only(kb):
    missing = sorted(n for n in kb_packages(kb) if not kb.names.knows(n))
    assert not missing, "add these to pinguard/knowledge/names.toml ([same], [[package]] or [[pip_only]]): %s" % (
        ", ".join(missing))


def test_every_entry_has_sources_and_confidence(kb):
    for entry in kb.names.entries:
        assert entry.sources and all(s.startswith("https://") for s in entry.sources), entry
        assert entry.confidence in ("H", "M", "L"), entry


@pytest.mark.parametrize("pypi,conda", [
    ("torch", "pytorch"), ("Pillow", "pillow"), ("opencv-python", "opencv"), ("opencv-python-headless", "opencv"),
    ("protobuf", "protobuf"), ("cupy-cuda11x", "cupy"), ("cupy-cuda113", "cupy"), ("typing_extensions",
                                                                                   "typing_extensions"),
    ("huggingface-hub", "huggingface_hub"), ("torch-scatter", "pytorch_scatter"), ("numpy", "numpy"),
    ("requests", "requests"),  # not in the table: the same name
])
def test_pypi_to_conda(kb, pypi, conda):
    assert kb.names.conda_name(pypi) == conda


@pytest.mark.parametrize("conda,pypi", [
    ("pytorch", "torch"), ("pillow", "pillow"), ("opencv", "opencv-python"), ("py-opencv", "opencv-python"),
    ("libopencv", "opencv-python"), ("cupy", "cupy"), ("matplotlib-base", "matplotlib"),
    ("typing_extensions", "typing-extensions"), ("pytorch_scatter", "torch-scatter"),
    ("torch-scatter", "torch-scatter"), ("cudatoolkit", "cudatoolkit"), ("cuda-version", "cuda-version"),
    ("pytorch-cuda", "pytorch-cuda"), ("some-unknown_pkg", "some-unknown-pkg"),
])
def test_conda_to_pypi(kb, conda, pypi):
    assert kb.names.pypi_name(conda) == pypi


def test_an_anchor_spelling_wins_when_several_wheels_share_one_conda_package(kb):
    assert kb.names.pypi_name("opencv", prefer=["opencv-python-headless"]) == "opencv-python-headless"
    assert kb.names.pypi_name("cupy", prefer=["cupy-cuda11x"]) == "cupy-cuda11x"


def test_round_trip_for_every_mapped_package(kb):
    for entry in kb.names.entries:
        if entry.pypi and entry.conda:
            assert kb.names.conda_name(entry.pypi) == entry.conda
            assert kb.names.pypi_name(entry.conda) == entry.pypi


def test_conda_aliases_and_pip_only(kb):
    assert kb.names.is_conda_alias("pytorch") == "torch"
    assert kb.names.is_conda_alias("numpy") is None
    assert kb.names.conda_name("mmcv-full") is None  # PyPI only: no conda-meta/pinned line
    assert set(s.conda for s in kb.names.cuda_selectors) >= {"cudatoolkit", "cuda-version", "pytorch-cuda"}


def test_render_conda_uses_the_mapping(kb):
    from pinguard.adapters.formats import render_conda
    from pinguard.engines.generate import generate
    from pinguard.model import Anchor

    text = render_conda(kb, generate(kb, [Anchor.parse("torch==1.10.0"), Anchor.parse("mmcv-full==1.4.0")]))
    assert "pytorch ==1.10.0" in text
    assert "# not a conda package (PyPI only): mmcv-full==1.4.0" in text


@pytest.mark.parametrize("broken,message", [
    ('[[package]]\npypi = "torch"\nconda = "pytorch"\n', "has no sources"),
    ('[[package]]\npypi = "torch"\nsources = ["https://x"]\nconfidence = "H"\n', "needs both pypi and conda"),
    ('[same]\nnames = ["numpy"]\nconfidence = "M"\n', "source_template"),
    ('[[conda_only]]\nconda = "cudatoolkit"\ncuda_selector = true\nmatch = "patch"\nsources = ["https://x"]\n'
     'confidence = "M"\n', "match must be one of"),
])
def test_a_damaged_names_entry_is_an_error_naming_it(tmp_path, broken, message):
    directory = tmp_path / "knowledge"
    shutil.copytree(kb_module.DATA_DIR, str(directory))
    (directory / "names.toml").write_text(broken)
    with pytest.raises(KnowledgeError) as info:
        kb_module._load(str(directory))
    assert message in str(info.value) and "names.toml" in str(info.value)


def test_parse_rejects_one_pypi_name_with_two_conda_names():
    data = {"package": [
        {"pypi": "torch", "conda": "pytorch", "sources": ["https://a"], "confidence": "H"},
        {"pypi": "torch", "conda": "torch-other", "sources": ["https://b"], "confidence": "H"}]}
    with pytest.raises(KnowledgeError):
        parse(data)


def test_shipped_names_file_exists():
    assert os.path.exists(os.path.join(kb_module.DATA_DIR, "names.toml"))
