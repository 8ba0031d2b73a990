"""conda's installed-package records and what their strings say, without touching the disk. Pure.

`CondaRecord` (one conda-meta record), `PythonDist` (one distribution in site-packages), `TorchBuild` and
`parse_build` (the backend a pytorch-family build string names), `channel_name` (a record's channel, canonical).
sources/conda_meta.py reads them from an environment; engines/conda_rules.py judges them. Standard library only,
like conda_spec.py: the conda plugin's light path imports this module.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

from pinguard.lightrecord import Record

UNKNOWN_CHANNEL = "<unknown>"
_PYTORCH_CUDA = re.compile(r"(?:^|_)cuda(\d+)\.(\d+)")  # pytorch channel: py3.7_cuda11.3_cudnn8.2.0_0
_FORGE_CUDA = re.compile(r"(?:^|_)cuda(\d{2,3})(?=_|py|h|$)")  # conda-forge: cuda112py39h..., cuda120_py310h...
_FAMILY_CU = re.compile(r"(?:^|_)cu(\d{2,3})(?=_|$)")  # pytorch channel torchvision: py37_cu113
_CPU = re.compile(r"(?:^|_)cpu(?=_|$)")
_ROCM = re.compile(r"(?:^|_)rocm(\d+(?:\.\d+)*)")


class CondaRecord(Record):
    """One installed conda package: name, version, build, build_number, channel (canonical: pytorch,
    conda-forge, defaults, <unknown>; "" = not read), subdir, depends, files, path (its conda-meta file)."""

    __slots__ = _fields = ("name", "version", "build", "build_number", "channel", "subdir", "depends", "files",
                           "path")
    _defaults = {"build_number": 0, "channel": "", "subdir": "", "depends": (), "files": (), "path": ""}
    name: str
    version: str
    build: str
    build_number: int
    channel: str
    subdir: str
    depends: Tuple[str, ...]
    files: Tuple[str, ...]
    path: str

    @property
    def dist(self) -> str:
        return "%s-%s-%s" % (self.name, self.version, self.build)

    def describe(self) -> str:
        return "%s%s" % (self.dist, " (%s)" % self.channel if self.channel else "")


class PythonDist(Record):
    """A distribution in site-packages (`*.dist-info` / `*.egg-info`): name (normalized), version, installer
    (INSTALLER contents: pip, conda, uv; "" when absent), path."""

    __slots__ = _fields = ("name", "version", "installer", "path")
    name: str
    version: str
    installer: Optional[str]
    path: str


class TorchBuild(Record):
    """What a pytorch (or torchvision / torchaudio) conda build string says about its backend: kind ("cuda", "cpu",
    "rocm", "unknown"), cuda ((11, 3) or None), flavor ("pytorch" for cudaX.Y / cuXYZ builds, "conda-forge" for
    cudaXYZ... builds, "")."""

    __slots__ = _fields = ("kind", "cuda", "flavor")
    _defaults = {"cuda": None, "flavor": ""}
    kind: str
    cuda: Optional[Tuple[int, int]]
    flavor: str

    @property
    def label(self) -> Optional[str]:
        """The PyPI local label of the same build: cu113, cpu, rocm4.2; None when unknown."""
        if self.kind == "cuda" and self.cuda:
            return "cu%d%d" % self.cuda
        if self.kind == "cpu":
            return "cpu"
        return None

    def describe(self) -> str:
        if self.kind == "cuda" and self.cuda:
            return "CUDA %d.%d" % self.cuda
        return {"cpu": "CPU only", "rocm": "ROCm"}.get(self.kind, "an unknown backend")


def parse_build(build: str) -> TorchBuild:
    """The backend of a pytorch-family conda build string (py3.7_cuda11.3_cudnn8.2.0_0, cuda120_py310h..., cpu_...)."""
    text = build.lower()
    found = _PYTORCH_CUDA.search(text)
    if found:
        return TorchBuild("cuda", (int(found.group(1)), int(found.group(2))), "pytorch")
    found = _FORGE_CUDA.search(text)
    if found:
        return TorchBuild("cuda", _split_cuda(found.group(1)), "conda-forge")
    found = _FAMILY_CU.search(text)
    if found:
        return TorchBuild("cuda", _split_cuda(found.group(1)), "pytorch")
    if _CPU.search(text):
        return TorchBuild("cpu")
    if _ROCM.search(text):
        return TorchBuild("rocm")
    return TorchBuild("unknown")


def _split_cuda(digits: str) -> Tuple[int, int]:
    """"113" -> (11, 3), "120" -> (12, 0), "92" -> (9, 2), "102" -> (10, 2)."""
    return int(digits[:-1]), int(digits[-1])


def channel_name(value: str) -> str:
    """Canonical channel name of a record's `channel` / `schannel` / `url` value."""
    value = (value or "").strip()
    if not value:
        return ""
    if value == UNKNOWN_CHANNEL or value.startswith("<"):
        return UNKNOWN_CHANNEL
    if "://" not in value:
        return value.strip("/")
    scheme, _, rest = value.partition("://")
    host, _, path = rest.partition("/")
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1].endswith((".tar.bz2", ".conda")):
        parts = parts[:-1]
    if parts and re.match(r"^(noarch|linux|osx|win|emscripten|wasi|zos)(-|$)", parts[-1]):
        parts = parts[:-1]
    if scheme == "file":
        return "local:/" + "/".join(parts)
    if host.endswith("repo.anaconda.com") and parts[:1] == ["pkgs"]:
        return "defaults" if parts[1:2] in (["main"], ["r"], ["msys2"], ["free"]) else "/".join(parts)
    if parts and parts[0] == "t" and len(parts) > 2:  # token URLs: /t/<token>/<channel>
        parts = parts[2:]
    return "/".join(parts) or host
