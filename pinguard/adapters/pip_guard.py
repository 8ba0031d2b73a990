"""`pinguard pip install ARGS...`: resolve, judge, then install exactly the plan that was judged.

Three ways to get pip's plan, chosen by the environment's pip (the releases are pip_versions.py's):

- session (pip RESOLVER_SEAM_SINCE+, the default): pip runs once, in the target interpreter, with the resolver seam of
  pip_patch.py. When its resolver has a plan, the child sends it over a pipe and waits; pinguard judges it and
  answers "install" (pip goes on with that very RequirementSet) or "stop" (pip installs nothing and exits 0).
  One resolution, no second one that could differ, and the cost over plain pip is pinguard's own start-up;
- report (pip REPORT_SINCE+, when the seam is missing in a future pip): `pip install --dry-run --report`, then the
  judged plan installed with `--no-deps` and every resolved version pinned;
- requested (an older pip): only the requirements named on the command line are judged, then pip runs as usual,
  held by the constraints init wrote to pip.conf.

Before anything is resolved, the requirements named on the command line are judged (`guard.prejudge`): an exact
pin of another anchor version is refused at once, naming the rule. `--rewrite` turns a refusal into constraints
(`guard.rewrite_constraints`) and plans again, up to three rounds. `PINGUARD_PIP_METHOD=report|requested` forces
a method (tests use it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple, Union

from packaging.version import Version

from pinguard import kb_cache
from pinguard.adapters import install_state, pip_versions
from pinguard.adapters.guard_output import refusal_summary, verdict_json, verdict_lines
from pinguard.adapters.pip_args import GuardArgs, requested
from pinguard.adapters.pip_session import Session, preflight, target_env
from pinguard.engines.family import normalize_build
from pinguard.engines.guard import (PlanItem, Rewrite, installed_view, judge_plan, plan_items, prejudge,
                                    rewrite_constraints)
from pinguard.engines.verdict import Verdict
from pinguard.errors import BadInput, PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor
from pinguard.sources.environment import ISOLATED, TargetEnvironment, read_environment
from pinguard.specs import normalize

EXIT_REFUSED = 1
MAX_ROUNDS = 3
REPORT_SINCE = Version(pip_versions.REPORT_SINCE)


class PipFailed(PinguardError):
    """pip itself failed; the exit code is pip's."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


@dataclass
class GuardContext:
    kb: KnowledgeBase
    env: TargetEnvironment
    anchors: List[Anchor]
    build: Optional[str]
    state: Optional[install_state.State]
    notes: List[str] = field(default_factory=list)

    @property
    def anchor_texts(self) -> List[str]:
        return [a.text for a in self.anchors]

    def installed(self):
        return installed_view(self.env.distributions, self.env.conda)


def load_context(env: TargetEnvironment, extra_anchors: Sequence[str]) -> GuardContext:
    state = install_state.read_state(env.prefix)
    found = install_state.read_bytes(env.pip_conf)
    if found is not None:  # pip would stop on it with a traceback-like report; say it in one line first
        from pinguard.adapters.pip_config import parse

        parse(found[0].decode("utf-8", "replace"), env.pip_conf)
    texts = list(state.anchors if state else [])
    for text in extra_anchors:
        if text not in texts:
            texts.append(text)
    anchors = [Anchor.parse(t) for t in texts]
    build = normalize_build(state.cuda) if state and state.cuda else None
    notes = [] if texts else ["no anchor recorded in %s (run pinguard init ANCHOR); judging rules, conda "
                              "ownership and CUDA builds only" % install_state.state_path(env.prefix)]
    return GuardContext(kb_cache.load_slim(), env, anchors, build, state, notes)


def anchor_source(ctx: GuardContext) -> str:
    """Where an anchor comes from: pinguard.toml (init) or the command line (--anchor)."""
    if ctx.state is not None:
        return "%s (pinguard init %s)" % (install_state.state_path(ctx.env.prefix), " ".join(ctx.state.anchors))
    return "--anchor on the command line"


@dataclass
class Outcome:
    code: int
    method: str
    verdict: Optional[Verdict] = None
    items: List[PlanItem] = field(default_factory=list)
    installed: bool = False
    rewrite: Optional[Rewrite] = None
    error: Optional[str] = None


class Guard:
    """One `pinguard pip install` run."""

    tool = "pip"

    def __init__(self, guard: GuardArgs, out: TextIO = sys.stdout) -> None:
        self.args = guard
        self.out = out
        self.requirements, _ = requested(guard.tool_args, "pip")
        self.request = " ".join(guard.tool_args)
        self.temporary: Optional[str] = None

    # -- output -------------------------------------------------------------------------------------------
    def say(self, lines: Sequence[str]) -> None:
        if not self.args.json:
            for line in lines:
                print(line, file=self.out)
            self.out.flush()

    def report(self, ctx: Optional[GuardContext], outcome: Outcome) -> int:
        if self.args.json:
            notes = (ctx.notes if ctx else [])
            print(json.dumps(verdict_json(outcome.verdict, outcome.items, outcome.method,
                                          ctx.anchor_texts if ctx else [], dry_run=self.args.dry_run,
                                          installed=outcome.installed, exit_code=outcome.code,
                                          rewrite=outcome.rewrite, notes=notes, error=outcome.error,
                                          tool=self.tool), indent=2),
                  file=self.out)
        return outcome.code

    def show(self, ctx: GuardContext, verdict: Verdict, items: Sequence[PlanItem], method: str,
             rewrite: Optional[Rewrite]) -> None:
        self.say(verdict_lines(verdict, items, method, ctx.anchor_texts, "pip", self.args.dry_run, self.request,
                               rewrite if rewrite and rewrite.lines else None, anchor_source(ctx)))
        for note in ctx.notes:
            self.say(["  note: %s" % note])

    # -- the run ------------------------------------------------------------------------------------------
    def run(self, started=None) -> int:
        """`started`: what pip_session.preflight returned (the cli starts pip before importing this module)."""
        interpreter, forced, session = started or preflight(self.args)
        try:
            return self._run(interpreter, forced, session)
        except BaseException:
            if session is not None and session.code is None:
                session.finish("stop")
            raise
        finally:
            self.discard_temporary()

    def discard_temporary(self) -> None:
        """Remove the --rewrite constraints file, if one was written (best effort: it lives in the temp dir)."""
        if self.temporary:
            try:
                os.unlink(self.temporary)
            except OSError:
                pass

    def _run(self, interpreter: str, forced: Optional[str], session: Optional[Session]) -> int:
        ctx = self._context(interpreter, session)
        method, session = self._method(ctx, forced, session)
        installed = ctx.installed()
        early = prejudge(ctx.kb, installed, self.requirements, ctx.anchors, ctx.env.python)
        if not early.allowed:
            if session is not None:
                session.finish("stop")
            self.show(ctx, early, [], "prejudge", None)
            return self.report(ctx, Outcome(EXIT_REFUSED, "prejudge", early))
        if method == "requested":
            return self._requested(ctx, early)
        return self._judge_rounds(ctx, interpreter, method, session, installed)

    def _context(self, interpreter: str, session: Optional[Session]) -> GuardContext:
        """The environment (the session's first message, else a probe) with its anchors and knowledge."""
        if session is not None:
            hello = session.receive()  # first: a large environment's probe would block the child's pipe
            if hello is None or hello.get("type") != "env":
                code = session.finish()
                raise BadInput("%s could not start the pip session (exit %d)" % (interpreter, code))
            env = TargetEnvironment.from_probe(hello["env"])
        else:
            env = read_environment(interpreter)
        try:
            return load_context(env, self.args.anchors)
        except BaseException:
            if session is not None:
                session.finish("stop")
            raise

    def _method(self, ctx: GuardContext, forced: Optional[str],
                session: Optional[Session]) -> Tuple[str, Optional[Session]]:
        """How pip's plan is obtained (see the module docstring), and the session when that is the way."""
        env = ctx.env
        method = forced or "session"
        if session is not None:
            ready = session.receive()
            if ready is None or ready.get("type") != "ready":
                session.finish()
                session = None
                if (ready is not None and ready.get("pip") is False) or env.pip is None:
                    raise BadInput("pip is not installed in %s; install it with %s -m ensurepip" % (
                        env.prefix, env.executable))
                pip = env.pip_version
                method = "report" if pip is not None and pip >= REPORT_SINCE else "requested"
                ctx.notes.append("pip %s: %s; using the %s method" % (
                    env.pip, (ready or {}).get("error", "no session"), method))
        elif env.pip is None:
            raise BadInput("pip is not installed in %s; install it with %s -m ensurepip" % (
                env.prefix, env.executable))
        if method == "report" and (env.pip_version is None or env.pip_version < REPORT_SINCE):
            raise BadInput("pip %s has no --dry-run --report (pip %s+)" % (env.pip, pip_versions.REPORT_SINCE))
        return method, session

    def _judge_rounds(self, ctx: GuardContext, interpreter: str, method: str, session: Optional[Session],
                      installed) -> int:
        """Plan, judge, install; with --rewrite a refused plan becomes constraints and pip plans again."""
        rewrite: Optional[Rewrite] = None
        for round_ in range(MAX_ROUNDS + 1):
            extra = ["-c", self.temporary] if self.temporary else []
            session, planned = self._pip_plan(ctx, interpreter, method, session, extra)
            if isinstance(planned, int):
                return planned  # pip ended without a plan
            items = planned
            verdict = judge_plan(ctx.kb, installed, items, ctx.anchors, ctx.env.python)
            if verdict.allowed:
                return self._install_judged(ctx, method, session, verdict, items, rewrite, extra)
            if session is not None:
                session.finish("stop")
                session = None
            if not self.args.rewrite or round_ == MAX_ROUNDS:
                self.show(ctx, verdict, items, method, rewrite)
                return self.report(ctx, Outcome(EXIT_REFUSED, method, verdict, items, False, rewrite))
            rewrite, added = rewrite_constraints(ctx.kb, installed, ctx.anchors, verdict, ctx.env.python, ctx.build,
                                                 previous=rewrite)
            if not added:
                self.show(ctx, verdict, items, method, rewrite)
                self.say(["  --rewrite: no constraint left to add; no plan keeps the anchor"])
                return self.report(ctx, Outcome(EXIT_REFUSED, method, verdict, items, False, rewrite))
            self._write_rewrite(rewrite)
        raise AssertionError("unreachable")

    def _pip_plan(self, ctx: GuardContext, interpreter: str, method: str, session: Optional[Session],
                  extra: Sequence[str]) -> Tuple[Optional[Session], Union[List[PlanItem], int]]:
        """(the session, pip's plan), or (the session, the exit code) when pip ended without one."""
        if method != "session":
            items = self._report_plan(ctx.env, extra)
            if isinstance(items, int):
                return session, self._pip_failed(ctx, method, items, installed=False)
            return session, items
        if session is None:  # a --rewrite round: pip plans again, with the new constraints
            session = Session(interpreter, list(self.args.tool_args) + list(extra), self.args.json)
            if (session.receive() or {}).get("type") != "env" or (session.receive() or {}).get("type") != "ready":
                code = session.finish()
                raise PipFailed("pip could not start (exit %d)" % code, code or 1)
        session.send("go")
        message = session.receive()
        if message is None or message.get("type") != "plan":
            code = session.finish()
            if message is not None and message.get("type") == "done":
                code = int(message.get("code", code))
            if code == 0:  # pip ended without resolving anything (--help, say)
                return session, self.report(ctx, Outcome(0, method))
            return session, self._pip_failed(ctx, method, code, installed=False)
        return session, plan_items(message.get("plan") or [])

    def _install_judged(self, ctx: GuardContext, method: str, session: Optional[Session], verdict: Verdict,
                        items: List[PlanItem], rewrite: Optional[Rewrite], extra: Sequence[str]) -> int:
        """Install the plan that was judged allowed (with --dry-run, or nothing to install, only say it)."""
        self.show(ctx, verdict, items, method, rewrite)
        if self.args.dry_run or not items:
            if session is not None:
                session.finish("stop")
            return self.report(ctx, Outcome(0, method, verdict, items, False, rewrite))
        if session is not None:
            session.send("install")
            done = session.receive()
            code = session.finish()
            if done is not None and done.get("type") == "done":
                code = int(done.get("code", code))
        else:
            code = self._report_install(ctx.env, items, extra)
        if code != 0:
            return self._pip_failed(ctx, method, code, installed=True, verdict=verdict, items=items)
        return self.report(ctx, Outcome(0, method, verdict, items, True, rewrite))

    def _write_rewrite(self, rewrite: Rewrite) -> None:
        if self.temporary is None:
            fd, self.temporary = tempfile.mkstemp(prefix="pinguard-rewrite-", suffix=".txt")
            os.close(fd)
        with open(self.temporary, "w", encoding="utf-8") as handle:
            handle.write("# pinguard --rewrite: constraints that keep the anchor\n")
            for line in rewrite.lines:
                handle.write("%s\n" % line)

    def _pip_failed(self, ctx: GuardContext, method: str, code: int, installed: bool,
                    verdict: Optional[Verdict] = None, items: Sequence[PlanItem] = ()) -> int:
        code = code or 1
        message = ("pip failed while installing the judged plan (exit %d); see its messages above" % code
                   if installed else "pip failed before installing anything (exit %d); see its messages above" % code)
        if self.args.json:
            return self.report(ctx, Outcome(code, method, verdict, list(items), False, None, message))
        print("pinguard: error: %s" % message, file=sys.stderr)
        return code

    # -- fallbacks ----------------------------------------------------------------------------------------
    def _requested(self, ctx: GuardContext, verdict: Verdict) -> int:
        self.show(ctx, verdict, [], "requested", None)
        if self.args.dry_run:
            return self.report(ctx, Outcome(0, "requested", verdict))
        process = subprocess.run([ctx.env.executable, ISOLATED, "-m", "pip", "install"] + list(self.args.tool_args),
                                 env=target_env(args=self.args.tool_args),
                                 stdout=sys.stderr.fileno() if self.args.json else None)
        if process.returncode != 0:
            return self._pip_failed(ctx, "requested", process.returncode, installed=True, verdict=verdict)
        return self.report(ctx, Outcome(0, "requested", verdict, [], True))

    def _report_plan(self, env: TargetEnvironment, extra: Sequence[str]):
        with tempfile.TemporaryDirectory(prefix="pinguard-report-") as directory:
            path = os.path.join(directory, "report.json")
            process = subprocess.run(
                [env.executable, ISOLATED, "-m", "pip", "install", "--dry-run", "--report", path, "--quiet"]
                + list(self.args.tool_args) + list(extra),
                env=target_env(args=self.args.tool_args), stdout=sys.stderr.fileno() if self.args.json else None)
            if process.returncode != 0:
                return process.returncode
            try:
                with open(path, encoding="utf-8") as handle:
                    report = json.load(handle)
            except (OSError, ValueError) as exc:
                raise BadInput("pip wrote no readable installation report (%s)" % exc)
        items = []
        for entry in report.get("install", []):
            metadata = entry.get("metadata") or {}
            info = entry.get("download_info") or {}
            items.append(PlanItem(normalize(str(metadata.get("name", ""))), str(metadata.get("version", "")),
                                  info.get("url"), bool(entry.get("is_direct")),
                                  bool((info.get("dir_info") or {}).get("editable"))))
        return items

    def _report_install(self, env: TargetEnvironment, items: Sequence[PlanItem], extra: Sequence[str]) -> int:
        pins = ["%s==%s" % (i.name, i.version) for i in items if not i.direct and i.version]
        process = subprocess.run([env.executable, ISOLATED, "-m", "pip", "install", "--no-deps"]
                                 + list(self.args.tool_args) + list(extra) + pins,
                                 env=target_env(args=self.args.tool_args),
                                 stdout=sys.stderr.fileno() if self.args.json else None)
        return process.returncode


def pip_install(guard: GuardArgs, started=None) -> int:
    return Guard(guard).run(started)


# -- the hook's judge (`pinguard _judge --prefix PREFIX`, plan on stdin) -------------------------------------------


def hook_judge(prefix: str, text: str) -> Dict[str, Any]:
    try:
        message = json.loads(text)
        env = TargetEnvironment.from_probe(message["env"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInput("the hook sent an unreadable plan (%s)" % exc)
    if os.path.realpath(env.prefix) != os.path.realpath(prefix):
        raise BadInput("the hook of %s was asked about %s" % (prefix, env.prefix))
    ctx = load_context(env, [])
    items = plan_items(message.get("plan") or [])
    verdict = judge_plan(ctx.kb, ctx.installed(), items, ctx.anchors, env.python)
    dry_run = bool((message.get("options") or {}).get("dry_run"))
    lines = verdict_lines(verdict, items, "hook", ctx.anchor_texts, "pip", dry_run, anchor_source=anchor_source(ctx))
    if verdict.allowed and not verdict.warnings:
        lines = []  # a clean allowed install stays quiet
    return {"allowed": verdict.allowed, "lines": lines, "error": None if verdict.allowed else refusal_summary(verdict),
            "verdict": verdict.as_dict()}
