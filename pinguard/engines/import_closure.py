"""Confirm a chosen release: what importing it runs must find, in the other pinned releases, every name it imports.

From the modules a crash went through (or the module a fix makes importable), follow the release's own
module-level imports (not those an `except ImportError` guards) breadth first, and check each import that enters
another pinned distribution against that distribution's pinned release: the module must exist and bind the
imported names. transformers 3.5.1 chosen to bring back `transformers.modeling_bert`, next to torch 1.10, fails
here: its `trainer_pt_utils.py` imports `SAVE_STATE_WARNING`, which torch 1.10's `optim/lr_scheduler.py` does not
bind. A walk is bounded (`MAX_MODULES`); what it did not reach is not judged. Pure: reads go through the ApiView.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.version import Version

from pinguard.engines import version_expr
from pinguard.engines.api_queries import ApiView, binds_name, module_exists

MAX_MODULES = 300  # modules parsed (importing transformers 3.5.1 runs 229 of its own)
MAX_LOOKUPS = 4000  # names tried as modules (`from a import b` may be a submodule b)
MAX_FOREIGN = 2000
BATCH = 64


@dataclass(frozen=True)
class Problem:
    """An import of `dist version` that the pinned release of `other` cannot satisfy."""

    dist: str
    version: str
    path: str
    line: int
    other: str
    other_version: str
    module: str
    name: str  # "" when the module itself is missing

    def describe(self) -> str:
        what = "%s from %s" % (self.name, self.module) if self.name else "module %s" % self.module
        return "%s %s %s line %d imports %s, which %s %s does not provide" % (
            self.dist, self.version, self.path, self.line, what, self.other, self.other_version)


Imports = Dict[Tuple[str, str, str], Tuple[str, int]]  # (other dist, module, name) -> (path, line) of the import


def problems(api: ApiView, dist: str, version: Version, start: Sequence[str], pins: Mapping[str, Version],
             dist_of: Callable[[str], Optional[str]], baseline: Optional[Imports] = None,
             changed: Sequence[str] = ()) -> Tuple[List[Problem], bool]:
    """(problems found, whether the walk was complete) for `dist version` among `pins`.

    With a `baseline` (the foreign imports of the release that was pinned before), only imports the new release
    adds, or imports into a distribution whose pin `changed`, are checked: the rest ran before."""
    found, complete = foreign_imports(api, dist, version, start, pins, dist_of)
    if baseline is not None:
        found = {key: where for key, where in found.items() if key not in baseline or key[0] in changed}
    return _check_foreign(api, dist, version, pins, found), complete


def foreign_imports(api: ApiView, dist: str, version: Version, start: Sequence[str], pins: Mapping[str, Version],
                    dist_of: Callable[[str], Optional[str]]) -> Tuple[Imports, bool]:
    """The imports that leave `dist version` for another pinned distribution, in what importing `start` runs."""
    queue: List[str] = list(dict.fromkeys(start))
    seen: Set[str] = set()
    foreign: Imports = {}
    parsed = 0
    while queue and parsed < MAX_MODULES and len(seen) < MAX_LOOKUPS:
        batch = [m for m in dict.fromkeys(queue) if m not in seen][:BATCH]
        queue = [m for m in queue if m not in seen and m not in batch]
        if not batch:
            break
        api.warm([(dist, version, m) for m in batch])
        for module in batch:
            seen.add(module)
            lookup = api.module(dist, version, module)
            if lookup.facts is None:
                continue
            parsed += 1
            for fact in lookup.facts.imports:
                if fact.guarded:
                    continue
                owner = dist_of(fact.module)
                if owner == dist:
                    queue.append(fact.module)
                    queue.extend("%s.%s" % (fact.module, n) for n in fact.names if n != "*")
                elif owner is not None and owner in pins and len(foreign) < MAX_FOREIGN and \
                        _reached(fact.conditions, lookup.facts.assignments, pins, dist_of):
                    for name in fact.names or ("",):
                        if name != "*":
                            foreign.setdefault((owner, fact.module, name), (lookup.path, fact.line))
    return foreign, not queue


def _reached(conditions: Sequence[Tuple[ast.AST, bool]], names: Mapping[str, ast.AST],
             pins: Mapping[str, Version], dist_of: Callable[[str], Optional[str]]) -> bool:
    """An import under `if` tests is checked only when the tests, read with the pinned versions, reach it."""
    if not conditions:
        return True
    versions: Dict[str, str] = {}
    for test, _ in conditions:
        for top in version_expr.version_modules(test):
            owner = dist_of(top)
            if owner is not None and owner in pins:
                versions[top] = str(pins[owner])
    return version_expr.branch_taken(conditions, versions, names) is True


def _check_foreign(api: ApiView, dist: str, version: Version, pins: Mapping[str, Version],
                   foreign: Imports) -> List[Problem]:
    api.warm([(other, pins[other], module) for other, module, _ in foreign])
    found: List[Problem] = []
    for (other, module, name), (path, line) in sorted(foreign.items()):
        pinned = pins[other]
        if not name:
            if module_exists(api, other, pinned, module) is False:
                found.append(Problem(dist, str(version), path, line, other, str(pinned), module, ""))
            continue
        bound, _ = binds_name(api, other, pinned, module, name)
        if bound is False:
            found.append(Problem(dist, str(version), path, line, other, str(pinned), module, name))
    return found
