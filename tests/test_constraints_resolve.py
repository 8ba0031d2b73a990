"""constraints/ files resolve with uv on the oldest and newest Python their header lists (a sample; the whole
folder is bench/bench_constraints_resolve.py). The sample holds the files an audit found broken: a member
without a wheel for one of the listed Pythons (1.10.2 on 3.6, 1.13.0 on 3.11, 2.5.0 on 3.13) and a +label file."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, hermetic_env
from tests.guard_helpers import uv_tool

pytestmark = [pytest.mark.network, pytest.mark.slow]

SAMPLE = ["torch-1.10.2-cu102.txt", "torch-1.13.0-cu117.txt", "torch-2.5.0-cu124.txt", "torch-1.9.1-cu111.txt"]


@pytest.fixture(scope="module")
def uv(tmp_path_factory):
    return uv_tool(tmp_path_factory)


def test_sample_of_constraints_files_resolves_on_its_oldest_and_newest_python(uv, network):
    script = os.path.join(ROOT, "bench", "bench_constraints_resolve.py")
    result = subprocess.run([sys.executable, script, "--uv", uv, "--files"] + SAMPLE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, env=hermetic_env(), timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "files resolved on every checked Python: 4/4" in result.stdout, result.stdout
    for python in ("3.6", "3.11", "3.13"):
        assert "Python %-5s" % python in result.stdout, result.stdout
