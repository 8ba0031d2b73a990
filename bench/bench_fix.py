"""Score `pinguard fix` on repair cases and time it, warm and cold.

Run: python bench/bench_fix.py [--cases FILE ...] [--cold N] [--no-uv] [--verbose]

Default cases: ../shared/cases/pcreq-visible.jsonl and pcreq-dev.jsonl (the project's shared folder; give --cases
when it is elsewhere). Per file it prints, as the cases' README defines them: cases fixed %, anchor kept %,
format kept % (names, count, order, exact pins), installable % (no listed package's Requires-Dist broken by
another output pin), answers that uv resolves together (`uv pip compile` for the case's Python on Linux x86_64;
+cuXXX pins are checked with their labels stripped, because the PyTorch index is not reachable from here), the
median and worst seconds per case with a warm cache and with a cold one, the bytes fetched per case (cold), and
minimality (packages changed outside `implicated`). The same code path as `pinguard fix` runs
(pinguard.adapters.fix_session.repair).
"""

import argparse
import json
import re
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from packaging.specifiers import SpecifierSet  # noqa: E402
from packaging.version import Version  # noqa: E402

from pinguard import kb as kb_module  # noqa: E402
from pinguard.adapters.fix_session import repair  # noqa: E402
from pinguard.engines.resolver import FamilyData  # noqa: E402
from pinguard.errors import PinguardError  # noqa: E402
from pinguard.model import Anchor  # noqa: E402
from pinguard.sources.index import IndexClient  # noqa: E402
from pinguard.sources.metadata import IndexPackageData  # noqa: E402
from pinguard.sources.pins import parse_pins  # noqa: E402
from pinguard.specs import normalize  # noqa: E402

SHARED_CASES = os.path.join(os.path.dirname(ROOT), "shared", "cases")
DEFAULT_CASES = [os.path.join(SHARED_CASES, name) for name in ("pcreq-visible.jsonl", "pcreq-dev.jsonl")]
GPU = Version("7.5")  # the cases' host: GeForce RTX 2080 Ti (cases/README.md)
LAST_PATCH = {"3.6": "3.6.15", "3.7": "3.7.17"}  # uv reads X.Y as ">=X.Y", which old releases' Requires-Python reject


def run_case(kb, case, cache_dir):
    """(answer lines or None, error, seconds, bytes fetched, package data)"""
    client = IndexClient(cache_dir=cache_dir)
    python = Version(case["python"])
    env = parse_pins("\n".join(case["env"]), case["id"])
    start = time.perf_counter()
    try:
        result = repair(kb, client, env, [Anchor.parse(case["anchor"])], python, traceback=case["traceback"],
                        gpu=GPU)
        answer = ["%s==%s" % pin for pin in result.pins] if result.ok else None
        error = result.impossible
    except PinguardError as exc:
        answer, error = None, str(exc)
    return answer, error, time.perf_counter() - start, client.bytes_fetched, IndexPackageData(client, python)


def alternatives(case):
    return list(case.get("alternatives") or []) + list(case.get("acceptable_alternatives") or [])


def score(kb, case, answer, data):
    """(fixed, anchor_kept, format_kept, installable, changed_outside_implicated)"""
    if answer is None:
        return False, False, False, False, 0
    env_names = [normalize(line.split("==")[0]) for line in case["env"]]
    names = [normalize(line.split("==")[0]) for line in answer]
    versions = {normalize(line.split("==")[0]): Version(line.split("==", 1)[1]) for line in answer}
    format_kept = names == env_names and len(set(names)) == len(names) and all("==" in line for line in answer)
    anchor = Anchor.parse(case["anchor"])
    anchor_kept = anchor.name in versions and SpecifierSet("==%s" % anchor.version.base_version).contains(
        versions[anchor.name], prereleases=True)

    def within(table):
        return all(normalize(n) in versions and SpecifierSet(s).contains(versions[normalize(n)], prereleases=True)
                   for n, s in table.items())

    fix_chosen = within(case["acceptable"]) or any(within(alt) for alt in alternatives(case))
    installable = _installable(kb, case, versions, data)
    before = {normalize(line.split("==")[0]): Version(line.split("==", 1)[1]) for line in case["env"]}
    implicated = {normalize(n) for n in case["implicated"]}
    outside = sum(1 for n, v in versions.items() if n not in implicated and before.get(n) != v)
    return fix_chosen and anchor_kept and format_kept and installable, anchor_kept, format_kept, installable, outside


def _installable(kb, case, versions, data):
    family = FamilyData(kb, data, Version(case["python"]), GPU)
    for name, version in versions.items():
        try:
            requirements = family.requires(name, version)
        except PinguardError:
            continue
        for requirement in requirements:
            other = normalize(requirement.name)
            if other in versions and other != name and not requirement.specifier.contains(versions[other],
                                                                                          prereleases=True):
                return False
    return True


def find_uv(workdir):
    uv = shutil.which("uv")
    if uv is None:
        venv = os.path.join(workdir, "uv-venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "uv"], check=True)
        uv = os.path.join(venv, "bin", "uv")
    return uv


def uv_resolves(uv, answer, python, workdir, index):
    """(outcome, why) of `uv pip compile` on the answer with every dependency (labels stripped: no PyTorch index
    here). outcome: "ok"; "conflict" (no solution); "unjudged" when uv cannot read a package's metadata at all (an
    old sdist it cannot build with today's setuptools, metadata it rejects), which says nothing about the pins."""
    path = os.path.join(workdir, "answer-%d.txt" % index)
    with open(path, "w") as handle:
        handle.write("\n".join(line.split("+")[0] for line in answer) + "\n")
    args = [uv, "pip", "compile", "--python-version", LAST_PATCH.get(python, python), "--python-platform",
            "x86_64-unknown-linux-gnu", "--no-header", "-q", "--index-url", "https://pypi.org/simple", path]
    process = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    if process.returncode == 0:
        return "ok", ""
    first = process.stderr.strip().splitlines()[:1]
    unreadable = re.search(r"Failed to build `([^`]+)`|Because (\S+) has invalid metadata", process.stderr)
    if unreadable:
        return "unjudged", "cannot read %s" % (unreadable.group(1) or unreadable.group(2))
    return "conflict", " ".join(first)


def bench_file(kb, path, args, uv, workdir):
    with open(path) as handle:
        cases = [json.loads(line) for line in handle if line.strip()]
    warm_cache = args.cache_dir or os.path.join(workdir, "warm")
    for case in cases:  # fill the cache once
        run_case(kb, case, warm_cache)
    rows, warm, outcomes = [], [], {"ok": 0, "conflict": 0, "unjudged": 0}
    unjudged = set()
    for index, case in enumerate(cases):
        answer, error, seconds, _, data = run_case(kb, case, warm_cache)
        warm.append(seconds)
        result = score(kb, case, answer, data)
        rows.append(result)
        uv_note = ""
        if uv and answer:
            outcome, why = uv_resolves(uv, answer, case["python"], workdir, index)
            outcomes[outcome] += 1
            if outcome == "unjudged":
                unjudged.add(why.split()[-1])
            uv_note = "" if outcome == "ok" else " uv %s: %s" % (outcome, why[:160])
        changed = [line for line in (answer or []) if line not in case["env"]]
        if args.verbose or not result[0] or uv_note:
            print("%-62s %s %5.2fs outside=%d %s%s" % (case["id"][:62], "ok  " if result[0] else "FAIL", seconds,
                                                     result[4], error or " ".join(changed), uv_note))
    cold_cases = cases if args.cold == 0 else cases[:: max(1, len(cases) // args.cold)][: args.cold]
    cold, fetched = [], []
    for case in cold_cases:
        cache = tempfile.mkdtemp(dir=workdir)
        _, _, seconds, size, _ = run_case(kb, case, cache)
        cold.append(seconds)
        fetched.append(size)
    n = len(cases)
    pct = lambda k: 100.0 * sum(1 for r in rows if r[k]) / n  # noqa: E731
    print("")
    print("cases: %d (%s)" % (n, os.path.basename(path)))
    print("fixed: %.1f%%  anchor kept: %.1f%%  format kept: %.1f%%  installable: %.1f%%" % (
        pct(0), pct(1), pct(2), pct(3)))
    if uv:
        judged = outcomes["ok"] + outcomes["conflict"]
        unread = "; %d not judged: uv cannot read %s, kept from the input" % (
            outcomes["unjudged"], ", ".join(sorted(unjudged))) if outcomes["unjudged"] else ""
        print("uv pip compile resolves %d of %d answers it can judge (%.1f%%), %d conflicts%s" % (
            outcomes["ok"], judged, 100.0 * outcomes["ok"] / max(1, judged), outcomes["conflict"], unread))
    print("minimality: %d packages changed outside `implicated` in total (max %d in one case)" % (
        sum(r[4] for r in rows), max(r[4] for r in rows)))
    print("warm cache: median %.2f s, worst %.2f s per case" % (statistics.median(warm), max(warm)))
    print("cold cache: median %.2f s, worst %.2f s per case (%d cases)" % (
        statistics.median(cold), max(cold), len(cold)))
    print("bytes fetched per case (cold): median %d, max %d" % (statistics.median(fetched), max(fetched)))
    print("")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, metavar="FILE")
    parser.add_argument("--cold", type=int, default=10, help="cases timed with a cold cache per file (0 = all)")
    parser.add_argument("--no-uv", action="store_true", help="skip checking the answers with uv pip compile")
    parser.add_argument("--verbose", action="store_true", help="a line per case: time, changes")
    parser.add_argument("--cache-dir", help="keep the warm cache here between runs (default: a temporary one)")
    args = parser.parse_args()
    missing = [path for path in args.cases if not os.path.isfile(path)]
    if missing:
        print("bench_fix: shared/ is missing: no cases at %s (give --cases PATH, a JSON-lines file of repair cases)"
              % missing[0], file=sys.stderr)
        return 2
    import logging

    logging.getLogger("pinguard").setLevel(logging.ERROR)
    kb = kb_module.load()
    workdir = tempfile.mkdtemp(prefix="pinguard-bench-")
    try:
        uv = None if args.no_uv else find_uv(workdir)
        for path in args.cases:
            bench_file(kb, path, args, uv, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
