"""Find, by bisection, the releases nearest to the current one where a fact about the code holds.

API presence is nearly always monotone over releases (a name appears once and is removed once), so the releases
on each side of the current one are searched with a few reads instead of one per release: a handful of spread
samples first (read together), then halving the gap between the last release where the fact fails and the first
where it holds. Each side gives at most one `Window`: the nearest release where it holds, and how far beyond it
the fact keeps holding. Every release read is kept as a `Probe`, so the answer says which file proved what.
Pure: reading goes through the `test` callable, and `warm` is told which releases a round will read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version

Test = Callable[[Version], Tuple[Optional[bool], str]]  # (holds? None = cannot tell, what the file shows)
Warm = Callable[[Sequence[Version]], None]
SAMPLES = 5


@dataclass(frozen=True)
class Probe:
    version: Version
    holds: Optional[bool]
    fact: str


@dataclass(frozen=True)
class Window:
    direction: str  # "up" (newer releases) or "down" (older ones)
    nearest: Version  # the release nearest to the current one where the fact holds
    far: Optional[Version]  # the farthest release, in that direction, where it still holds (None: all of them)
    outside: Optional[Probe]  # the release just before `nearest` (towards the current one), read: where it fails
    probes: Tuple[Probe, ...]

    def specifier(self) -> SpecifierSet:
        if self.direction == "up":
            clauses = [">=%s" % self.nearest] + (["<=%s" % self.far] if self.far is not None else [])
        else:
            clauses = ["<=%s" % self.nearest] + ([">=%s" % self.far] if self.far is not None else [])
        return SpecifierSet(",".join(clauses))

    @property
    def proof(self) -> Probe:
        return next(p for p in self.probes if p.version == self.nearest)


class _Prober:
    def __init__(self, test: Test, warm: Optional[Warm]) -> None:
        self.test, self.warm = test, warm
        self.seen: Dict[Version, Probe] = {}

    def batch(self, versions: Sequence[Version]) -> None:
        fresh = [v for v in dict.fromkeys(versions) if v not in self.seen]
        if fresh and self.warm is not None:
            self.warm(fresh)
        for version in fresh:
            holds, fact = self.test(version)
            self.seen[version] = Probe(version, holds, fact)

    def holds(self, version: Version) -> bool:
        self.batch([version])
        return self.seen[version].holds is True


def search(versions: Sequence[Version], current: Optional[Version], test: Test, warm: Optional[Warm] = None,
           directions: Sequence[str] = ("down", "up")) -> List[Window]:
    """The nearest window on each side of `current` (in the order of `directions`)."""
    prober = _Prober(test, warm)
    ordered = sorted(set(versions))
    found = []
    for direction in directions:
        if current is None:
            side = list(reversed(ordered)) if direction == "down" else []
        elif direction == "down":
            side = [v for v in reversed(ordered) if v < current]
        else:
            side = [v for v in ordered if v > current]
        window = _one_side(side, direction, prober)
        if window is not None:
            found.append(window)
    return found


def _one_side(side: List[Version], direction: str, prober: _Prober) -> Optional[Window]:
    if not side:
        return None
    samples = sorted({0, len(side) - 1} | {len(side) * k // SAMPLES for k in range(1, SAMPLES)})
    prober.batch([side[i] for i in samples])
    first = next((i for i in samples if prober.holds(side[i])), None)
    if first is None:
        return None
    below = max((i for i in samples if i < first), default=-1)
    first = _first_true(side, below, first, prober)
    far_index = _last_true(side, first, prober, samples)
    outside = prober.seen.get(side[first - 1]) if first > 0 else None
    probes = tuple(sorted(prober.seen.values(), key=lambda p: p.version))
    far = None if far_index == len(side) - 1 else side[far_index]
    return Window(direction, side[first], far, outside, probes)


def _first_true(side: List[Version], low: int, high: int, prober: _Prober) -> int:
    """Smallest index in (low, high] where the fact holds, given it fails at low (or low = -1) and holds at high."""
    return _boundary(side, low, high, prober, holds_low=False)


def _last_true(side: List[Version], first: int, prober: _Prober, samples: List[int]) -> int:
    """Largest index from `first` on where the fact still holds (bisected against the next failing sample)."""
    failing = [i for i in samples if i > first and not prober.holds(side[i])]
    if not failing:
        return len(side) - 1
    return _boundary(side, first, failing[0], prober, holds_low=True)


def _boundary(side: List[Version], low: int, high: int, prober: _Prober, holds_low: bool) -> int:
    """Halve (low, high) until they are neighbours; the fact's value at low is `holds_low`, at high the other.
    Returns the index on the side where the fact holds."""
    while high - low > 1:
        middle = (low + high) // 2
        if prober.holds(side[middle]) == holds_low:
            low = middle
        else:
            high = middle
    return low if holds_low else high
