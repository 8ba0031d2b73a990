"""One spelling across commands: --python (a version or an interpreter path), --json (with --format json kept),
help for `pinguard pip`, hidden internals, exit codes in --help, and a warning for anchors pinguard knows nothing of.

Interpreters are pyenv's real 3.7 and 3.11; venvs are real.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_error, pyenv_python, run_pinguard

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("version", ["3.7", "3.11"])
def test_python_takes_an_interpreter_path_in_generate_and_check(version):
    by_version = run_pinguard("generate", "numpy==1.19.5", "--python", version)
    by_path = run_pinguard("generate", "numpy==1.19.5", "--python", pyenv_python(version))
    assert by_version.returncode == by_path.returncode == 0, by_path.stderr
    assert by_path.stdout.replace(pyenv_python(version), version) == by_version.stdout
    checked = run_pinguard("check", "-", "--anchor", "torch==1.10.0", "--python", pyenv_python(version), "--json",
                           stdin="torch==1.10.0\nsetuptools==60.0.0\n")
    assert checked.returncode == 1 and json.loads(checked.stdout)["python"] == version, checked.stderr


def test_a_path_that_is_not_an_interpreter_is_bad_input(tmp_path):
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    assert_one_line_error(run_pinguard("generate", "torch==1.10.0", "--python", str(script)), 2,
                          "is not a Python interpreter")
    assert_one_line_error(run_pinguard("generate", "torch==1.10.0", "--python", str(tmp_path / "nope")), 2)


@pytest.mark.parametrize("command", [["init", "numpy==1.19.5"], ["doctor"], ["init", "--undo"],
                                     ["pip", "install", "six"]])
def test_a_bare_version_where_an_environment_is_meant_says_so(command):
    result = run_pinguard(*(command + ["--python", "3.7"]))
    assert_one_line_error(result, 2, "takes an interpreter path (such as /envs/mmdet/bin/python or the "
                                     "environment's directory), not the version 3.7")


def test_json_everywhere_and_format_json_kept():
    spelled = run_pinguard("generate", "torch==1.10.0", "--python", "3.7", "--json")
    alias = run_pinguard("generate", "torch==1.10.0", "--python", "3.7", "--format", "json")
    assert spelled.returncode == alias.returncode == 0
    assert json.loads(spelled.stdout) == json.loads(alias.stdout)
    assert_one_line_error(run_pinguard("generate", "torch==1.10.0", "--json", "--format", "uv"), 2, "not both")
    for command in ("generate", "check", "fix", "init", "doctor"):
        assert "--json" in run_pinguard(command, "--help").stdout, command


def test_pip_help_and_pip_install_help(make_venv):
    venv = make_venv("3.7")
    for argv in (["pip", "--help"], ["uv", "pip", "--help"]):
        result = run_pinguard(*argv)
        assert result.returncode == 0 and "--rewrite" in result.stdout and "--anchor REQ" in result.stdout, argv
    result = run_pinguard("pip", "install", "--help", "--python", venv.python)
    assert result.returncode == 0, result.stderr
    assert result.stdout.index("--rewrite") < result.stdout.index("pip install [options] <requirement specifier>")
    assert_one_line_error(run_pinguard("pip"), 2, "usage: pinguard pip install")


def test_internals_stay_hidden_and_exit_codes_are_documented():
    unknown = run_pinguard("frobnicate")
    assert_one_line_error(unknown, 2, "invalid choice")
    assert "_judge" not in unknown.stderr
    top = run_pinguard("--help")
    assert "_judge" not in top.stdout
    assert "4 network" in top.stdout
    for command in ("generate", "check", "fix", "init", "doctor"):
        assert "4 network" in run_pinguard(command, "--help").stdout, command


def test_generate_warns_about_anchors_it_knows_nothing_of():
    result = run_pinguard("generate", "foo==1.0", "torch==1.10.0", "--python", "3.7")
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "pinguard: warning: the knowledge base knows nothing of foo: its anchor is passed through as given, and no "
        "rule or pairing applies to it"]
    assert "foo==1.0" in result.stdout
    known = run_pinguard("generate", "numpy==1.19.5", "--python", "3.7")
    assert known.returncode == 0 and known.stderr == ""
