"""What a module's source shows, read with ast (never imported), and version checks evaluated without running them."""

import ast

from pinguard.engines import version_expr
from pinguard.sources.api_facts import module_facts

SOURCE = '''
"""A module of some release."""
import os, numpy as np
from . import _impl
from .helpers import *
try:
    from PIL import PILLOW_VERSION
except ImportError:
    from PIL import __version__ as PILLOW_VERSION
if TYPE_CHECKING:
    from typing_extensions import Protocol
if sp_version >= (1, 3):
    from scipy.special import comb
else:
    from scipy.misc import comb

__all__ = ["load", "Loader"]
__all__ += ["legacy"]
MIN_VERSION = "1.3.8"
temporary = 1
del temporary

def load(path, *, mode="r", **options):
    raise ValueError("cannot load %s" % path)

class Loader(Base):
    format = "x"

    @property
    def hparams(self):
        return self._h

    @hparams.setter
    def hparams(self, value):
        self._h = value

    @property
    def frozen(self):
        return 1

    def read(self, path, size=-1):
        return entry_points.get("group", [])

assert np.__version__ >= MIN_VERSION, "numpy too old"
'''


def facts():
    found = module_facts(SOURCE, "pkg.io", is_package=False)
    assert found is not None
    return found


def test_names_bound_in_every_branch_and_removed_by_del():
    f = facts()
    for name in ("os", "np", "_impl", "PILLOW_VERSION", "Protocol", "comb", "load", "Loader", "MIN_VERSION"):
        assert f.binds(name) is None or name in f.names, name
    assert "temporary" not in f.names
    assert f.all == ("load", "Loader", "legacy")
    assert f.star_imports == ("pkg.helpers",)
    assert f.binds("nothing_like_this") is None  # a star import could bring it: cannot tell


def test_imports_know_their_guards_and_conditions():
    by_line = {(i.module, i.names): i for i in facts().imports}
    assert not by_line[("pkg", ("_impl",))].guarded
    assert by_line[("PIL", ("PILLOW_VERSION",))].guarded  # inside try/except ImportError
    assert by_line[("PIL", ("__version__",))].guarded  # the fallback in the handler
    assert by_line[("typing_extensions", ("Protocol",))].guarded  # TYPE_CHECKING
    special = by_line[("scipy.special", ("comb",))]
    misc = by_line[("scipy.misc", ("comb",))]
    assert [taken for _, taken in special.conditions] == [True]
    assert [taken for _, taken in misc.conditions] == [False]


def test_signatures_classes_properties_and_usage():
    f = facts()
    load = f.functions["load"]
    assert load.accepts_keyword("mode") and load.accepts_keyword("anything")  # **options
    assert f.classes["Loader"].methods["read"].max_positional() == 3
    assert not f.classes["Loader"].methods["read"].accepts_keyword("encoding")
    loader = f.classes["Loader"]
    assert loader.properties == {"hparams", "frozen"} and loader.setters == {"hparams"}
    assert f.uses_attribute("entry_points.get")
    assert f.raise_texts() >= {"cannot load %s", "numpy too old"}


def test_statements_and_version_checks():
    f = facts()
    assertion = [s for s in f.statements if s.kind == "assert"][0]
    assert version_expr.version_modules(assertion.condition) == {"np"}
    assert version_expr.holds(assertion.condition, {"np": "1.4.0"}, f.assignments) is True
    assert version_expr.holds(assertion.condition, {"np": "1.3.7"}, f.assignments) is False
    raise_line = SOURCE.splitlines().index('    raise ValueError("cannot load %s" % path)') + 1
    assert f.statement_at(raise_line).texts == ("cannot load %s",)


def test_dynamic_modules_and_deprecation_shims_are_recognised():
    dynamic = module_facts("import sys\nglobals().update({'a': 1})\n", "m")
    assert dynamic.dynamic and dynamic.binds("a") is None
    lazy = module_facts("def __getattr__(name):\n    return 1\n", "m")
    assert lazy.binds("anything") is None
    shim = module_facts("import warnings\nwarnings.warn('use x.y', FutureWarning)\nfrom ._new import *\n", "m")
    assert shim.deprecated
    assert module_facts("def broken(:\n", "m") is None  # unparsable: unknown, never "absent"


def test_version_expressions_stay_unknown_rather_than_guess():
    expr = ast.parse("int(str('').join(torch.__version__.split('.')[0:2])) >= 13", mode="eval").body
    assert [version_expr.holds(expr, {"torch": v}) for v in ("1.2.0", "1.3.0", "1.10.0")] == [False, True, True]
    tuple_check = ast.parse("tuple(map(int, tf.__version__.split('.')[:2])) < (2, 0)", mode="eval").body
    assert version_expr.holds(tuple_check, {"tf": "1.15.5"}) is True
    assert version_expr.holds(tuple_check, {}) is None  # the version of tf is not known
    call = ast.parse("os.system('rm -rf /') == 0", mode="eval").body
    assert version_expr.holds(call, {"os": "1"}) is None  # nothing is ever run
    huge = ast.parse("'x' * 10 ** 9 == ''", mode="eval").body
    assert version_expr.holds(huge, {}) is None
