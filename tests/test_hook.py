"""`pinguard init --hook`: the in-process guard, with every pip release line the README claims (20.3 ... 26.3),
and the promise that it never breaks the interpreter's start-up; an install it cannot judge is refused.

For each pip: a plain `pip install` that reads no configuration at all (PIP_CONFIG_FILE=/dev/null, so pip.conf's
constraints are gone) is refused by the hook and leaves site-packages unchanged; an unrelated install goes through.
"""

import os
import subprocess

import pytest

from tests.conftest import hermetic_env
from tests.guard_helpers import new_venv, pinguard, require_network, site_packages, text, tree_hashes

pytestmark = [pytest.mark.network, pytest.mark.slow]

NO_CONFIG = {"PIP_CONFIG_FILE": os.devnull}
# (Python, anchor, refused request, pip releases): the oldest and newest release of each line the hook supports
MATRIX = [
    ("3.7", "torch==1.10.0", "setuptools==60.0.0", ["20.3.4", "21.3.1", "22.0.4", "23.3.2", "24.0"]),
    ("3.11", "torch==2.1.0", "setuptools==70.0.0", ["24.3.1", "25.0.1", "25.3", "26.0.1", "26.3"]),
]
FINDER = "import sys; print(any(getattr(f, '__name__', '') == '_PinguardHookFinder' for f in sys.meta_path))"


@pytest.fixture(scope="module", params=MATRIX, ids=["py%s" % m[0] for m in MATRIX])
def hooked(request, tmp_path_factory):
    require_network()
    python, anchor, refused, versions = request.param
    venv = new_venv(tmp_path_factory, python, "hook%s" % python)
    init = pinguard("init", anchor, "--hook", "--python", venv.python)
    assert init.returncode == 0, text(init)
    return venv, refused, versions


def test_each_supported_pip_is_judged(hooked):
    venv, refused, versions = hooked
    six = ["1.16.0", "1.17.0"]
    for index, version in enumerate(versions):
        switched = venv.pip_retrying("install", "pip==%s" % version)
        assert switched.returncode == 0, (version, switched.stderr[-1500:])
        assert venv.pip("--version").stdout.startswith("pip %s " % version)
        site = site_packages(venv)
        before = tree_hashes(site)
        result = venv.pip_retrying("install", refused, env=NO_CONFIG, ok=lambda r: "pinguard" in text(r))
        assert result.returncode == 1, (version, text(result)[-2000:])
        assert "pinguard refused this install" in result.stderr, (version, result.stderr[-2000:])
        assert tree_hashes(site) == before, version
        allowed = venv.pip_retrying("install", "six==%s" % six[index % 2], env=NO_CONFIG)
        assert allowed.returncode == 0, (version, text(allowed)[-2000:])
        assert venv.installed()["six"] == six[index % 2], version
        assert "pinguard" not in allowed.stderr, (version, allowed.stderr)  # a clean install stays quiet


def test_other_pip_commands_are_left_alone(hooked, tmp_path):
    venv, refused, _ = hooked
    result = venv.pip_retrying("download", "--no-deps", "-d", str(tmp_path), refused, env=NO_CONFIG)
    assert result.returncode == 0, text(result)[-2000:]


REFUSED_UNJUDGED = "this install cannot be judged, so it is refused; to install anyway, run the command again with " \
    "PINGUARD_HOOK=off"


def test_start_up_never_breaks_and_an_unjudged_install_is_refused(hooked):
    venv, refused, _ = hooked
    hook_file = os.path.join(venv.path, "pinguard-hook.py")
    assert venv.run(venv.python, "-c", FINDER).stdout.strip() == "True"
    assert venv.run(venv.python, "-c", FINDER, env={"PINGUARD_HOOK": "off"}).stdout.strip() == "False"
    site = site_packages(venv)
    with open(hook_file, "rb") as handle:
        original = handle.read()
    try:
        for damage in (b"this is ( not python", b"raise SystemExit(3)\n", None):
            if damage is None:
                os.unlink(hook_file)
            else:
                with open(hook_file, "wb") as handle:
                    handle.write(damage)
            started = venv.run(venv.python, "-c", "print('ok')")
            assert (started.returncode, started.stdout, started.stderr) == (0, "ok\n", "")
            before = tree_hashes(site)
            installed = venv.pip_retrying("install", "six", env=NO_CONFIG, ok=lambda r: "pinguard" in text(r))
            assert installed.returncode == 1, text(installed)[-2000:]
            assert "pinguard hook: cannot load %s" % hook_file in installed.stderr
            assert REFUSED_UNJUDGED in installed.stderr and "Traceback" not in installed.stderr
            assert tree_hashes(site) == before
        bypass = venv.pip_retrying("install", "six", env=dict(NO_CONFIG, PINGUARD_HOOK="off"))
        assert bypass.returncode == 0, text(bypass)[-2000:]
    finally:
        with open(hook_file, "wb") as handle:
            handle.write(original)
    state = os.path.join(venv.path, "pinguard.toml")
    with open(state, "rb") as handle:
        saved = handle.read()
    try:
        with open(state, "w") as handle:
            handle.write("anchors = [\n")
        other = "1.16.0" if venv.installed()["six"] != "1.16.0" else "1.17.0"
        result = venv.pip_retrying("install", "six==" + other, env=NO_CONFIG, ok=lambda r: "pinguard" in text(r))
        assert result.returncode == 1, text(result)[-2000:]
        assert "pinguard could not judge this install" in result.stderr and "corrupt" in result.stderr
        assert REFUSED_UNJUDGED in result.stderr
        assert venv.installed()["six"] != other
    finally:
        with open(state, "wb") as handle:
            handle.write(saved)


def test_a_truncated_pth_costs_one_line_not_a_traceback(hooked):
    venv, _, _ = hooked
    pth = os.path.join(site_packages(venv), "pinguard-hook.pth")
    with open(pth, "rb") as handle:
        original = handle.read()
    try:
        head = original.index(b")#") + 2  # the part that runs the rest: a cut inside it still shows a traceback
        for cut in (len(original) - 2, len(original) // 2, head + 10, head + 1):
            with open(pth, "wb") as handle:
                handle.write(original[:cut])
            started = venv.run(venv.python, "-c", "print('ok')")
            assert (started.returncode, started.stdout) == (0, "ok\n"), (cut, started.stderr)
            assert started.stderr.splitlines() == [
                "pinguard hook: %s is damaged (truncated?): pip installs here are not judged; `pinguard init --hook` "
                "writes it again, `pinguard init --undo` removes it" % pth], (cut, started.stderr)
    finally:
        with open(pth, "wb") as handle:
            handle.write(original)
    assert venv.run(venv.python, "-c", FINDER).stdout.strip() == "True"


def test_the_judge_never_imports_from_the_directory_pip_runs_in(hooked, tmp_path):
    """An `argparse.py` or `json.py` where someone runs `pip install` used to run inside the hook's judge; the
    judge then failed, the hook said "not judged" and pip installed past the anchor."""
    venv, refused, _ = hooked
    trap, markers = tmp_path / "trap", tmp_path / "markers"
    trap.mkdir()
    markers.mkdir()
    for module in ("argparse", "json"):
        (trap / (module + ".py")).write_text("open(%r, 'w').write('ran')\nraise SystemExit(0)\n" % str(
            markers / module))
    site = site_packages(venv)
    before = tree_hashes(site)
    pip_script = os.path.join(venv.path, "bin", "pip")  # the script's own directory is first on sys.path, not trap/
    result = None
    for attempt in range(3):
        result = subprocess.run([pip_script, "install", refused], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, env=hermetic_env(NO_CONFIG), cwd=str(trap), timeout=600)
        if "pinguard" in text(result):
            break
    assert result.returncode == 1, text(result)[-2000:]
    assert "pinguard refused this install" in result.stderr, result.stderr[-2000:]
    assert os.listdir(str(markers)) == [] and tree_hashes(site) == before


def test_undo_removes_the_hook(hooked):
    venv, _, _ = hooked
    pth = os.path.join(site_packages(venv), "pinguard-hook.pth")
    assert os.path.isfile(pth)
    again = pinguard("init", "--python", venv.python)  # a second init updates in place, the hook stays
    assert again.returncode == 0, text(again)
    assert os.path.isfile(pth)
    result = pinguard("init", "--undo", "--python", venv.python)
    assert result.returncode == 0, text(result)
    assert not os.path.exists(pth) and not os.path.exists(os.path.join(venv.path, "pinguard-hook.py"))
    assert venv.run(venv.python, "-c", FINDER).stdout.strip() == "False"
