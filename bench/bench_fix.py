"""Score `pinguard fix` on the repair cases and time it, warm and cold.

Run: python bench/bench_fix.py [--cases PATH] [--cold N] [--uv]

Prints, per the cases' README: cases fixed %, anchor kept %, format kept % (names, count, order, exact pins),
installable % (no listed package's Requires-Dist broken by another output pin), minimality (packages changed
outside `implicated`), the median and worst seconds per case with a warm cache and with a cold one, and the bytes
fetched for the metadata of one torch release. With --uv, also how many answers `uv pip compile --python-version
3.7` resolves (the seeds' and the cases').
"""

import argparse
import json
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
from pinguard.engines.fix import FamilyData, fix  # noqa: E402
from pinguard.errors import PinguardError  # noqa: E402
from pinguard.model import Anchor  # noqa: E402
from pinguard.sources.index import IndexClient  # noqa: E402
from pinguard.sources.metadata import IndexPackageData  # noqa: E402
from pinguard.sources.pins import parse_pins  # noqa: E402
from pinguard.specs import normalize  # noqa: E402

DEFAULT_CASES = os.path.join(os.path.dirname(ROOT), "shared", "cases", "pcreq-visible.jsonl")
GPU = Version("7.5")  # the cases' host: GeForce RTX 2080 Ti (cases/README.md)


def run_case(kb, case, cache_dir):
    client = IndexClient(cache_dir=cache_dir)
    python = Version(case["python"])
    data = IndexPackageData(client, python)
    env = parse_pins("\n".join(case["env"]), case["id"])
    start = time.perf_counter()
    try:
        result = fix(kb, data, env, [Anchor.parse(case["anchor"])], python, traceback=case["traceback"], gpu=GPU)
        answer = ["%s==%s" % pin for pin in result.pins] if result.ok else None
        error = result.impossible
    except PinguardError as exc:
        answer, error = None, str(exc)
    return answer, error, time.perf_counter() - start, data


def score(kb, case, answer, data):
    """(fixed, anchor_kept, format_kept, installable, changed_outside_implicated)"""
    if answer is None:
        return False, False, False, False, 0
    env_names = [normalize(line.split("==")[0]) for line in case["env"]]
    names = [normalize(line.split("==")[0]) for line in answer]
    versions = {normalize(line.split("==")[0]): Version(line.split("==", 1)[1]) for line in answer}
    format_kept = names == env_names and len(set(names)) == len(names) and all("==" in l for l in answer)
    anchor = Anchor.parse(case["anchor"])
    anchor_kept = anchor.name in versions and SpecifierSet("==%s" % anchor.version.base_version).contains(
        versions[anchor.name], prereleases=True)

    def within(table):
        return all(normalize(n) in versions and SpecifierSet(s).contains(versions[normalize(n)], prereleases=True)
                   for n, s in table.items())

    fix_chosen = within(case["acceptable"]) or any(within(alt) for alt in case["alternatives"])
    family = FamilyData(kb, data, Version(case["python"]), GPU)
    installable = True
    for name, version in versions.items():
        try:
            requirements = family.requires(name, version)
        except PinguardError:
            continue
        for requirement in requirements:
            other = normalize(requirement.name)
            if other in versions and other != name and not requirement.specifier.contains(versions[other],
                                                                                          prereleases=True):
                installable = False
    before = {normalize(l.split("==")[0]): Version(l.split("==", 1)[1]) for l in case["env"]}
    implicated = {normalize(n) for n in case["implicated"]}
    outside = sum(1 for n, v in versions.items() if n not in implicated and before.get(n) != v)
    return fix_chosen and anchor_kept and format_kept and installable, anchor_kept, format_kept, installable, outside


def torch_metadata_bytes():
    with tempfile.TemporaryDirectory() as cache:
        client = IndexClient(cache_dir=cache)
        files = [f for f in client.project("torch") if str(f.version) == "1.10.0" and "cp37" in f.filename
                 and "manylinux" in f.filename]
        page = client.bytes_fetched
        client.metadata(files[0])
        return client.bytes_fetched - page, page


def uv_compile_count(answers, workdir):
    uv = shutil.which("uv")
    if uv is None:
        venv = os.path.join(workdir, "uv-venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "uv"], check=True)
        uv = os.path.join(venv, "bin", "uv")
    ok = 0
    for index, answer in enumerate(answers):
        path = os.path.join(workdir, "answer-%d.txt" % index)
        with open(path, "w") as handle:
            handle.write("\n".join(answer) + "\n")
        args = [uv, "pip", "compile", "--python-version", "3.7", "--python-platform", "x86_64-unknown-linux-gnu",
                "--no-header", "-q", path]
        if any("+" in line for line in answer):
            args += ["--extra-index-url", "https://download.pytorch.org/whl/cu111"]
        if subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            ok += 1
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--cold", type=int, default=10, help="cases timed with a cold cache (0 = all)")
    parser.add_argument("--uv", action="store_true", help="also count answers uv pip compile resolves")
    parser.add_argument("--verbose", action="store_true", help="a line per case: time, changes")
    parser.add_argument("--cache-dir", help="keep the warm cache here between runs (default: a temporary one)")
    args = parser.parse_args()
    if not os.path.isfile(args.cases):
        print("bench_fix: shared/ is missing: no cases at %s (give --cases PATH, a JSON-lines file of repair cases)"
              % args.cases, file=sys.stderr)
        return 2
    import logging

    logging.getLogger("pinguard").setLevel(logging.ERROR)
    kb = kb_module.load()
    with open(args.cases) as handle:
        cases = [json.loads(line) for line in handle if line.strip()]
    workdir = tempfile.mkdtemp(prefix="pinguard-bench-")
    warm_cache = args.cache_dir or os.path.join(workdir, "warm")
    for case in cases:  # fill the cache once
        run_case(kb, case, warm_cache)
    rows, warm, answers = [], [], []
    for case in cases:
        answer, error, seconds, data = run_case(kb, case, warm_cache)
        warm.append(seconds)
        result = score(kb, case, answer, data)
        rows.append(result)
        if answer:
            answers.append(answer)
        if args.verbose or not result[0]:
            changed = [l for l in (answer or []) if l not in case["env"]]
            print("%-58s %s %5.2fs outside=%d %s" % (case["id"], "ok  " if result[0] else "FAIL", seconds, result[4],
                                                  error or " ".join(changed)))
    cold_cases = cases if args.cold == 0 else cases[:: max(1, len(cases) // args.cold)][: args.cold]
    cold = []
    for case in cold_cases:
        cache = tempfile.mkdtemp(dir=workdir)
        cold.append(run_case(kb, case, cache)[2])
    n = len(cases)
    pct = lambda k: 100.0 * sum(1 for r in rows if r[k]) / n  # noqa: E731
    print("")
    print("cases: %d (%s)" % (n, os.path.relpath(args.cases, ROOT)))
    print("fixed: %.1f%%  anchor kept: %.1f%%  format kept: %.1f%%  installable: %.1f%%" % (
        pct(0), pct(1), pct(2), pct(3)))
    print("minimality: %d packages changed outside `implicated` in total (max %d in one case)" % (
        sum(r[4] for r in rows), max(r[4] for r in rows)))
    print("warm cache: median %.2f s, worst %.2f s per case" % (statistics.median(warm), max(warm)))
    print("cold cache: median %.2f s, worst %.2f s per case (%d cases)" % (
        statistics.median(cold), max(cold), len(cold)))
    metadata, page = torch_metadata_bytes()
    print("torch 1.10.0 metadata: %d bytes fetched (+ %d bytes for torch's index page)" % (metadata, page))
    if args.uv:
        print("uv pip compile --python-version 3.7 resolves %d of %d answers" % (
            uv_compile_count(answers, workdir), len(answers)))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
