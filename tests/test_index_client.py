"""Offline tests of the package-index client against a local HTTP index started by the test.

The fake index serves a PEP 691 JSON page (or PEP 503 HTML) and real files built here: wheels made with zipfile
(padded with an incompressible member so that reading "only the metadata" is measurable) and an sdist. It can
omit the PEP 658 ``.metadata`` files, ignore Range headers, fail the next N requests, and it logs every request.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple

import pytest

from pinguard.errors import BadInput, CacheError, NetworkError, UnknownPackage
from pinguard.sources import http_transport
from pinguard.sources import index as index_module
from pinguard.sources.cache import Cache, default_cache_dir
from pinguard.sources.index import FileInfo, IndexClient, normalize_name, parse_metadata

PAD = 2_000_000  # bytes of random (incompressible) payload in test wheels


# --------------------------------------------------------------------------------------------------------------
# Building distributions


def metadata_text(name: str, version: str, requires: Tuple[str, ...] = (), requires_python: Optional[str] = None,
                  metadata_version: str = "2.1") -> str:
    lines = ["Metadata-Version: " + metadata_version, "Name: " + name, "Version: " + version]
    if requires_python:
        lines.append("Requires-Python: " + requires_python)
    lines += ["Requires-Dist: " + r for r in requires]
    lines.append("Provides-Extra: test")
    return "\n".join(lines) + "\n\n" + "A long description.\n" * 50


def make_wheel(name: str, version: str, requires: Tuple[str, ...] = (), pad: int = PAD, filler: int = 0,
               dist_info_first: bool = False, tag: str = "py3-none-any",
               compression: int = zipfile.ZIP_DEFLATED) -> Tuple[str, bytes, bytes]:
    """A real wheel: ``(filename, wheel bytes, METADATA bytes)``.

    ``filler`` adds that many tiny members with long names, to make the central directory bigger than the
    client's first tail request.
    """
    meta = metadata_text(name, version, requires, requires_python=">=3.7").encode()
    dist_info = "{}-{}.dist-info".format(name, version)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        def write_dist_info() -> None:
            zf.writestr(dist_info + "/METADATA", meta)
            zf.writestr(dist_info + "/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {}\n".format(tag))
            zf.writestr(dist_info + "/RECORD", "")

        if dist_info_first:
            write_dist_info()
        zf.writestr(name + "/__init__.py", "")
        if pad:
            zf.writestr(name + "/payload.bin", os.urandom(pad))
        for i in range(filler):
            zf.writestr("{}/generated/some/deeply/nested/module_with_a_long_name_{:05d}.py".format(name, i), "x=1\n")
        if not dist_info_first:
            write_dist_info()
    return "{}-{}-{}.whl".format(name, version, tag), buf.getvalue(), meta


def make_sdist(name: str, version: str, requires: Tuple[str, ...] = ()) -> Tuple[str, bytes, bytes]:
    pkg_info = metadata_text(name, version, requires).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in (("PKG-INFO", pkg_info), ("setup.py", b"")):
            info = tarfile.TarInfo("{}-{}/{}".format(name, version, path))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return "{}-{}.tar.gz".format(name, version), buf.getvalue(), pkg_info


# --------------------------------------------------------------------------------------------------------------
# The fake index


class FakeIndex:
    """State of the local index; tests change the switches between calls."""

    def __init__(self) -> None:
        self.projects: Dict[str, List[str]] = {}  # normalised name -> filenames
        self.files: Dict[str, bytes] = {}  # filename -> content
        self.metadata: Dict[str, bytes] = {}  # filename -> served .metadata content
        self.metadata_hash: Dict[str, str] = {}  # filename -> sha256 announced on the page
        self.extra_entries: List[dict] = []
        self.yanked: Dict[str, object] = {}
        self.log: List[Tuple[str, Dict[str, str]]] = []
        self.omit_metadata = False  # no core-metadata field and 404 for .metadata
        self.no_ranges = False  # ignore Range headers (answer 200 with the whole file)
        self.fail_next = 0  # answer the next N requests with 503 (or drop them, see fail_mode)
        self.fail_mode = "503"
        self.html = False
        self.gzip = False
        self.sizes = True
        self.file_delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.url = ""

    def add(self, project: str, filename: str, content: bytes, meta: Optional[bytes]) -> None:
        self.projects.setdefault(normalize_name(project), []).append(filename)
        self.files[filename] = content
        if meta is not None:
            self.metadata[filename] = meta
            self.metadata_hash[filename] = hashlib.sha256(meta).hexdigest()

    # -- what the tests look at ---------------------------------------------------------------------------------

    def requests_for(self, fragment: str) -> List[Dict[str, str]]:
        return [headers for path, headers in self.log if fragment in path]

    @property
    def index_url(self) -> str:
        return self.url + "/simple"

    # -- pages ----------------------------------------------------------------------------------------------

    def page(self, project: str) -> Tuple[str, bytes]:
        entries = []
        for filename in self.projects[project]:
            content = self.files[filename]
            entry = {
                "filename": filename,
                "url": "/files/" + filename,
                "hashes": {"sha256": hashlib.sha256(content).hexdigest()},
                "requires-python": ">=3.7",
                "yanked": self.yanked.get(filename, False),
            }
            if self.sizes:
                entry["size"] = len(content)
            if filename in self.metadata and not self.omit_metadata:
                entry["core-metadata"] = {"sha256": self.metadata_hash[filename]}
            entries.append(entry)
        entries += self.extra_entries
        if self.html:
            return "text/html", self._html(entries).encode()
        body = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
        return "application/vnd.pypi.simple.v1+json", json.dumps(body).encode()

    def _html(self, entries: List[dict]) -> str:
        links = []
        for e in entries:
            attrs = ' data-requires-python="&gt;=3.7"'
            if "core-metadata" in e:
                attrs += ' data-core-metadata="sha256={}"'.format(e["core-metadata"]["sha256"])
            if e.get("yanked"):
                attrs += ' data-yanked="{}"'.format(e["yanked"] if isinstance(e["yanked"], str) else "")
            links.append('<a href="../../files/{0}#sha256={1}"{2}>{0}</a><br/>'.format(
                e["filename"], e["hashes"]["sha256"], attrs))
        return "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>"


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeIndex/1.0"

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    @property
    def fake(self) -> FakeIndex:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        fake = self.fake
        with fake.lock:
            fake.log.append((self.path, dict(self.headers.items())))
            failing = fake.fail_next > 0
            if failing:
                fake.fail_next -= 1
        if failing:
            if fake.fail_mode == "drop":
                self.close_connection = True
                return
            self._send(503, b"busy", "text/plain")
            return
        if self.path.startswith("/simple/"):
            self._page(self.path[len("/simple/"):].strip("/"))
        elif self.path.startswith("/files/"):
            self._file(self.path[len("/files/"):])
        else:
            self._send(404, b"not found", "text/plain")

    def _page(self, project: str) -> None:
        fake = self.fake
        if project not in fake.projects:
            self._send(404, b"no such project", "text/plain")
            return
        content_type, body = fake.page(project)
        etag = '"{}"'.format(hashlib.sha256(body).hexdigest()[:16])
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        extra = {"ETag": etag}
        if fake.gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body)
            extra["Content-Encoding"] = "gzip"
        self._send(200, body, content_type, extra)

    def _file(self, name: str) -> None:
        fake = self.fake
        with fake.lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.file_delay:
                time.sleep(fake.file_delay)
            if name.endswith(".metadata"):
                base = name[:-len(".metadata")]
                if fake.omit_metadata or base not in fake.metadata:
                    self._send(404, b"no metadata", "text/plain")
                else:
                    self._send(200, fake.metadata[base], "application/octet-stream")
                return
            if name not in fake.files:
                self._send(404, b"no such file", "text/plain")
                return
            self._ranged(fake.files[name])
        finally:
            with fake.lock:
                fake.in_flight -= 1

    def _ranged(self, content: bytes) -> None:
        header = self.headers.get("Range")
        if header is None or self.fake.no_ranges:
            self._send(200, content, "application/octet-stream", {"Accept-Ranges": "none"})
            return
        match = re.match(r"^bytes=(\d*)-(\d*)$", header)
        size = len(content)
        if not match or (not match.group(1) and not match.group(2)):
            self._send(400, b"bad range", "text/plain")
            return
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:
            start, end = max(0, size - int(match.group(2))), size - 1
        if start >= size or start > end:
            self._send(416, b"", "text/plain", {"Content-Range": "bytes */{}".format(size)})
            return
        self._send(206, content[start:end + 1], "application/octet-stream",
                   {"Content-Range": "bytes {}-{}/{}".format(start, end, size)})

    def _send(self, status: int, body: bytes, content_type: str, extra: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # the client hanging up early is expected
        pass


@pytest.fixture
def fake():
    server = QuietServer(("127.0.0.1", 0), Handler)
    state = FakeIndex()
    server.fake = state  # type: ignore[attr-defined]
    state.url = "http://127.0.0.1:{}".format(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("PINGUARD_OFFLINE", raising=False)
    monkeypatch.delenv("PINGUARD_CACHE_DIR", raising=False)


@pytest.fixture
def client_for(fake, tmp_path):
    """``client_for(**options)``: a client on the fake index with a cache under tmp_path and no backoff."""

    def make(**options) -> IndexClient:
        options.setdefault("cache_dir", tmp_path / "cache")
        options.setdefault("backoff", 0)
        options.setdefault("timeout", 10)
        return IndexClient(fake.index_url, **options)

    return make


@pytest.fixture
def demo(fake):
    """Project "demo": a padded wheel with a .metadata file, and its metadata bytes."""
    filename, content, meta = make_wheel("demo", "1.0", requires=("numpy>=1.17", "torch (==1.10.0)"))
    fake.add("demo", filename, content, meta)
    return filename, content, meta


def only(files: List[FileInfo], filename: str) -> FileInfo:
    found = [f for f in files if f.filename == filename]
    assert len(found) == 1, [f.filename for f in files]
    return found[0]


def one_line(message: str) -> bool:
    return "\n" not in message and "Traceback" not in message


# --------------------------------------------------------------------------------------------------------------
# Project pages


def test_project_parses_the_json_page(fake, client_for, demo):
    filename, content, meta = demo
    fake.add("demo", "demo-0.9.tar.gz", make_sdist("demo", "0.9")[1], None)
    fake.add("demo", "demo-1.1-py3-none-any.whl", make_wheel("demo", "1.1", pad=0)[1], None)
    fake.yanked["demo-1.1-py3-none-any.whl"] = "broken build"
    fake.extra_entries = [
        {"filename": "README.txt", "url": "/files/README.txt", "hashes": {}},
        {"filename": "demo-notaversion-py3-none-any.whl", "url": "/files/x.whl", "hashes": {}},
        {"filename": "other-1.0-py3-none-any.whl", "url": "/files/other.whl", "hashes": {}},
        {"filename": "demo-0.1.exe", "url": "/files/demo-0.1.exe", "hashes": {}},
    ]
    client = client_for()

    files = client.project("Demo")  # normalised to /simple/demo/

    assert sorted(f.filename for f in files) == sorted([filename, "demo-0.9.tar.gz", "demo-1.1-py3-none-any.whl"])
    wheel = only(files, filename)
    assert wheel.url == fake.url + "/files/" + filename  # relative URL resolved against the page
    assert wheel.hashes == {"sha256": hashlib.sha256(content).hexdigest()}
    assert wheel.size == len(content)
    assert wheel.core_metadata == {"sha256": hashlib.sha256(meta).hexdigest()}
    assert wheel.requires_python == ">=3.7"
    assert str(wheel.version) == "1.0" and wheel.name == "demo" and wheel.is_wheel
    assert {str(t) for t in wheel.tags} == {"py3-none-any"}
    sdist = only(files, "demo-0.9.tar.gz")
    assert not sdist.is_wheel and sdist.tags == frozenset() and sdist.core_metadata is False
    yanked = only(files, "demo-1.1-py3-none-any.whl")
    assert yanked.yanked and yanked.yanked_reason == "broken build"
    assert [str(v) for v in client.versions("demo")] == ["0.9", "1.0"]
    assert [str(v) for v in client.versions("demo", include_yanked=True)] == ["0.9", "1.0", "1.1"]
    page_requests = fake.requests_for("/simple/")
    assert [p for p, _ in fake.log] == ["/simple/demo/"]
    assert page_requests[0]["Accept"].startswith("application/vnd.pypi.simple.v1+json")
    assert hash(wheel) == hash(only(client_for().project("demo"), filename))  # usable as a dict key


def test_project_reads_html_and_gzip_pages(fake, client_for, demo):
    filename, content, meta = demo
    fake.html = True
    fake.gzip = True
    fake.yanked[filename] = True

    wheel = only(client_for().project("demo"), filename)

    assert wheel.url == fake.url + "/files/" + filename  # fragment stripped, ../../ resolved
    assert wheel.hashes == {"sha256": hashlib.sha256(content).hexdigest()}
    assert wheel.core_metadata == {"sha256": hashlib.sha256(meta).hexdigest()}
    assert wheel.requires_python == ">=3.7"  # HTML entity decoded
    assert wheel.yanked and wheel.yanked_reason is None
    assert wheel.size is None


def test_unknown_project_is_unknown_package(fake, client_for, demo):
    with pytest.raises(UnknownPackage) as info:
        client_for().project("no-such-thing")
    assert str(info.value) == "no package named no-such-thing on {}".format(fake.index_url)


def test_invalid_name_and_index_url_are_bad_input(fake, client_for):
    with pytest.raises(BadInput, match="invalid package name"):
        client_for().project("../etc/passwd")
    with pytest.raises(BadInput, match="http"):
        IndexClient("ftp://example.org/simple")
    assert fake.log == []


def test_invalid_json_page_is_network_error(fake, client_for, demo, monkeypatch):
    monkeypatch.setattr(FakeIndex, "page", lambda self, project: ("application/vnd.pypi.simple.v1+json", b"{oops"))
    with pytest.raises(NetworkError) as info:
        client_for().project("demo")
    assert "not valid JSON" in str(info.value) and one_line(str(info.value))


# --------------------------------------------------------------------------------------------------------------
# Metadata: PEP 658, range requests, whole file


def test_metadata_from_pep658_file_with_hash_check(fake, client_for, demo):
    filename, content, meta = demo
    client = client_for()
    wheel = only(client.project("demo"), filename)

    md = client.metadata(wheel)

    assert md.source == "pep658"
    assert (md.name, md.version, md.requires_python) == ("demo", "1.0", ">=3.7")
    assert md.requires_dist == ["numpy>=1.17", "torch (==1.10.0)"]
    assert md.provides_extra == ["test"] and md.requires_dist_known
    assert [p for p, _ in fake.log if p.startswith("/files/")] == ["/files/{}.metadata".format(filename)]


def test_pep658_hash_mismatch_is_an_error(fake, client_for, demo):
    filename, _, meta = demo
    client = client_for()
    wheel = only(client.project("demo"), filename)
    fake.metadata[filename] = meta.replace(b"numpy>=1.17", b"numpy>=1.18")  # served file no longer matches

    with pytest.raises(NetworkError) as info:
        client.metadata(wheel)
    assert "sha256 hash" in str(info.value) and one_line(str(info.value))


def test_announced_but_missing_metadata_file_falls_back_to_ranges(fake, client_for, demo):
    filename, _, _ = demo
    client = client_for()
    wheel = only(client.project("demo"), filename)
    assert wheel.core_metadata
    del fake.metadata[filename]  # the page says there is a .metadata file, the server has none

    md = client.metadata(wheel)

    assert (md.version, md.source) == ("1.0", "range")
    assert any(".metadata" in n and "HTTP 404" in n for n in client.notices)


def test_range_path_reads_a_small_part_of_the_wheel(fake, client_for, demo):
    filename, content, _ = demo
    fake.omit_metadata = True
    client = client_for()
    wheel = only(client.project("demo"), filename)
    assert wheel.core_metadata is False
    before = client.bytes_fetched

    md = client.metadata(wheel)

    assert md.source == "range"
    assert md.requires_dist == ["numpy>=1.17", "torch (==1.10.0)"]
    fetched = client.bytes_fetched - before
    assert fetched < len(content) / 10, (fetched, len(content))
    file_requests = fake.requests_for("/files/" + filename)
    assert file_requests and all("Range" in h for h in file_requests)
    assert len(file_requests) <= 2  # the tail (EOCD + central directory), then the METADATA member
    assert client.notices == []


def test_range_path_with_unknown_size_uses_a_suffix_range(fake, client_for, demo):
    filename, _, _ = demo
    fake.omit_metadata = True
    fake.sizes = False
    client = client_for()
    wheel = only(client.project("demo"), filename)
    assert wheel.size is None

    assert client.metadata(wheel).version == "1.0"
    assert fake.requests_for("/files/" + filename)[0]["Range"].startswith("bytes=-")


@pytest.mark.parametrize("dist_info_first", [False, True], ids=["dist-info-last", "dist-info-first"])
def test_range_path_with_a_central_directory_larger_than_the_tail(fake, client_for, dist_info_first):
    filename, content, _ = make_wheel("big", "2.0", requires=("demo",), pad=100_000, filler=2000,
                                      dist_info_first=dist_info_first)
    fake.add("big", filename, content, None)
    client = client_for()
    wheel = only(client.project("big"), filename)
    before = client.bytes_fetched

    md = client.metadata(wheel)

    assert (md.name, md.version, md.requires_dist, md.source) == ("big", "2.0", ["demo"], "range")
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        cd_size = sum(46 + len(i.filename.encode()) + len(i.extra) for i in zf.infolist())
    assert cd_size > 200_000  # larger than the tail and the head chunk together
    fetched = client.bytes_fetched - before
    assert fetched < cd_size / 2, (fetched, cd_size)  # the whole central directory was not needed
    assert len(fake.requests_for("/files/" + filename)) == (3 if dist_info_first else 2)


def test_range_path_reads_zip64_wheels(fake, client_for, monkeypatch):
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)  # makes zipfile write zip64 records for small files
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
    filename, content, _ = make_wheel("zsixtyfour", "1.0", requires=("six",), pad=300_000)
    monkeypatch.undo()
    assert b"PK\x06\x06" in content[-200:]  # the zip64 end record is really there
    fake.add("zsixtyfour", filename, content, None)
    client = client_for()

    md = client.metadata(only(client.project("zsixtyfour"), filename))

    assert (md.version, md.requires_dist, md.source) == ("1.0", ["six"], "range")


def test_whole_file_fallback_for_a_small_wheel_without_range_support(fake, client_for):
    filename, content, _ = make_wheel("small", "1.0", requires=("six",), pad=50_000)
    fake.add("small", filename, content, None)
    fake.no_ranges = True
    client = client_for()
    wheel = only(client.project("small"), filename)

    md = client.metadata(wheel)

    assert (md.requires_dist, md.source) == (["six"], "download")
    assert any("does not support range requests" in n for n in client.notices)


def test_large_wheel_without_range_support_is_not_downloaded(fake, client_for, demo):
    filename, content, _ = demo
    fake.omit_metadata = True
    fake.no_ranges = True
    client = client_for(whole_file_limit=100_000)
    wheel = only(client.project("demo"), filename)
    before = client.bytes_fetched

    with pytest.raises(NetworkError) as info:
        client.metadata(wheel)

    message = str(info.value)
    assert "range requests" in message and filename in message and one_line(message)
    assert client.bytes_fetched - before < 100_000  # stopped at the Content-Length, body never read


def test_sdist_metadata_comes_from_a_whole_download(fake, client_for):
    filename, content, _ = make_sdist("legacy", "0.5", requires=("six",))
    fake.add("legacy", filename, content, None)
    client = client_for()
    sdist = only(client.project("legacy"), filename)

    md = client.metadata(sdist)

    assert (md.version, md.requires_dist, md.source) == ("0.5", ["six"], "download")
    assert md.from_sdist and not md.requires_dist_known  # Metadata-Version 2.1 sdist: may be incomplete
    assert any("downloading all of {}".format(filename) in n for n in client.notices)


def test_whole_download_is_checked_against_the_file_hash(fake, client_for):
    filename, content, _ = make_sdist("legacy", "0.5")
    fake.add("legacy", filename, content, None)
    client = client_for()
    sdist = only(client.project("legacy"), filename)
    fake.files[filename] = make_sdist("legacy", "0.5", requires=("evil",))[1]

    with pytest.raises(NetworkError, match="does not match its sha256 hash"):
        client.metadata(sdist)


def test_large_sdist_is_refused_before_downloading(fake, client_for):
    filename, content, _ = make_sdist("legacy", "0.5")
    fake.add("legacy", filename, content, None)
    client = client_for(whole_file_limit=len(content) - 1)
    sdist = only(client.project("legacy"), filename)

    with pytest.raises(NetworkError, match="limit for whole downloads"):
        client.metadata(sdist)
    assert fake.requests_for("/files/") == []


def test_damaged_wheel_is_a_one_line_error(fake, client_for):
    fake.add("broken", "broken-1.0-py3-none-any.whl", b"this is not a zip file" * 1000, None)
    client = client_for()
    wheel = only(client.project("broken"), "broken-1.0-py3-none-any.whl")

    with pytest.raises(NetworkError) as info:
        client.metadata(wheel)
    assert "not a zip file" in str(info.value) and one_line(str(info.value))


def test_metadata_failing_its_crc_is_an_error(fake, client_for):
    filename, content, _ = make_wheel("flipped", "1.0", requires=("numpy>=1.17",), pad=1000,
                                      compression=zipfile.ZIP_STORED)
    assert content.count(b"numpy>=1.17") == 1
    fake.add("flipped", filename, content.replace(b"numpy>=1.17", b"numpy>=1.18"), None)
    client = client_for()

    with pytest.raises(NetworkError, match="CRC"):
        client.metadata(only(client.project("flipped"), filename))


def test_metadata_many_fetches_in_parallel(fake, client_for):
    expected = {}
    for i in range(12):
        filename, content, meta = make_wheel("multi", "1.{}".format(i), requires=("dep{}".format(i),), pad=1000)
        fake.add("multi", filename, content, meta if i % 2 else None)  # half PEP 658, half range requests
        expected[filename] = ["dep{}".format(i)]
    fake.file_delay = 0.05
    client = client_for()
    files = client.project("multi")

    result = client.metadata_many(files + files[:3])  # duplicates are fetched once

    assert {fi.filename: md.requires_dist for fi, md in result.items()} == expected
    assert {md.source for md in result.values()} == {"pep658", "range"}
    assert fake.max_in_flight > 1
    assert len(fake.requests_for(".metadata")) == 6


def test_metadata_many_raises_the_first_error(fake, client_for, demo):
    fake.add("broken", "broken-1.0-py3-none-any.whl", b"garbage" * 100, None)
    client = client_for()
    files = client.project("demo") + client.project("broken")

    with pytest.raises(NetworkError, match="broken-1.0-py3-none-any.whl"):
        client.metadata_many(files)


def test_progress_callback_reports_slow_batches(fake, client_for, monkeypatch):
    monkeypatch.setattr(http_transport, "PROGRESS_DELAY", 0.0)
    for i in range(3):
        filename, content, meta = make_wheel("slow", "1.{}".format(i), pad=0)
        fake.add("slow", filename, content, meta)
    lines: List[str] = []
    client = client_for(progress=lines.append)

    client.metadata_many(client.project("slow"))

    assert lines and lines[-1].startswith("fetching metadata: 3/3 files")


def test_no_progress_output_by_default(fake, client_for, demo, monkeypatch, capsys):
    monkeypatch.setattr(http_transport, "PROGRESS_DELAY", 0.0)
    client = client_for()
    client.metadata_many(client.project("demo"))
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------------------------------------------
# Cache


def test_page_and_metadata_are_served_from_the_cache(fake, client_for, demo):
    filename, _, _ = demo
    first = client_for()
    first.metadata(only(first.project("demo"), filename))
    requests_before = len(fake.log)

    again = client_for()  # a new process, same cache directory
    md = again.metadata(only(again.project("demo"), filename))
    first.project("demo")

    assert md.requires_dist == ["numpy>=1.17", "torch (==1.10.0)"] and md.source == "pep658"
    assert len(fake.log) == requests_before
    assert again.requests_made == 0 and again.bytes_fetched == 0


def test_expired_page_is_revalidated(fake, client_for, demo):
    client = client_for(page_ttl=0)
    assert len(client.project("demo")) == 1

    assert len(client.project("demo")) == 1  # 304: the cached page is still good
    second = fake.requests_for("/simple/")[1]
    assert "If-None-Match" in second

    fake.add("demo", "demo-2.0.tar.gz", make_sdist("demo", "2.0")[1], None)
    assert len(client.project("demo")) == 2  # changed page: fetched again
    assert len(fake.requests_for("/simple/")) == 3


def test_fresh_page_is_not_revalidated(fake, client_for, demo):
    client_for(page_ttl=3600).project("demo")
    fake.add("demo", "demo-2.0.tar.gz", make_sdist("demo", "2.0")[1], None)
    assert len(client_for(page_ttl=3600).project("demo")) == 1
    assert len(fake.requests_for("/simple/")) == 1


def test_stale_page_is_used_when_the_index_fails(fake, client_for, demo):
    filename, _, _ = demo
    client_for().project("demo")
    fake.fail_next = 100
    client = client_for(page_ttl=0)

    files = client.project("demo")

    assert [f.filename for f in files] == [filename]
    assert len(fake.requests_for("/simple/")) == 1 + 3  # the first fetch, then three tries
    assert len(client.notices) == 1 and "using the cached index page for demo" in client.notices[0]


def test_offline_uses_an_expired_cache_without_requests(fake, client_for, demo):
    filename, _, _ = demo
    online = client_for()
    online.metadata(only(online.project("demo"), filename))
    requests_before = len(fake.log)

    offline = client_for(offline=True, page_ttl=0)
    md = offline.metadata(only(offline.project("demo"), filename))

    assert md.version == "1.0"
    assert len(fake.log) == requests_before


def test_offline_with_a_cold_cache_is_a_network_error(fake, client_for, demo, monkeypatch):
    with pytest.raises(NetworkError) as info:
        client_for(offline=True).project("demo")
    assert "not in the cache and offline mode is on (PINGUARD_OFFLINE)" in str(info.value)

    files = client_for().project("demo")
    monkeypatch.setenv("PINGUARD_OFFLINE", "1")
    client = client_for()
    assert client.offline
    with pytest.raises(NetworkError, match=r"metadata of demo-1\.0-py3-none-any\.whl is not in the cache"):
        client.metadata(files[0])
    assert fake.requests_for("/files/") == []


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def test_corrupt_page_cache_is_refetched_online(fake, client_for, demo, tmp_path):
    client_for().project("demo")
    path = Cache(tmp_path / "cache").page_path(fake.index_url, "demo")
    _truncate(path)

    client = client_for()
    assert len(client.project("demo")) == 1

    assert len(fake.requests_for("/simple/")) == 2
    assert json.loads(path.read_text())["files"]  # rewritten whole
    assert any("is corrupt" in n and str(path) in n for n in client.notices)


def test_corrupt_metadata_cache_is_refetched_online(fake, client_for, demo, tmp_path):
    filename, _, _ = demo
    client = client_for()
    wheel = only(client.project("demo"), filename)
    client.metadata(wheel)
    path = Cache(tmp_path / "cache").metadata_path(wheel.url, wheel.hash_key)
    path.write_text('{"schema": 1, "headers": "Metadata-Version: 2.1\\n"}')  # valid JSON, no Name/Version

    assert client_for().metadata(wheel).version == "1.0"
    assert len(fake.requests_for(".metadata")) == 2


def test_corrupt_cache_offline_is_a_cache_error(fake, client_for, demo, tmp_path):
    filename, _, _ = demo
    online = client_for()
    wheel = only(online.project("demo"), filename)
    online.metadata(wheel)
    cache = Cache(tmp_path / "cache")
    page_path = cache.page_path(fake.index_url, "demo")
    metadata_path = cache.metadata_path(wheel.url, wheel.hash_key)
    _truncate(page_path)
    metadata_path.write_bytes(b"\x00\x01garbage")

    offline = client_for(offline=True)
    with pytest.raises(CacheError) as info:
        offline.project("demo")
    assert str(page_path) in str(info.value) and one_line(str(info.value))
    with pytest.raises(CacheError) as info:
        offline.metadata(wheel)
    assert str(metadata_path) in str(info.value) and one_line(str(info.value))
    assert page_path.exists()  # offline, nothing is deleted


def test_cache_writes_are_atomic_and_leave_no_temporary_files(fake, client_for, demo, tmp_path):
    client = client_for()
    client.metadata_many(client.project("demo"))
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2


def test_unwritable_cache_is_a_cache_error(fake, tmp_path, demo):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    client = IndexClient(fake.index_url, cache_dir=blocker / "cache", backoff=0)
    with pytest.raises(CacheError, match="PINGUARD_CACHE_DIR"):
        client.project("demo")


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "pinguard"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "pinguard"
    monkeypatch.setenv("PINGUARD_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    assert IndexClient().cache.root == tmp_path / "explicit"


# --------------------------------------------------------------------------------------------------------------
# Network failures


def test_transient_failures_are_retried(fake, client_for, demo):
    fake.fail_next = 2
    assert len(client_for(retries=3).project("demo")) == 1
    assert len(fake.requests_for("/simple/")) == 3


@pytest.mark.parametrize("mode", ["503", "drop"])
def test_persistent_failures_become_a_network_error(fake, client_for, demo, mode):
    fake.fail_next = 100
    fake.fail_mode = mode

    with pytest.raises(NetworkError) as info:
        client_for(retries=3).project("demo")

    message = str(info.value)
    assert message.startswith("cannot fetch {}/demo/: ".format(fake.index_url)), message
    assert "gave up after 3 tries" in message and one_line(message)
    if mode == "503":
        assert "HTTP 503" in message
    assert len(fake.requests_for("/simple/")) == 3


def test_backoff_grows_between_tries(fake, client_for, demo, monkeypatch):
    sleeps: List[float] = []
    monkeypatch.setattr(index_module.time, "sleep", sleeps.append)
    fake.fail_next = 100
    with pytest.raises(NetworkError):
        client_for(retries=3, backoff=0.5).project("demo")
    assert sleeps == [0.5, 1.0]


def test_unreachable_index_is_a_network_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = IndexClient("http://127.0.0.1:{}/simple".format(port), cache_dir=tmp_path, backoff=0, retries=2)

    with pytest.raises(NetworkError) as info:
        client.project("demo")
    assert "http://127.0.0.1:{}/simple/demo/".format(port) in str(info.value)
    assert "refused" in str(info.value).lower() and one_line(str(info.value))


def test_missing_file_is_a_network_error_not_a_traceback(fake, client_for, demo):
    filename, _, _ = demo
    client = client_for()
    wheel = only(client.project("demo"), filename)
    del fake.files[filename]
    fake.omit_metadata = True

    with pytest.raises(NetworkError, match="HTTP 404"):
        client.metadata(wheel)


# --------------------------------------------------------------------------------------------------------------
# Pure helpers


def test_normalize_name_follows_pep_503():
    assert normalize_name("Torch_Vision.Extra--X") == "torch-vision-extra-x"
    with pytest.raises(BadInput):
        normalize_name("-leading-dash")


def test_parse_metadata_unfolds_and_collects_repeated_fields():
    md = parse_metadata(b"Metadata-Version: 2.2\nName: x\nVersion: 1\nRequires-Dist: a\nRequires-Dist: b ;\n"
                        b" python_version < '3.8'\nDynamic: Requires-Dist\n\nbody")
    assert md.requires_dist == ["a", "b ; python_version < '3.8'"]
    assert md.dynamic == ["Requires-Dist"]
    md.from_sdist = True
    assert not md.requires_dist_known
    with pytest.raises(ValueError):
        parse_metadata("Name: x\n")
