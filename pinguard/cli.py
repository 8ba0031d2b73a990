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
    fx = commands.add_parser("fix", help="repair a crashed pin list while keeping the anchor")
    fx.add_argument("--env", metavar="FILE", help="the crashed environment: name==version lines (- = stdin)")
    fx.add_argument("--mission", metavar="FILE", help="a debug-mission file (environment, Python, traceback, anchor)")
    fx.add_argument("--anchor", action="append", default=[], metavar="REQ", help="the pin that must stay; repeatable")
    fx.add_argument("--python", metavar="X.Y", help="the target Python (not the one pinguard runs on)")
    fx.add_argument("--traceback", metavar="FILE", help="the crash text")
    fx.add_argument("--gpu", metavar="sm_XY|auto|none", help="the GPU the crash happened on (default: sm_75)")
    fx.add_argument("--format", choices=("pins", "explain", "json"), default="pins")
    fx.add_argument("--offline", action="store_true", help="use the metadata cache only (PINGUARD_OFFLINE=1)")
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


DEFAULT_GPU = "7.5"
DEFAULT_GPU_TEXT = ("no --gpu given: assuming an NVIDIA Turing GPU (sm_75, e.g. RTX 2080 Ti, the debug missions' "
                    "host); pass --gpu sm_XY or --gpu auto to change it")


def _gpu(text: Optional[str]):
    """(compute capability or None, what was assumed) for --gpu sm_XY | X.Y | auto | none."""
    if text is None:
        return Version(DEFAULT_GPU), DEFAULT_GPU_TEXT
    value = text.strip().lower()
    if value in ("none", "cpu"):
        return None, "no GPU (--gpu %s): GPU-specific rules do not apply" % text
    if value == "auto":
        from pinguard.sources.gpu_probe import probe_compute_capability

        found, how = probe_compute_capability()
        if found is None:
            return None, "--gpu auto: no GPU seen (%s); GPU-specific rules do not apply" % how
        return found, "--gpu auto: compute capability %s (%s)" % (found, how)
    digits = value[3:] if value.startswith("sm_") else value.replace(".", "")
    if not digits.isdigit() or len(digits) < 2:
        raise BadInput("--gpu takes sm_XY (e.g. sm_75, sm_86), X.Y, auto or none, not %r" % text)
    return Version("%s.%s" % (digits[:-1], digits[-1])), "--gpu: compute capability %s.%s" % (digits[:-1], digits[-1])


def cmd_fix(args: argparse.Namespace) -> int:
    from pinguard.adapters.fix_output import render_fix
    from pinguard.engines.fix import fix
    from pinguard.model import Anchor
    from pinguard.sources.index import IndexClient
    from pinguard.sources.metadata import IndexPackageData
    from pinguard.sources.mission import parse_mission
    from pinguard.sources.pins import parse_pins, read_text

    kb = kb_module.load()
    traceback = ""
    if args.mission:
        if args.env:
            raise BadInput("give either --mission or --env, not both")
        mission = parse_mission(read_text(args.mission), args.mission)
        env_text, where = "\n".join(mission.env), args.mission
        anchor_texts = args.anchor or [a for a in [mission.anchor] if a]
        python_text = args.python or mission.python
        traceback = mission.traceback
    elif args.env:
        env_text, where = read_text(args.env), args.env
        anchor_texts, python_text = args.anchor, args.python
    else:
        raise BadInput("give the environment with --env FILE (or a debug-mission file with --mission FILE)")
    if args.traceback:
        traceback = read_text(args.traceback)
    if not anchor_texts:
        raise BadInput("give the anchor with --anchor, e.g. --anchor torch==1.10.0")
    if not python_text:
        raise BadInput("give the target Python with --python X.Y")
    python = parse_python(python_text)
    anchors = [Anchor.parse(a) for a in anchor_texts]
    env = parse_pins(env_text, where, python=None)
    gpu, assumption = _gpu(args.gpu)
    import logging

    logging.getLogger("pinguard.sources").setLevel(logging.ERROR)  # notices are for --format explain, not noise
    client = IndexClient(offline=args.offline, progress=sys.stderr.isatty())
    data = IndexPackageData(client, python)
    result = fix(kb, data, env, anchors, python, traceback=traceback, gpu=gpu, assumptions=[assumption])
    sys.stdout.write(render_fix(kb, result, args.format))
    if not result.ok:
        print("pinguard: no repair: %s" % result.impossible, file=sys.stderr)
        return EXIT_FOUND
    return EXIT_OK


COMMANDS = {"generate": cmd_generate, "check": cmd_check, "fix": cmd_fix}


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
