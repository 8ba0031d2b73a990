"""Core metadata (``METADATA`` / ``PKG-INFO``): parsing the fields resolution needs, and finding it in an sdist."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.policy import compat32
from typing import Any, List, Optional, Union

from packaging.version import InvalidVersion, Version

from pinguard.errors import one_line
from pinguard.sources.wheel_range import BadWheel


@dataclass
class Metadata:
    """The parts of a distribution's core metadata that dependency resolution needs.

    ``source`` says how it was obtained: ``"pep658"``, ``"range"`` (HTTP range requests into the wheel) or
    ``"download"`` (whole file).
    """

    name: str
    version: str
    requires_dist: List[str]
    requires_python: Optional[str]
    provides_extra: List[str] = field(default_factory=list)
    metadata_version: Optional[str] = None
    dynamic: List[str] = field(default_factory=list)
    from_sdist: bool = False
    source: str = ""

    @property
    def requires_dist_known(self) -> bool:
        """False for sdists whose ``PKG-INFO`` may not list their real dependencies (metadata < 2.2 or dynamic)."""
        if not self.from_sdist:
            return True
        try:
            modern = Version(self.metadata_version or "0") >= Version("2.2")
        except InvalidVersion:
            modern = False
        return modern and "requires-dist" not in {d.lower() for d in self.dynamic}


def parse_metadata(raw: Union[bytes, str]) -> Metadata:
    """Parse a ``METADATA`` / ``PKG-INFO`` file (RFC 822 style headers); ``ValueError`` if Name/Version missing."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    msg = HeaderParser(policy=compat32).parsestr(text, headersonly=True)

    def one(key: str) -> Optional[str]:
        value = msg.get(key)
        return _unfold(value) if value is not None else None

    def many(key: str) -> List[str]:
        return [_unfold(v) for v in (msg.get_all(key) or []) if _unfold(v)]

    name, version = one("Name"), one("Version")
    if not name or not version:
        raise ValueError("no {} field".format("Name" if not name else "Version"))
    return Metadata(
        name=name,
        version=version,
        requires_dist=many("Requires-Dist"),
        requires_python=one("Requires-Python") or None,
        provides_extra=many("Provides-Extra"),
        metadata_version=one("Metadata-Version"),
        dynamic=many("Dynamic"),
    )


def _unfold(value: Any) -> str:
    return re.sub(r"\s*\n\s*", " ", str(value)).strip()


def header_block(raw: bytes) -> str:
    """The header part of a METADATA file (the long description body is not worth caching)."""
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    end = text.find("\n\n")
    return text if end < 0 else text[:end + 1]


def sdist_pkg_info(data: bytes, filename: str) -> bytes:
    """``<top>/PKG-INFO`` from an sdist (``.tar.gz`` or ``.zip``) held in memory."""
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                if names:
                    return archive.read(sorted(names)[0])
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                members = [m for m in archive.getmembers()
                           if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
                if members:
                    handle = archive.extractfile(sorted(members, key=lambda m: m.name)[0])
                    if handle is not None:
                        return handle.read()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise BadWheel("damaged sdist ({})".format(one_line(exc))) from None
    raise BadWheel("no PKG-INFO at the top of the sdist")
