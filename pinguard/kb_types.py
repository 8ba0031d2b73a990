"""The knowledge base as typed data: what `pinguard.kb` loads from `pinguard/knowledge/*.toml` and the engines read.

Pure: no files, no parsing of TOML (that is the loader's job, `pinguard/kb.py`, which also validates every entry).
Each record keeps the `sources` and `confidence` of the entry it was read from.
"""

from __future__ import annotations

import re
from typing import List, Mapping, Optional, Pattern, Sequence, Tuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.conda_names import CondaNames
from pinguard.errors import UnknownPackage
from pinguard.lightrecord import Record
from pinguard.model import Release, Rule


class TorchFamily(Record):
    """torch and the members released in step with it (torch.toml `[family]`)."""

    __slots__ = _fields = ("members", "unlabelled", "sources", "confidence")
    _defaults = {"sources": (), "confidence": "H"}

    members: Tuple[str, ...]  # torchvision, torchaudio, ... in output order
    unlabelled: Tuple[str, ...]  # members never published with a `+build` label (one wheel for every build)
    sources: Tuple[str, ...]
    confidence: str

    @property
    def all(self) -> Tuple[str, ...]:
        """torch first, then the members."""
        return ("torch",) + self.members


class IndexInfo(Record):
    """Where torch's non-PyPI builds are served."""

    __slots__ = _fields = ("url", "find_links", "find_links_before", "local_labels_since", "labelled_default_since",
                           "torchaudio_labels_since", "sources")

    url: str
    find_links: str
    find_links_before: Version
    local_labels_since: Version
    labelled_default_since: Version
    torchaudio_labels_since: Version
    sources: Tuple[str, ...]


class GpuArch(Record):
    """One compute capability (gpu.toml `[[arch]]`)."""

    __slots__ = _fields = ("sm", "name", "examples", "min_cuda", "max_cuda", "sources", "confidence")

    sm: Version  # 8.6
    name: str
    examples: Tuple[str, ...]
    min_cuda: Version
    max_cuda: Optional[Version]
    sources: Tuple[str, ...]
    confidence: str


class BuildArchs(Record):
    """The compute capabilities official Linux x86_64 wheels of some torch builds ship kernels for."""

    __slots__ = _fields = ("torch", "builds", "archs", "ptx", "sources", "confidence")

    torch: SpecifierSet
    builds: Tuple[str, ...]
    archs: Tuple[Version, ...]  # SASS: runs on the same major, same or newer minor
    ptx: Tuple[Version, ...]  # PTX: JIT-compiled on any newer arch
    sources: Tuple[str, ...]
    confidence: str

    def runs_on(self, gpu: Version) -> bool:
        return any(a.major == gpu.major and a <= gpu for a in self.archs) or any(p <= gpu for p in self.ptx)


class DriverMinimum(Record):
    """The oldest Linux driver a CUDA toolkit (`[[driver]]`) or any runtime of a CUDA major (`[[driver_compat]]`)
    runs on."""

    __slots__ = _fields = ("cuda", "linux", "sources", "confidence")

    cuda: Version  # 11.3 for a toolkit; 11 for a major's minor-version compatibility floor
    linux: Version
    sources: Tuple[str, ...]
    confidence: str


class DefaultGpu(Record):
    """The GPU `fix` assumes when none is given (gpu.toml `[default_gpu]`)."""

    __slots__ = _fields = ("sm", "name", "example", "why", "sources", "confidence")

    sm: Version
    name: str  # the architecture: Turing
    example: str  # RTX 2080 Ti
    why: str  # why this one
    sources: Tuple[str, ...]
    confidence: str


class CudaWheelNaming(Record):
    """PyPI packages whose name says the CUDA they are built for (gpu.toml `[[cuda_wheels]]`): nvidia-cudnn-cu11,
    cupy-cuda113, cupy-cuda12x."""

    __slots__ = _fields = ("family", "pattern", "digits", "compared", "per_major", "per_major_since", "sources",
                           "confidence")

    family: str  # nvidia, cupy
    pattern: Pattern  # matches the name; group `cuda` holds the digits
    digits: str  # "major": cu11 is CUDA 11; "major-minor": 102 is CUDA 10.2 (the last digit is the minor)
    compared: str  # "together": the family's packages and torch share one CUDA major; "with-torch": each package
    # has torch's CUDA major
    per_major: str  # the package for one CUDA major, {major} replaced (cupy-cuda{major}x); "" when there is none
    per_major_since: int  # the first CUDA major `per_major` exists for
    sources: Tuple[str, ...]
    confidence: str

    def cuda_major(self, name: str) -> Optional[str]:
        """The CUDA major a package of this family is built for ("11"), None when the name is not one of it."""
        found = self.pattern.match(name)
        if found is None:
            return None
        digits = found.group("cuda")
        return digits if self.digits == "major" or len(digits) <= 2 else digits[:-1]

    def for_major(self, major: str) -> Optional[str]:
        """The package built for CUDA `major` ("11" -> cupy-cuda11x), None when the family has none for it."""
        if not self.per_major or not major.isdigit() or int(major) < self.per_major_since:
            return None
        return self.per_major.replace("{major}", major)


class GpuData(Record):
    """gpu.toml as typed records."""

    __slots__ = _fields = ("archs", "build_archs", "drivers", "driver_compat", "default", "cuda_wheels")
    _defaults = {"archs": (), "build_archs": (), "drivers": (), "driver_compat": (), "default": None,
                 "cuda_wheels": ()}

    archs: Tuple[GpuArch, ...]
    build_archs: Tuple[BuildArchs, ...]
    drivers: Tuple[DriverMinimum, ...]  # per CUDA toolkit (major.minor)
    driver_compat: Tuple[DriverMinimum, ...]  # per CUDA major
    default: Optional[DefaultGpu]
    cuda_wheels: Tuple[CudaWheelNaming, ...]

    def build_archs_for(self, torch: Version, build: str) -> Optional[BuildArchs]:
        """The entry describing `build` of torch `torch`, None when the data does not say."""
        for entry in self.build_archs:
            if build in entry.builds and entry.torch.contains(torch, prereleases=True):
                return entry
        return None

    def min_driver(self, cuda: Version) -> Optional[DriverMinimum]:
        """The driver floor for a CUDA runtime: its major's compatibility floor, else its toolkit's minimum."""
        for entry in self.driver_compat:
            if entry.cuda.major == cuda.major:
                return entry
        for entry in self.drivers:
            if entry.cuda == Version("%d.%d" % (cuda.major, cuda.minor)):
                return entry
        return None

    def cuda_wheel(self, name: str) -> Optional[Tuple[CudaWheelNaming, str]]:
        """(the naming family, the CUDA major) of a package whose name says its CUDA, else None."""
        for naming in self.cuda_wheels:
            major = naming.cuda_major(name)
            if major is not None:
                return naming, major
        return None


class FindingSource(Record):
    """Where a finding an engine makes itself (not a rule of rules.toml) is documented (names.toml `[[finding]]`)."""

    __slots__ = _fields = ("id", "sources", "confidence")

    id: str
    sources: Tuple[str, ...]
    confidence: str


class KnowledgeBase(Record):
    __slots__ = _fields = ("releases", "family", "index", "rules", "gpu", "conda_names", "names", "imports", "findings")
    _defaults = {"names": CondaNames(), "imports": dict, "findings": dict}
    releases: Tuple[Release, ...]
    family: TorchFamily
    index: IndexInfo
    rules: Tuple[Rule, ...]
    gpu: GpuData
    conda_names: Mapping[str, str]  # PyPI -> conda, where the names differ (see `names` for both ways)
    names: CondaNames
    imports: Mapping[str, Tuple[str, ...]]  # import name -> distributions
    findings: Mapping[str, FindingSource]  # id -> sources of an engine's own finding

    def release(self, torch: Version) -> Release:
        for release in self.releases:
            if release.torch == Version(torch.base_version):
                return release
        raise UnknownPackage("torch %s is not a known release (known: %s ... %s)" % (
            torch, self.releases[0].torch, self.releases[-1].torch))

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def family_releases(self, member: str, version: Version) -> List[Release]:
        """Torch releases `member` `version` is built for (ignoring a local label)."""
        return [r for r in self.releases if r.pairs_with(member, version)]

    def labelled_builds(self, release: Release) -> List[str]:
        """Builds of `release` published with a `+label` (so a version pin can select them)."""
        if release.torch < self.index.local_labels_since:
            return []
        return [b for b in release.builds
                if b != release.default_build or release.torch >= self.index.labelled_default_since
                or not release.on_pypi]

    def carries_label(self, member: str, version: Version) -> bool:
        """Is `member` `version` published with `+build` labels at all? (torchtext and torchdata never are;
        torchaudio only since [index].torchaudio_labels_since.)"""
        if member in self.family.unlabelled:
            return False
        return member != "torchaudio" or version >= self.index.torchaudio_labels_since

    def index_for(self, release: Release, build: str) -> Tuple[str, str]:
        """(pip option, URL) that reaches `build` of `release`."""
        if release.index:
            return "--extra-index-url", release.index.replace("{build}", build)
        if release.torch < self.index.find_links_before:
            return "--find-links", self.index.find_links
        return "--extra-index-url", self.index.url.replace("{build}", build)

    def finding_sources(self, finding: str) -> Tuple[str, ...]:
        entry = self.findings.get(finding)
        return entry.sources if entry is not None else ()


def describe_pythons(pythons: Sequence[str]) -> str:
    if not pythons:
        return "none"
    return ", ".join(pythons)


def compile_wheel_pattern(pattern: str) -> Pattern:
    """A `[[cuda_wheels]]` pattern (raises re.error, ValueError without a `cuda` group: the loader reports it)."""
    compiled = re.compile(pattern)
    if "cuda" not in compiled.groupindex:
        raise ValueError("no (?P<cuda>...) group")
    return compiled
