"""Time `pinguard generate` for every torch release; print the median per anchor.

Run: python bench/bench_generate.py [--repeat N]
Figures: the pure engine (in-process, per anchor) and the whole command (subprocess, a sample of anchors),
the latter as a ratio against `python -m pip --version` measured in the same run (pip's own start-up cost).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pinguard import kb as kb_module  # noqa: E402
from pinguard.adapters.formats import render_pip  # noqa: E402
from pinguard.engines.generate import generate  # noqa: E402
from pinguard.model import Anchor  # noqa: E402


def median_seconds(action, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--cli-sample", type=int, default=5, help="anchors timed as whole commands")
    args = parser.parse_args()

    start = time.perf_counter()
    kb = kb_module.load()
    print("knowledge base load: %.1f ms (%d releases, %d rules)" % (
        (time.perf_counter() - start) * 1000, len(kb.releases), len(kb.rules)))
    medians = []
    print("%-10s %12s" % ("anchor", "median ms"))
    for release in kb.releases:
        anchors = [Anchor.parse("torch==%s" % release.torch)]
        build = None if release.on_pypi else release.builds[0]
        median = median_seconds(lambda: render_pip(kb, generate(kb, anchors, build=build)), args.repeat)
        medians.append(median)
        print("%-10s %12.2f" % (release.torch, median * 1000))
    print("engine: median of per-anchor medians %.2f ms, worst %.2f ms over %d anchors" % (
        statistics.median(medians) * 1000, max(medians) * 1000, len(medians)))

    env = dict(os.environ, PYTHONPATH=ROOT)
    sample = [str(r.torch) for r in kb.releases if r.on_pypi][:: max(1, len(kb.releases) // args.cli_sample)]
    cli = []
    for torch in sample:
        cli.append(median_seconds(lambda: subprocess.run(
            [sys.executable, "-m", "pinguard", "generate", "torch==%s" % torch], env=env, check=True,
            stdout=subprocess.DEVNULL), 5))
    pip = median_seconds(lambda: subprocess.run([sys.executable, "-m", "pip", "--version"], check=True,
                                                stdout=subprocess.DEVNULL), 5)
    print("command: median %.0f ms per `pinguard generate` (%d anchors); `pip --version` %.0f ms; ratio %.2fx" % (
        statistics.median(cli) * 1000, len(sample), pip * 1000, statistics.median(cli) / pip))


if __name__ == "__main__":
    main()
