"""Time pinguard's conda hooks (pre-solve + post-solve) on a realistic anchored environment of 300 records.

Run: python bench/bench_conda_hooks.py [--repeat N] [--records 300]

The environment is built in a temporary directory: the EchoFusion-like core of tests/conda_fixtures.py (Python 3.7,
pytorch 1.10.0 for CUDA 11.3 from the pytorch channel, conda's numpy 1.19.5, cudatoolkit 11.3.1) plus filler records
of the same shape as conda writes them (name, version, build, build_number, channel, subdir, depends, files,
paths_data; pytorch with 8,000 files, python with 4,000), site-packages dist-infos, protected by `pinguard init
torch==1.10.0+cu113 numpy==1.19.5 --prefix` (pinguard.toml, conda-meta/pinned, etc/pinguard/guard.json, ...).

What "adds to a conda command" means here: conda runs both hooks once per solve in a fresh process, so each sample
is a fresh interpreter that imports the plugin module and calls pre_solve and post_solve once, timed inside the
process (interpreter start-up excluded, pinguard's imports and the first load of the knowledge base included).
Byte code is compiled before timing (as a pip or conda install does), and the knowledge-base snapshot
(pinguard/kb_cache.py) is warmed by one untimed run; the very first run after an install or a knowledge edit, which
builds the snapshot, is reported separately. Scenarios:

- unrelated: `conda install requests` (touches nothing the anchor or the knowledge base speaks of);
- guarded, allowed: a transaction on a package the rules speak of (setuptools 58.0.4 -> 57.5.0);
- refused before solving: `conda install numpy=1.21`;
- refused after solving: pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0 replaced by 1.11.0.

Target: under 50 ms per conda command (both hooks) in every scenario. The machine's load shows in the spread of
the runs: compare the median with the minimum (the cost without interference) before reading a miss as a regression.
"warm" is a second call in the same process (imports and the knowledge base already loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.conda_fixtures import BASE_ENV, make_env, record_json, write_dist, write_record  # noqa: E402

TARGET_MS = 50.0
ANCHORS = ["torch==1.10.0+cu113", "numpy==1.19.5"]

SCENARIOS = {
    "unrelated": ("[Spec('requests')]", "[]", "[]", "records('requests-2.27.1-pyhd8ed1ab_0')"),
    "guarded, allowed": ("[Spec('setuptools=57.5')]", "[]", "records('setuptools-58.0.4-py37h06a4308_0')",
                         "records('setuptools-57.5.0-py37h06a4308_0')"),
    "refused before solving": ("[Spec('numpy=1.21')]", "[]", "[]", "[]"),
    "refused after solving": ("[Spec('pytorch')]", "[]", "records('pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0')",
                              "records('pytorch-1.11.0-py3.7_cuda11.3_cudnn8.3.2_0')"),
}

# Standard modules pinguard's conda path imports that conda (26.7, `conda install`) has already imported when its
# hooks run (measured: the only standard module the hooks add is tomllib); the probe preloads them so that each
# sample counts what the plugin adds to conda, not what conda itself costs.
CONDA_PRELOADED = ("ast", "copy", "dataclasses", "datetime", "dis", "fcntl", "hashlib", "inspect", "json", "linecache",
                   "locale", "logging", "opcode", "pickle", "platform", "select", "selectors", "signal", "string",
                   "subprocess", "sysconfig", "textwrap", "token", "tokenize", "traceback", "fnmatch", "tempfile")

PROBE = r"""
import sys, time, json, importlib
sys.path.insert(0, {root!r})
for name in {preloaded!r}:
    importlib.import_module(name)
from tests.conda_fixtures import Spec, records
start = time.perf_counter()
import pinguard.adapters.conda_plugin as plugin
outcome = "allowed"
try:
    plugin.pre_solve({add}, {remove}, prefix={prefix!r})
    first = time.perf_counter()
    plugin.post_solve("repodata.json", {unlink}, {link}, prefix={prefix!r})
except plugin.PinguardRefusal:
    outcome = "refused"
end = time.perf_counter()
again = time.perf_counter()
try:
    plugin.pre_solve({add}, {remove}, prefix={prefix!r})
    plugin.post_solve("repodata.json", {unlink}, {link}, prefix={prefix!r})
except plugin.PinguardRefusal:
    pass
warm = time.perf_counter() - again
print(json.dumps({{"ms": (end - start) * 1000, "warm_ms": warm * 1000, "outcome": outcome}}))
"""


def build_prefix(directory: str, count: int) -> str:
    rng = random.Random(300)
    prefix = make_env(os.path.join(directory, "env"), anchors=ANCHORS)
    # the big ones, with the file counts of the real packages
    write_record(prefix, record_json("pytorch", "1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0", "pytorch",
                                     BASE_ENV[13][4], 8000))
    write_record(prefix, record_json("python", "3.7.12", "hb7a2778_100_cpython", "conda-forge", BASE_ENV[4][4], 4000))
    for index in range(count - len(BASE_ENV)):
        name = "pkg-%03d-%s" % (index, rng.choice(["lib", "py", "r", "x11", "font"]))
        version = "%d.%d.%d" % (rng.randint(0, 12), rng.randint(0, 30), rng.randint(0, 9))
        build = rng.choice(["py37h%07x_%d" % (rng.randrange(16 ** 7), rng.randint(0, 3)),
                            "h%07x_%d" % (rng.randrange(16 ** 7), rng.randint(0, 3)), "pyhd8ed1ab_0"])
        files = int(rng.lognormvariate(3.5, 1.2))
        depends = ["python >=3.7,<3.8.0a0", "libgcc-ng >=9.3.0"][: rng.randint(0, 2)]
        write_record(prefix, record_json(name, version, build, rng.choice(["conda-forge", "defaults"]), depends,
                                         min(files, 3000)))
        if build.startswith("py"):
            write_dist(prefix, name, version, "conda")
    for index in range(20):
        write_dist(prefix, "pipdist-%02d" % index, "1.%d.0" % index, "pip")
    os.unlink(os.path.join(prefix, "pinguard.toml"))
    from pinguard.adapters.protect import init

    init(ANCHORS, None, None, False, [], prefix=prefix)  # `pinguard init ANCHORS --prefix PREFIX`
    return prefix


def run_probe(prefix: str, scenario, env) -> dict:
    add, remove, unlink, link = scenario
    code = PROBE.format(root=ROOT, prefix=prefix, add=add, remove=remove, unlink=unlink, link=link,
                        preloaded=CONDA_PRELOADED)
    out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--records", type=int, default=300)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="pinguard-bench-conda-")
    try:
        prefix = build_prefix(work, args.records)
        meta = os.path.join(prefix, "conda-meta")
        sizes = [os.path.getsize(os.path.join(meta, n)) for n in os.listdir(meta) if n.endswith(".json")]
        print("environment: %d conda-meta records, %.1f MB of JSON (largest %.1f MB), %d dist-infos" % (
            len(sizes), sum(sizes) / 1e6, max(sizes) / 1e6,
            len(os.listdir(os.path.join(prefix, "lib", "python3.7", "site-packages")))))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PINGUARD_CONDA")}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
        env["PINGUARD_CACHE_DIR"] = os.path.join(work, "cache")
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "pinguard"),
                        os.path.join(ROOT, "tests", "conda_fixtures.py")], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        cold = run_probe(prefix, SCENARIOS["guarded, allowed"], env)
        print("first run after install (builds the knowledge-base snapshot): %.1f ms" % cold["ms"])
        print("%-24s %9s %10s %8s %9s  %s" % ("scenario", "outcome", "median ms", "min ms", "warm ms", "runs (ms)"))
        worst = 0.0
        for name, scenario in SCENARIOS.items():
            samples = [run_probe(prefix, scenario, env) for _ in range(args.repeat)]
            median = statistics.median(s["ms"] for s in samples)
            warm = statistics.median(s["warm_ms"] for s in samples)
            worst = max(worst, median)
            print("%-24s %9s %10.1f %8.1f %9.2f  %s" % (name, samples[0]["outcome"], median,
                                                        min(s["ms"] for s in samples), warm,
                                                        " ".join("%.0f" % s["ms"] for s in samples)))
        print("target: under %.0f ms per conda command (pre-solve + post-solve, fresh process); worst median %.1f ms "
              "-> %s" % (TARGET_MS, worst, "met" if worst < TARGET_MS else "NOT met"))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
