"""conda-recipe/recipe.yaml (conda-forge, recipe v1) agrees with pyproject.toml: name, version, dependencies,
entry points, tests."""

import os
import re
import sys

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.conftest import ROOT, skip_or_fail

if sys.version_info >= (3, 11):
    import tomllib as toml
else:  # pragma: no cover
    import tomli as toml

RECIPE = os.path.join(ROOT, "conda-recipe", "recipe.yaml")


@pytest.fixture(scope="module")
def project():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        return toml.load(handle)


@pytest.fixture(scope="module")
def recipe():
    try:
        import yaml
    except ImportError:
        skip_or_fail("PyYAML is not installed (it is in the test extra: pip install '.[test]')")
    with open(RECIPE, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    context = {k: str(v) for k, v in data["context"].items()}

    def render(value):
        if isinstance(value, str):
            return re.sub(r"\$\{\{\s*(\w+)\s*\}\}", lambda m: context[m.group(1)] if m.group(1) in context
                          else m.group(0), value)
        if isinstance(value, list):
            return [render(v) for v in value]
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        return value

    return render(data)


def split(line):
    name, _, spec = line.partition(" ")
    return name, spec.strip()


def test_name_version_and_summary(recipe, project):
    assert recipe["package"] == {"name": project["project"]["name"], "version": project["project"]["version"]}
    assert recipe["about"]["summary"] == project["project"]["description"]
    assert recipe["about"]["license"] == project["project"]["license"]["text"]


def test_noarch_python_from_the_source_tree(recipe):
    assert recipe["build"]["noarch"] == "python"
    assert os.path.exists(os.path.join(os.path.dirname(RECIPE), recipe["source"]["path"], "pyproject.toml"))
    assert "pip install ." in recipe["build"]["script"] and "--no-deps" in recipe["build"]["script"]


def test_run_requirements_are_the_projects_dependencies(recipe, project):
    from pinguard import kb as kb_module

    names = kb_module.load().names
    run = dict(split(line) for line in recipe["requirements"]["run"])
    minimum = SpecifierSet(project["project"]["requires-python"])
    assert run.pop("python") == ">=%s" % recipe["context"]["python_min"]
    assert SpecifierSet(">=%s" % recipe["context"]["python_min"]) == minimum
    expected = {}
    for text in project["project"]["dependencies"]:
        requirement = Requirement(text)
        expected[names.conda_name(requirement.name)] = str(requirement.specifier)
    assert run == expected


def test_host_requirements_can_build_the_project(recipe, project):
    host = dict(split(line) for line in recipe["requirements"]["host"])
    assert "pip" in host and host["python"] == "%s.*" % recipe["context"]["python_min"]
    for text in project["build-system"]["requires"]:
        requirement = Requirement(text)
        assert SpecifierSet(host[requirement.name]) == requirement.specifier


def test_entry_points_and_the_conda_plugin(recipe, project):
    scripts = project["project"]["scripts"]
    assert recipe["build"]["python"]["entry_points"] == ["%s = %s" % item for item in sorted(scripts.items())]
    plugin = project["project"]["entry-points"]["conda"]["pinguard"]
    tests = recipe["tests"]
    imports = [t["python"]["imports"] for t in tests if "python" in t][0]
    assert "pinguard" in imports and plugin in imports  # the module conda loads through the entry point
    commands = [line for t in tests if "script" in t for line in t["script"]]
    for name in scripts:
        assert "%s --version" % name in commands
