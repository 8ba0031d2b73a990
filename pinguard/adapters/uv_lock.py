"""The uv backend of `lock`: one resolution = one `uv pip compile` run with pinguard's constraints, for the target
Python and Linux x86_64 (manylinux up to 2.35, the tags pinguard's own resolver accepts), reading the same package
sources pinguard reads (passed explicitly; pip's merging of every index is `--index-strategy unsafe-best-match`).

uv is found through PINGUARD_UV (a path; `off` turns the backend off), else on PATH. The engine's loop calls the
resolver again with each bound the check adds, so uv never has to know a rule.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from pinguard.pep503 import normalize
from packaging.version import Version

from pinguard.engines.closure_resolver import NoLock
from pinguard.engines.lock import LockFile
from pinguard.errors import BadInput, NetworkError
from pinguard.sources.index_config import IndexConfig
from pinguard.sources.lock_reader import parse_pylock

PLATFORM = "x86_64-manylinux_2_35"
TIMEOUT = 600
_NETWORK = ("Failed to fetch", "error sending request", "dns error", "Connection refused", "timed out",
            "Could not connect", "network")


def find_uv(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """uv's path, or None (then pinguard's own resolver runs)."""
    environ = os.environ if environ is None else environ
    chosen = environ.get("PINGUARD_UV", "").strip()
    if chosen.lower() in ("off", "0", "no", "none"):
        return None
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise BadInput("PINGUARD_UV=%s is not an executable" % chosen)
        return chosen
    return shutil.which("uv")


def uv_version(uv: str) -> str:
    try:
        out = subprocess.run([uv, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInput("cannot run uv at %s: %s" % (uv, exc))
    return out.stdout.strip()


class UvResolver:
    """A `Resolve` for the lock engine (roots, constraints) -> name -> version."""

    def __init__(self, uv: str, config: IndexConfig, python: Version, offline: bool = False,
                 cache_dir: Optional[str] = None) -> None:
        self.uv, self.config, self.python, self.offline, self.cache_dir = uv, config, python, offline, cache_dir
        self.runs = 0
        self.files: Dict[str, Tuple[List[LockFile], Optional[LockFile]]] = {}  # of the last resolution

    def command(self, requirements: str, constraints: str, output: str) -> List[str]:
        command = [self.uv, "pip", "compile", requirements, "--constraint", constraints, "--python-version",
                   "%d.%d" % (self.python.major, self.python.minor), "--python-platform", PLATFORM,
                   "--no-header", "--quiet", "--no-config", "--index-strategy", "unsafe-best-match",
                   "--format", "pylock.toml", "-o", output]
        if self.config.no_index:
            command.append("--no-index")
        else:
            command += ["--index-url", self.config.index_url]
            for url in self.config.extra_index_urls:
                command += ["--extra-index-url", url]
        for location in self.config.find_links:
            command += ["--find-links", location]
        if self.offline:
            command.append("--offline")
        if self.cache_dir:
            command += ["--cache-dir", self.cache_dir]
        return command

    def __call__(self, roots: Sequence[Requirement], constraints: Mapping[str, SpecifierSet]) -> Dict[str, Version]:
        self.runs += 1
        with tempfile.TemporaryDirectory(prefix="pinguard-lock-") as work:
            requirements = os.path.join(work, "requirements.in")
            bounds = os.path.join(work, "constraints.txt")
            with open(requirements, "w") as handle:
                handle.write("".join("%s\n" % r for r in roots))
            with open(bounds, "w") as handle:
                handle.write("".join("%s%s\n" % (n, s) for n, s in sorted(constraints.items()) if str(s)))
            output = os.path.join(work, "pylock.toml")
            try:
                result = subprocess.run(self.command(requirements, bounds, output), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT,
                                        cwd=work, env=_environment())
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise NoLock("uv pip compile did not run: %s" % exc) from None
            if result.returncode != 0:
                raise _failure(result.stderr)
            with open(output) as handle:
                text = handle.read()
        return self._read(text)

    def _read(self, text: str) -> Dict[str, Version]:
        """The resolution from uv's pylock.toml; its files (uv read them from the index pages) are kept for the lock,
        without upload times, which pinguard's own page reader does not keep either."""
        try:
            lock = parse_pylock(text, "uv's pylock.toml", self.python)
        except BadInput as exc:
            raise NoLock("uv pip compile wrote a lock pinguard cannot read: %s" % exc) from None
        self.files = {p.name: ([dataclasses.replace(w, upload_time=None) for w in p.wheels],
                               dataclasses.replace(p.sdist, upload_time=None) if p.sdist else None)
                      for p in lock.packages if not lock.missing_hashes}
        return {p.name: p.version for p in lock.packages}


def _environment() -> Dict[str, str]:
    """uv reads package sources from the command line only (pinguard resolved them); no stray UV_ settings."""
    keep = ("UV_CACHE_DIR", "UV_PYTHON_INSTALL_DIR")
    return {k: v for k, v in os.environ.items() if not k.startswith("UV_") or k in keep}


def _failure(stderr: str) -> Exception:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " ".join(lines)[-800:] or "no message"
    if any(marker.lower() in text.lower() for marker in _NETWORK) and "No solution found" not in text:
        return NetworkError("uv pip compile cannot reach the package index: %s" % text)
    return NoLock("no lock under the anchor and the rules (uv): %s" % text)


def parse_pins(text: str) -> Dict[str, Version]:
    """`name==version` lines of uv's output."""
    pins: Dict[str, Version] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
            clause = next(iter(requirement.specifier))
            pins[str(normalize(requirement.name))] = Version(clause.version)
        except (InvalidRequirement, StopIteration, ValueError):
            raise NoLock("uv pip compile wrote a line pinguard cannot read: %r" % line[:200]) from None
    return pins
