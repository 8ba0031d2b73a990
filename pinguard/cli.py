"""`pinguard ...`: parse, call one engine, render. Errors are one line and an exit code, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional, Sequence

from packaging.version import InvalidVersion, Version

from pinguard import __version__, kb as kb_module
from pinguard.errors import BadInput, PinguardError

EXIT_OK, EXIT_FOUND, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        raise BadInput("%s (see `%s --help`)" % (message, self.prog))


def parse_python(text: Optional[str]) -> Optional[Version]:
    if text is None:
        return None
    try:
        version = Version(text)
    except InvalidVersion:
        version = None
    if version is None or len(version.release) < 2 or version.major not in (2, 3) or version.local or version.pre:
        raise BadInput("--python takes a Python version such as 3.7 or 3.10, not %r" % text)
    return Version("%d.%d" % (version.major, version.minor))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pinguard", description="Keep an environment anchored to one torch build.")
    parser.add_argument("--version", action="version", version="pinguard %s" % __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gen = commands.add_parser("generate", help="constraints implied by anchors (pip, uv, conda, json)")
    gen.add_argument("anchors", nargs="+", metavar="ANCHOR", help="e.g. torch==1.10.0, torch==1.10.0+cu113")
    gen.add_argument("--python", metavar="X.Y", help="target Python (default: not fixed; markers are emitted)")
    gen.add_argument("--cuda", metavar="VARIANT", help="torch build: cu113, cpu, rocm4.2 ... (default: PyPI's)")
    gen.add_argument("--with", dest="with_", action="append", default=[], metavar="PKG",
                     help="a package you will also install (its rules apply); repeatable")
    gen.add_argument("--format", choices=("pip", "uv", "conda", "json"), default="pip")
    gen.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")

    chk = commands.add_parser("check", help="violations of an anchor in a pin list (pip freeze / requirements)")
    chk.add_argument("file", nargs="?", default="-", metavar="FILE", help="pin list; - or omitted = stdin")
    chk.add_argument("--anchor", action="append", default=[], metavar="ANCHOR", help="repeatable")
    chk.add_argument("--python", metavar="X.Y")
    chk.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def cmd_generate(args: argparse.Namespace) -> int:
    from pinguard.adapters.formats import render
    from pinguard.engines.family import normalize_build
    from pinguard.engines.generate import generate
    from pinguard.fsutil import write_atomic
    from pinguard.model import Anchor, parse_requirement

    kb = kb_module.load()
    anchors = [Anchor.parse(a) for a in args.anchors]
    with_ = [parse_requirement(w, "--with requirement") for w in args.with_]
    build = normalize_build(args.cuda) if args.cuda else None
    result = generate(kb, anchors, python=parse_python(args.python), build=build, with_=with_)
    text = render(kb, result, args.format)
    if args.output:
        write_atomic(args.output, text)
        print("wrote %d constraints to %s" % (len(result.constraints), args.output), file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from pinguard.engines.check import check
    from pinguard.model import Anchor
    from pinguard.sources.mission import is_mission, parse_mission
    from pinguard.sources.pins import parse_pins, read_text

    kb = kb_module.load()
    where = "<stdin>" if args.file in (None, "-") else args.file
    text = read_text(args.file)
    anchor_texts, python_text = list(args.anchor), args.python
    if is_mission(text):  # a debug-mission file carries its own environment, Python and anchor
        mission = parse_mission(text, where)
        text = "\n".join(mission.env)
        anchor_texts = anchor_texts or [a for a in [mission.anchor] if a]
        python_text = python_text or mission.python
    if not anchor_texts:
        raise BadInput("give the anchor with --anchor, e.g. --anchor torch==1.10.0")
    anchors = [Anchor.parse(a) for a in anchor_texts]
    python = parse_python(python_text)
    pins = parse_pins(text, where, python)
    result = check(kb, pins, anchors, python=python)
    if args.json:
        print(json.dumps({
            "anchors": [a.text for a in anchors],
            "python": python_text,
            "clean": not result.violations,
            "violations": [v.as_dict() for v in result.violations],
            "notes": result.notes,
        }, indent=2))
    else:
        _print_check(result, anchors, len(pins))
    return EXIT_FOUND if result.violations else EXIT_OK


def _print_check(result, anchors, count: int) -> None:
    label = ", ".join(a.text for a in anchors)
    if not result.violations:
        print("ok: %d pins are consistent with %s" % (count, label))
    else:
        print("%d violation%s of %s:" % (len(result.violations), "" if len(result.violations) == 1 else "s", label))
    for violation in result.violations:
        print("")
        print("  [%s] %s" % (violation.rule, violation.summary))
        print("    packages: %s" % ", ".join("%s==%s" % kv for kv in sorted(violation.packages.items())))
        if violation.fix:
            print("    fix:      %s" % " ".join(violation.fix))
        if violation.sources:
            print("    source:   %s" % violation.sources[0])
            for source in violation.sources[1:3]:
                print("              %s" % source)
    for note in result.notes:
        print("note: %s" % note, file=sys.stderr)


COMMANDS = {"generate": cmd_generate, "check": cmd_check}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return EXIT_BAD_INPUT
        return COMMANDS[args.command](args)
    except PinguardError as exc:
        print("pinguard: error: %s" % exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pinguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: say so in one line, keep the traceback for those who ask
        if os.environ.get("PINGUARD_DEBUG"):
            raise
        print("pinguard: internal error: %s: %s (rerun with PINGUARD_DEBUG=1 for the traceback)" % (
            type(exc).__name__, exc), file=sys.stderr)
        return EXIT_INTERNAL
