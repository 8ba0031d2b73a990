"""The one way pinguard prints a violation: `check`, guarded installs and the conda plugin all use it.

Standard library only: the conda plugin's light path imports it inside every `conda install`.
"""

from __future__ import annotations

from typing import Any, List


def violation_lines(violation: Any, indent: str = "  ", fix_label: str = "fix", sources: int = 1,
                    anchor_source: str = "") -> List[str]:
    """`[rule] summary`, then the packages it names, the pins that fix it (`fix_label`: "keep" where the guard keeps
    the environment as it is) and up to `sources` of its sources (`anchor_source` stands in for an anchor-changed
    finding without one)."""
    lines = ["%s%s" % (indent, violation_title(violation))]
    inner = indent + "  "
    if violation.packages:
        lines.append("%s%s%s" % (inner, _label("packages"), ", ".join(
            _pin(name, version) for name, version in sorted(violation.packages.items()))))
    fix = [f for f in violation.fix if f]
    if fix:
        lines.append("%s%s%s" % (inner, _label(fix_label), " ".join(fix)))
    shown = list(violation.sources[:max(sources, 0)])
    if not shown and violation.rule == "anchor-changed" and anchor_source:
        shown = [anchor_source]
    for index, source in enumerate(shown):
        lines.append("%s%s%s" % (inner, _label("source") if index == 0 else _label(""), source))
    return lines


def violation_title(violation: Any) -> str:
    """`[rule] summary`: a violation in one line."""
    return "[%s] %s" % (violation.rule, violation.summary)


def _label(name: str) -> str:
    return ("%s:" % name if name else "").ljust(10)


def _pin(name: str, version: str) -> str:
    """`name==1.2` for a version, `name>=1.2` (as given) for a specifier."""
    return "%s==%s" % (name, version) if version and version[0].isdigit() else "%s%s" % (name, version)
