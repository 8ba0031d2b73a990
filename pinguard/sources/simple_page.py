"""Simple-index project pages (PEP 691 JSON, PEP 503 HTML) read into file entries.

A page becomes a list of plain dicts (``filename``, ``url``, ``hashes``, ``requires_python``, ``yanked``, ``size``,
``core_metadata``); those dicts are also what the cache stores. :func:`file_info` turns one into a
:class:`FileInfo` when the file is a wheel or sdist of the project.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pinguard.errors import NetworkError, one_line
from pinguard.pep503 import normalize

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPES = ("text/html", "application/vnd.pypi.simple.v1+html")
_HASH_PREFERENCE = ("sha256", "sha512", "sha384", "sha3_256", "sha3_512", "blake2b", "sha224")


@dataclass(frozen=True)
class FileInfo:
    """One file of a project on the index, as listed on its simple page.

    ``core_metadata`` is the PEP 658/714 field: ``False`` (no ``.metadata`` file), ``True``, or the hashes of the
    ``.metadata`` file. ``tags`` is empty for sdists. Instances hash by URL, so they can key a dict.
    """

    filename: str
    url: str
    hashes: Dict[str, str]
    requires_python: Optional[str]
    yanked: bool
    yanked_reason: Optional[str]
    size: Optional[int]
    core_metadata: Union[bool, Dict[str, str]]
    name: str
    version: Version
    tags: FrozenSet[Tag]
    build: Tuple[Any, ...] = ()

    def __hash__(self) -> int:
        return hash((self.url, self.filename))

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def hash_key(self) -> str:
        """``algo=hexdigest`` of the strongest known hash of the file (or of its metadata file), or ``""``."""
        for source in (self.hashes, self.core_metadata if isinstance(self.core_metadata, dict) else {}):
            algo = strongest_hash(source)
            if algo:
                return "{}={}".format(algo, source[algo])
        return ""


def strongest_hash(hashes: Mapping[str, str]) -> Optional[str]:
    """The strongest algorithm of ``hashes`` this Python can compute, or None."""
    for algo in _HASH_PREFERENCE:
        if algo in hashes and algo in hashlib.algorithms_available:
            return algo
    return None


def _raw_file(filename: str, url: str, hashes: Dict[str, str], requires_python: Optional[str],
              yanked: Union[bool, str], size: Optional[int], core: Union[bool, Dict[str, str]]) -> Dict[str, Any]:
    return {
        "filename": filename,
        "url": url,
        "hashes": hashes,
        "requires_python": requires_python,
        "yanked": yanked,
        "size": size,
        "core_metadata": core,
    }


def _str_dict(value: Any) -> Dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v for k, v in value.items() if isinstance(v, str)}


def _core_field(value: Any) -> Union[bool, Dict[str, str]]:
    if isinstance(value, dict):
        return _str_dict(value)
    return value is True


def parse_json_page(body: bytes, page_url: str) -> List[Dict[str, Any]]:
    """File entries of a PEP 691 JSON page; :class:`NetworkError` when it is not one."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetworkError("index page {} is not valid JSON ({})".format(page_url, one_line(exc))) from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise NetworkError("index page {} has no 'files' list; is this a PEP 691 index?".format(page_url))
    meta = data["meta"] if isinstance(data.get("meta"), dict) else {}
    api_version = str(meta.get("api-version", "1.0"))
    if api_version.split(".")[0] != "1":
        raise NetworkError("index page {} uses simple API version {}; pinguard understands 1.x".format(
            page_url, api_version))
    files = []
    for item in data["files"]:
        if not isinstance(item, dict):
            continue
        filename, url = item.get("filename"), item.get("url")
        if not isinstance(filename, str) or not isinstance(url, str):
            continue
        core = item.get("core-metadata", item.get("dist-info-metadata", False))
        yanked = item.get("yanked", False)
        size = item.get("size")
        requires_python = item.get("requires-python")
        files.append(_raw_file(
            filename=filename,
            url=urllib.parse.urljoin(page_url, url),
            hashes=_str_dict(item.get("hashes")),
            requires_python=requires_python if isinstance(requires_python, str) else None,
            yanked=yanked if isinstance(yanked, (bool, str)) else False,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            core=_core_field(core),
        ))
    return files


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: Optional[str] = None
        self.anchors: List[Dict[str, Optional[str]]] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self.anchors.append(dict(attrs))


def _html_hash_attr(value: Optional[str]) -> Union[bool, Dict[str, str]]:
    if value is None:
        return False
    algo, sep, digest = value.partition("=")
    if sep and algo and digest:
        return {algo.lower(): digest}
    return value.strip().lower() != "false"


def parse_html_page(body: bytes, page_url: str) -> List[Dict[str, Any]]:
    """File entries of a PEP 503 HTML page (or any page of links): every ``<a href>``, hashes from the fragment."""
    parser = _AnchorParser()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except Exception as exc:  # html.parser raises assorted errors on garbage; never let them escape
        raise NetworkError("index page {} is not valid HTML ({})".format(page_url, one_line(exc))) from None
    base = urllib.parse.urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, _, fragment = urllib.parse.urljoin(base, href).partition("#")
        algo, sep, digest = fragment.partition("=")
        hashes = {algo.lower(): digest} if sep and algo and digest else {}
        filename = urllib.parse.unquote(posixpath.basename(urllib.parse.urlsplit(url).path))
        core_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        yanked_attr = attrs.get("data-yanked")
        files.append(_raw_file(
            filename=filename,
            url=url,
            hashes=hashes,
            requires_python=attrs.get("data-requires-python") or None,
            yanked=False if yanked_attr is None else (yanked_attr or True),
            size=None,
            core=_html_hash_attr(core_attr) if "data-core-metadata" in attrs or "data-dist-info-metadata" in attrs
            else False,
        ))
    return files


def file_info(raw: Dict[str, Any], project: str) -> Optional[FileInfo]:
    """A FileInfo for one page entry; ``None`` for files that are not wheels/sdists of ``project``."""
    filename = raw["filename"]
    try:
        if filename.endswith(".whl"):
            name, version, build, tags = parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            build, tags = (), frozenset()
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, ValueError):
        return None
    if normalize(name) != project:
        return None
    yanked = raw.get("yanked", False)
    return FileInfo(
        filename=filename,
        url=raw["url"],
        hashes=dict(raw.get("hashes") or {}),
        requires_python=raw.get("requires_python"),
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
        size=raw.get("size"),
        core_metadata=raw.get("core_metadata", False),
        name=normalize(name),
        version=version,
        tags=frozenset(tags),
        build=tuple(build),
    )


def valid_page_entry(entry: Dict[str, Any]) -> bool:
    """Whether a cached project page entry has the shape the client stores."""
    files = entry.get("files")
    if not isinstance(files, list) or not isinstance(entry.get("fetched_at"), (int, float)):
        return False
    return all(isinstance(f, dict) and isinstance(f.get("filename"), str) and isinstance(f.get("url"), str)
               for f in files)
