"""PyPI <-> conda package names, both ways, from `knowledge/names.toml`. Pure data; parsed by `kb.load()`.

pinguard speaks PyPI names everywhere (anchors, rules, constraints). conda speaks its own: `pytorch` for `torch`,
`opencv` for the `opencv-python*` wheels, `cupy` for the `cupy-cudaXY` wheels, `typing_extensions`, ... This
module turns one into the other:

- `conda_name("torch") -> "pytorch"` (conda-meta/pinned lines, pre-solve requests);
- `pypi_name("py-opencv", prefer={"opencv-python-headless"}) -> "opencv-python-headless"` (reading conda records,
  using the spelling an anchor uses when several PyPI projects share one conda package);
- `conda_only` entries (cudatoolkit, cuda-version, pytorch-cuda, ...) have no PyPI name; the CUDA selectors among
  them carry the matching rule the conda checks apply (`pinguard/engines/conda_rules.py`).
"""

from __future__ import annotations

import fnmatch
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from pinguard.errors import CONFIDENCE, KnowledgeError, require_sources
from pinguard.lightrecord import Record
from pinguard.pep503 import normalize

MATCHES = ("minor", "major")


class NameEntry(Record):
    """pypi (normalized; "" for conda-only packages), conda ("" for pip-only packages), also_pypi (normalized names
    or fnmatch globs), also_conda, sources, confidence, note."""

    __slots__ = _fields = ("pypi", "conda", "also_pypi", "also_conda", "sources", "confidence", "note")
    _defaults = {"also_pypi": (), "also_conda": (), "sources": (), "confidence": "M", "note": ""}
    pypi: str
    conda: str
    also_pypi: Tuple[str, ...]
    also_conda: Tuple[str, ...]
    sources: Tuple[str, ...]
    confidence: str
    note: str


class CudaSelector(Record):
    """A conda package whose version names the environment's CUDA runtime (cudatoolkit 11.3.1): match ("minor": X.Y
    must equal pytorch's CUDA; "major": X must), match_conda_forge (the same for conda-forge builds), at_least
    (with "major": the runtime must also be >= pytorch's X.Y), sources, confidence, note."""

    __slots__ = _fields = ("conda", "match", "match_conda_forge", "at_least", "sources", "confidence", "note")
    _defaults = {"note": ""}
    conda: str
    match: str
    match_conda_forge: str
    at_least: bool
    sources: Tuple[str, ...]
    confidence: str
    note: str


class CondaNames(Record):
    """entries; to_conda (normalized PyPI name -> conda name); globs ((fnmatch glob over PyPI names, conda name));
    to_pypi (conda name -> PyPI names, the default first); pip_only; conda_only; cuda_selectors."""

    __slots__ = _fields = ("entries", "to_conda", "globs", "to_pypi", "pip_only", "conda_only", "cuda_selectors")
    _defaults = {"entries": (), "to_conda": dict, "globs": (), "to_pypi": dict, "pip_only": frozenset(),
                 "conda_only": frozenset(), "cuda_selectors": ()}
    entries: Tuple[NameEntry, ...]
    to_conda: Mapping[str, str]
    globs: Tuple[Tuple[str, str], ...]
    to_pypi: Mapping[str, Tuple[str, ...]]
    pip_only: FrozenSet[str]
    conda_only: FrozenSet[str]
    cuda_selectors: Tuple[CudaSelector, ...]

    def __hash__(self) -> int:
        return hash((self.entries, self.globs, self.pip_only, self.conda_only, self.cuda_selectors))

    def conda_name(self, pypi: str) -> Optional[str]:
        """conda's name for PyPI `pypi`; None when it is published on PyPI only. Unknown names map to themselves."""
        name = normalize(pypi)
        if name in self.to_conda:
            return self.to_conda[name]
        for glob, conda in self.globs:
            if fnmatch.fnmatchcase(name, glob):
                return conda
        if name in self.pip_only:
            return None
        return name

    def conda_names(self, pypi: str) -> List[str]:
        """Every conda name of PyPI `pypi`: the primary one first, then the others conda calls it (py-opencv)."""
        name = normalize(pypi)
        primary = self.conda_name(name)
        out = [primary] if primary else []
        for conda, pypis in sorted(self.to_pypi.items()):
            if conda not in out and (name in pypis or any("*" in p and fnmatch.fnmatchcase(name, p) for p in pypis)):
                out.append(conda)
        return out

    def pypi_name(self, conda: str, prefer: Iterable[str] = ()) -> str:
        """The PyPI name of conda package `conda` (`prefer`: PyPI names an anchor uses, tried first)."""
        key = conda.lower()
        names = self.to_pypi.get(key)
        if not names:
            return normalize(key) if key not in self.conda_only else key
        for name in prefer:
            name = normalize(name)
            if name in names or any(fnmatch.fnmatchcase(name, n) for n in names if "*" in n):
                return name
        return names[0]

    def is_conda_alias(self, name: str) -> Optional[str]:
        """When `name` is conda's spelling of a different PyPI project (pytorch, py-opencv), that project's name."""
        key = name.lower()
        names = self.to_pypi.get(key)
        if names and normalize(key) not in names and normalize(key) not in self.to_conda:
            return names[0]
        return None

    def knows(self, pypi: str) -> bool:
        name = normalize(pypi)
        return (name in self.to_conda or name in self.pip_only
                or any(fnmatch.fnmatchcase(name, g) for g, _ in self.globs))

    def selector(self, conda: str) -> Optional[CudaSelector]:
        for selector in self.cuda_selectors:
            if selector.conda == conda:
                return selector
        return None


def _sources(entry: Mapping[str, Any], where: str) -> Tuple[Tuple[str, ...], str]:
    return require_sources(entry, where)


def _names(value: Any, where: str, key: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise KnowledgeError("%s: %s must be a list of package names" % (where, key))
    return tuple(value)


def _pypi(name: str) -> str:
    return name if "*" in name else normalize(name)


def parse(data: Mapping[str, Any]) -> CondaNames:
    """Build the two-way mapping from the parsed names.toml; a damaged entry is a KnowledgeError naming it."""
    table = _Table()
    table.add_same(data.get("same") or {})
    for index, entry in enumerate(data.get("package") or []):
        table.add_package(entry, index)
    for index, entry in enumerate(data.get("pip_only") or []):
        table.add_pip_only(entry, index)
    for index, entry in enumerate(data.get("conda_only") or []):
        table.add_conda_only(entry, index)
    return table.build()


class _Table:
    """The tables of `CondaNames` as names.toml's sections fill them."""

    def __init__(self) -> None:
        self.entries: List[NameEntry] = []
        self.to_conda: Dict[str, str] = {}
        self.globs: List[Tuple[str, str]] = []
        self.to_pypi: Dict[str, List[str]] = {}
        self.pip_only: Set[str] = set()
        self.conda_only: Set[str] = set()
        self.selectors: List[CudaSelector] = []

    def forward(self, pypi: str, conda: str, where: str) -> None:
        if "*" in pypi:
            self.globs.append((pypi, conda))
            return
        if pypi in self.to_conda and self.to_conda[pypi] != conda:
            raise KnowledgeError("%s: %s maps to conda %s here and to %s elsewhere" % (
                where, pypi, conda, self.to_conda[pypi]))
        self.to_conda[pypi] = conda

    def backward(self, conda: str, pypis: Iterable[str]) -> None:
        known = self.to_pypi.setdefault(conda, [])
        for name in pypis:
            if name not in known:
                known.append(name)

    def add_same(self, same: Mapping[str, Any]) -> None:
        if not same:
            return
        where = "names.toml: [same]"
        template = same.get("source_template")
        if not isinstance(template, str) or "{name}" not in template:
            raise KnowledgeError("%s needs source_template with {name} (the source of each name)" % where)
        confidence = same.get("confidence")
        if not (isinstance(confidence, str) and confidence[:1] in CONFIDENCE):
            raise KnowledgeError("%s has confidence %r (expected H, M or L)" % (where, confidence))
        for name in _names(same.get("names"), where, "names"):
            pypi = normalize(name)
            self.forward(pypi, name.lower(), where)
            self.backward(name.lower(), [pypi])
            self.entries.append(NameEntry(pypi, name.lower(), sources=(template.replace("{name}", name),),
                                          confidence=confidence))

    def add_package(self, entry: Mapping[str, Any], index: int) -> None:
        where = "names.toml: package %s" % (entry.get("pypi") or "#%d" % (index + 1))
        pypi, conda = entry.get("pypi"), entry.get("conda")
        if not isinstance(pypi, str) or not pypi or not isinstance(conda, str) or not conda:
            raise KnowledgeError("%s needs both pypi and conda names" % where)
        sources, confidence = _sources(entry, where)
        also_pypi = tuple(_pypi(n) for n in _names(entry.get("also_pypi"), where, "also_pypi"))
        also_conda = tuple(n.lower() for n in _names(entry.get("also_conda"), where, "also_conda"))
        conda = conda.lower()
        for name in (normalize(pypi),) + also_pypi:
            self.forward(name, conda, where)
        for name in (conda,) + also_conda:
            self.backward(name, (normalize(pypi),) + also_pypi)
        self.entries.append(NameEntry(normalize(pypi), conda, also_pypi, also_conda, sources, confidence,
                                      str(entry.get("note", ""))))

    def add_pip_only(self, entry: Mapping[str, Any], index: int) -> None:
        where = "names.toml: pip_only #%d" % (index + 1)
        sources, confidence = _sources(entry, where)
        for name in _names(entry.get("names"), where, "names"):
            if normalize(name) in self.to_conda:
                raise KnowledgeError("%s: %s also has a conda name" % (where, name))
            self.pip_only.add(normalize(name))
            self.entries.append(NameEntry(normalize(name), "", sources=sources, confidence=confidence,
                                          note=str(entry.get("note", ""))))

    def add_conda_only(self, entry: Mapping[str, Any], index: int) -> None:
        conda = entry.get("conda")
        where = "names.toml: conda_only %s" % (conda or "#%d" % (index + 1))
        if not isinstance(conda, str) or not conda:
            raise KnowledgeError("%s has no conda name" % where)
        sources, confidence = _sources(entry, where)
        names = (conda.lower(),) + tuple(n.lower() for n in _names(entry.get("also_conda"), where, "also_conda"))
        self.conda_only.update(names)
        self.entries.append(NameEntry("", conda.lower(), also_conda=names[1:], sources=sources,
                                      confidence=confidence, note=str(entry.get("note", ""))))
        if entry.get("cuda_selector"):
            match = entry.get("match", "minor")
            match_cf = entry.get("match_conda_forge", match)
            if match not in MATCHES or match_cf not in MATCHES:
                raise KnowledgeError("%s: match must be one of %s" % (where, ", ".join(MATCHES)))
            self.selectors.append(CudaSelector(conda.lower(), match, match_cf, bool(entry.get("at_least", True)),
                                               sources, confidence, str(entry.get("note", ""))))

    def build(self) -> CondaNames:
        clash = sorted(self.conda_only & set(self.to_pypi))
        if clash:
            raise KnowledgeError("names.toml: %s listed both as conda-only and with a PyPI name" % ", ".join(clash))
        return CondaNames(tuple(self.entries), self.to_conda, tuple(self.globs),
                          {k: tuple(v) for k, v in self.to_pypi.items()}, frozenset(self.pip_only),
                          frozenset(self.conda_only), tuple(self.selectors))


def legacy_table(data: Mapping[str, Any]) -> Dict[str, str]:
    """The old `[conda]` table (PyPI -> conda where different), still accepted from a custom knowledge dir."""
    return {normalize(k): str(v) for k, v in (data.get("conda") or {}).items() if isinstance(v, str)}
