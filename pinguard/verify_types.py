"""What `pinguard knowledge verify` asks of the releases, and what it answers: pure types.

The engines (pinguard/engines/verify_family.py, verify_rules.py) ask a `ReleaseView` — file names and tags of a
release, its Requires-Dist, the text of one of its files, its modules through the fix engine's `ApiView` — and
return `Finding`s. pinguard.sources.knowledge_view serves the view from a package index; tests serve it from
memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from packaging.version import Version

from pinguard.api_types import ApiView

#: Statuses of a finding. `sources`: a claim no machine can check (GPU kernels, ABI, ...), backed by its sources;
#: `new`: a release of the torch family on the index that the knowledge base does not know yet.
AGREED, DISAGREED, UNVERIFIABLE, SOURCES, NEW = "agreed", "disagreed", "unverifiable", "sources", "new"
STATUSES = (AGREED, DISAGREED, UNVERIFIABLE, SOURCES, NEW)


class LookupFailed(Exception):
    """The view cannot answer (no such file, a file it cannot read, the index did not answer); the message says
    why, and the claim it was asked for is unverifiable."""


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a release on the index."""

    filename: str
    requires_python: Optional[str] = None
    yanked: bool = False


@dataclass(frozen=True)
class Finding:
    """One row of the verification table."""

    check: str  # "pairing" | "python" | "evidence" | "release"
    subject: str  # what was checked: "torch 1.10.0 / torchvision 0.11.1", a rule id
    status: str  # one of STATUSES
    claim: str  # what the knowledge base says
    detail: str  # what the releases say (or why they could not be read)
    rule: str = ""  # the rule, for evidence

    def as_dict(self) -> dict:
        return {"check": self.check, "subject": self.subject, "status": self.status, "claim": self.claim,
                "detail": self.detail, "rule": self.rule}


class ReleaseView:
    """The releases of a package index, as the verifier reads them. Each method raises LookupFailed when it
    cannot answer."""

    api: ApiView

    def releases(self, dist: str) -> List[Tuple[Version, bool]]:
        """Every version of `dist` on the index, sorted, with whether all its files are yanked."""
        raise NotImplementedError

    def files(self, dist: str, version: Version) -> List[ReleaseFile]:
        """The wheels and sdists of one release."""
        raise NotImplementedError

    def requires_dist(self, dist: str, version: Version, python: Optional[str] = None) -> List[str]:
        """Requires-Dist of the release, read from its Linux x86_64 wheel for CPython `python` (X.Y) when given
        (LookupFailed when it has none), else from a Linux x86_64 wheel when it has one, else any of its files."""
        raise NotImplementedError

    def text(self, dist: str, version: Version, paths: Tuple[str, ...]) -> Tuple[str, str]:
        """(path, text) of the first of `paths` the release's file has; LookupFailed when none (the message
        starts with "absent:" when the file was read and has none of them)."""
        raise NotImplementedError

    def warm(self, wanted: List[Tuple[str, Version, Tuple[str, ...]]]) -> None:
        """Optional: read these files now, together."""
