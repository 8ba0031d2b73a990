"""Wire the sources to the fix engine: the index for package data and release files, the crash text read and
classified. Shared by `pinguard fix` and bench/bench_fix.py so both run exactly the same repair."""

from __future__ import annotations

from typing import Optional, Sequence

from packaging.version import Version

from pinguard.engines.fix import FixResult, fix
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Pin
from pinguard.sources.failures import classify, primary
from pinguard.sources.index import IndexClient
from pinguard.sources.metadata import IndexPackageData
from pinguard.sources.release_files import ReleaseFiles
from pinguard.sources.tracebacks import parse_crash


def repair(kb: KnowledgeBase, client: IndexClient, env: Sequence[Pin], anchors: Sequence[Anchor], python: Version,
           traceback: str = "", gpu: Optional[Version] = None, assumptions: Sequence[str] = (),
           evidence: bool = True) -> FixResult:
    """`fix` with package data and release files from `client` (its cache, its offline mode)."""
    data = IndexPackageData(client, python)
    failure = primary(classify(parse_crash(traceback))) if traceback.strip() else None
    api = ReleaseFiles(client, choose_file=data.ranked_files) if evidence else None
    result = fix(kb, data, env, anchors, python, traceback=traceback, gpu=gpu, assumptions=assumptions,
                 failure=failure, api=api)
    if data.network_errors:  # the engine carried on without some of the data: its answer is not to be trusted
        raise data.network_errors[0]
    return result
