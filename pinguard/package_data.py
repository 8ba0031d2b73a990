"""The package data a resolver asks of the outside world: versions for the target and what each requires.

A plain interface so that engines (which do no I/O) and sources (which read the index) can both name it:
pinguard.sources.metadata.IndexPackageData serves it from a package index; tests serve it from a dict.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

from packaging.requirements import Requirement
from packaging.version import Version


class PackageData:
    def versions(self, name: str, keep: Optional[Version] = None) -> List[Version]:
        """Versions installable on the target, sorted (`keep` admitted even when yanked)."""
        raise NotImplementedError

    def requires(self, name: str, version: Version) -> List[Requirement]:
        """Requires-Dist of `name version` that apply on the target."""
        raise NotImplementedError

    def requires_extra(self, name: str, version: Version, extra: str) -> List[Requirement]:
        """What `name[extra]` adds to `name version`'s requirements on the target (none by default)."""
        return []

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def prefetch(self, pins: Iterable[Tuple[str, Version]]) -> None:
        """Optional: warm whatever `requires` will read."""

    def prefetch_pages(self, names: Iterable[str]) -> None:
        """Optional: warm the version lists of these packages together (the resolver will ask one by one)."""

    def binary_versions(self, name: str) -> Optional[List[Version]]:
        """Versions with a wheel for the target (None: the data cannot tell)."""
        return None
