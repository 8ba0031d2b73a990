"""The command line of `pinguard pip install ARGS...` / `pinguard uv pip install ARGS...`. Pure.

pinguard's own options may appear anywhere among ARGS (`--python PATH`, `--rewrite`, `--dry-run`, `--json`,
`--anchor REQ`); everything else is passed to pip (or uv) unchanged. The requirement arguments are picked out so
the guard can judge what was asked for before pip resolves anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

from pinguard.errors import BadInput

if TYPE_CHECKING:  # packaging's requirements are imported where used: this module is on pip's start-up path
    from packaging.requirements import Requirement

# Options of `pip install` (every release in pip_versions.SUPPORTED_PIP) and `uv pip install` that take a value as
# the next argument.
PIP_VALUE_OPTIONS = frozenset("""
-r --requirement -c --constraint --build-constraint --requirements-from-script -e --editable -t --target
--platform --python-version --implementation --abi --root --prefix --src --upgrade-strategy -C --config-settings
--progress-bar --root-user-action --report --group --all-releases --only-final --no-binary --only-binary
-i --index-url --extra-index-url --refresh-package -f --find-links --uploaded-prior-to --log --keyring-provider
--proxy --retries --timeout --exists-action --trusted-host --cert --client-cert --cache-dir --use-feature
--use-deprecated --resume-retries --install-option --global-option --build-option --log-file --default-timeout
""".split())
UV_VALUE_OPTIONS = frozenset("""
-r --requirements -e --editable --no-editable-package -c --constraints --overrides --excludes -b
--build-constraints --extra --cert --group -t --target --prefix --no-binary --only-binary --python-version
--python-platform --output-format --torch-backend --index --default-index -i --index-url --extra-index-url -f
--find-links --index-strategy --keyring-provider -P --upgrade-package --upgrade-group --resolution --prerelease
--prerelease-package --fork-strategy --exclude-newer --exclude-newer-package --no-sources-package
--reinstall-package --link-mode -C --config-setting --config-settings-package --no-build-isolation-package
--cache-dir --refresh-package --color --allow-insecure-host --directory --project --config-file
""".split())
# Options that would install somewhere else than the environment, or resolve for another one.
ELSEWHERE = ("-t", "--target", "--prefix", "--root", "--platform", "--python-version", "--implementation", "--abi",
             "--python-platform")


@dataclass
class GuardArgs:
    """pinguard's options, and what is left for pip / uv."""

    python: Optional[str] = None
    rewrite: bool = False
    dry_run: bool = False
    json: bool = False
    anchors: List[str] = field(default_factory=list)
    tool_args: List[str] = field(default_factory=list)


def split_guard_args(args: Sequence[str], tool: str = "pip") -> GuardArgs:
    """Take pinguard's own options out of `args` (uv's `-p/--python` means the same and is taken too)."""
    result = GuardArgs()
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "--":
            result.tool_args.extend(items[i:])
            break
        name, eq, value = arg.partition("=")
        if name in ("--python",) or (tool == "uv" and name == "-p"):
            if not eq:
                if i + 1 >= len(items):
                    raise BadInput("%s needs a path to a Python interpreter" % name)
                value = items[i + 1]
                i += 1
            result.python = value
        elif name == "--anchor":
            if not eq:
                if i + 1 >= len(items):
                    raise BadInput("--anchor needs a requirement, e.g. --anchor torch==1.10.0")
                value = items[i + 1]
                i += 1
            result.anchors.append(value)
        elif arg == "--rewrite":
            result.rewrite = True
        elif arg == "--dry-run":
            result.dry_run = True
        elif arg == "--json":
            result.json = True
        else:
            result.tool_args.append(arg)
        i += 1
    return result


def requested(tool_args: Sequence[str], tool: str = "pip") -> Tuple[List["Requirement"], List[str]]:
    """(requirements named on the command line, other positional arguments: paths, URLs, unparsable)."""
    from packaging.requirements import InvalidRequirement, Requirement

    value_options = PIP_VALUE_OPTIONS if tool == "pip" else UV_VALUE_OPTIONS
    requirements: List[Requirement] = []
    others: List[str] = []
    i = 0
    while i < len(tool_args):
        arg = tool_args[i]
        if arg == "--":
            i += 1
            continue
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            if "=" not in arg and name in value_options:
                i += 1  # skip the value
            elif len(arg) > 2 and arg[1] != "-" and arg[:2] in value_options:
                pass  # -rFILE, -cFILE
            i += 1
            continue
        if "/" in arg or "\\" in arg or arg.startswith(".") or "://" in arg and " @ " not in arg:
            others.append(arg)
        else:
            try:
                requirements.append(Requirement(arg))
            except InvalidRequirement:
                others.append(arg)
        i += 1
    return requirements, others


def elsewhere(tool_args: Sequence[str]) -> Optional[str]:
    """The first option that installs outside the environment (or for another platform), if any."""
    for arg in tool_args:
        name = arg.split("=", 1)[0]
        if name in ELSEWHERE:
            return name
    return None
