"""The index client against the real PyPI.

The ``network`` fixture (tests/conftest.py) probes PyPI with retries first: when it cannot be reached the test is
skipped with the reason, or fails under CI=true. After that, failures are real failures; the client itself
retries transient errors (4 tries here).
"""

from __future__ import annotations

import pytest

from pinguard.sources.index import FileInfo, IndexClient

pytestmark = pytest.mark.network

TORCH_WHEEL = "torch-1.10.0-cp37-cp37m-manylinux1_x86_64.whl"


def _client(tmp_path) -> IndexClient:
    return IndexClient("https://pypi.org/simple", cache_dir=tmp_path / "cache", retries=4, timeout=60)


def _pick(files, predicate) -> FileInfo:
    found = [f for f in files if predicate(f)]
    assert found, "no matching file among {} listed".format(len(files))
    return found[0]


def test_torchvision_0_11_1_requires_torch_1_10_0(network, tmp_path):
    client = _client(tmp_path)
    wheel = _pick(client.project("torchvision"),
                  lambda f: str(f.version) == "0.11.1" and f.is_wheel and "manylinux" in f.filename)

    meta = client.metadata(wheel)

    assert (meta.name.lower(), meta.version) == ("torchvision", "0.11.1")
    assert any(r.replace(" ", "") in ("torch(==1.10.0)", "torch==1.10.0") for r in meta.requires_dist), \
        meta.requires_dist

    again = _client(tmp_path)  # second run: everything from the cache
    assert again.metadata(_pick(again.project("torchvision"), lambda f: f.url == wheel.url)) == meta
    assert again.requests_made == 0


def test_torch_1_10_0_metadata_costs_under_a_megabyte(network, tmp_path):
    client = _client(tmp_path)
    wheel = _pick(client.project("torch"), lambda f: f.filename == TORCH_WHEEL)
    assert wheel.size and wheel.size > 500_000_000  # the wheel is ~880 MB: downloading it is not an option
    page_bytes = client.bytes_fetched

    meta = client.metadata(wheel)

    metadata_bytes = client.bytes_fetched - page_bytes
    print("\ntorch==1.10.0 {}: metadata via {} in {} bytes (project page {} bytes, total {})".format(
        TORCH_WHEEL, meta.source, metadata_bytes, page_bytes, client.bytes_fetched))
    assert meta.version == "1.10.0" and meta.name == "torch"
    assert meta.requires_python == ">=3.6.2"
    assert "typing-extensions" in meta.requires_dist
    assert meta.source in ("pep658", "range")
    assert client.bytes_fetched < 1_000_000, client.bytes_fetched  # page + metadata together
    assert metadata_bytes < 250_000, metadata_bytes
