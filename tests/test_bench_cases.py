"""bench/ is the only reader of ../shared: without it, bench_fix.py says so in one line instead of a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.conftest import ROOT, hermetic_env


def _bench(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, script] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=hermetic_env({"PYTHONPATH": ROOT}), timeout=120)


def test_bench_fix_without_shared_says_what_is_missing(tmp_path):
    clone = tmp_path / "clone" / "bench"  # a clone with no shared/ beside it
    clone.mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "bench", "bench_fix.py"), str(clone))
    result = _bench(str(clone / "bench_fix.py"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "bench_fix: shared/ is missing: no cases at %s (give --cases PATH, a JSON-lines file of repair cases)"
        % os.path.join(str(tmp_path), "shared", "cases", "pcreq-visible.jsonl")]
    given = _bench(os.path.join(ROOT, "bench", "bench_fix.py"), "--cases", str(tmp_path / "none.jsonl"))
    assert given.returncode == 2 and "give --cases PATH" in given.stderr and "Traceback" not in given.stderr
