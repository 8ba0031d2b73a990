"""A crash as data: traceback frames, blocks, and the classified failure. Pure types shared by the traceback reader
(pinguard.sources.tracebacks, pinguard.sources.failures) and the engines that reason about crashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple


@dataclass(frozen=True)
class Frame:
    """One `File "...", line N, in f` entry and its source line (empty when the text has none)."""

    path: str
    line: int
    function: str
    code: str
    site_path: Optional[str] = None  # path below site-packages, "/"-separated, when installed code

    @property
    def installed(self) -> bool:
        return self.site_path is not None

    @property
    def module(self) -> Optional[str]:
        """`torchvision/transforms/functional.py` -> `torchvision.transforms.functional`; None for project code."""
        return module_of(self.site_path) if self.site_path else None

    @property
    def top(self) -> Optional[str]:
        """The top-level import name of installed code (`torchvision`), else None."""
        module = self.module
        return module.split(".")[0] if module else None


@dataclass(frozen=True)
class Block:
    """One traceback: its frames, innermost last, and the exception it ended with."""

    frames: Tuple[Frame, ...]
    exception_type: str
    message: str

    @property
    def exception_name(self) -> str:
        """The class name without its module (`torch.cuda.OutOfMemoryError` -> `OutOfMemoryError`)."""
        return self.exception_type.rsplit(".", 1)[-1]

    @property
    def innermost(self) -> Optional[Frame]:
        return self.frames[-1] if self.frames else None


@dataclass(frozen=True)
class CrashText:
    """All blocks in the order printed: the last one is what finally surfaced."""

    blocks: Tuple[Block, ...]
    tail: Tuple[str, ...] = field(default_factory=tuple)  # exception lines found outside any block

    @property
    def final(self) -> Optional[Block]:
        return self.blocks[-1] if self.blocks else None


def module_of(site_path: str) -> str:
    """Import name of a file path below site-packages (`a/b/__init__.py` -> `a.b`, `a/_c.cpython-37m.so` -> `a._c`)."""
    parts = site_path.replace("\\", "/").split("/")
    last = parts[-1]
    stem = last.split(".", 1)[0]
    if stem == "__init__":
        parts = parts[:-1]
    else:
        parts[-1] = stem
    return ".".join(p for p in parts if p)



@dataclass(frozen=True)
class Failure:
    kind: str
    block: Block
    frame: Optional[Frame]  # the frame that failed (innermost), None when the text has no frames
    name: str = ""
    module: str = ""
    owner: str = ""
    callee: str = ""
    qualifier: str = ""  # dotted receiver of the call in the source line (`torch.hub` for torch.hub.f(...))
    detail: str = ""

    @property
    def message(self) -> str:
        return self.block.message.split("\n", 1)[0]

    def describe(self) -> str:
        """One line for humans: `missing-name: PILLOW_VERSION from PIL (torchvision/transforms/functional.py)`."""
        what = {
            "missing-name": "%s%s%s" % (self.name, " from %s" % self.module if self.module else "",
                                         " on %s objects" % self.owner if self.owner else ""),
            "missing-module": self.module,
            "call-shape": "%s() %s %s" % (self.callee, self.detail, self.name),
        }.get(self.kind, self.message[:120])
        where = self.frame.site_path or self.frame.path if self.frame else ""
        return "%s: %s%s" % (self.kind, what.strip(), " (%s)" % where if where else "")
