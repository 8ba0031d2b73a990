"""`pinguard ...`: parse, call one engine, render. Errors are one line and an exit code, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, NoReturn, Optional, Sequence

from pinguard import __version__
from pinguard.adapters import format_names
from pinguard.errors import EXIT_BAD_INPUT, EXIT_FOUND, EXIT_INTERNAL, EXIT_OK, BadInput, PinguardError

if TYPE_CHECKING:
    from packaging.version import Version

# Heavy modules (packaging's specifiers, the knowledge base) are imported where they are used, so that
# `pinguard pip install` can start pip before paying for them (see pinguard/adapters/pip_guard.py).


class _KnowledgeModule:
    """`kb_module.load()` without importing pinguard.kb at start-up."""

    @staticmethod
    def load():
        from pinguard import kb

        return kb.load()

    @staticmethod
    def load_for_judging():
        """The knowledge base without crash signatures and evidence (all generate, check and lock read), from the
        snapshot of pinguard/kb_cache.py when it is current: a pickle instead of parsing five TOML files."""
        from pinguard.kb_cache import load_slim

        return load_slim()


kb_module = _KnowledgeModule()

EXIT_CODES = ("exit codes: 0 ok, 1 findings / refused / no repair, 2 bad input, 3 internal error (a bug), "
              "4 network (the index cannot be reached, or, offline, the cache cannot answer)")
MAX_ERROR_LINE = 1000
DEPENDENCIES = ("packaging", "resolvelib", "tomli")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("epilog", EXIT_CODES)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line, exit 2, like every other bad input
        raise BadInput("%s (see `%s --help`)" % (message, self.prog))


def parse_python(text: Optional[str]) -> Optional["Version"]:
    """--python of generate/check/fix: a version (X.Y), or an interpreter whose X.Y is read (run isolated)."""
    from packaging.version import InvalidVersion, Version

    from pinguard.errors import quote
    from pinguard.sources.environment import interpreter_version, looks_like_version

    if text is None:
        return None
    if not looks_like_version(text) and ("/" in text or os.sep in text or os.path.exists(text)):
        text = interpreter_version(text)
    version = None
    if len(text) <= 20:
        try:
            version = Version(text)
        except InvalidVersion:
            version = None
    if version is None or len(version.release) < 2 or version.major not in (2, 3) or version.local or version.pre:
        raise BadInput("--python takes a Python version such as 3.7 or 3.10, or an interpreter's path, not %s"
                       % quote(text, 40))
    return Version("%d.%d" % (version.major, version.minor))


def _format_option(parser: argparse.ArgumentParser, choices: Sequence[str], default: str) -> None:
    """--format (kept) and --json (the spelling every command shares; = --format json)."""
    parser.add_argument("--format", choices=choices, default=None, help="output format (default: %s)" % default)
    parser.add_argument("--json", action="store_true", help="machine-readable output (= --format json)")


def _output_format(args: argparse.Namespace, default: str) -> str:
    if args.json and args.format not in (None, "json"):
        raise BadInput("give --json or --format %s, not both" % args.format)
    return "json" if args.json else (args.format or default)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pinguard", description="Keep an environment anchored to one torch build.")
    parser.add_argument("--version", action="version", version="pinguard %s" % __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gen = commands.add_parser("generate", help="constraints implied by anchors (pip, uv, conda, json)")
    gen.add_argument("anchors", nargs="+", metavar="ANCHOR", help="e.g. torch==1.10.0, torch==1.10.0+cu113")
    gen.add_argument("--python", metavar="X.Y|PATH", help="target Python: a version, or an interpreter whose version "
                     "is read (default: not fixed; markers are emitted)")
    gen.add_argument("--cuda", metavar="VARIANT", help="torch build: cu113, cpu, rocm4.2 ... (default: PyPI's)")
    gen.add_argument("--with", dest="with_", action="append", default=[], metavar="PKG",
                     help="a package you will also install (its rules apply); repeatable")
    _format_option(gen, format_names.GENERATE, "pip")
    gen.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")

    chk = commands.add_parser("check", help="violations of an anchor in a pin list (pip freeze / requirements)")
    chk.add_argument("file", nargs="?", default="-", metavar="FILE", help="pin list; - or omitted = stdin")
    chk.add_argument("--anchor", action="append", default=[], metavar="ANCHOR", help="repeatable")
    chk.add_argument("--python", metavar="X.Y|PATH", help="target Python: a version, or an interpreter's path")
    chk.add_argument("--json", action="store_true", help="machine-readable output")
    chk.add_argument("--prefix", metavar="PATH", help="check a conda environment (its conda-meta records and what "
                     "pip put beside them) instead of a pin list; anchors default to the ones init recorded")
    fx = commands.add_parser("fix", help="repair a crashed pin list while keeping the anchor")
    fx.add_argument("--env", metavar="FILE", help="the crashed environment: name==version lines (- = stdin)")
    fx.add_argument("--mission", metavar="FILE", help="a debug-mission file (environment, Python, traceback, anchor)")
    fx.add_argument("--anchor", action="append", default=[], metavar="REQ", help="the pin that must stay; repeatable")
    fx.add_argument("--python", metavar="X.Y|PATH", help="the target Python (not the one pinguard runs on): a "
                    "version, or an interpreter's path")
    fx.add_argument("--traceback", metavar="FILE", help="the crash text")
    fx.add_argument("--gpu", metavar="sm_XY|auto|none", help="the GPU the crash happened on (default: the "
                    "knowledge base's, sm_75)")
    _format_option(fx, format_names.FIX, "pins")
    fx.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    from pinguard.adapters.index_options import add_index_options

    add_index_options(fx)

    _lock_parser(commands)

    ini = commands.add_parser("init", help="protect an environment: pip.conf, UV_CONSTRAINT, uv.toml, --hook")
    ini.add_argument("anchors", nargs="*", metavar="ANCHOR", help="e.g. torch==1.10.0 (default: the recorded ones)")
    ini.add_argument("--python", metavar="PATH", help="the environment's interpreter or directory (default: the "
                     "one running pinguard); Python 3.6+. A version (3.7) names no environment and is refused")
    ini.add_argument("--prefix", metavar="PATH", nargs="?", const="", help="the environment's directory instead "
                     "of --python (a conda environment without a Python of its own works too); --prefix alone: "
                     "the active CONDA_PREFIX")
    ini.add_argument("--cuda", metavar="VARIANT", help="torch build: cu113, cpu ... (default: PyPI's)")
    ini.add_argument("--hook", action="store_true", help="also install the in-process guard (a .pth file)")
    ini.add_argument("--project", action="append", default=[], metavar="DIR",
                     help="also write DIR/uv.toml constraint-dependencies; repeatable")
    ini.add_argument("--undo", action="store_true", help="restore every file init changed, byte for byte")
    ini.add_argument("--json", action="store_true", help="machine-readable output")

    commands.add_parser("pip", help="pinguard pip install [--python PATH] [--rewrite] [--dry-run] [--json] "
                        "ARGS...: a guarded pip install", add_help=False)
    commands.add_parser("uv", help="pinguard uv pip install [same options] ARGS...: a guarded uv pip install",
                        add_help=False)

    _knowledge_parser(commands)

    doc = commands.add_parser("doctor", help="inspect a live environment: anchor, builds, GPU, pip-over-conda, "
                              "RECORDs, pip check")
    doc.add_argument("--python", metavar="PATH", help="the environment's interpreter or directory (default: this "
                     "one); a version (3.7) names no environment and is refused")
    doc.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _knowledge_parser(commands) -> None:
    kno = commands.add_parser("knowledge", help="the knowledge base itself: `knowledge verify` checks it against "
                              "the releases on the index")
    actions = kno.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    ver = actions.add_parser("verify", help="pairings against Requires-Dist, Python lists against wheel tags, each "
                             "rule's evidence against the releases' files, new family releases; exit 1 when a "
                             "claim disagrees, 4 when the index cannot be reached")
    ver.add_argument("--releases", action="append", nargs="+", default=[], metavar="VERSION",
                     help="check only these torch releases of torch.toml (globs such as '1.1*' work)")
    ver.add_argument("--rules", action="append", nargs="+", default=[], metavar="ID",
                     help="check only these rules' evidence (ids or globs such as 'mmdet-*')")
    ver.add_argument("--sample", type=int, metavar="N", help="N torch releases and N rules with checkable "
                     "evidence, evenly spread over the selection")
    ver.add_argument("--json", action="store_true", help="machine-readable output")
    ver.add_argument("--index-url", metavar="URL", help="the index to read (default: the primary index of pip's, "
                     "then uv's configuration, else PyPI; extra indexes and find-links are not read)")
    ver.add_argument("--offline", action="store_true", help="read the cache only (PINGUARD_OFFLINE=1)")
    ver.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")


def _lock_parser(commands) -> None:
    from pinguard.adapters.index_options import add_index_options

    lck = commands.add_parser("lock", help="a lockfile held to the anchor: pylock.toml (PEP 751), hashed "
                              "requirements, conda pins; --check for CI")
    lck.add_argument("inputs", nargs="*", metavar="INPUT", help="requirements files (-r/-c followed) or "
                     "pyproject.toml; none: the anchor alone")
    lck.add_argument("--anchor", action="append", default=[], metavar="REQ", help="repeatable (default: "
                     "pinguard.toml or [tool.pinguard] beside the first input)")
    lck.add_argument("--python", metavar="X.Y|PATH", help="the target Python (required unless the project says)")
    lck.add_argument("--cuda", metavar="VARIANT", help="torch build the family is held to: cu113, cpu ...")
    lck.add_argument("--gpu", metavar="sm_XY", help="refuse a build without kernels for this GPU")
    lck.add_argument("--extra", action="append", default=[], metavar="NAME", help="pyproject optional "
                     "dependencies to include; repeatable")
    lck.add_argument("--group", action="append", default=[], metavar="NAME", help="pyproject dependency group "
                     "to include; repeatable")
    lck.add_argument("-o", "--output", action="append", default=[], metavar="FILE", help="pylock.toml / "
                     "pylock.<name>.toml (PEP 751), *.txt (hashed requirements), - (stdout); repeatable, one "
                     "resolution (default: pylock.<build>.toml or pylock.toml)")
    lck.add_argument("--format", choices=format_names.LOCK, help="the output format for -o - "
                     "(and conda pins for any -o)")
    lck.add_argument("--backend", choices=("auto", "uv", "pinguard"), default="auto", help="resolve with uv "
                     "(auto: when on PATH or PINGUARD_UV) or pinguard's own resolver")
    lck.add_argument("--check", nargs="?", const="", default=None, metavar="FILE", help="check a written lock "
                     "offline instead (default: the one pylock*.toml here)")
    lck.add_argument("--json", action="store_true", help="machine-readable output")
    lck.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    add_index_options(lck)


def _judge_parser() -> argparse.ArgumentParser:
    """The install hook's judge (plan JSON on stdin, verdict JSON on stdout): internal, so not a listed command."""
    jdg = _Parser(prog="pinguard _judge", add_help=False)
    jdg.add_argument("--prefix", required=True)
    return jdg


def cmd_generate(args: argparse.Namespace) -> int:
    from pinguard.adapters.formats import render
    from pinguard.engines.family import normalize_build
    from pinguard.engines.generate import generate
    from pinguard.fsutil import write_atomic
    from pinguard.model import Anchor, parse_requirement

    output = _output_format(args, "pip")
    kb = kb_module.load_for_judging()
    anchors = [Anchor.parse(a) for a in args.anchors]
    with_ = [parse_requirement(w, "--with requirement") for w in args.with_]
    build = normalize_build(args.cuda) if args.cuda else None
    result = generate(kb, anchors, python=parse_python(args.python), build=build, with_=with_)
    for line in result.dropped:
        print("pinguard: note: %s" % line, file=sys.stderr)
    for anchor in anchors:
        if not kb_knows(kb, anchor.name):
            print("pinguard: warning: the knowledge base knows nothing of %s: its anchor is passed through as "
                  "given, and no rule or pairing applies to it" % anchor.display, file=sys.stderr)
    text = render(kb, result, output)
    if args.output:
        write_atomic(args.output, text)
        print("wrote %d constraints to %s" % (len(result.constraints), args.output), file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def kb_knows(kb, name: str) -> bool:
    """Does the knowledge base say anything about this package (torch family, a rule, a conda name)?"""
    if name in kb.family.all:
        return True
    return any(name in rule.packages() for rule in kb.rules)


def cmd_check(args: argparse.Namespace) -> int:
    if getattr(args, "prefix", None):
        return cmd_check_prefix(args)
    from pinguard.engines.check import check
    from pinguard.model import Anchor
    from pinguard.sources.mission import is_mission, parse_mission
    from pinguard.sources.pins import read_pin_list, read_text

    kb = kb_module.load_for_judging()
    where = "<stdin>" if args.file in (None, "-") else args.file
    text = read_text(args.file)
    anchor_texts, python_text, base = list(args.anchor), args.python, None
    if is_mission(text):  # a debug-mission file carries its own environment, Python and anchor
        mission = parse_mission(text, where)
        text, base = "\n".join(mission.env), os.path.dirname(where) if where != "<stdin>" else "."
        anchor_texts = anchor_texts or [a for a in [mission.anchor] if a]
        python_text = python_text or mission.python
    if not anchor_texts:
        raise BadInput("give the anchor with --anchor, e.g. --anchor torch==1.10.0")
    anchors = [Anchor.parse(a) for a in anchor_texts]
    python = parse_python(python_text)
    if where.endswith(".toml") and text.lstrip().startswith(("lock-version", "#")) and "lock-version" in text:
        from pinguard.sources.lock_reader import lock_pin_list  # a PEP 751 lock: its packages are the pins

        pin_list = lock_pin_list(text, where, python)
    else:
        pin_list = read_pin_list(text, where, python, base)
    result = check(kb, pin_list.pins, anchors, python=python)
    return _report_check(args, result, anchors, len(pin_list.pins), str(python) if python else None,
                         unjudged=pin_list.unjudged, files=pin_list.files)


def _report_check(args: argparse.Namespace, result, anchors, count: int, python_text, unjudged=(),
                  **extra) -> int:
    """Print a check result (text or --json) and return its exit code: 0 clean, 1 violations."""
    from pinguard.adapters.check_output import render_check

    text, notes = render_check(result, anchors, count, python_text, args.json, unjudged, extra)
    sys.stdout.write(text)
    for line in notes:
        print(line, file=sys.stderr)
    return EXIT_FOUND if result.violations else EXIT_OK


# --- conda (issue 4): `pinguard check --prefix PATH` -----------------------------------------------------------


def cmd_check_prefix(args: argparse.Namespace) -> int:
    """`check --prefix`: a conda environment read from its conda-meta records (adapters/conda_env.check_prefix)."""
    from pinguard.adapters.conda_env import check_prefix

    if args.file not in (None, "-"):
        raise BadInput("give either a pin list FILE or --prefix PATH, not both")
    kb = kb_module.load_for_judging()
    result, anchors, count, python_text = check_prefix(kb, args.prefix, args.anchor, parse_python(args.python))
    return _report_check(args, result, anchors, count, python_text, prefix=os.path.abspath(args.prefix))


# --- end conda ---------------------------------------------------------------------------------------------------


def cmd_fix(args: argparse.Namespace) -> int:
    from pinguard.adapters.fix_output import render_fix
    from pinguard.adapters.fix_session import repair
    from pinguard.adapters.gpu_option import gpu_option
    from pinguard.adapters.index_options import index_client
    from pinguard.adapters.progress import Phases
    from pinguard.model import Anchor
    from pinguard.sources.mission import parse_mission
    from pinguard.sources.pins import parse_pins, read_text

    output = _output_format(args, "pins")
    phases = Phases("fix", quiet=args.quiet)
    traceback = ""
    if args.mission:
        if args.env:
            raise BadInput("give either --mission or --env, not both")
        mission = parse_mission(read_text(args.mission, "mission file"), args.mission)
        env_text, where = "\n".join(mission.env), args.mission
        anchor_texts = args.anchor or [a for a in [mission.anchor] if a]
        python_text = args.python or mission.python
        traceback = mission.traceback
    elif args.env:
        env_text, where = read_text(args.env, "environment file"), args.env
        anchor_texts, python_text = args.anchor, args.python
    else:
        raise BadInput("give the environment with --env FILE (or a debug-mission file with --mission FILE)")
    if args.traceback:
        traceback = read_text(args.traceback, "crash text file")
    if not anchor_texts:
        raise BadInput("give the anchor with --anchor, e.g. --anchor torch==1.10.0")
    if not python_text:
        raise BadInput("give the target Python with --python X.Y")
    python = parse_python(python_text)
    assert python is not None  # python_text is not empty
    anchors = [Anchor.parse(a) for a in anchor_texts]
    env = parse_pins(env_text, where, python=None)
    kb = kb_module.load()
    gpu, assumption = gpu_option(args.gpu, kb.gpu.default)
    import logging

    logging.getLogger("pinguard.sources").setLevel(logging.ERROR)  # notices are for --format explain, not noise
    client = index_client(args, phases)
    phases.phase("resolving %d pins for Python %s, fetching package data and release files as needed" % (
        len(env), python))
    result = repair(kb, client, env, anchors, python, traceback=traceback, gpu=gpu, assumptions=[assumption])
    phases.done("done in %.1f s (%d requests, %.1f MB fetched)" % (phases.elapsed(), client.requests_made,
                                                                   client.bytes_fetched / 1e6))
    sys.stdout.write(render_fix(kb, result, output))
    if not result.ok:
        print("pinguard: no repair: %s" % result.impossible, file=sys.stderr)
        return EXIT_FOUND
    if result.remaining:
        print("pinguard: warning: the repaired pins still break %s; see --format explain" % ", ".join(
            "[%s]" % v.rule for v in result.remaining), file=sys.stderr)
    return EXIT_OK


def _flat(values) -> list:
    """`--rules a b --rules c,d` -> [a, b, c, d]."""
    return [word for group in values for item in group for word in item.split(",") if word]


def cmd_knowledge(args: argparse.Namespace) -> int:
    if args.action != "verify":
        raise BadInput("give an action: pinguard knowledge verify [--rules ID...] [--releases X...] [--sample N]")
    import logging

    from pinguard.adapters import knowledge_verify as verifier
    from pinguard.adapters.progress import Phases

    logging.getLogger("pinguard.sources").setLevel(logging.ERROR)  # unreadable files become unverifiable rows
    phases = Phases("knowledge verify", quiet=args.quiet)
    kb = kb_module.load()
    client = verifier.make_client(verifier.index_url(args.index_url), args.offline, phases)
    run = verifier.verify(kb, client, _flat(args.releases), _flat(args.rules), args.sample, phases)
    phases.done()
    sys.stdout.write(verifier.render_json(run) if args.json else verifier.render_text(run))
    if run.exit_code:
        return run.exit_code
    if run.unreachable:
        raise run.unreachable[0]
    return EXIT_OK


def cmd_lock(args: argparse.Namespace) -> int:
    from pinguard.adapters import lock_output, lock_session
    from pinguard.adapters.gpu_option import gpu_option
    from pinguard.adapters.index_options import index_client, index_config
    from pinguard.adapters.progress import Phases
    from pinguard.engines.family import normalize_build
    from pinguard.sources.lock_inputs import read_inputs

    kb = kb_module.load_for_judging()
    if args.check is not None:
        if args.inputs or args.output:
            raise BadInput("--check reads a written lock; it takes no INPUT and no -o")
        path = args.check or lock_session.find_lock()
        lock, findings = lock_session.check_written(kb, path, args.anchor, parse_python(args.python))
        sys.stdout.write(lock_output.render_check(path, lock, findings, args.json))
        return EXIT_FOUND if findings else EXIT_OK
    for path in args.output:
        lock_session.output_format(path, args.format)  # a wrong name is bad input before anything is resolved
    phases = Phases("lock", quiet=args.quiet)
    python = parse_python(args.python)
    inputs = read_inputs(args.inputs, python, args.extra, args.group)
    python = python or parse_python(inputs.python)
    if python is None:
        raise BadInput("give the target Python with --python X.Y")
    cuda = args.cuda or inputs.cuda
    options = lock_session.LockOptions(args.anchor or inputs.anchors, python, normalize_build(cuda) if cuda else None,
                                       gpu_option(args.gpu)[0] if args.gpu else None, args.output, args.format,
                                       args.backend, args.offline)
    lock_dir = os.path.dirname(os.path.abspath(next((o for o in args.output if o != "-"), "x")))
    outcome = lock_session.run_lock(kb, options, inputs, lambda: (index_config(args), index_client(args, phases)),
                                    phases, lock_dir)
    if outcome.lock is not None:
        lock_session.write_outputs(kb, outcome, options)
    client = outcome.client
    phases.done("done in %.1f s (%d requests, %.1f MB fetched)" % (
        phases.elapsed(), client.requests_made if client else 0, client.bytes_fetched / 1e6 if client else 0.0))
    lock_session.stderr_notes(outcome.notes)
    sys.stdout.write(outcome.stdout or lock_output.render_lock(outcome.lock, outcome.findings, outcome.written,
                                                               args.json, phases.elapsed()))
    return EXIT_FOUND if outcome.findings else EXIT_OK


def _conda_prefix_default(args: argparse.Namespace) -> None:
    """`--prefix` given without a path means the active conda environment."""
    if getattr(args, "prefix", None) == "":
        active = os.environ.get("CONDA_PREFIX")
        if not active:
            raise BadInput("--prefix without a path means the active conda environment, but CONDA_PREFIX is not set")
        args.prefix = active


def cmd_init(args: argparse.Namespace) -> int:
    from pinguard.adapters import protect
    from pinguard.adapters.init_output import render_init, render_undo

    _conda_prefix_default(args)
    if args.undo:
        if args.anchors or args.cuda or args.hook or args.project:
            raise BadInput("--undo takes no anchors and no other option than --python")
        env, state, restored, edited = protect.undo(args.python, args.prefix)
        text, notes = render_undo(env.prefix, restored, edited, args.json)
        sys.stdout.write(text)
        for line in notes:
            print(line, file=sys.stderr)
        return EXIT_OK
    result = protect.init(args.anchors, args.python, args.cuda, args.hook, args.project, args.prefix)
    for line in result.dropped:
        print("pinguard: note: %s" % line, file=sys.stderr)
    sys.stdout.write(render_init(result, args.json, " --python %s" % args.python if args.python else
                                 " --prefix %s" % args.prefix if args.prefix else ""))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from pinguard.adapters import doctor_report

    facts, findings = doctor_report.run(args.python)
    text = doctor_report.render_json(facts, findings) if args.json else doctor_report.render_text(facts, findings)
    sys.stdout.write(text)
    return EXIT_FOUND if any(f.severity == "error" for f in findings) else EXIT_OK


def cmd_judge(argv: Sequence[str]) -> int:
    from pinguard.adapters.pip_guard import hook_judge

    args = _judge_parser().parse_args(argv)
    print(json.dumps(hook_judge(args.prefix, sys.stdin.read())))
    return EXIT_OK


def cmd_guarded(argv: Sequence[str]) -> int:
    """`pinguard pip install ARGS...` and `pinguard uv pip install ARGS...` (not argparse: ARGS are pip's)."""
    from pinguard.adapters.pip_args import split_guard_args

    tool = argv[0]
    rest = list(argv[1:])
    if tool == "uv":
        if not rest or rest[0] != "pip":
            raise BadInput("pinguard uv guards `uv pip install` only: pinguard uv pip install ARGS...")
        rest = rest[1:]
    if not rest or rest[0] in ("-h", "--help"):
        from pinguard.adapters.guard_help import usage

        if not rest:
            raise BadInput(usage(tool).splitlines()[0])
        sys.stdout.write(usage(tool))
        return EXIT_OK
    if rest[0] != "install":
        raise BadInput("pinguard guards `install` only, not `%s`; run %s directly" % (rest[0], tool))
    guard = split_guard_args(rest[1:], tool)
    if any(a in ("-h", "--help") for a in guard.tool_args):
        from pinguard.adapters.guard_help import install_help

        return install_help(guard, tool)
    if tool == "pip":
        from pinguard.adapters.pip_session import preflight

        started = preflight(guard)  # pip starts now, while pinguard loads what it judges with
        try:
            from pinguard.adapters.pip_guard import pip_install
        except BaseException:
            if started[2] is not None:
                started[2].finish("stop")
            raise
        return pip_install(guard, started)
    from pinguard.adapters.uv_guard import uv_install

    return uv_install(guard)


COMMANDS = {"generate": cmd_generate, "check": cmd_check, "fix": cmd_fix, "init": cmd_init, "doctor": cmd_doctor,
            "knowledge": cmd_knowledge, "lock": cmd_lock}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("pip", "uv"):
            return cmd_guarded(argv)
        if argv and argv[0] == "_judge":
            return cmd_judge(argv[1:])
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return EXIT_BAD_INPUT
        return COMMANDS[args.command](args)
    except PinguardError as exc:
        _error_line(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print("pinguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: say so in one line, keep the traceback for those who ask
        if os.environ.get("PINGUARD_DEBUG"):
            raise
        if isinstance(exc, ModuleNotFoundError) and exc.name in DEPENDENCIES:  # an install without dependencies
            _error_line("pinguard needs %s, which is not installed for %s: install pinguard with its dependencies "
                        "(%s -m pip install pinguard, without --no-deps)" % (exc.name, sys.executable,
                                                                             sys.executable))
            return EXIT_BAD_INPUT
        _error_line("%s: %s (rerun with PINGUARD_DEBUG=1 for the traceback)" % (type(exc).__name__, exc),
                    "internal error")
        return EXIT_INTERNAL


def _error_line(message: str, kind: str = "error") -> None:
    """One line on stderr, whatever the message holds (a message never repeats a whole 1 MB input line)."""
    text = " ".join(message.split())
    if len(text) > MAX_ERROR_LINE:
        text = text[:MAX_ERROR_LINE] + "... (%d characters)" % len(text)
    print("pinguard: %s: %s" % (kind, text), file=sys.stderr)
