"""evidence: what the releases' own files show about a crash, turned into allowed versions for the resolver. Pure.

From the classified failure (pinguard.crash.Failure) the hypotheses module forms tests one release can pass or
fail (the callee has the name, the caller no longer needs it, a version check accepts it). Each test is bisected
over the releases available for the target, on both sides of the pinned one (pinguard.engines.windows), and each
window found becomes a `Move`: a distribution and the specifier set of releases where the test holds, with the
files that prove where the window starts and where it does not. Moves are ordered as a repair should try them:
the callee's (nearest window first), then the caller's (older releases first: the project was written against
the APIs its pins had, and newer callers remove more of them). Anchored distributions never move.

After the resolver has chosen versions, `confirm` walks what importing each moved release runs and checks it
against the other chosen pins (pinguard.engines.import_closure); a release that fails is excluded and the
resolver tries the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.crash import Failure
from pinguard.engines import import_closure, windows
from pinguard.engines.api_queries import ApiView, distribution_of
from pinguard.engines.hypotheses import Hypothesis, HypothesisContext, hypotheses


@dataclass(frozen=True)
class Proof:
    """One file of one release and what it shows."""

    dist: str
    version: str
    fact: str
    holds: Optional[bool]

    def describe(self) -> str:
        return "%s %s: %s" % (self.dist, self.version, self.fact)


@dataclass
class Move:
    """Move `dist` into `specifier`, because of `hypothesis`, as `window` shows."""

    hypothesis: Hypothesis
    window: windows.Window

    @property
    def dist(self) -> str:
        return self.hypothesis.dist

    @property
    def role(self) -> str:
        return self.hypothesis.role

    @property
    def specifier(self) -> SpecifierSet:
        return self.window.specifier()

    def proofs(self) -> List[Proof]:
        """The release where the window starts (the test holds) and the one next to it where it fails."""
        found = [Proof(self.dist, str(self.window.nearest), self.window.proof.fact, True)]
        if self.window.outside is not None:
            found.append(Proof(self.dist, str(self.window.outside.version), self.window.outside.fact,
                               self.window.outside.holds))
        return found

    def describe(self) -> str:
        return "%s %s (%s: %s)" % (self.dist, self.specifier, self.role, self.hypothesis.need)


@dataclass
class Evidence:
    failure: Optional[Failure]
    moves: List[Move] = field(default_factory=list)
    looked: List[str] = field(default_factory=list)
    tested: List[str] = field(default_factory=list)  # hypotheses that found no release, for "no repair"

    def looked_for(self) -> str:
        """One line: what was looked for and where (the message when nothing was found)."""
        items = list(dict.fromkeys(self.looked + self.tested))
        return "; ".join(items[:4]) if items else "nothing the crash text names"


def gather(failure: Optional[Failure], pins: Mapping[str, Version], fixed: Set[str],
           versions_of: Callable[[str], Sequence[Version]], api: ApiView,
           known_imports: Mapping[str, Sequence[str]],
           requires: Optional[Callable[[str, Version], List[Requirement]]] = None) -> Evidence:
    """The moves the failure's evidence supports, best first."""
    evidence = Evidence(failure)
    if failure is None:
        return evidence
    context = HypothesisContext(pins, fixed, api, known_imports, evidence.looked, requires)
    for hypothesis in hypotheses(failure, context):
        found = _windows(hypothesis, pins[hypothesis.dist], versions_of(hypothesis.dist), api)
        if not found:
            evidence.tested.append("no release of %s where %s" % (hypothesis.dist, hypothesis.need))
        evidence.moves.extend(Move(hypothesis, w) for w in found)
    evidence.moves = _ordered(evidence.moves, versions_of)
    return evidence


def _windows(hypothesis: Hypothesis, current: Version, versions: Sequence[Version],
             api: ApiView) -> List[windows.Window]:
    plain = sorted({v for v in versions if v.local is None and (current.is_prerelease or not v.is_prerelease)})

    def warm(batch: Sequence[Version]) -> None:
        if hypothesis.module:
            api.warm([(hypothesis.dist, v, hypothesis.module) for v in batch])

    base = Version(current.base_version)
    found: List[windows.Window] = []
    if hypothesis.preferred is not None:
        found = windows.search(plain, base, hypothesis.preferred, warm, hypothesis.directions)
    for window in windows.search(plain, base, hypothesis.test, warm, hypothesis.directions):
        if not any(w.direction == window.direction for w in found):
            found.append(window)
    return found


def _ordered(moves: List[Move], versions_of: Callable[[str], Sequence[Version]]) -> List[Move]:
    def distance(move: Move) -> int:
        versions = sorted({v for v in versions_of(move.dist) if v.local is None})
        low, high = sorted([move.window.nearest, move.window.outside.version if move.window.outside else
                            move.window.nearest])
        return sum(1 for v in versions if low <= v <= high)

    def key(move: Move):
        if move.role == "callee":
            return (0, distance(move), move.window.direction != "down")
        return (1, move.window.direction != "down", distance(move))

    return sorted(moves, key=key)


def confirm(move: Move, version: Version, pins: Mapping[str, Version], api: ApiView,
            known_imports: Mapping[str, Sequence[str]], before: Mapping[str, Version]) -> List[import_closure.Problem]:
    """Problems that importing `move.dist version` would meet among `pins` (empty: none found).

    Only what changed is checked: imports the chosen release makes that the release pinned `before` did not, and
    imports into distributions whose pin changed; the rest ran in the crashed environment."""
    cache: Dict[str, Optional[str]] = {}
    tops = {top: move.dist for top in (api.top_level(move.dist, version) or ())}

    def dist_of(module: str) -> Optional[str]:
        top = module.split(".")[0]
        if top not in cache:
            cache[top] = tops.get(top) or _named(top, pins, known_imports)
        return cache[top]

    start = list(move.hypothesis.start_modules)
    baseline = None
    pinned = before.get(move.dist)
    if pinned is not None:
        baseline, _ = import_closure.foreign_imports(api, move.dist, Version(pinned.base_version), start, before,
                                                     dist_of)
    changed = [d for d, v in pins.items() if before.get(d) != v]
    found, _ = import_closure.problems(api, move.dist, version, start, pins, dist_of, baseline, changed)
    return found


def _named(top: str, pins: Mapping[str, Version], known: Mapping[str, Sequence[str]]) -> Optional[str]:
    """A distribution by import name without reading files (the walk sees many standard-library imports)."""
    return distribution_of(top, pins, known, _NoFiles())


class _NoFiles(ApiView):
    def top_level(self, dist: str, version: Version) -> Optional[Sequence[str]]:
        return None
