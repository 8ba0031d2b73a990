"""Questions about a release's API, answered from its own files through an `ApiView`. Pure: the view does the I/O.

Each answer is True, False or None (the files do not tell: a compiled module, dynamic names, an unparsable file).
Names are followed the way Python binds them: a submodule counts as a name of its package, `from X import *` is
followed one level, and a function re-exported with `from .impl import f` is followed two hops.
"""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from packaging.version import Version

from pinguard.api_types import ApiView, ClassFacts, Signature
from pinguard.specs import normalize

def distribution_of(module: str, pins: Mapping[str, Version], known: Mapping[str, Sequence[str]],
                    api: ApiView) -> Optional[str]:
    """The pinned distribution that provides import name `module` (its top level), else None.

    The name itself (normalized), then the knowledge base's import-name table, then the files of the pinned
    releases (what each installs at the top of site-packages)."""
    top = module.split(".")[0]
    keys = sorted((k for k in known if module == k or module.startswith(k + ".")), key=len, reverse=True)
    for candidate in [normalize(d) for k in keys for d in known[k]] + [normalize(top)]:
        if candidate in pins:
            return candidate
    api.warm_listings(pins.items())
    for dist, version in pins.items():
        names = api.top_level(dist, version)
        if names and top in names:
            return dist
    return None


def module_exists(api: ApiView, dist: str, version: Version, module: str) -> Optional[bool]:
    """Whether the release has `module`. No file for it means False, unless its parent binds the name itself
    (`six.moves`: an object that acts as a module), in which case the files cannot tell (None)."""
    exists = api.module(dist, version, module).exists
    if exists is not False:
        return exists
    parent, _, last = module.rpartition(".")
    if not parent:
        return False
    lookup = api.module(dist, version, parent)
    if lookup.facts is not None and (last in lookup.facts.names or lookup.facts.has_getattr or lookup.facts.dynamic):
        return None
    if lookup.status == "binary":
        return None
    return False


def binds_name(api: ApiView, dist: str, version: Version, module: str, name: str, depth: int = 2
               ) -> Tuple[Optional[bool], str]:
    """Does `module` of the release bind `name` (as Python's `from module import name` would find it)?
    Returns (answer, the file that shows it)."""
    lookup = api.module(dist, version, module)
    if lookup.status == "absent":
        return module_exists(api, dist, version, module), "no module %s" % module
    if lookup.status in ("binary", "unknown"):
        return None, lookup.path or lookup.why
    facts = lookup.facts
    if facts is not None and name in facts.names:
        return True, lookup.path
    sub = api.module(dist, version, module + "." + name)
    if sub.exists:
        return True, sub.path
    if facts is None:  # a namespace package binds only its submodules
        return False, lookup.path
    unknown = facts.has_getattr or facts.dynamic
    for target in facts.star_imports:
        if depth <= 0:
            unknown = True
            continue
        found, where = binds_name(api, dist, version, target, name, depth - 1)
        if found:
            return True, where
        unknown = unknown or found is None
    return (None if unknown else False), lookup.path


def find_function(api: ApiView, dist: str, version: Version, module: str, dotted: str, hops: int = 2
                  ) -> Tuple[Optional[Signature], str]:
    """The signature of `dotted` (`f` or `Class.method`) as `module` exposes it, following re-exports."""
    lookup = api.module(dist, version, module)
    facts = lookup.facts
    if facts is None:
        return None, lookup.path or lookup.why
    owner, _, method = dotted.partition(".")
    if method:
        cls = facts.classes.get(owner)
        if cls is not None:
            return cls.methods.get(method), lookup.path
    elif owner in facts.functions:
        return facts.functions[owner], lookup.path
    if hops > 0:
        for fact in facts.imports:
            if owner in fact.names:
                found, where = find_function(api, dist, version, fact.module, dotted, hops - 1)
                if found is not None:
                    return found, where
        for target in facts.star_imports:
            found, where = find_function(api, dist, version, target, dotted, hops - 1)
            if found is not None:
                return found, where
    return None, lookup.path


def find_class(api: ApiView, dist: str, version: Version, modules: Iterable[str], name: str
               ) -> Tuple[Optional[ClassFacts], str]:
    """The first of `modules` (in this release) that defines class `name`."""
    for module in modules:
        lookup = api.module(dist, version, module)
        if lookup.facts is not None and name in lookup.facts.classes:
            return lookup.facts.classes[name], lookup.path
    return None, ""


def class_has(cls: ClassFacts, attribute: str) -> Optional[bool]:
    """Does the class body define `attribute`? None when its bases (defined elsewhere) or a __getattr__ may."""
    if attribute in cls.attributes:
        return True
    if cls.dynamic:
        return None
    return False if not [b for b in cls.bases if b not in ("object", "")] else None


def importers(modules: List[str]) -> List[str]:
    """Every package above each module (`a.b.c` -> `a`, `a.b`), then the modules: what importing them runs."""
    seen: List[str] = []
    for module in modules:
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            name = ".".join(parts[:end])
            if name not in seen:
                seen.append(name)
    return seen
