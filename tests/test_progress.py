"""The phase reporter of fix (and lock): one line per phase off a terminal, one rewritten line on it, none quiet."""

import io

from pinguard.adapters.progress import Phases


def test_off_a_terminal_one_line_per_phase_and_notes_no_details():
    out = io.StringIO()
    phases = Phases("fix", stream=out, terminal=False)
    phases.phase("package data from index X")
    phases.detail("fetching metadata: 3/40 files")
    phases.note("pypi.org did not answer (timed out); trying again (2/3)")
    phases.phase("resolving")
    phases.done("done in 1.0 s")
    assert out.getvalue().splitlines() == [
        "pinguard fix: package data from index X",
        "pinguard fix: pypi.org did not answer (timed out); trying again (2/3)",
        "pinguard fix: resolving",
        "pinguard fix: done in 1.0 s"]


def test_on_a_terminal_one_rewritten_line_cleared_at_the_end():
    out = io.StringIO()
    phases = Phases("lock", stream=out, terminal=True)
    phases.phase("resolving")
    phases.detail("fetching metadata: 3/40 files")
    phases.done()
    text = out.getvalue()
    assert "\n" not in text
    assert text.split("\r") == ["", "\x1b[Kpinguard lock: resolving", "\x1b[Kpinguard lock: resolving: fetching "
                                "metadata: 3/40 files", "\x1b[K"]


def test_quiet_says_nothing():
    out = io.StringIO()
    phases = Phases("fix", quiet=True, stream=out, terminal=False)
    phases.phase("x")
    phases.note("y")
    phases.done("z")
    assert out.getvalue() == ""
