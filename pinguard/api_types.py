"""What a release's own code shows about one module: pure types, filled by pinguard.sources.api_facts (which parses
the source with `ast`) and read by the evidence engine."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterable, Optional, Sequence, Tuple

from packaging.version import Version


@dataclass(frozen=True)
class Signature:
    """Parameters of one `def`, as Python binds arguments to them."""

    positional: Tuple[str, ...]  # positional-or-keyword, in order (`self` included for methods)
    posonly: Tuple[str, ...] = ()
    kwonly: Tuple[str, ...] = ()
    varargs: bool = False
    varkw: bool = False
    defaults: int = 0  # how many of posonly + positional have a default

    def accepts_keyword(self, name: str) -> bool:
        return self.varkw or name in self.positional or name in self.kwonly

    def max_positional(self) -> Optional[int]:
        """How many positional arguments a call may pass (None: unlimited, *args)."""
        return None if self.varargs else len(self.posonly) + len(self.positional)

    def describe(self) -> str:
        parts = list(self.posonly) + (["/"] if self.posonly else []) + list(self.positional)
        if self.varargs:
            parts.append("*args")
        elif self.kwonly:
            parts.append("*")
        parts += list(self.kwonly)
        if self.varkw:
            parts.append("**kwargs")
        return "(%s)" % ", ".join(parts)


@dataclass(frozen=True)
class ClassFacts:
    name: str
    bases: Tuple[str, ...]  # dotted names as written
    attributes: FrozenSet[str]  # every name bound in the class body, methods and properties included
    methods: Dict[str, Signature]
    setters: FrozenSet[str]  # properties that have a setter
    properties: FrozenSet[str]
    dynamic: bool  # defines __getattr__ / __getattribute__: attribute lookups cannot be judged


@dataclass(frozen=True)
class ImportFact:
    """One module-level import statement."""

    module: str  # absolute module name (relative imports resolved)
    names: Tuple[str, ...]  # imported names for `from M import ...`; () for `import M`
    line: int
    guarded: bool  # inside a `try` whose handlers catch ImportError / Exception, in such a handler (a fallback),
    # or under `if TYPE_CHECKING`
    conditions: Tuple[Tuple[ast.AST, bool], ...] = ()  # enclosing `if` tests, and whether the import is in the
    # body (True) or the else branch (False)


@dataclass(frozen=True)
class Statement:
    """A `raise` or `assert` statement: where it is, what its message says and what guards it."""

    kind: str  # "raise" | "assert"
    first: int
    last: int
    texts: Tuple[str, ...]  # string constants in the message (f-string literal parts included)
    condition: Optional[ast.AST] = None  # the assert's test, or the test of the innermost `if` around a raise


@dataclass(frozen=True)
class ModuleDetails:
    statements: Tuple[Statement, ...] = ()  # raise and assert statements
    attributes_used: FrozenSet[str] = frozenset()  # dotted chains read anywhere (`entry_points.get`, `np.float`)
    call_keywords: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # callee name -> keywords passed
    digit_helpers: FrozenSet[str] = frozenset()  # functions building digit lists (mmdet 2.x `digit_version`)


@dataclass(frozen=True)
class ModuleFacts:
    module: str
    names: FrozenSet[str]
    all: Optional[Tuple[str, ...]]
    star_imports: Tuple[str, ...]
    has_getattr: bool
    dynamic: bool
    functions: Dict[str, Signature]
    classes: Dict[str, ClassFacts]
    imports: Tuple[ImportFact, ...]
    deprecated: bool = False  # the module warns at import that it is deprecated (a shim kept for old imports)
    assignments: Dict[str, ast.AST] = field(default_factory=dict)  # NAME = <expr> at module level (last one)
    read_details: Optional[Callable[[], "ModuleDetails"]] = field(default=None, compare=False, repr=False)

    @property
    def details(self) -> "ModuleDetails":
        """What a walk of the whole tree shows; computed on first use (an import walk never needs it)."""
        cached = self.__dict__.get("_details")
        if cached is None:
            cached = self.read_details() if self.read_details is not None else ModuleDetails()
            object.__setattr__(self, "_details", cached)
        return cached

    @property
    def statements(self) -> Tuple[Statement, ...]:
        return self.details.statements

    @property
    def call_keywords(self) -> Dict[str, FrozenSet[str]]:
        return self.details.call_keywords

    def uses_attribute(self, chain: str) -> bool:
        return chain in self.details.attributes_used

    def binds(self, name: str) -> Optional[bool]:
        """True/False when the module's own code shows whether `name` is bound; None when it cannot tell
        (a module `__getattr__`, dynamic rebinding, or star imports that the caller has not resolved)."""
        if name in self.names:
            return True
        if self.has_getattr or self.dynamic or self.star_imports:
            return None
        return False

    def statement_at(self, line: int) -> Optional[Statement]:
        """The innermost raise/assert statement spanning `line`."""
        covering = [s for s in self.statements if s.first <= line <= s.last]
        return min(covering, key=lambda s: s.last - s.first) if covering else None

    def raise_texts(self) -> FrozenSet[str]:
        return frozenset(t for s in self.statements for t in s.texts)


@dataclass(frozen=True)
class ModuleLookup:
    """What a release says about one module: status is "module", "package", "absent", "binary" or "unknown"."""

    status: str
    path: str = ""
    facts: Optional[ModuleFacts] = None
    why: str = ""  # for "unknown": what stopped the reading

    @property
    def exists(self) -> Optional[bool]:
        if self.status in ("module", "package", "binary"):
            return True
        if self.status == "absent":
            return False
        return None


Request = Tuple[str, Version, str]  # (distribution, version, module)


class ApiView:
    """What the evidence engine asks of the outside world (pinguard.sources.release_files implements it)."""

    def module(self, dist: str, version: Version, module: str) -> ModuleLookup:
        raise NotImplementedError

    def top_level(self, dist: str, version: Version) -> Optional[Sequence[str]]:
        """Import names the release's file installs at the top of site-packages (None: unknown)."""
        return None

    def warm(self, requests: Iterable[Request]) -> None:
        """Optional: read these modules now, together (the engine asks before testing a batch of releases)."""

    def warm_listings(self, releases: Iterable[Tuple[str, Version]]) -> None:
        """Optional: read the listings of several releases together."""
