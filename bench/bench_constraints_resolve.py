"""Resolve every constraints/ file with uv, for the oldest and the newest Python its header lists.

Run: python bench/bench_constraints_resolve.py [--files NAME ...] [--uv PATH] [--jobs N]

"Resolves" means: the file's exact pins (the torch family) as requirements and the whole file as constraints,

    uv pip compile pins.txt -c file.txt --python-version X.Y --python-platform x86_64-unknown-linux-gnu \
        --only-binary :all:

so every pin has a wheel for that Python on Linux x86_64, and the pins agree with each other's Requires-Dist and
with the file's bounds. X.Y is passed as X.Y.99, any patch release of X.Y (uv reads a bare X.Y as X.Y.0, which
torch 1.9.1's Requires-Python >=3.6.2 excludes). Pins with a `+label` (torch's builds that are not on PyPI) are resolved against the index
the file names when that index answers; when it does not (the PyTorch index is unreachable from the project's
machines) the labels and the index option are stripped and the output says so: the PyPI build of the same
release is resolved instead. uv targets Python 3.6 and later; a file's Pythons below that (2.7 and 3.5, torch
1.0-1.4) are reported as not checked. uv is taken from --uv, from PATH, or installed from PyPI into a temporary
virtual environment. Exit 0 when every checked file resolves, 1 otherwise.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from packaging.requirements import InvalidRequirement, Requirement  # noqa: E402
from packaging.version import Version  # noqa: E402

DIRECTORY = os.path.join(ROOT, "constraints")
PLATFORM = "x86_64-unknown-linux-gnu"
UV_OLDEST = Version("3.6")  # uv refuses --python-version below 3.6
PYTORCH_INDEX = "https://download.pytorch.org/whl/"
_LABEL = re.compile(r"(===?\s*[^\s;,+]+)\+[A-Za-z0-9.]+")
_INDEX_OPTIONS = ("--find-links", "--extra-index-url", "--index-url", "-f")


def find_uv(explicit: Optional[str]) -> str:
    """uv from --uv, PATH, or a temporary virtual environment with uv installed from PyPI."""
    if explicit:
        return explicit
    found = shutil.which("uv")
    if found:
        return found
    venv = tempfile.mkdtemp(prefix="bench-uv-")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q", "uv"], check=True)
    return os.path.join(venv, "bin", "uv")


def index_reachable(url: str = PYTORCH_INDEX, timeout: float = 10.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read(64)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def prepare(text: str, keep_labels: bool) -> Tuple[str, str, Tuple[str, ...]]:
    """(requirements, constraints, uv index arguments) for one constraints file."""
    requirements, constraints, index_args = [], [], []
    for raw in text.splitlines():
        line = raw.split(" #")[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith(_INDEX_OPTIONS):
            option, _, url = line.partition(" ")
            if keep_labels:
                index_args += ["--find-links" if option in ("-f", "--find-links") else option, url.strip()]
            continue
        if not keep_labels:
            line = _LABEL.sub(r"\1", line)
        constraints.append(line)
        try:
            specifiers = list(Requirement(line).specifier)
        except InvalidRequirement:
            continue
        if len(specifiers) == 1 and specifiers[0].operator in ("==", "==="):
            requirements.append(line)
    if index_args:
        index_args += ["--index-strategy", "unsafe-best-match"]
    return "\n".join(requirements) + "\n", "\n".join(constraints) + "\n", tuple(index_args)


def targets(pythons: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(the oldest and newest Pythons uv can target, the listed Pythons it cannot)."""
    usable = [p for p in pythons if Version(p) >= UV_OLDEST]
    skipped = [p for p in pythons if Version(p) < UV_OLDEST]
    return sorted({usable[0], usable[-1]}, key=Version) if usable else [], skipped


def compile_once(uv: str, job: Tuple[str, str, Tuple[str, ...], str], timeout: int = 900) -> Tuple[bool, str]:
    """Run uv pip compile for one (requirements, constraints, index args, Python); (resolved?, first error line)."""
    requirements, constraints, index_args, python = job
    with tempfile.TemporaryDirectory(prefix="bench-resolve-") as work:
        req, cons = os.path.join(work, "pins.txt"), os.path.join(work, "constraints.txt")
        with open(req, "w") as handle:
            handle.write(requirements)
        with open(cons, "w") as handle:
            handle.write(constraints)
        command = [uv, "pip", "compile", req, "-c", cons, "--python-version", python + ".99", "--python-platform",
                   PLATFORM, "--only-binary", ":all:", "--no-header", "--quiet"] + list(index_args)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
        if os.environ.get("UV_CACHE_DIR"):
            env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
        for attempt in range(3):
            try:
                result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        universal_newlines=True, timeout=timeout, env=env)
            except subprocess.TimeoutExpired:
                return False, "uv timed out after %d s" % timeout
            if result.returncode == 0:
                return True, ""
            error = _first_error(result.stderr)
            if not _looks_like_network(result.stderr):
                return False, error
            time.sleep(2 * (attempt + 1))
        return False, error


def _first_error(stderr: str) -> str:
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for index, line in enumerate(lines):
        if "No solution found" in line or line.startswith("error"):
            return " ".join(lines[index:index + 3])[:400]
    return " ".join(lines[:3])[:400]


def _looks_like_network(text: str) -> bool:
    return any(m in text for m in ("Failed to fetch", "error sending request", "operation timed out", "dns error",
                                   "Connection reset", "tcp connect error"))


def plan(entries: Sequence[Dict[str, object]], keep_labels: bool):
    """Per file: its jobs (one per target Python) and why some of its Pythons cannot be checked."""
    from pinguard import kb as kb_module

    kb = kb_module.load()
    planned = []
    for entry in entries:
        with open(os.path.join(DIRECTORY, str(entry["file"])), encoding="utf-8") as handle:
            requirements, constraints, index_args = prepare(handle.read(), keep_labels)
        pythons, skipped = targets(list(entry["python"]))  # type: ignore[arg-type]
        if not keep_labels and not kb.release(Version(str(entry["torch"]))).on_pypi:
            pythons, skipped = [], ["all: torch %s is only on the PyTorch index" % entry["torch"]]
        jobs = [(requirements, constraints, index_args, python) for python in pythons]
        planned.append((entry, jobs, skipped))
    return planned


def run(uv: str, entries: Sequence[Dict[str, object]], jobs: int, keep_labels: bool) -> int:
    planned = plan(entries, keep_labels)
    distinct = sorted({job for _, file_jobs, _ in planned for job in file_jobs}, key=lambda j: (j[3], j[0]))
    print("%d files, %d resolutions (%d distinct after label stripping), uv %s" % (
        len(planned), sum(len(j) for _, j, _ in planned), len(distinct), uv_version(uv)))
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = dict(zip(distinct, pool.map(lambda job: compile_once(uv, job), distinct)))
    return report(planned, results, time.perf_counter() - start)


def report(planned, results, seconds: float) -> int:
    per_python: Dict[str, List[int]] = {}
    failures, unchecked, skipped_pythons = [], [], {}
    for entry, file_jobs, skipped in planned:
        for job in file_jobs:
            ok, error = results[job]
            counts = per_python.setdefault(job[3], [0, 0])
            counts[0] += ok
            counts[1] += 1
            if not ok:
                failures.append("%s on Python %s: %s" % (entry["file"], job[3], error))
        if not file_jobs:
            unchecked.append("%s (%s)" % (entry["file"], "; ".join(skipped)))
        for python in skipped if file_jobs else ():
            skipped_pythons[python] = skipped_pythons.get(python, 0) + 1
    print("resolved per Python (oldest and newest each file lists):")
    for python in sorted(per_python, key=Version):
        print("  Python %-5s %3d/%d files" % (python, per_python[python][0], per_python[python][1]))
    checked = [file_jobs for _, file_jobs, _ in planned if file_jobs]
    files_ok = sum(all(results[j][0] for j in file_jobs) for file_jobs in checked)
    print("files resolved on every checked Python: %d/%d (%.0f s)" % (files_ok, len(checked), seconds))
    if skipped_pythons:
        print("listed Pythons uv cannot target (%s+), not checked: %s" % (UV_OLDEST, ", ".join(
            "%s in %d files" % (p, n) for p, n in sorted(skipped_pythons.items(), key=lambda kv: Version(kv[0])))))
    for line in unchecked:
        print("not checked at all: " + line)
    for failure in failures:
        print("FAILED " + failure)
    return 1 if failures else 0


def uv_version(uv: str) -> str:
    out = subprocess.run([uv, "--version"], stdout=subprocess.PIPE, universal_newlines=True).stdout.split()
    return out[1] if len(out) > 1 else "?"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", help="constraints file names (default: every file in index.json)")
    parser.add_argument("--uv", help="the uv executable (default: PATH, else installed into a temporary venv)")
    parser.add_argument("--jobs", type=int, default=2, help="uv processes at once (default 2)")
    args = parser.parse_args(argv)
    with open(os.path.join(DIRECTORY, "index.json"), encoding="utf-8") as handle:
        entries = json.load(handle)
    if args.files:
        unknown = sorted(set(args.files) - {e["file"] for e in entries})
        if unknown:
            parser.error("not in constraints/index.json: %s" % ", ".join(unknown))
        entries = [e for e in entries if e["file"] in args.files]
    keep_labels = index_reachable()
    if keep_labels:
        print("the PyTorch index answers: +label pins are resolved against the index each file names")
    else:
        print("the PyTorch index (%s) is not reachable: +label pins are stripped to the PyPI release and the "
              "index options dropped" % PYTORCH_INDEX)
    return run(find_uv(args.uv), entries, args.jobs, keep_labels)


if __name__ == "__main__":
    sys.exit(main())
