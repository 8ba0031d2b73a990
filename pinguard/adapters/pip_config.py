"""The pip.conf frontend (adapters/frontend.py): the environment's own pip configuration, `sys.prefix/pip.conf`
(pip's "site" level), made to name pinguard's constraints file: `[install] constraint = ...` and, for a pip that
stopped applying constraints to isolated build environments (pip_versions.BUILD_CONSTRAINT_SINCE, pypa/pip#14094),
`[install] build-constraint = ...`. `doctor` says when pip.conf no longer names the file.

pip reads one value per key: a site-level `[install] constraint` replaces a `constraint` set at the global or user
level (this machine's /etc/pip.conf, say). So the value written keeps every constraint file pip applied before
(read with `pip config list`) and adds pinguard's; pip splits the value on whitespace. Everything else in the
file is kept as it was, line for line; `pinguard init --undo` restores the original bytes.
"""

from __future__ import annotations

import configparser
import os
import re
import urllib.request
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence

from packaging.version import Version

from pinguard.adapters import install_state, pip_versions
from pinguard.adapters.frontend import DoctorTarget, Frontend, InitTarget, Planned, read_text
from pinguard.errors import BadInput
from pinguard.sources.environment import pip_config_values

if TYPE_CHECKING:
    from pinguard.engines.doctor import Finding

MARK = "# pinguard: the next key is managed by `pinguard init` (`pinguard init --undo` restores this file)"
SITE_CONFIG_SINCE = Version(pip_versions.SITE_CONFIG_SINCE)
BUILD_CONSTRAINT_SINCE = Version(pip_versions.BUILD_CONSTRAINT_SINCE)
_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_.-]+)\s*[=:]")


def config_file_value(path: str) -> str:
    """How to name a file in pip's configuration: its path, or a file: URL when the path has whitespace."""
    if any(ch.isspace() for ch in path):
        return "file:" + urllib.request.pathname2url(path)
    return path


def parse(text: str, where: str) -> configparser.RawConfigParser:
    """Parse like pip does (RawConfigParser); a damaged file is BadInput naming it."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=where)
    except configparser.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput("%s is not a valid pip configuration file (%s); fix it or remove it" % (where, first))
    return parser


def _normalize_key(key: str) -> str:
    return key.strip().lower().replace("_", "-")


def effective(values: Mapping[str, str], key: str) -> List[str]:
    """The files pip would apply for `key` in `pip install` today: install.<key>, else global.<key>."""
    for section in ("install", "global"):
        value = values.get("%s.%s" % (section, key))
        if value is not None:
            return value.split()
    return []


def file_values(parser: configparser.RawConfigParser) -> Dict[str, str]:
    """`section.key` -> value of one file (used when pip cannot be asked)."""
    values = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            values["%s.%s" % (section, _normalize_key(key))] = value
    return values


def merge(text: Optional[str], where: str, ours: str, pip_values: Mapping[str, str],
          build: bool) -> str:
    """The new pip.conf text: `text` (None = no file yet) with pinguard's constraint (and build-constraint)."""
    parser = parse(text or "", where)
    values = dict(file_values(parser))
    values.update(pip_values)  # pip's merged view (all levels) wins over this one file's
    keys = {"constraint": _union(effective(values, "constraint"), ours)}
    if build:
        keys["build-constraint"] = _union(effective(values, "build-constraint"), ours)
    lines = (text or "").splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start, end = _section(lines, "install")
    block = _block(keys)
    if start is None:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append("[install]\n")
        lines.extend(block)
        return "".join(lines)
    body = lines[start + 1:end]
    kept = _without_keys(body, set(keys))
    return "".join(lines[:start + 1] + block + kept + lines[end:])


def _union(existing: Sequence[str], ours: str) -> List[str]:
    result = [v for v in existing if v != ours]
    result.append(ours)
    return result


def _block(keys: Mapping[str, List[str]]) -> List[str]:
    block = []
    for key, files in keys.items():
        block.append(MARK + "\n")
        block.append("%s = %s\n" % (key, files[0]))
        block.extend("    %s\n" % f for f in files[1:])
    return block


def _section(lines: Sequence[str], name: str):
    """(index of the `[name]` header, index of the next header or len) or (None, None)."""
    start = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line.strip())
        if match is None:
            continue
        if start is not None:
            return start, index
        if match.group("name").strip() == name:
            start = index
    if start is None:
        return None, None
    return start, len(lines)


def _without_keys(body: Sequence[str], keys: set) -> List[str]:
    """Body lines minus the given keys (with their continuation lines and pinguard's marker comment)."""
    kept: List[str] = []
    skipping = False
    for line in body:
        if line.rstrip("\n") == MARK:
            continue
        if skipping and line[:1] in (" ", "\t") and line.strip():
            continue
        skipping = False
        match = _KEY.match(line)
        if match and _normalize_key(match.group("key")) in keys:
            skipping = True
            continue
        kept.append(line)
    return kept


class PipConfFrontend(Frontend):
    """`[install] constraint` (and `build-constraint`) in the environment's pip.conf."""

    def plan(self, target: InitTarget) -> Planned:
        env, planned = target.env, Planned()
        conf = env.pip_conf
        current = read_text(conf)
        parse(current or "", conf)  # a damaged pip.conf is named before pip is asked about it
        values = pip_config_values(env) if env.has_python else None
        if values is None:
            planned.notes.append("pip is not installed in %s: pip.conf is written for when it is" % env.prefix)
            values = {}
        if env.pip_version is not None and env.pip_version < SITE_CONFIG_SINCE and os.path.realpath(
                env.prefix) == os.path.realpath(env.base_prefix):
            planned.notes.append("pip %s reads %s only inside a virtual environment: upgrade pip (%s+) so plain pip "
                                 "install obeys it" % (env.pip, conf, SITE_CONFIG_SINCE))
        build_constraint = env.pip_version is not None and env.pip_version >= BUILD_CONSTRAINT_SINCE
        merged = merge(current, conf, config_file_value(target.constraints_file), values, build_constraint)
        planned.changes.append(install_state.FileChange(conf, "pip.conf", merged.encode("utf-8")))
        if build_constraint:
            planned.notes.append("pip %s: build-constraint set too (pip %s+ keeps -c out of build environments); pip "
                                 "refuses it with --no-build-isolation: run those as PIP_BUILD_CONSTRAINT=' ' pip "
                                 "install --no-build-isolation ... (pinguard pip install does this itself)" % (
                                     env.pip, BUILD_CONSTRAINT_SINCE))
        return planned

    def doctor(self, target: DoctorTarget) -> List["Finding"]:
        """pip.conf still names the constraints file (and as build-constraint, for a pip that needs it)."""
        from pinguard.engines.doctor import Finding

        env, py = target.env, target.python_option
        ours = config_file_value(install_state.constraints_path(env.prefix))
        text = read_text(env.pip_conf)  # read even before init: a damaged pip.conf is named either way
        values = file_values(parse(text, env.pip_conf)) if text is not None else {}
        if target.state is None:
            return []
        found = []
        if ours not in effective(values, "constraint"):
            found.append(Finding("warning", "pip-conf", "%s/pip.conf does not name pinguard's constraints: plain pip "
                                 "install is not held" % env.prefix, "pinguard init%s" % py))
        if env.pip_version is not None and env.pip_version >= BUILD_CONSTRAINT_SINCE and \
                ours not in effective(values, "build-constraint"):
            found.append(Finding("warning", "build-constraint", "pip %s keeps constraints out of build environments "
                                 "and pip.conf has no build-constraint (pip was upgraded after init?)" % env.pip,
                                 "pinguard init%s" % py))
        return found


FRONTEND = PipConfFrontend()
