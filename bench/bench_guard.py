"""What does guarding cost? `pinguard pip install X` against `pip install X`, same request, same run.

Each repeat makes two fresh virtual environments (untimed), protects both with the same `pinguard init ANCHOR`
(so pip reads the same pip.conf constraints in both), then times `python -m pip install X` in one and
`pinguard pip install --python ... X` in the other, alternating which goes first. The pip cache is warmed once
before the first repeat, so both download nothing. Prints the medians and their ratio.

    python bench/bench_guard.py                      # requests, 7 repeats, this interpreter
    python bench/bench_guard.py --package six --repeats 11 --python ~/.pyenv/versions/3.7.16/bin/python \\
        --anchor numpy==1.19.5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environ() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PINGUARD_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONPATH"] = ROOT
    return env


def run(argv, env, check=True) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True,
                            env=env)
    elapsed = time.perf_counter() - start
    if check and result.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), result.stderr[-2000:]))
    return elapsed


def fresh(base: str, python: str, anchor: str, env: dict) -> str:
    path = tempfile.mkdtemp(prefix="venv-", dir=base)
    run([python, "-m", "venv", path], env)
    venv_python = os.path.join(path, "bin", "python")
    run([sys.executable, "-m", "pinguard", "init", anchor, "--python", venv_python], env)
    return venv_python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter the venvs are made from")
    parser.add_argument("--package", default="requests", help="what to install (default: requests, 5 wheels)")
    parser.add_argument("--anchor", default="torch==2.1.0", help="the anchor both environments get")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    env = environ()
    base = tempfile.mkdtemp(prefix="pinguard-bench-")
    try:
        warm = fresh(base, args.python, args.anchor, env)
        run([warm, "-m", "pip", "install", args.package], env)  # fills the pip cache (wheels, index pages)
        pip_version = subprocess.run([warm, "-m", "pip", "--version"], stdout=subprocess.PIPE,
                                     universal_newlines=True).stdout.split()[1]
        plain, guarded = [], []
        for index in range(args.repeats):
            a = fresh(base, args.python, args.anchor, env)
            b = fresh(base, args.python, args.anchor, env)
            jobs = [("pip", [a, "-m", "pip", "install", args.package]),
                    ("pinguard", [sys.executable, "-m", "pinguard", "pip", "install", "--python", b, args.package])]
            if index % 2:
                jobs.reverse()
            for name, argv in jobs:
                (plain if name == "pip" else guarded).append(run(argv, env))
            shutil.rmtree(os.path.dirname(os.path.dirname(a)))
            shutil.rmtree(os.path.dirname(os.path.dirname(b)))
        p, g = statistics.median(plain), statistics.median(guarded)
        print("pip %s, Python from %s, request: %s, anchor: %s, %d repeats, warm cache" % (
            pip_version, args.python, args.package, args.anchor, args.repeats))
        print("  pip install           median %.3f s  (min %.3f, max %.3f)" % (p, min(plain), max(plain)))
        print("  pinguard pip install  median %.3f s  (min %.3f, max %.3f)" % (g, min(guarded), max(guarded)))
        print("  ratio %.3f  (overhead %+.1f%%)" % (g / p, (g / p - 1) * 100))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
