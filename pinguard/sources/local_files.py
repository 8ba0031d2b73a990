"""Package files on this machine: `file://` indexes (a PEP 503 directory tree), and reading a local file's metadata.

A `file:///opt/pypi/simple` index is a directory with one `<project>/index.html` per project, as pip reads it.
Local files are read directly (never through the cache: they are as fast to read as the cache itself): a wheel's
METADATA through the same zip reader the index client uses over HTTP (a file opened here is a range source), an
sdist's PKG-INFO from the archive.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

from pinguard.errors import NetworkError, UnknownPackage
from pinguard.sources.core_metadata import sdist_pkg_info
from pinguard.sources.http_transport import megabytes, one_line, verify_hash
from pinguard.sources.simple_page import FileInfo, parse_html_page, parse_json_page
from pinguard.sources.wheel_range import BadWheel, read_wheel_metadata

#: The largest local file read whole (an sdist) to find its metadata.
WHOLE_LOCAL_LIMIT = 200 * 1024 * 1024


def is_file_url(url: str) -> bool:
    return url.lower().startswith("file:")


def url_to_path(url: str) -> str:
    return urllib.request.url2pathname(urllib.parse.urlsplit(url).path)


def path_to_url(path: str) -> str:
    return urllib.parse.urljoin("file:", urllib.request.pathname2url(os.path.abspath(path)))


class FileSource:
    """``tail``/``read`` over a local file, for :func:`read_wheel_metadata`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def tail(self, length: int) -> Tuple[bytes, int]:
        with open(self.path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - length))
            return handle.read(length), size

    def read(self, offset: int, length: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)


def local_page(index_url: str, project: str, name: str) -> List[Dict[str, Any]]:
    """The file entries of `project`'s page in a `file://` index; UnknownPackage when it has none."""
    directory = os.path.join(url_to_path(index_url), project)
    page = None
    for candidate, parse in (("index.html", parse_html_page), ("index.json", parse_json_page)):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            page = (path, parse)
            break
    if page is None:
        if not os.path.isdir(url_to_path(index_url)):
            raise NetworkError("index {} is not a directory on this machine".format(index_url))
        raise UnknownPackage("no package named {} on {}".format(name, index_url))
    try:
        with open(page[0], "rb") as handle:
            body = handle.read()
    except OSError as exc:
        raise NetworkError("cannot read {}: {}".format(page[0], exc.strerror or exc)) from None
    return page[1](body, path_to_url(directory) + "/")


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def local_metadata(fi: FileInfo) -> Tuple[bytes, str]:
    """(METADATA bytes, how) of a file on this machine: its `.metadata` file, the wheel's member, or the sdist's."""
    path = url_to_path(fi.url.partition("#")[0])
    try:
        sidecar = path + ".metadata"
        if fi.core_metadata and os.path.isfile(sidecar):
            with open(sidecar, "rb") as handle:
                data = handle.read()
            if isinstance(fi.core_metadata, dict):
                verify_hash(data, fi.core_metadata, "metadata file " + sidecar)
            return data, "pep658"
        if fi.is_wheel:
            return read_wheel_metadata(FileSource(path), fi.name), "local"
        size = os.path.getsize(path)
        if size > WHOLE_LOCAL_LIMIT:
            raise NetworkError("cannot read the metadata of {}: the sdist is {} (limit {})".format(
                path, megabytes(size), megabytes(WHOLE_LOCAL_LIMIT)))
        with open(path, "rb") as handle:
            data = handle.read()
        verify_hash(data, fi.hashes, fi.filename)
        return sdist_pkg_info(data, fi.filename), "local"
    except BadWheel as exc:
        raise NetworkError("cannot read metadata from {}: {}".format(path, exc)) from None
    except OSError as exc:
        raise NetworkError("cannot read {}: {}".format(path, one_line(exc.strerror or exc))) from None


def describe_missing(path: str) -> Optional[str]:
    """Why a find-links path cannot be read, or None when it can."""
    if not os.path.exists(path):
        return "{} does not exist".format(path)
    if not os.access(path, os.R_OK):
        return "{} is not readable".format(path)
    return None
