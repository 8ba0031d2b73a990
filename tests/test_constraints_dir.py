"""constraints/: every committed file equals what the knowledge base generates now."""

import json
import os

from pinguard import kb as kb_module
from pinguard.adapters.constraints_dir import expected_files
from tests.conftest import ROOT

DIRECTORY = os.path.join(ROOT, "constraints")


def test_every_constraints_file_regenerates_identically():
    expected = expected_files(kb_module.load())
    on_disk = sorted(os.listdir(DIRECTORY))
    assert sorted(expected) == on_disk, "regenerate with: python -m pinguard.adapters.constraints_dir constraints/"
    for name, text in expected.items():
        with open(os.path.join(DIRECTORY, name), encoding="utf-8") as handle:
            assert handle.read() == text, "%s differs; regenerate with python -m pinguard.adapters.constraints_dir" % name


def test_index_lists_every_release_and_build():
    kb = kb_module.load()
    with open(os.path.join(DIRECTORY, "index.json"), encoding="utf-8") as handle:
        index = json.load(handle)
    listed = {(e["torch"], e["build"]) for e in index}
    for release in kb.releases:
        for build in release.builds:
            assert (str(release.torch), build) in listed
    defaults = [e for e in index if e["torch"] == "1.10.0" and e["pypi_default"]]
    assert [e["file"] for e in defaults] == ["torch-1.10.0-cu102.txt"]


def test_on_every_listed_python_a_file_pins_only_members_with_wheels():
    from packaging.requirements import Requirement
    from packaging.version import Version

    kb = kb_module.load()
    with open(os.path.join(DIRECTORY, "index.json"), encoding="utf-8") as handle:
        index = json.load(handle)
    checked = 0
    for entry in index:
        release = kb.release(Version(entry["torch"]))
        with open(os.path.join(DIRECTORY, entry["file"]), encoding="utf-8") as handle:
            lines = [l.split("#")[0].strip() for l in handle if l.strip() and not l.startswith(("#", "-"))]
        pins = [Requirement(l) for l in lines if "==" in l]
        for python in entry["python"]:
            environment = {"python_version": python, "python_full_version": python + ".0"}
            for pin in pins:
                if pin.name in release.family and (pin.marker is None or pin.marker.evaluate(environment)):
                    assert release.member_supports_python(pin.name, Version(python)), (entry["file"], python, pin)
                    checked += 1
        assert entry["missing_wheels"] == {m: list(p) for m, p in release.missing_wheels.items()}
    assert checked > 1000
