"""conda's MatchSpec strings and version specs, read without conda, answer as conda does.

EXPECTED was produced by conda 26.7.1's own `conda.models.version.VersionSpec` on the same strings;
tests/test_conda_real.py re-checks the agreement against whatever conda PINGUARD_TEST_CONDA_PYTHON points at.
"""

import pytest
from packaging.specifiers import SpecifierSet

from pinguard.conda_spec import CondaSpecError, VersionOrder, VersionSpec, from_pep440, parse_matchspec
from pinguard.engines.conda_request import specs_meet

VERSIONS = ['1.19.5', '1.21', '1.21.0', '1.21.6', '1.20.0', '1.19', '1.22', '1.19.3', '1.0.0rc1', '1.0.0dev1',
            '1.0post1', '3.7.12', '3.8.0', '11.3.1', '11.4.0', '1.2.5']
EXPECTED = [
    ('1.21.*', ['1.21', '1.21.0', '1.21.6']),
    ('1.21', ['1.21', '1.21.0']),
    ('=1.21', ['1.21', '1.21.0', '1.21.6']),
    ('==1.21', ['1.21', '1.21.0']),
    ('>=1.20,<1.22', ['1.20.0', '1.21', '1.21.0', '1.21.6']),
    ('1.19|1.21', ['1.19', '1.21', '1.21.0']),
    ('>=1.20,<1.22|1.19.5', ['1.19.5', '1.20.0', '1.21', '1.21.0', '1.21.6']),
    ('~=1.19.0', ['1.19', '1.19.3', '1.19.5']),
    ('!=1.19.5', ['1.0.0dev1', '1.0.0rc1', '1.0post1', '1.19', '1.19.3', '1.2.5', '1.20.0', '1.21', '1.21.0',
                  '1.21.6', '1.22', '11.3.1', '11.4.0', '3.7.12', '3.8.0']),
    ('!=1.19.*', ['1.0.0dev1', '1.0.0rc1', '1.0post1', '1.2.5', '1.20.0', '1.21', '1.21.0', '1.21.6', '1.22',
                  '11.3.1', '11.4.0', '3.7.12', '3.8.0']),
    ('1.19*', ['1.19', '1.19.3', '1.19.5']),
    ('1.*.5', ['1.19.5', '1.2.5']),
    ('>1.19.5', ['1.20.0', '1.21', '1.21.0', '1.21.6', '1.22', '11.3.1', '11.4.0', '3.7.12', '3.8.0']),
    ('<=1.19.5', ['1.0.0dev1', '1.0.0rc1', '1.0post1', '1.19', '1.19.3', '1.19.5', '1.2.5']),
    ('(1.19|1.20),>=1.19.3', ['1.20.0']),
    ('*', sorted(VERSIONS)),
    ('>=1.0.0a0', ['1.0.0rc1', '1.0post1', '1.19', '1.19.3', '1.19.5', '1.2.5', '1.20.0', '1.21', '1.21.0', '1.21.6',
                   '1.22', '11.3.1', '11.4.0', '3.7.12', '3.8.0']),
    ('<3.8.0a0', ['1.0.0dev1', '1.0.0rc1', '1.0post1', '1.19', '1.19.3', '1.19.5', '1.2.5', '1.20.0', '1.21',
                  '1.21.0', '1.21.6', '1.22', '3.7.12']),
    ('>=11.3,<11.4', ['11.3.1']),
    ('11.3.*', ['11.3.1']),
]


@pytest.mark.parametrize("spec,matching", EXPECTED)
def test_version_specs_match_what_conda_matches(spec, matching):
    assert sorted(v for v in VERSIONS if VersionSpec(spec).match(v)) == matching


def test_version_order_is_condas():
    order = ["0.4", "0.4.1.rc", "0.4.1", "0.5a1", "0.5b3", "0.5", "0.9.6", "1.0", "1.1dev1", "1.1a1", "1.1.0rc1",
             "1.1", "1.1.0post1", "1996.07.12", "1!0.4.1", "2!0.4.1"]
    parsed = [VersionOrder(v) for v in order]
    assert all(a < b for a, b in zip(parsed, parsed[1:]))
    assert VersionOrder("1.1") == VersionOrder("1.1.0") and VersionOrder("0.4.1.rc") == VersionOrder("0.4.1.RC")


# (MatchSpec string, name, version, build) as conda 26.7.1 parses them (`MatchSpec(s).get_raw_value(...)`)
MATCHSPECS = [
    ("numpy", "numpy", None, None),
    ("numpy=1.21", "numpy", "1.21.*", None),
    ("numpy==1.21", "numpy", "1.21", None),
    ("numpy 1.21", "numpy", "1.21", None),
    ("numpy>=1.20,<1.22", "numpy", ">=1.20,<1.22", None),
    ("conda-forge::numpy=1.21", "numpy", "1.21.*", None),
    ("numpy[version='>=1.20']", "numpy", ">=1.20", None),
    ("pytorch=1.10.0=py3.7_cuda11.3_cudnn8.2.0_0", "pytorch", "1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0"),
    ("numpy 1.21.* py37*", "numpy", "1.21.*", "py37*"),
    ("pytorch[build=*cuda11.3*]", "pytorch", None, "*cuda11.3*"),
    ("numpy=1.19|1.21", "numpy", "=1.19|1.21", None),
    ("defaults/linux-64::numpy==1.19.5=py37h1", "numpy", "1.19.5", "py37h1"),
    ("numpy~=1.19.0", "numpy", "~=1.19.0", None),
    ("cudatoolkit=10.2", "cudatoolkit", "10.2.*", None),
    ("python>=3.7,<3.8.0a0", "python", ">=3.7,<3.8.0a0", None),
    ("numpy=1.19.5=*_0", "numpy", "1.19.5", "*_0"),
    ("pytorch ==1.10.0 *cuda11.3*  # anchor", "pytorch", "1.10.0", "*cuda11.3*"),
    ("setuptools <59.6  # setuptools-distutils-version", "setuptools", "<59.6", None),
]


@pytest.mark.parametrize("text,name,version,build", MATCHSPECS)
def test_matchspec_strings_parse_as_conda_parses_them(text, name, version, build):
    spec = parse_matchspec(text)
    assert (spec.name, spec.version, spec.build) == (name, version, build)


@pytest.mark.parametrize("bad", ["", "numpy==", "numpy >=", "numpy[version=]", "numpy 1.2(", "=1.2"])
def test_bad_matchspecs_are_one_line_errors(bad):
    with pytest.raises(CondaSpecError) as info:
        parse_matchspec(bad)
    assert "\n" not in str(info.value) and str(info.value)


def test_pep440_to_conda():
    assert from_pep440(SpecifierSet("==1.10.0+cu113")) == "==1.10.0"
    assert from_pep440(SpecifierSet("==1.2.*")) == "1.2.*"  # conda reads ==1.2.* as exactly 1.2
    assert from_pep440(SpecifierSet(">=1.0,<2")) == "<2,>=1.0"
    assert VersionSpec(from_pep440(SpecifierSet("!=1.2.*,>=1"))).match("1.3")


@pytest.mark.parametrize("request_spec,guard,meets", [
    ("1.21.*", "==1.19.5", False), (None, "==1.19.5", True), ("1.19.*", "==1.19.5", True),
    (">=1.19,<1.20", "==1.19.5", True), ("65.*", "<59.6", False), ("59.5.*", "<59.6", True),
    ("~=1.19.0", "<1.20", True), (">=2", "<2", False), ("1.19|1.21", "==1.19.5", False),
    ("1.19.*|1.21", "==1.19.5", True),
])
def test_specs_meet(request_spec, guard, meets):
    assert specs_meet(request_spec, guard) is meets
