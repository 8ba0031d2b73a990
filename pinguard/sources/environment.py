"""The environment reader: one Python environment (any interpreter from 3.6 up), read through a subprocess.

The probe (`env_probe.py`) runs with the target interpreter and prints JSON; this module turns it into an
`TargetEnvironment`. The environment pinguard runs in is probed in-process (no subprocess). Every failure to run the
interpreter is a one-line `BadInput`.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from packaging.version import InvalidVersion, Version

from pinguard.errors import BadInput

PROBE_TIMEOUT = 60
#: Every interpreter pinguard starts in a target environment runs isolated: `-I` puts neither the current
#: directory nor a script directory on sys.path and ignores PYTHON* variables and the user site-packages, so an
#: `argparse.py`, `json.py` or `pip/` in the directory pinguard runs from is never imported (Python 3.4+).
ISOLATED = "-I"
_HERE = os.path.dirname(os.path.abspath(__file__))


def probe_source() -> str:
    """The probe's source text, to run with another interpreter or embed in a script."""
    with open(os.path.join(_HERE, "env_probe.py"), encoding="utf-8") as handle:
        return handle.read()


@dataclass
class TargetEnvironment:
    """What the probe saw: interpreter, prefix, pip, distributions, conda records, torch's build."""

    executable: str
    prefix: str
    base_prefix: str
    version: Sequence[int]
    pip: Optional[str]
    distributions: List[Dict[str, Any]]
    conda: Optional[Dict[str, str]]  # conda-meta records (name -> version), None when not a conda prefix
    torch: Optional[Dict[str, Any]]
    writable: bool
    pip_conf: str = ""
    purelib: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_probe(cls, data: Mapping[str, Any]) -> "TargetEnvironment":
        try:
            return cls(executable=data["executable"], prefix=data["prefix"], base_prefix=data["base_prefix"],
                       version=list(data["version"]), pip=data.get("pip"),
                       distributions=list(data.get("distributions") or []), conda=data.get("conda"),
                       torch=data.get("torch"), writable=bool(data.get("writable")),
                       pip_conf=data.get("pip_conf") or os.path.join(data["prefix"], "pip.conf"),
                       purelib=data.get("purelib") or "", raw=data)
        except (KeyError, TypeError) as exc:
            raise BadInput("the environment probe returned incomplete data (%s)" % exc)

    @property
    def python(self) -> Optional[Version]:
        """X.Y of the interpreter (None for a conda environment without one)."""
        if len(self.version) < 2:
            return None
        return Version("%d.%d" % (self.version[0], self.version[1]))

    @property
    def has_python(self) -> bool:
        return bool(self.executable)

    @property
    def python_text(self) -> str:
        return ".".join(str(p) for p in self.version)

    @property
    def pip_version(self) -> Optional[Version]:
        try:
            return Version(self.pip) if self.pip else None
        except InvalidVersion:
            return None

    @property
    def is_conda(self) -> bool:
        return self.conda is not None

    def first(self) -> Dict[str, Dict[str, Any]]:
        """name -> the distribution Python imports (the first on sys.path)."""
        chosen: Dict[str, Dict[str, Any]] = {}
        for item in self.distributions:
            chosen.setdefault(item["name"], item)
        return chosen

    def versions(self) -> Dict[str, str]:
        return {name: item.get("version") or "" for name, item in self.first().items()}


def _env_for_target(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env["PINGUARD_HOOK"] = "off"  # pinguard's own probes are never judged by the hook
    env.update(extra or {})
    return env


_VERSION_TEXT = re.compile(r"^\d+(\.\d+)*$")


def looks_like_version(text: str) -> bool:
    """`3.7`, `3.10`, `3`: a Python version, not a path (a file named like that is given as ./3.7)."""
    return bool(_VERSION_TEXT.match(text.strip()))


def resolve_interpreter(python: Optional[str]) -> str:
    """The interpreter path for --python (a file, or a venv/conda prefix directory); default: this one."""
    if python is None:
        return sys.executable
    if looks_like_version(python):
        raise BadInput("--python here names the environment, so it takes an interpreter path (such as "
                       "/envs/mmdet/bin/python or the environment's directory), not the version %s" % python[:20])
    path = os.path.abspath(os.path.expanduser(python))
    if os.path.isdir(path):
        for candidate in (os.path.join(path, "bin", "python"), os.path.join(path, "Scripts", "python.exe"),
                          os.path.join(path, "python.exe")):
            if os.path.isfile(candidate):
                return candidate
        raise BadInput("--python %s is a directory without bin/python" % python)
    if not os.path.exists(path):
        raise BadInput("no Python interpreter at %s" % python)
    if not os.access(path, os.X_OK):
        raise BadInput("%s is not executable" % python)
    return path


def read_environment(python: Optional[str] = None) -> TargetEnvironment:
    """Probe the environment of `python` (default: the one pinguard runs in)."""
    if python is None:
        from pinguard.sources import env_probe

        return TargetEnvironment.from_probe(env_probe.probe())
    interpreter = resolve_interpreter(python)
    try:
        result = subprocess.run([interpreter, ISOLATED, "-c", probe_source() + "\nsys.stdout.write(probe_json())\n"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env_for_target(),
                                timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BadInput("%s did not answer within %d s" % (python, PROBE_TIMEOUT))
    except OSError as exc:
        raise BadInput("cannot run %s: %s" % (python, exc.strerror or exc))
    if result.returncode != 0:
        lines = [l for l in result.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
        raise BadInput("%s is not a working Python 3.6+ interpreter (%s)" % (
            python, lines[-1].strip() if lines else "exit %d" % result.returncode))
    try:
        data = json.loads(result.stdout.decode("utf-8"))
    except ValueError:
        raise BadInput("%s printed something other than the probe's JSON" % python)
    return TargetEnvironment.from_probe(data)


#: Prints X.Y using nothing but the built-in `sys` (never imported from a path, whatever the flags).
_VERSION_CODE = "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"


def interpreter_version(python: str) -> str:
    """X.Y of the interpreter at `python` (a file or an environment directory), run isolated: `-I -S`, or for an
    interpreter without -I (Python 2.7) `-E -s -S`, which is as safe here since the code imports nothing."""
    interpreter = resolve_interpreter(python)
    result = None
    for flags in (["-I", "-S"], ["-E", "-s", "-S"]):
        try:
            result = subprocess.run([interpreter] + flags + ["-c", _VERSION_CODE], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=_env_for_target(), timeout=PROBE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BadInput("%s did not answer within %d s" % (python, PROBE_TIMEOUT))
        except OSError as exc:
            raise BadInput("cannot run %s: %s" % (python, exc.strerror or exc))
        if result.returncode == 0:
            break
    text = result.stdout.decode("ascii", "replace").strip() if result is not None else ""
    if result is None or result.returncode != 0 or not _VERSION_TEXT.match(text):
        raise BadInput("%s is not a Python interpreter (it did not say its version)" % python)
    return text


def read_prefix(prefix: str) -> TargetEnvironment:
    """The environment at `prefix`: read through its own interpreter, or, for a conda environment without one,
    from its conda-meta records alone (no pip, no distributions)."""
    path = os.path.abspath(os.path.expanduser(prefix))
    if not os.path.isdir(path):
        raise BadInput("no environment at %s" % prefix)
    for candidate in (os.path.join(path, "bin", "python"), os.path.join(path, "python.exe")):
        if os.path.isfile(candidate):
            env = read_environment(candidate)
            if os.path.realpath(env.prefix) != os.path.realpath(path):
                raise BadInput("%s belongs to %s, not to %s" % (candidate, env.prefix, path))
            return env
    if not os.path.isdir(os.path.join(path, "conda-meta")):
        raise BadInput("%s has no Python interpreter (bin/python) and is not a conda environment" % prefix)
    from pinguard.sources import env_probe

    records = env_probe._conda_records(path) or {}
    version: List[int] = []
    for part in (records.get("python") or "").split(".")[:3]:
        if not part.isdigit():
            break
        version.append(int(part))
    return TargetEnvironment(executable="", prefix=path, base_prefix=path, version=version, pip=None, distributions=[],
                       conda=records, torch=None, writable=os.access(path, os.W_OK),
                       pip_conf=os.path.join(path, "pip.conf"))


def run_python(env: TargetEnvironment, args: Sequence[str], timeout: int = 600,
               extra_env: Optional[Mapping[str, str]] = None) -> subprocess.CompletedProcess:
    """Run the environment's interpreter, isolated (ISOLATED), with `args`, capturing text output."""
    try:
        return subprocess.run([env.executable, ISOLATED] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=_env_for_target(extra_env), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BadInput("%s %s did not finish within %d s" % (env.executable, " ".join(args[:3]), timeout))
    except OSError as exc:
        raise BadInput("cannot run %s: %s" % (env.executable, exc.strerror or exc))


def pip_config_values(env: TargetEnvironment) -> Optional[Dict[str, str]]:
    """`pip config list` of the environment's pip (files only, not PIP_* variables); None without pip."""
    if env.pip is None:
        return None
    clean = {k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_CONFIG_FILE"}
    extra = {k: "" for k in clean}
    result = run_python(env, ["-m", "pip", "config", "list"], timeout=120,
                        extra_env=dict(extra, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    if result.returncode != 0:
        lines = [l for l in (result.stderr or "").splitlines() if l.strip()]
        raise BadInput("pip cannot read its configuration in %s: %s" % (
            env.prefix, lines[-1].strip() if lines else "exit %d" % result.returncode))
    values: Dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep or key.startswith(":env:"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            try:  # pip prints repr(value)
                value = str(ast.literal_eval(value))
            except (ValueError, SyntaxError):
                value = value[1:-1]
        values[key.strip()] = value
    return values


def pip_check(env: TargetEnvironment) -> Optional[List[str]]:
    """Lines of `pip check` (empty when consistent); None without pip."""
    if env.pip is None:
        return None
    result = run_python(env, ["-m", "pip", "check"], timeout=300, extra_env={"PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    lines = [l.strip() for l in result.stdout.splitlines() if l.strip()]
    if result.returncode == 0:
        return []
    return [l for l in lines if not l.lower().startswith("no broken requirements")]
