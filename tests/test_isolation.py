"""Nothing pinguard runs in a target interpreter imports from the current directory (real venvs, 3.7 and 3.11).

`init` and `doctor` ran `python -m pip`, which imports a `pip/` folder from the directory the user is in, and the
environment probe ran `python -c`, which puts that directory first on sys.path (a `json.py` there was executed).
Every such process now runs with `-I`. The trap files below record that they ran instead of doing harm.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, hermetic_env

pytestmark = pytest.mark.slow

TRAP = "import os\nopen(os.path.join(%r, '%s'), 'w').write('ran')\n"


def _trap_directory(tmp_path) -> str:
    """A directory with `pip/`, `json.py`, `re.py` and `argparse.py` that leave a marker file when imported."""
    trap = tmp_path / "trap"
    markers = tmp_path / "markers"
    for path in (trap, markers, trap / "pip"):
        path.mkdir()
    for name, module in (("json.py", "json"), ("re.py", "re"), ("argparse.py", "argparse"),
                         (os.path.join("pip", "__init__.py"), "pip"), (os.path.join("pip", "__main__.py"), "pip-main")):
        (trap / name).write_text(TRAP % (str(markers), module))
    return str(trap)


def _pinguard_in(cwd: str, *args: str, env=None) -> subprocess.CompletedProcess:
    """pinguard from the source tree, started from `cwd` the way a user starts it (its own imports are not at
    stake here: the pinguard script's directory, not the current one, is first on its sys.path)."""
    code = "import sys; sys.path[0] = %r; from pinguard.cli import main; sys.exit(main(sys.argv[1:]))" % ROOT
    return subprocess.run([sys.executable, "-c", code] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=hermetic_env(env), cwd=cwd, timeout=600)


@pytest.mark.parametrize("version", ["3.7", "3.11"])
def test_init_doctor_and_undo_never_import_from_the_current_directory(make_venv, tmp_path, version):
    venv = make_venv(version)
    trap = _trap_directory(tmp_path)
    init = _pinguard_in(trap, "init", "numpy==1.19.5", "--python", venv.python)
    assert init.returncode == 0, init.stderr
    doctor = _pinguard_in(trap, "doctor", "--python", venv.python)
    assert doctor.returncode in (0, 1), doctor.stderr
    undo = _pinguard_in(trap, "init", "--undo", "--python", venv.python)
    assert undo.returncode == 0, undo.stderr
    assert os.listdir(str(tmp_path / "markers")) == []


@pytest.mark.parametrize("version", ["3.7", "3.11"])
def test_the_probe_reads_the_user_site_even_when_isolated(make_venv, tmp_path, version):
    """-I drops the user site-packages from sys.path; the probe puts it back where site.py would (a base Python,
    not a venv), so packages installed with --user are still seen."""
    from tests.conftest import pyenv_python

    base = pyenv_python(version)
    home = tmp_path / "home"
    user_site = subprocess.run([base, "-c", "import site; print(site.getusersitepackages())"],
                               stdout=subprocess.PIPE, universal_newlines=True, env=hermetic_env({"HOME": str(home)}),
                               check=True).stdout.strip()
    os.makedirs(os.path.join(user_site, "userpkg-1.0.dist-info"))
    with open(os.path.join(user_site, "userpkg-1.0.dist-info", "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\nName: userpkg\nVersion: 1.0\n\n")
    code = ("import sys, json; sys.path[0] = %r; from pinguard.sources.environment import read_environment; "
            "env = read_environment(%r); print(json.dumps([d['name'] + ':' + d['where'] for d in env.distributions]))"
            % (ROOT, base))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, env=hermetic_env({"HOME": str(home)}), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "userpkg:user" in out.stdout
    in_venv = subprocess.run([sys.executable, "-c", code.replace(repr(base), repr(make_venv(version).python))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                             env=hermetic_env({"HOME": str(home)}), timeout=120)
    assert in_venv.returncode == 0 and "userpkg" not in in_venv.stdout, in_venv.stdout + in_venv.stderr


@pytest.mark.network
@pytest.mark.parametrize("version", ["3.7", "3.11"])
def test_a_guarded_install_never_imports_from_the_current_directory(make_venv, tmp_path, network, version):
    """`pinguard pip install` runs pip in the target with -I (the session, --dry-run --report, the fallbacks)."""
    venv = make_venv(version)
    trap = _trap_directory(tmp_path)
    for method in ("session", "report", "requested"):
        if method == "report" and version == "3.7":
            continue  # pip 22.0 predates --report
        result = _pinguard_in(trap, "pip", "install", "--dry-run", "six", "--python", venv.python,
                              "--anchor", "numpy==1.19.5", env={"PINGUARD_PIP_METHOD": method})
        assert result.returncode == 0, (method, result.stderr[-2000:])
    assert os.listdir(str(tmp_path / "markers")) == []
