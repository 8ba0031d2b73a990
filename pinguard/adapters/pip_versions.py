# pip's version facts: the releases at which what pinguard writes or runs for pip changes. The one place they are
# written; adapters compare the environment's pip with them (`Version(pip) >= Version(REPORT_SINCE)`), engines never
# see them.
#
# Self-contained on purpose (standard library only, Python 3.6+ syntax): the script `pinguard pip install` runs with
# the target environment's interpreter embeds this source ahead of pip_patch.py (adapters/pip_session.py).

import re

# the pip releases the seam and the hook are tested with, inclusive (tests/test_hook.py; README "Guarding installs").
SUPPORTED_PIP = ((20, 3), (26, 3))
# the first: pip's default resolver is resolvelib's, the seam pip_patch.py wraps (the session and the hook need it).
RESOLVER_SEAM_SINCE = "%d.%d" % SUPPORTED_PIP[0]
# pip reads `sys.prefix/pip.conf` (its "site" level) outside virtual environments too; older pip only inside one.
SITE_CONFIG_SINCE = "19.3"
# `pip install --dry-run --report FILE` (the "report" method of a guarded install).
REPORT_SINCE = "22.2"
# pip stopped applying -c / PIP_CONSTRAINT to isolated build environments (pypa/pip#14094): pip.conf needs
# `build-constraint` too. (pip 25.3+ refuses a configured build-constraint with --no-build-isolation; a blank
# PIP_BUILD_CONSTRAINT clears it: adapters/pip_session.py `target_env`.)
BUILD_CONSTRAINT_SINCE = "26.2"


def pip_version_tuple(text):
    """(major, minor) of a pip version text: "23.2.1" -> (23, 2), "26.3b1" -> (26, 3), "" -> (0, 0)."""
    parts = []
    for piece in str(text).split(".")[:2]:
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group(0)) if digits else 0)
    while len(parts) < 2:
        parts.append(0)
    return tuple(parts)


def supported_pip(text):
    """Is this pip release within the tested range (SUPPORTED_PIP)?"""
    return SUPPORTED_PIP[0] <= pip_version_tuple(text) <= SUPPORTED_PIP[1]
