"""`pinguard fix` reads packages from where pip would: --index-url / --extra-index-url / --find-links, then
PIP_INDEX_URL and friends, pip.conf at every level, then uv's variables; a network failure is exit 4 after a
bounded wait; progress goes to stderr (one line per phase when it is not a terminal; -q silences it).

The packages are tiny fake wheels built here with the Requires-Dist of the real releases, in a file:// PEP 503
tree or a --find-links directory; every run goes through a dead proxy, so a request to PyPI would fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import pytest

from tests.conftest import assert_one_line_error, fixture_path, run_pinguard
from tests.test_index_client import make_wheel

TAG = "cp37-cp37m-manylinux1_x86_64"
PACKAGES = [  # name, version, tag, Requires-Dist (as the real wheels declare them)
    ("torch", "1.10.0", TAG, ("typing-extensions",)),
    ("torchvision", "0.3.0", "py3-none-any", ("numpy", "six", "pillow>=4.1.1", "torch>=1.1.0")),
    ("torchvision", "0.11.1", TAG, ("numpy", "pillow!=8.3.0,>=5.3.0", "torch==1.10.0")),
    ("numpy", "1.19.5", TAG, ()),
    ("pillow", "8.4.0", TAG, ()),
    ("six", "1.16.0", "py2.py3-none-any", ()),
    ("tqdm", "4.62.3", "py2.py3-none-any", ()),
    ("typing_extensions", "4.1.1", "py3-none-any", ()),
]
MISSION = "mission-torch-1.10.0-torchvision-0.3.0.txt"
EXPECTED_CHANGE = "torchvision==0.11.1"
DEAD_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """{"wheels": a find-links directory, "index": a file:// PEP 503 index of the same files}."""
    root = tmp_path_factory.mktemp("local-packages")
    wheels, simple = root / "wheels", root / "simple"
    wheels.mkdir()
    simple.mkdir()
    pages = {}
    for name, version, tag, requires in PACKAGES:
        filename, content, _ = make_wheel(name, version, requires=requires, pad=0, tag=tag)
        (wheels / filename).write_bytes(content)
        project = name.lower().replace("_", "-")
        pages.setdefault(project, []).append('<a href="../../wheels/%s#sha256=%s">%s</a>' % (
            filename, hashlib.sha256(content).hexdigest(), filename))
    for project, links in pages.items():
        (simple / project).mkdir()
        (simple / project / "index.html").write_text("<html><body>\n%s\n</body></html>\n" % "\n".join(links))
    return {"wheels": str(wheels), "index": "file://" + str(simple), "root": root}


def fix(tmp_path, *args, env=None):
    """fix on the mission fixture, with no pip/uv configuration but what `env` sets, through a dead proxy."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base = {"HOME": str(home), "PINGUARD_CACHE_DIR": str(tmp_path / "cache"), "https_proxy": DEAD_PROXY,
            "http_proxy": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY,
            "XDG_CONFIG_HOME": str(home / ".config"), "no_proxy": "", "NO_PROXY": ""}
    base.update(env or {})
    return run_pinguard("fix", "--mission", fixture_path(MISSION), *args, env=base)


def repaired(result) -> None:
    assert result.returncode == 0, result.stderr
    assert EXPECTED_CHANGE in result.stdout.splitlines(), result.stdout


def test_index_url_flag_reads_a_file_index(local, tmp_path):
    result = fix(tmp_path, "--index-url", local["index"])
    repaired(result)
    assert "package data from index %s (--index-url)" % local["index"] in result.stderr


def test_find_links_flag_reads_a_directory_of_wheels(local, tmp_path):
    result = fix(tmp_path, "--find-links", local["wheels"], env={"PIP_NO_INDEX": "1"})
    repaired(result)
    assert "no index (PIP_NO_INDEX)" in result.stderr and local["wheels"] in result.stderr


def test_pip_environment_variables_are_followed(local, tmp_path):
    repaired(fix(tmp_path, env={"PIP_INDEX_URL": local["index"]}))
    repaired(fix(tmp_path, env={"PIP_INDEX_URL": DEAD_PROXY + "/simple", "PIP_EXTRA_INDEX_URL": local["index"]}))


def test_pip_conf_user_and_site_levels_are_followed(local, tmp_path):
    conf = tmp_path / "home" / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\nindex-url = %s\n" % local["index"])
    result = fix(tmp_path)
    repaired(result)
    assert "(%s [global])" % conf in result.stderr
    os.unlink(str(conf))
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pip.conf").write_text("[install]\nno-index = true\nfind-links = %s\n" % local["wheels"])
    repaired(fix(tmp_path, env={"VIRTUAL_ENV": str(venv)}))


def test_uv_variables_come_after_pips(local, tmp_path):
    repaired(fix(tmp_path, env={"UV_INDEX_URL": local["index"]}))
    repaired(fix(tmp_path, env={"UV_DEFAULT_INDEX": local["index"], "UV_FIND_LINKS": local["wheels"]}))
    wrong = fix(tmp_path, env={"PIP_INDEX_URL": DEAD_PROXY + "/simple", "UV_DEFAULT_INDEX": local["index"]})
    assert wrong.returncode == 4, wrong.stderr  # pip's setting wins, and it cannot be reached


def test_an_unreachable_index_is_exit_4_after_a_bounded_wait_with_progress(tmp_path):
    started = time.monotonic()
    result = fix(tmp_path)  # PyPI through the dead proxy
    elapsed = time.monotonic() - started
    assert_one_line_error(result, 4, "cannot fetch https://pypi.org/simple/")
    assert elapsed < 60, elapsed
    progress = [l for l in result.stderr.splitlines() if l.startswith("pinguard fix: ")]
    assert progress[0].startswith("pinguard fix: package data from index https://pypi.org/simple (default: PyPI)")
    assert any("did not answer" in l and "trying again (2/3)" in l for l in progress), result.stderr
    refused = run_pinguard("fix", "--mission", fixture_path(MISSION), "--index-url", "http://127.0.0.1:9/simple",
                           "-q", env={"PINGUARD_CACHE_DIR": str(tmp_path / "c2"), "HOME": str(tmp_path / "home")})
    assert_one_line_error(refused, 4, "cannot fetch http://127.0.0.1:9/simple/")
    assert "pinguard fix:" not in refused.stderr  # -q: no progress


def test_progress_is_one_line_per_phase_and_quiet_silences_it(local, tmp_path):
    result = fix(tmp_path, "--index-url", local["index"])
    repaired(result)
    lines = result.stderr.splitlines()
    assert [l.split(":")[0] for l in lines] == ["pinguard fix"] * 3, lines
    assert lines[1].startswith("pinguard fix: resolving 7 pins for Python 3.7")
    assert lines[2].startswith("pinguard fix: done in ")
    quiet = fix(tmp_path, "--index-url", local["index"], "--quiet")
    repaired(quiet)
    assert quiet.stderr == ""


def test_json_is_the_shared_spelling_and_format_json_stays(local, tmp_path):
    spelled = fix(tmp_path, "--index-url", local["index"], "--json", "-q")
    alias = fix(tmp_path, "--index-url", local["index"], "--format", "json", "-q")
    assert spelled.returncode == alias.returncode == 0, spelled.stderr + alias.stderr
    assert json.loads(spelled.stdout) == json.loads(alias.stdout)
    assert json.loads(spelled.stdout)["changes"][0]["after"] == "0.11.1"
    both = fix(tmp_path, "--index-url", local["index"], "--json", "--format", "pins")
    assert_one_line_error(both, 2, "give --json or --format pins, not both")
