"""The layers as the imports show them (README "Layout", DESIGN.md): engines are pure.

Read with `ast`, never imported: every import statement of every module under pinguard/engines/, at module level
or inside a function, absolute or relative. An engine imports nothing from `pinguard.sources`, `pinguard.adapters`
or `pinguard.cli`, nor the knowledge loader (`pinguard.kb`, `pinguard.kb_cache`: they read files), neither itself nor through a pinguard module it imports (the whole chain is followed), and no
standard module whose job is I/O (files, processes, network).
"""

import ast
import functools
import os
import sys
from typing import Dict, List, Optional, Set, Tuple

import pytest

from tests.conftest import ROOT

PACKAGE = os.path.join(ROOT, "pinguard")
LAYERS_ABOVE_ENGINES = ("pinguard.sources", "pinguard.adapters", "pinguard.cli")
IO_MODULES = ("os", "io", "sys", "subprocess", "socket", "shutil", "tempfile", "pathlib", "glob", "urllib", "http",
              "ssl", "select", "selectors", "sqlite3", "zipfile", "tarfile", "fcntl", "mmap", "multiprocessing",
              "threading", "asyncio", "concurrent", "logging", "requests")
# pinguard.kb is the knowledge *loader*: it reads the TOML files. Engines use the types of pinguard/kb_types.py.
LOADERS = ("pinguard.kb", "pinguard.kb_cache")


def module_name(path: str) -> str:
    relative = os.path.relpath(path, ROOT)[:-len(".py")].split(os.sep)
    if relative[-1] == "__init__":
        relative = relative[:-1]
    return ".".join(relative)


@functools.lru_cache(maxsize=None)
def imports_of(source: str, module: str, is_package: bool = False) -> List[Tuple[int, List[str]]]:
    """(line, imported modules) for every import statement in `source`, relative ones resolved against `module`.
    `from X import Y` names X and X.Y (Y may be a submodule)."""
    found = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.append((node.lineno, [alias.name for alias in node.names]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, [target] + ["%s.%s" % (target, a.name) for a in node.names if a.name != "*"]))
    return found


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _source_of(name: str) -> Optional[Tuple[str, bool]]:
    """(path, is_package) of a pinguard module, None for a name that is not one (an imported class, say)."""
    base = os.path.join(ROOT, *name.split("."))
    if os.path.isfile(base + ".py"):
        return base + ".py", False
    if os.path.isfile(os.path.join(base, "__init__.py")):
        return os.path.join(base, "__init__.py"), True
    return None


def layer_breaks(sources: Dict[str, Tuple[str, bool]]) -> List[str]:
    """Every import by which an engine reaches a module above it (one line per statement).
    `sources`: engine module -> (source text, is_package)."""
    breaks = []
    for engine, (text, is_package) in sorted(sources.items()):
        for line, names in imports_of(text, engine, is_package):
            io_names = [n for n in names if _within(n, IO_MODULES)]
            if io_names:
                breaks.append("%s:%d imports %s (I/O)" % (engine, line, io_names[0]))
        seen: Set[str] = set()
        chain = [(engine, text, is_package, [engine])]
        while chain:
            module, source, package, path = chain.pop()
            for line, names in imports_of(source, module, package):
                above = [n for n in names if _within(n, LAYERS_ABOVE_ENGINES) or n in LOADERS]
                if above:
                    breaks.append("%s:%d imports %s (via %s)" % (module, line, above[0], " -> ".join(path)))
                    continue
                for name in names:
                    if not name.startswith("pinguard.") or name in seen:
                        continue
                    seen.add(name)
                    found = _source_of(name)
                    if found is not None:
                        with open(found[0], encoding="utf-8") as handle:
                            chain.append((name, handle.read(), found[1], path + [name]))
    return breaks


def engine_sources() -> Dict[str, Tuple[str, bool]]:
    sources = {}
    directory = os.path.join(PACKAGE, "engines")
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(".py"):
            path = os.path.join(directory, entry)
            with open(path, encoding="utf-8") as handle:
                sources[module_name(path)] = (handle.read(), entry == "__init__.py")
    return sources


def test_the_engines_import_nothing_above_their_layer():
    sources = engine_sources()
    assert len(sources) > 10, "the engines were not found"
    assert layer_breaks(sources) == []


@pytest.mark.parametrize("statement", [
    "from pinguard.sources.conda_meta import parse_build",
    "import pinguard.adapters.hook",
    "from pinguard.sources import index",
    "from pinguard import cli",
    "from pinguard.kb import load",
    "from pinguard import kb",
    "from ..sources.conda_meta import CondaRecord",
    "def judge():\n    from pinguard.adapters.protect import init\n",
    "import subprocess",
    "from os import path",
    "import urllib.request",
])
def test_a_layer_break_is_caught(statement):
    """The check above can fail: each of these, in an engine, is reported with its line."""
    sources = engine_sources()
    text, _ = sources["pinguard.engines.verdict"]
    sources["pinguard.engines.verdict"] = (text + "\n" + statement + "\n", False)
    breaks = layer_breaks(sources)
    assert len(breaks) == 1 and breaks[0].startswith("pinguard.engines.verdict:"), breaks


def test_a_break_two_modules_away_is_caught(tmp_path, monkeypatch):
    """An engine that imports a pinguard module which imports sources/ breaks the layer too."""
    sources = {"pinguard.engines.x": ("from pinguard.conda_records import CondaRecord\n", False)}
    assert layer_breaks(sources) == []
    fake = tmp_path / "pinguard"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "helper.py").write_text("import re\nfrom pinguard.sources.environment import read_environment\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    breaks = layer_breaks({"pinguard.engines.x": ("from pinguard.helper import thing\n", False)})
    assert breaks == ["pinguard.helper:2 imports pinguard.sources.environment (via pinguard.engines.x -> "
                      "pinguard.helper)"], breaks
