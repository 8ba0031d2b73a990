"""`pinguard knowledge verify`: run the verification plan against the index and render its table (text, --json).

The index is `--index-url`, else the primary index pip's (then uv's) configuration names, else PyPI
(pinguard/sources/index_config.py). Extra indexes and find-links locations are not read: the knowledge base speaks
of PyPI's files, and another index's wheels (a PyTorch index's +cuXXX builds, a local directory) would blur them.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from pinguard.adapters.progress import Phases
from pinguard.engines.knowledge_verify import Plan, exit_status, plan, summarize
from pinguard.errors import BadInput
from pinguard.kb_types import KnowledgeBase
from pinguard.sources.index import IndexClient
from pinguard.sources.index_config import resolve
from pinguard.sources.knowledge_view import IndexReleaseView
from pinguard.verify_types import DISAGREED, NEW, UNVERIFIABLE, Finding, LookupFailed

WORKERS = 8
TIMEOUT = 15.0
RETRIES = 3
_ORDER = {"release": 0, "pairing": 1, "python": 2, "evidence": 3}


@dataclass
class Run:
    """A finished verification: its plan, findings (in plan order) and what it cost."""

    index_url: str
    plan: Plan
    findings: List[Finding]
    seconds: float
    bytes_fetched: int
    requests: int
    unreachable: List[Exception] = field(default_factory=list)

    @property
    def summary(self) -> Dict[str, Any]:
        return summarize(self.plan, self.findings)

    @property
    def exit_code(self) -> int:
        return exit_status(self.findings)


def index_url(explicit: Optional[str]) -> str:
    """--index-url, else the configured primary index, else PyPI."""
    config = resolve(explicit)
    if config.no_index:
        raise BadInput("knowledge verify reads a package index, but no-index is set (%s); give --index-url" %
                       config.origins.get("no_index", "configured"))
    return config.index_url


def make_client(url: str, offline: bool, phases: Optional[Phases], cache_dir: Optional[str] = None) -> IndexClient:
    return IndexClient(url, cache_dir=cache_dir, offline=offline, timeout=TIMEOUT, retries=RETRIES,
                       on_retry=phases.note if phases is not None else None)


def verify(kb: KnowledgeBase, client: IndexClient, releases: Optional[Sequence[str]] = None,
           rules: Optional[Sequence[str]] = None, sample: Optional[int] = None,
           phases: Optional[Phases] = None) -> Run:
    """Plan the checks for the selection and run them, WORKERS at a time."""
    chosen = plan(kb, releases, rules, sample)
    view = IndexReleaseView(client)
    started = time.monotonic()
    if phases is not None:
        phases.phase("%d checks (%d torch releases, %d rules) against %s" % (
            len(chosen.checks), len(chosen.releases), len(chosen.rules), client.index_url))
    findings: List[Optional[Finding]] = [None] * len(chosen.checks)
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pinguard-verify") as pool:
        futures = {pool.submit(check, view): i for i, (_, check) in enumerate(chosen.checks)}
        for done, future in enumerate(as_completed(futures), 1):
            index = futures[future]
            try:
                findings[index] = future.result()
            except LookupFailed as exc:  # a check that did not guard its own reads
                findings[index] = Finding(chosen.checks[index][0], "?", UNVERIFIABLE, "", str(exc))
            if phases is not None:
                phases.detail("%d/%d checks, %.1f MB" % (done, len(futures), client.bytes_fetched / 1e6))
    ordered = sorted((f for f in findings if f is not None), key=lambda f: _ORDER.get(f.check, 9))
    return Run(client.index_url, chosen, ordered, time.monotonic() - started, client.bytes_fetched,
               client.requests_made, list(view.failures()))


# -- rendering ----------------------------------------------------------------------------------------------------


def render_text(run: Run) -> str:
    lines = ["%-12s %-9s %-44s %s" % ("STATUS", "CHECK", "SUBJECT", "DETAIL")]
    for finding in run.findings:
        lines.append("%-12s %-9s %-44s %s" % (finding.status, finding.check, finding.subject, finding.detail))
        if finding.status in (DISAGREED, NEW, UNVERIFIABLE) and finding.claim:
            lines.append("%-12s %-9s %-44s claim: %s" % ("", "", "", finding.claim))
    lines.append("")
    lines.extend(summary_lines(run))
    return "\n".join(lines) + "\n"


def summary_lines(run: Run) -> List[str]:
    summary = run.summary
    checks: Dict[str, Dict[str, int]] = summary["checks"]  # type: ignore[assignment]
    names = {"pairing": "pairings", "python": "Python lists", "evidence": "rule evidence", "release": "new releases"}
    lines = []
    for check in ("pairing", "python", "evidence", "release"):
        counts = checks.get(check)
        if counts:
            shown = ", ".join("%d %s" % (n, status) for status, n in counts.items() if n)
            lines.append("%-14s %d checked: %s" % (names[check] + ":", sum(counts.values()), shown))
    rules: Dict[str, int] = summary["rules"]  # type: ignore[assignment]
    if summary["rules_selected"]:
        lines.append("%-14s %d: %d verified by code, %d by code and sources, %d by sources only, %d disagreed, "
                     "%d unverifiable, %d without evidence" % (
                         "rules:", summary["rules_selected"], rules["code"], rules["code+sources"],
                         rules["sources"], rules["disagreed"], rules["unverifiable"], rules["no evidence"]))
    totals: Dict[str, int] = summary["totals"]  # type: ignore[assignment]
    lines.append("%-14s %d agreed, %d disagreed, %d unverifiable, %d backed by sources only, %d new release "
                 "lines; %.1f s, %d requests, %.1f MB from %s" % (
                     "total:", totals["agreed"], totals["disagreed"], totals["unverifiable"], totals["sources"],
                     totals["new"], run.seconds, run.requests, run.bytes_fetched / 1e6, run.index_url))
    return lines


def render_json(run: Run) -> str:
    payload = {
        "index": run.index_url,
        "findings": [f.as_dict() for f in run.findings],
        "summary": run.summary,
        "seconds": round(run.seconds, 2),
        "bytes": run.bytes_fetched,
        "requests": run.requests,
        "exit": run.exit_code,
    }
    return json.dumps(payload, indent=2) + "\n"
