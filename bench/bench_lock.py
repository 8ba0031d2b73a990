"""Time `pinguard lock` against `uv pip compile --generate-hashes` on the same inputs, in one run, warm and cold;
print the ratios, and what each tool writes for the same input (the "why not just uv lock" table).

Run: python bench/bench_lock.py [--uv PATH] [--sets small,a,b] [--warm N] [--cold N] [--pip-compile PATH]

- uv: --uv, else PINGUARD_UV, else on PATH, else installed from PyPI into a temporary venv.
- cold: an empty uv cache and an empty pinguard cache for that run; warm: the caches of a previous run.
- pinguard lock runs with uv as its backend (what a user with uv gets) and with its own resolver (no uv).
- What each writes: the package count, setuptools and numpy, the torch build, and `pinguard check`'s findings for
  the anchor, on each tool's own output.
- pip-compile is timed only with --pip-compile PATH, on the Python 3.11 sets of its own interpreter: it cannot
  target Python 3.7 from a newer Python, and where an index serves no PEP 658 metadata it downloads whole torch
  wheels (670-882 MB) to read them, which this bench does not do by default.
Every subprocess runs with PIP_CONFIG_FILE=/dev/null and PyPI as the only index.
"""

import argparse
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

from pinguard import kb as kb_module  # noqa: E402
from pinguard.adapters.uv_lock import PLATFORM, parse_pins  # noqa: E402
from pinguard.engines.check import check  # noqa: E402
from pinguard.model import Anchor, Pin  # noqa: E402
from pinguard.sources.lock_reader import read_lock  # noqa: E402

INDEX = "https://pypi.org/simple"
SETS = {
    "small": ("3.7", "torch==1.10.0", ["six", "tqdm"]),
    "a": ("3.7", "torch==1.10.0", ["torch==1.10.0", "torchvision==0.11.1", "numpy", "scipy", "matplotlib",
                                   "opencv-python", "tensorboardX"]),
    "b": ("3.11", "torch==2.1.0", ["torch==2.1.0", "torchvision", "transformers", "accelerate", "datasets"]),
}


def find_uv(given):
    for candidate in (given, os.environ.get("PINGUARD_UV"), shutil.which("uv")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    venv = tempfile.mkdtemp(prefix="bench-uv-")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "uv"], check=True, env=_env({}))
    return os.path.join(venv, "bin", "uv")


def _env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PINGUARD_"))}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PYTHONPATH": ROOT})
    env.update(extra)
    return env


def run(command, extra, fresh_output=None):
    if fresh_output and os.path.exists(fresh_output):
        os.remove(fresh_output)  # uv then resolves without its previous answer, as pinguard's uv backend does
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            env=_env(extra))
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (result.returncode, " ".join(command), result.stderr[-2000:]))
    return elapsed, result.stdout


UV = "uv pip compile --generate-hashes"
FRESH_UV = "uv, no previous -o file"  # uv reads an existing output file as preferences: ~0.4 s faster warm


def commands(uv, python, anchor, work):
    """name -> (command, output file or None)."""
    inputs = os.path.join(work, "requirements.in")
    uv_out, lock_uv, lock_own = (os.path.join(work, n) for n in ("uv.txt", "pylock.uv.toml", "pylock.own.toml"))
    return {
        "uv pip compile --generate-hashes": ([uv, "pip", "compile", inputs, "--python-version", python,
                                              "--python-platform", PLATFORM, "--generate-hashes", "--no-header",
                                              "--quiet", "--no-config", "--index-url", INDEX, "-o", uv_out], uv_out),
        FRESH_UV: ([uv, "pip", "compile", inputs, "--python-version", python, "--python-platform", PLATFORM,
                    "--generate-hashes", "--no-header", "--quiet", "--no-config", "--index-url", INDEX, "-o",
                    os.path.join(work, "uv-fresh.txt")], os.path.join(work, "uv-fresh.txt")),
        "pinguard lock (uv backend)": ([sys.executable, "-m", "pinguard", "lock", inputs, "--anchor", anchor,
                                        "--python", python, "--index-url", INDEX, "-o", lock_uv, "-q"], lock_uv),
        "pinguard lock (own resolver)": ([sys.executable, "-m", "pinguard", "lock", inputs, "--anchor", anchor,
                                          "--python", python, "--index-url", INDEX, "-o", lock_own, "-q",
                                          "--backend", "pinguard"], lock_own),
    }


def time_set(uv, name, warm, cold):
    python, anchor, lines = SETS[name]
    work = tempfile.mkdtemp(prefix="bench-lock-%s-" % name)
    with open(os.path.join(work, "requirements.in"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    caches = {"UV_CACHE_DIR": os.path.join(work, "uv-cache"), "PINGUARD_CACHE_DIR": os.path.join(work, "pg-cache"),
              "PINGUARD_UV": uv}
    table = commands(uv, python, anchor, work)
    times = {tool: {"cold": [], "warm": []} for tool in table}
    for round_ in range(cold):
        for tool, (command, out) in table.items():
            fresh = dict(caches, UV_CACHE_DIR=tempfile.mkdtemp(prefix="uvc-"),
                         PINGUARD_CACHE_DIR=tempfile.mkdtemp(prefix="pgc-"))
            times[tool]["cold"].append(run(command, fresh, out if tool == FRESH_UV else None)[0])
    for tool, (command, out) in table.items():
        run(command, caches)  # fills the warm caches
    for round_ in range(warm):
        for tool, (command, out) in table.items():
            times[tool]["warm"].append(run(command, caches, out if tool == FRESH_UV else None)[0])
    outputs = {tool: out for tool, (_, out) in table.items()}
    return python, anchor, times, outputs


def written(kb, path, python, anchor):
    """(packages, setuptools, numpy, torch, findings) of one tool's output."""
    from packaging.version import Version

    if path.endswith(".toml"):
        pins = {p.name: str(p.version) for p in read_lock(path).packages}
    else:
        with open(path) as handle:
            pins = {n: str(v) for n, v in parse_pins("\n".join(
                line.split(" ")[0] for line in handle if not line.startswith((" ", "#")))).items()}
    pin_list = [Pin(n, n, SpecifierSet("==" + v)) for n, v in pins.items()]
    findings = check(kb, pin_list, [Anchor.parse(anchor)], python=Version(python)).violations
    return (len(pins), pins.get("setuptools", "-"), pins.get("numpy", "-"), pins.get("torch", "-"),
            ", ".join(sorted({v.rule for v in findings})) or "none")


def median(values):
    return statistics.median(values) if values else float("nan")


def report(kb, name, python, anchor, times, outputs):
    print("\nset %s: Python %s, anchor %s, %s" % (name, python, anchor, " ".join(SETS[name][2])))
    base = {kind: median(times[UV][kind]) for kind in ("warm", "cold")}
    fresh = median(times[FRESH_UV]["warm"])
    print("  %-34s %9s %9s %13s %13s %13s" % ("tool", "warm s", "cold s", "warm / uv", "warm / uv new", "cold - uv s"))
    for tool, kinds in times.items():
        warm, cold = median(kinds["warm"]), median(kinds["cold"])
        print("  %-34s %9.2f %9.2f %13.2f %13.2f %13.2f" % (tool, warm, cold, warm / base["warm"], warm / fresh,
                                                            cold - base["cold"]))
    print("  %-34s %8s %10s %8s %14s  %s" % ("what it writes", "packages", "setuptools", "numpy", "torch",
                                              "pinguard check findings"))
    for tool, path in outputs.items():
        if tool == FRESH_UV:
            continue
        print("  %-34s %8s %10s %8s %14s  %s" % ((tool,) + written(kb, path, python, anchor)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", help="uv to use (default: PINGUARD_UV, PATH, else installed into a temp venv)")
    parser.add_argument("--sets", default="small,a,b", help="comma-separated: %s" % ",".join(SETS))
    parser.add_argument("--warm", type=int, default=3, help="warm runs per tool (median)")
    parser.add_argument("--cold", type=int, default=2, help="cold runs per tool (median)")
    parser.add_argument("--pip-compile", help="pip-compile to time on the Python 3.11 sets (see the docstring)")
    args = parser.parse_args()
    uv = find_uv(args.uv)
    print("uv: %s (%s)" % (uv, subprocess.run([uv, "--version"], stdout=subprocess.PIPE,
                                             universal_newlines=True).stdout.strip()))
    if not args.pip_compile:
        print("pip-compile: skipped: it cannot lock for Python 3.7 from a newer Python, and on an index without "
              "PEP 658 metadata it downloads whole torch wheels (670-882 MB); give --pip-compile PATH to time it on "
              "the Python 3.11 sets")
    kb = kb_module.load()
    for name in args.sets.split(","):
        python, anchor, times, outputs = time_set(uv, name, args.warm, args.cold)
        if args.pip_compile and python == "%d.%d" % sys.version_info[:2]:
            out = os.path.join(os.path.dirname(outputs["pinguard lock (uv backend)"]), "pip-compile.txt")
            inputs = os.path.join(os.path.dirname(out), "requirements.in")
            elapsed, _ = run([args.pip_compile, "--generate-hashes", "--quiet", "--index-url", INDEX, "-o", out,
                              inputs], {})
            times["pip-compile --generate-hashes"] = {"warm": [elapsed], "cold": []}
            outputs["pip-compile --generate-hashes"] = out
        report(kb, name, python, anchor, times, outputs)


if __name__ == "__main__":
    main()
