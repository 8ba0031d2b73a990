"""generate follows per-member Python support: a paired member without a wheel for the target Python is left out
(one stderr line from the CLI), and without --python its pin carries a python_version marker."""

import pytest
from packaging.markers import Marker
from packaging.version import Version

from pinguard import kb as kb_module
from pinguard.engines.generate import PAIRING, generate
from pinguard.errors import ImpossibleAnchor
from pinguard.model import Anchor
from tests.conftest import assert_one_line_error, run_pinguard


@pytest.fixture(scope="module")
def kb():
    return kb_module.load()


def gen(kb, *anchors, **kwargs):
    return generate(kb, [Anchor.parse(a) for a in anchors], **kwargs)


def paired(result):
    return {c.name for c in result.constraints if PAIRING in c.rules}


def test_members_without_a_wheel_for_the_python_are_left_out_with_a_note(kb):
    result = gen(kb, "torch==1.13.0", python=Version("3.11"))
    names = paired(result)
    assert "torch" in {c.name for c in result.constraints} and not names & set(kb.family.members)
    assert len(result.dropped) == 4
    assert any(line.startswith("torchvision 0.14.0 ") and "Python 3.11" in line for line in result.dropped)
    kept = gen(kb, "torch==1.13.0", python=Version("3.10"))
    assert paired(kept) >= set(kb.family.members) and not kept.dropped


def test_without_python_the_member_pin_carries_a_marker(kb):
    result = gen(kb, "torch==1.10.2")
    by_name = {c.name: c for c in result.constraints}
    assert by_name["torchvision"].marker == 'python_version != "3.6"'
    assert by_name["torchtext"].marker == ""  # torchtext 0.11.2 has a cp36 wheel
    assert not Marker(by_name["torchaudio"].marker).evaluate({"python_version": "3.6"})
    assert Marker(by_name["torchaudio"].marker).evaluate({"python_version": "3.7"})


def test_an_anchored_member_without_a_wheel_is_a_contradiction(kb):
    with pytest.raises(ImpossibleAnchor, match="torchvision 0.14.0 has no wheels for Python 3.11"):
        gen(kb, "torchvision==0.14.0", python=Version("3.11"))


def test_a_range_anchor_bounds_only_members_with_wheels(kb):
    result = gen(kb, "torch>=1.13,<2", python=Version("3.11"))
    assert "torchvision" not in paired(result) and "torch" in paired(result)
    assert result.dropped


def test_every_release_and_python_pins_only_members_with_wheels(kb):
    for release in kb.releases:
        for text in release.python:
            python = Version(text)
            result = gen(kb, "torch==%s" % release.torch, python=python, build=None if release.on_pypi else
                         release.builds[0])
            pinned = paired(result)
            for member in release.family:
                assert (member in pinned) == release.member_supports_python(member, python), (
                    release.torch, text, member)


def test_cli_prints_one_stderr_line_per_member_left_out():
    result = run_pinguard("generate", "torch==1.10.2", "--python", "3.6")
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 2 and all(l.startswith("pinguard: note: ") for l in lines), lines
    assert "torchvision 0.11.3" in lines[0] and "3.6" in lines[0]
    assert "torchaudio 0.10.2" in lines[1]
    assert "torchvision" not in [l.split("=")[0] for l in result.stdout.splitlines()]
    assert "torchtext==0.11.2" in result.stdout


def test_cli_anchored_member_without_wheel_is_one_line_exit_2():
    assert_one_line_error(run_pinguard("generate", "torchvision==0.14.0", "--python", "3.11"), 2,
                          "torchvision 0.14.0 has no wheels for Python 3.11")


def test_init_leaves_out_members_without_a_wheel_for_the_environments_python(make_venv):
    venv = make_venv("3.11")
    result = run_pinguard("init", "torch==1.13.0", "--python", venv.python)
    assert result.returncode == 0, result.stderr
    notes = [l for l in result.stderr.splitlines() if l.startswith("pinguard: note: ")]
    assert len(notes) == 4 and all("Python 3.11" in l for l in notes), result.stderr
    with open(venv.path + "/pinguard-constraints.txt", encoding="utf-8") as handle:
        text = handle.read()
    assert "torch==1.13.0" in text and "torchvision==" not in text and "torchdata==" not in text
    assert run_pinguard("init", "--undo", "--python", venv.python).returncode == 0
