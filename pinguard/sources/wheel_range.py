"""Read ``*.dist-info/METADATA`` out of a wheel without downloading the wheel.

A wheel is a zip file. Its table of contents (the central directory) sits at the end of the file, followed by the
end-of-central-directory record (EOCD). So the metadata can be read with a few HTTP range requests:

1. the tail of the file (one request, big enough to hold the EOCD and usually the end of the central directory);
2. if the METADATA entry is not in that part of the central directory, its first 32 kB (``bdist_wheel`` writes
   ``.dist-info`` last, torch's wheels put it first), and only if it is not there either, all the rest;
3. the METADATA member itself: its local header and compressed bytes, inflated with zlib.

For a torch wheel (about 900 MB, 3,700 members, a 400 kB central directory) that is three requests and about
110 kB. The parser only needs something with ``tail(length) -> (bytes, total_size)`` and
``read(offset, length) -> bytes``; :class:`BytesSource` adapts a file already in memory, the index client adapts
HTTP.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import List, Optional, Tuple

from pinguard.pep503 import normalize

#: First request: covers the largest possible EOCD (22 bytes + a 65,535-byte comment) in one go.
TAIL_SIZE = 66 * 1024
#: How much of the start of the central directory to read when the METADATA entry is not near its end.
HEAD_SIZE = 32 * 1024
#: Refuse METADATA members larger than this (a sane METADATA is a few kB to a few hundred kB).
MAX_METADATA_SIZE = 16 * 1024 * 1024
#: Extra bytes read after the METADATA member's data in case its local extra field is larger than the central one.
LOCAL_SLACK = 512

_EOCD = struct.Struct("<IHHHHIIH")  # signature, disk, cd disk, entries here, entries total, cd size, cd offset, comment
_EOCD_SIG = 0x06054B50
_ZIP64_LOCATOR = struct.Struct("<IIQI")  # signature, disk with zip64 EOCD, its offset, total disks
_ZIP64_LOCATOR_SIG = 0x07064B50
_ZIP64_EOCD = struct.Struct("<IQHHIIQQQQ")  # sig, size, made by, needed, disk, cd disk, n here, n total, size, offset
_ZIP64_EOCD_SIG = 0x06064B50
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_CENTRAL_SIG = 0x02014B50
_CENTRAL_SIG_BYTES = b"PK\x01\x02"
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIG = 0x04034B50

_METADATA_PATH = re.compile(r"^([^/]+)\.dist-info/METADATA$")


class BadWheel(Exception):
    """The file is not a readable wheel; the message says why (no traceback details)."""


class BytesSource:
    """A range source over bytes already in memory (a small wheel downloaded whole)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def tail(self, length: int) -> Tuple[bytes, int]:
        return self.data[max(0, len(self.data) - length):], len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset:offset + length]


class ZipMember:
    """One central-directory record (only the fields needed here), and the offset its bytes cannot pass."""

    __slots__ = ("name", "flags", "method", "crc", "compressed_size", "size", "header_offset", "extra_len", "bound")

    def __init__(self, name: str, flags: int, method: int, crc: int, compressed_size: int, size: int,
                 header_offset: int, extra_len: int = 0, bound: int = 0) -> None:
        self.name = name
        self.flags = flags
        self.method = method
        self.crc = crc
        self.compressed_size = compressed_size
        self.size = size
        self.header_offset = header_offset
        self.extra_len = extra_len
        self.bound = bound

    def as_list(self) -> list:
        return [self.name, self.header_offset, self.bound, self.compressed_size, self.size, self.method, self.crc,
                self.flags]

    @classmethod
    def from_list(cls, row: list) -> "ZipMember":
        name, header_offset, bound, compressed_size, size, method, crc, flags = row
        return cls(str(name), int(flags), int(method), int(crc), int(compressed_size), int(size), int(header_offset),
                   bound=int(bound))


class _Window:
    """The bytes already fetched from the end of the file, plus the source for anything before them."""

    def __init__(self, source, tail_size: int) -> None:
        self.source = source
        self.tail, self.total = source.tail(tail_size)
        self.start = self.total - len(self.tail)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.total:
            raise BadWheel("zip structure points outside the file")
        if offset >= self.start:
            return self.tail[offset - self.start:offset - self.start + length]
        data = self.source.read(offset, length)
        if len(data) != length:
            raise BadWheel("short read at offset {}".format(offset))
        return data


def read_wheel_metadata(source, project: Optional[str] = None, tail_size: int = TAIL_SIZE) -> bytes:
    """The raw bytes of the wheel's ``.dist-info/METADATA``.

    ``project`` (the distribution name) picks the right ``.dist-info`` directory if a wheel has several.
    Raises :class:`BadWheel` when the file is not a valid zip or has no METADATA.
    """
    window = _Window(source, tail_size)
    try:
        cd_offset, cd_size = _find_central_directory(window)
        entries = _central_directory_entries(window, cd_offset, cd_size, project)
        entry = _pick_metadata(entries, project)
        return _read_member(window, entry, _member_bound(entries, entry, cd_offset))
    except (struct.error, zlib.error, UnicodeDecodeError) as exc:
        raise BadWheel("damaged zip structure ({})".format(exc)) from None


def _find_central_directory(window: _Window) -> Tuple[int, int]:
    """``(offset, size)`` of the central directory, from the (zip64) end-of-central-directory record."""
    tail = window.tail
    pos = _find_eocd(tail)
    if pos < 0:
        raise BadWheel("not a zip file (no end-of-central-directory record)")
    _, disk, cd_disk, _, _, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    if disk != 0 or cd_disk != 0:
        raise BadWheel("multi-disk zip files are not supported")
    locator = pos - _ZIP64_LOCATOR.size
    if locator >= 0 and struct.unpack_from("<I", tail, locator)[0] == _ZIP64_LOCATOR_SIG:
        _, _, z64_offset, _ = _ZIP64_LOCATOR.unpack_from(tail, locator)
        record = window.read(z64_offset, _ZIP64_EOCD.size)
        fields = _ZIP64_EOCD.unpack(record)
        if fields[0] != _ZIP64_EOCD_SIG:
            raise BadWheel("bad zip64 end-of-central-directory record")
        cd_size, cd_offset = fields[8], fields[9]
    eocd_at = window.start + pos
    if cd_offset + cd_size > eocd_at:
        raise BadWheel("central directory overlaps the end record (data prepended to the zip?)")
    return cd_offset, cd_size


def _find_eocd(tail: bytes) -> int:
    """Position in ``tail`` of the EOCD record whose comment runs exactly to the end, or -1."""
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0:
        if pos + _EOCD.size <= len(tail):
            comment_len = _EOCD.unpack_from(tail, pos)[7]
            if pos + _EOCD.size + comment_len == len(tail):
                return pos
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    return -1


def _central_directory_entries(window: _Window, cd_offset: int, cd_size: int,
                               project: Optional[str]) -> List[ZipMember]:
    """The central directory's entries, reading as little of it as needed to reach the METADATA entry.

    Wheels put ``.dist-info`` either last (``bdist_wheel``) or first (torch): so try the end of the central
    directory that came with the tail, then its first :data:`HEAD_SIZE` bytes, and only then the rest.
    """
    cd_end = cd_offset + cd_size
    if cd_offset >= window.start:
        return _whole_directory(window.read(cd_offset, cd_size))
    have_tail = cd_end > window.start
    tail_part = window.tail[:cd_end - window.start] if have_tail else b""
    if have_tail:
        entries = _scan_partial(tail_part)
        if entries is not None and _metadata_candidates(entries, project):
            return entries
    missing = cd_size - len(tail_part)
    if missing <= 2 * HEAD_SIZE:
        return _whole_directory(window.read(cd_offset, missing) + tail_part)
    head = window.read(cd_offset, HEAD_SIZE)
    entries, _ = _parse_records(head, 0)
    if _metadata_candidates(entries, project):
        return entries
    middle = window.read(cd_offset + HEAD_SIZE, missing - HEAD_SIZE)
    return _whole_directory(head + middle + tail_part)


def _whole_directory(data: bytes) -> List[ZipMember]:
    entries, end = _parse_records(data, 0)
    if end != len(data):
        raise BadWheel("damaged central directory")
    return entries


def _scan_partial(data: bytes) -> Optional[List[ZipMember]]:
    """Entries of a central directory whose beginning is cut off.

    Finds the first ``PK\\x01\\x02`` from which the records chain without a gap to the end of ``data``.
    """
    pos = data.find(_CENTRAL_SIG_BYTES)
    while pos >= 0:
        entries, end = _parse_records(data, pos)
        if end == len(data):
            return entries
        pos = data.find(_CENTRAL_SIG_BYTES, pos + 1)
    return None


def _parse_records(data: bytes, pos: int) -> Tuple[List[ZipMember], int]:
    """Parse consecutive central-directory records from ``pos``.

    Stops at the end of ``data`` or at the first record that is cut off or lacks its signature; returns the
    entries and the position where parsing stopped.
    """
    entries = []
    while pos + _CENTRAL.size <= len(data):
        fields = _CENTRAL.unpack_from(data, pos)
        if fields[0] != _CENTRAL_SIG:
            break
        flags, method, crc, csize, usize = fields[3], fields[4], fields[7], fields[8], fields[9]
        name_len, extra_len, comment_len, offset = fields[10], fields[11], fields[12], fields[16]
        name_start = pos + _CENTRAL.size
        end = name_start + name_len + extra_len + comment_len
        if end > len(data):
            break
        raw_name = data[name_start:name_start + name_len]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        extra = data[name_start + name_len:name_start + name_len + extra_len]
        usize, csize, offset = _apply_zip64_extra(extra, usize, csize, offset)
        entries.append(ZipMember(name, flags, method, crc, csize, usize, offset, extra_len))
        pos = end
    return entries, pos


def _apply_zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> Tuple[int, int, int]:
    """Replace 0xFFFFFFFF sizes/offset with their 64-bit values from the zip64 extra field (id 1)."""
    if 0xFFFFFFFF not in (usize, csize, offset):
        return usize, csize, offset
    pos = 0
    while pos + 4 <= len(extra):
        field_id, field_len = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + field_len]
        if field_id == 1:
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        pos += 4 + field_len
    return usize, csize, offset


def _metadata_candidates(entries: List[ZipMember], project: Optional[str]) -> List[ZipMember]:
    found = [e for e in entries if _METADATA_PATH.match(e.name)]
    if len(found) > 1 and project:
        wanted = normalize(project)
        found = [e for e in found if _dist_info_project(e.name) == wanted]
    return found


def _dist_info_project(path: str) -> str:
    directory = _METADATA_PATH.match(path).group(1)  # type: ignore[union-attr]
    return normalize(directory.rpartition("-")[0] or directory)


def _pick_metadata(entries: List[ZipMember], project: Optional[str]) -> ZipMember:
    found = _metadata_candidates(entries, project)
    if not found:
        raise BadWheel("no .dist-info/METADATA in the wheel")
    if len(found) > 1:
        raise BadWheel("several .dist-info directories: " + ", ".join(sorted(e.name for e in found)))
    return found[0]


def _member_bound(entries: List[ZipMember], entry: ZipMember, cd_offset: int) -> int:
    """Offset the member cannot extend past: the next member's header, or the central directory."""
    later = [e.header_offset for e in entries if e.header_offset > entry.header_offset]
    return min(later + [cd_offset])


def _read_member(window: _Window, entry: ZipMember, bound: int) -> bytes:
    """Inflate one member, reading its local header and compressed bytes (and not much more)."""
    if entry.compressed_size > MAX_METADATA_SIZE or entry.size > MAX_METADATA_SIZE:
        raise BadWheel("METADATA is implausibly large ({} bytes)".format(entry.size))
    if entry.flags & 0x1:
        raise BadWheel("METADATA is encrypted")
    guess = _LOCAL.size + len(entry.name.encode("utf-8")) + entry.extra_len + entry.compressed_size + LOCAL_SLACK
    length = max(min(guess, bound - entry.header_offset), _LOCAL.size)
    chunk = window.read(entry.header_offset, min(length, window.total - entry.header_offset))
    fields = _LOCAL.unpack_from(chunk, 0)
    if fields[0] != _LOCAL_SIG:
        raise BadWheel("bad local header for " + entry.name)
    data_start = _LOCAL.size + fields[9] + fields[10]
    data_end = data_start + entry.compressed_size
    if data_end > len(chunk):
        chunk = window.read(entry.header_offset, data_end)
    return _decompress(chunk[data_start:data_end], entry)


def _decompress(data: bytes, entry: ZipMember, limit: int = MAX_METADATA_SIZE) -> bytes:
    """Inflate one member's bytes and check its size and CRC."""
    if entry.method == 0:
        out = data
    elif entry.method == 8:
        try:
            inflater = zlib.decompressobj(-15)
            out = inflater.decompress(data, limit + 1) + inflater.flush()
        except zlib.error as exc:
            raise BadWheel("{} does not inflate ({})".format(entry.name, exc)) from None
    else:
        raise BadWheel("{} uses unsupported compression method {}".format(entry.name, entry.method))
    if len(out) != entry.size or (zlib.crc32(out) & 0xFFFFFFFF) != entry.crc:
        raise BadWheel("{} fails its CRC check (damaged download)".format(entry.name))
    return out


# -- any member: the whole central directory, then members read in as few range requests as possible -----------

#: A source file larger than this is not read (a generated module of several MB says nothing a repair needs).
MAX_MEMBER_SIZE = 8 * 1024 * 1024
#: Members whose bytes lie within this span of each other are fetched with one range request.
MAX_SPAN = 1024 * 1024


def read_directory(source, tail_size: int = TAIL_SIZE) -> List[ZipMember]:
    """Every member of the zip behind `source`, with the offset its bytes cannot extend past."""
    window = _Window(source, tail_size)
    try:
        cd_offset, cd_size = _find_central_directory(window)
        entries = _whole_directory(window.read(cd_offset, cd_size))
    except (struct.error, UnicodeDecodeError) as exc:
        raise BadWheel("damaged zip structure ({})".format(exc)) from None
    offsets = sorted({e.header_offset for e in entries} | {cd_offset})
    following = {offset: offsets[i + 1] for i, offset in enumerate(offsets[:-1])}
    for entry in entries:
        entry.bound = following.get(entry.header_offset, cd_offset)
    return entries


def read_members(source, members: List[ZipMember], max_span: int = MAX_SPAN) -> dict:
    """name -> inflated bytes of each member, neighbours fetched together (one request per span)."""
    wanted = sorted((m for m in members if m.size <= MAX_MEMBER_SIZE and not m.flags & 0x1),
                    key=lambda m: m.header_offset)
    found = {}
    group: List[ZipMember] = []
    for member in wanted + [None]:  # type: ignore[list-item]
        if member is not None and (not group or member.bound - group[0].header_offset <= max_span):
            group.append(member)
            continue
        if group:
            start = group[0].header_offset
            data = source.read(start, group[-1].bound - start)
            for item in group:
                found[item.name] = _inflate_local(data, item.header_offset - start, item)
        group = [member] if member is not None else []
    return found


def _inflate_local(data: bytes, at: int, member: ZipMember) -> bytes:
    try:
        fields = _LOCAL.unpack_from(data, at)
    except struct.error:
        raise BadWheel("short read for " + member.name) from None
    if fields[0] != _LOCAL_SIG:
        raise BadWheel("bad local header for " + member.name)
    start = at + _LOCAL.size + fields[9] + fields[10]
    return _decompress(data[start:start + member.compressed_size], member, MAX_MEMBER_SIZE)
