"""Release files read one member at a time from a local index: range requests, never the whole wheel; the cache by
(distribution, version, path); offline reads only the cache; an sdist when no wheel exists."""

import io
import os
import tarfile
import zipfile

import pytest
from packaging.version import Version

from pinguard.sources.index import IndexClient
from pinguard.sources.release_files import ReleaseFiles
from tests.test_index_client import FakeIndex, Handler, QuietServer, fake  # noqa: F401 - the local index fixture

PAYLOAD = 3_000_000


def wheel(name: str, version: str, files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr("%s/_native.bin" % name, os.urandom(PAYLOAD))  # what a real wheel's .so would be
        archive.writestr("%s-%s.dist-info/METADATA" % (name, version),
                         "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version))
    return buf.getvalue()


def sdist(name: str, version: str, files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo("%s-%s/%s" % (name, version, path))
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def index(fake):  # noqa: F811
    for version, extra in (("1.0", "def fancy_dumps(x):\n    return x\n"), ("2.0", "")):
        content = wheel("fancyjson", version, {
            "fancyjson/__init__.py": "from .core import dumps\n" + extra,
            "fancyjson/core.py": "def dumps(obj, *, indent=None):\n    return str(obj)\n",
        })
        fake.add("fancyjson", "fancyjson-%s-py3-none-any.whl" % version, content, None)
    fake.add("oldlib", "oldlib-0.1.tar.gz", sdist("oldlib", "0.1", {"src/oldlib/__init__.py": "VALUE = 1\n",
                                                                      "setup.py": ""}), None)
    return fake


def test_one_module_costs_a_few_range_requests_never_the_whole_wheel(index, tmp_path):
    client = IndexClient(index.index_url, cache_dir=tmp_path)
    files = ReleaseFiles(client)
    old = files.module("fancyjson", Version("1.0"), "fancyjson")
    assert old.status == "package" and old.facts.binds("fancy_dumps")
    new = files.module("fancyjson", Version("2.0"), "fancyjson")
    assert new.facts.binds("fancy_dumps") is False
    core = files.module("fancyjson", Version("2.0"), "fancyjson.core")
    assert core.facts.functions["dumps"].accepts_keyword("indent")
    assert files.module("fancyjson", Version("2.0"), "fancyjson.gone").status == "absent"
    assert files.module("fancyjson", Version("2.0"), "fancyjson._native").status == "absent"  # .bin is not code
    requests = index.requests_for("/files/fancyjson")
    assert requests and all("Range" in headers for headers in requests)
    assert client.bytes_fetched < PAYLOAD / 10


def test_the_cache_answers_later_runs_and_offline_reads_only_the_cache(index, tmp_path):
    first = ReleaseFiles(IndexClient(index.index_url, cache_dir=tmp_path))
    assert first.module("fancyjson", Version("1.0"), "fancyjson").facts.binds("fancy_dumps")
    before = len(index.log)
    offline = ReleaseFiles(IndexClient(index.index_url, cache_dir=tmp_path, offline=True))
    again = offline.module("fancyjson", Version("1.0"), "fancyjson")
    assert again.facts.binds("fancy_dumps") and len(index.log) == before
    unknown = offline.module("fancyjson", Version("2.0"), "fancyjson")
    assert unknown.status == "unknown" and unknown.exists is None  # not cached: unknown, never "absent"


def test_an_sdist_is_read_when_no_wheel_exists(index, tmp_path):
    files = ReleaseFiles(IndexClient(index.index_url, cache_dir=tmp_path))
    found = files.module("oldlib", Version("0.1"), "oldlib")
    assert found.status == "package" and found.facts.binds("VALUE")
    assert files.top_level("oldlib", Version("0.1")) == ["oldlib"]
