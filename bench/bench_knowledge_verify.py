"""Verify the whole knowledge base against PyPI, as `pinguard knowledge verify` does, and print the figures.

Run: python bench/bench_knowledge_verify.py [--cache DIR] [--index-url URL] [--json]

The run reads torch.toml's pairings against Requires-Dist, its Python lists against the wheel file names of torch
and of every paired member, each rule's evidence against the releases' files (one member of a release by range
requests) and looks for family releases the knowledge base lacks. By default it starts from an empty cache (a
temporary directory), so the time and bytes are those of a first run, then runs again on the filled cache (what a
maintainer's later runs cost); --cache DIR uses (and keeps) that cache instead. Exit 0 when nothing disagrees,
1 otherwise.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from typing import Dict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pinguard import kb as kb_module  # noqa: E402
from pinguard.adapters.knowledge_verify import Run, index_url, make_client, summary_lines, verify  # noqa: E402


def figures(run: Run) -> Dict[str, object]:
    summary = run.summary
    checks = summary["checks"]
    rules = summary["rules"]

    def count(check: str, status: str = "") -> int:
        table = checks.get(check, {})
        return table.get(status, 0) if status else sum(table.values())

    return {
        "pairings checked": count("pairing"),
        "pairings agreed": count("pairing", "agreed"),
        "pairings unverifiable (loose or no torch requirement)": count("pairing", "unverifiable"),
        "Python lists checked": count("python"),
        "Python lists agreed": count("python", "agreed"),
        "rules": summary["rules_selected"],
        "rules verified by code": rules["code"],
        "rules verified by code, with claims backed by sources": rules["code+sources"],
        "rules backed by sources only": rules["sources"],
        "rules with a claim that disagreed": rules["disagreed"],
        "rules with a claim that could not be read": rules["unverifiable"],
        "evidence claims checked by code": count("evidence") - count("evidence", "sources"),
        "unverifiable findings": summary["totals"]["unverifiable"],
        "disagreements": summary["totals"]["disagreed"],
        "new family releases": len(summary["new"]),
        "seconds": round(run.seconds, 1),
        "bytes": run.bytes_fetched,
        "requests": run.requests,
    }


def one_run(cache: str, url: str) -> Run:
    client = make_client(url, offline=False, phases=None, cache_dir=cache)
    return verify(kb_module.load(), client)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="the cache directory to use and keep (default: a fresh temporary one)")
    parser.add_argument("--index-url", help="the index (default: pip's configured primary index, else PyPI)")
    parser.add_argument("--json", action="store_true", help="the figures as JSON")
    args = parser.parse_args()
    url = index_url(args.index_url)
    cache = args.cache or tempfile.mkdtemp(prefix="bench-verify-")
    try:
        first = one_run(cache, url)
        second = one_run(cache, url)
    finally:
        if not args.cache:
            shutil.rmtree(cache, ignore_errors=True)
    result = {"first run": figures(first), "second run (cache filled)": {
        k: v for k, v in figures(second).items() if k in ("seconds", "bytes", "requests", "disagreements")}}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("\n".join(summary_lines(first)))
        print("")
        for key, value in result["first run"].items():
            print("%-58s %s" % (key, "{:,}".format(value) if key == "bytes" else value))
        again = result["second run (cache filled)"]
        print("%-58s %s s, %s bytes, %s requests" % ("second run, cache filled:", again["seconds"],
                                                    "{:,}".format(again["bytes"]), again["requests"]))
        for finding in first.findings:
            if finding.status in ("disagreed", "new"):
                print("%s: %s: %s" % (finding.status.upper(), finding.subject, finding.detail))
    if first.unreachable:
        print("the index could not be read: %s" % first.unreachable[0], file=sys.stderr)
        return 4
    return first.exit_code


if __name__ == "__main__":
    sys.exit(main())
