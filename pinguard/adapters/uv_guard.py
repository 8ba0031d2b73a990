"""`pinguard uv pip install ARGS...`: the same guard for uv.

uv has no in-process seam and no JSON plan, so: `uv pip install --dry-run` (its "Would install" lines, ` + name==v`
and ` - name==v`, are the plan), judge, then `uv pip install --no-deps` with the same arguments plus every planned
version pinned, which leaves uv nothing to choose. pinguard's constraints file is passed with `-c` whenever the
environment was initialized, so the plan obeys it even when the environment is not activated.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import List, Optional, Sequence, Union

from pinguard.adapters import install_state
from pinguard.adapters.pip_args import GuardArgs, elsewhere, requested
from pinguard.adapters.pip_guard import (EXIT_REFUSED, MAX_ROUNDS, Guard, GuardContext, Outcome, anchor_source,
                                         load_context, target_env)
from pinguard.engines.guard import PlanItem, Rewrite, judge_plan, prejudge, rewrite_constraints
from pinguard.errors import BadInput
from pinguard.sources.environment import TargetEnvironment, read_environment, resolve_interpreter
from pinguard.specs import normalize

_LINE = re.compile(r"^\s*([+~-])\s+([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)(?:\s+\(from\s+(.+)\))?\s*$")


def find_uv(env: TargetEnvironment) -> str:
    for candidate in (os.environ.get("PINGUARD_UV"), shutil.which("uv"),
                      os.path.join(os.path.dirname(env.executable), "uv")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise BadInput("uv is not installed (not on PATH, not in %s); install it or use pinguard pip install" %
                   os.path.dirname(env.executable))


def parse_plan(text: str) -> List[PlanItem]:
    """The ` + name==version` lines of `uv pip install --dry-run` (removals are implied by replacements)."""
    items = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None or match.group(1) == "-":
            continue
        url = match.group(4)
        items.append(PlanItem(normalize(match.group(2)), match.group(3), url, url is not None, False))
    return items


class UvGuard(Guard):
    tool = "uv"

    def run(self, started=None) -> int:  # `started`: pip's preflight, which uv has none of
        where = elsewhere(self.args.tool_args)
        if where:
            raise BadInput("%s installs outside the environment, which pinguard does not guard; run uv directly"
                           % where)
        self.requirements, _ = requested(self.args.tool_args, "uv")
        interpreter = resolve_interpreter(self.args.python)
        env = read_environment(interpreter)
        ctx = load_context(env, self.args.anchors)
        uv = find_uv(env)
        try:
            return self._run_uv(ctx, uv)
        finally:
            self.discard_temporary()

    def _run_uv(self, ctx: GuardContext, uv: str) -> int:
        env = ctx.env
        installed = ctx.installed()
        early = prejudge(ctx.kb, installed, self.requirements, ctx.anchors, env.python, installer="uv")
        if not early.allowed:
            self.say(self._lines(ctx, early, [], None, "prejudge"))
            return self.report(ctx, Outcome(EXIT_REFUSED, "prejudge", early))
        base = [uv, "pip", "install", "--python", env.executable]
        constraints = install_state.constraints_path(env.prefix)
        fixed = ["-c", constraints] if ctx.state is not None and os.path.isfile(constraints) else []
        rewrite: Optional[Rewrite] = None
        for round_ in range(MAX_ROUNDS + 1):
            extra = fixed + (["-c", self.temporary] if self.temporary else [])
            planned = self._plan(base, extra)
            if isinstance(planned, int):
                return self._failed(ctx, planned, installed=False)
            items = planned
            verdict = judge_plan(ctx.kb, installed, items, ctx.anchors, env.python, installer="uv")
            if verdict.allowed:
                self.say(self._lines(ctx, verdict, items, rewrite))
                if self.args.dry_run or not items:
                    return self.report(ctx, Outcome(0, "uv", verdict, items, False, rewrite))
                pins = ["%s==%s" % (i.name, i.version) for i in items if not i.direct]
                process = subprocess.run(base + ["--no-deps"] + list(self.args.tool_args) + extra + pins,
                                         env=target_env(), stdout=sys.stderr.fileno() if self.args.json else None)
                if process.returncode != 0:
                    return self._failed(ctx, process.returncode, installed=True)
                return self.report(ctx, Outcome(0, "uv", verdict, items, True, rewrite))
            if not self.args.rewrite or round_ == MAX_ROUNDS:
                self.say(self._lines(ctx, verdict, items, rewrite))
                return self.report(ctx, Outcome(EXIT_REFUSED, "uv", verdict, items, False, rewrite))
            rewrite, added = rewrite_constraints(ctx.kb, installed, ctx.anchors, verdict, env.python, ctx.build,
                                                 previous=rewrite)
            if not added:
                self.say(self._lines(ctx, verdict, items, rewrite))
                self.say(["  --rewrite: no constraint left to add; no plan keeps the anchor"])
                return self.report(ctx, Outcome(EXIT_REFUSED, "uv", verdict, items, False, rewrite))
            self._write_rewrite(Rewrite([l for l in rewrite.lines if not l.startswith("-")], rewrite.reasons))
        raise AssertionError("unreachable")

    def _lines(self, ctx, verdict, items, rewrite, method="uv"):
        from pinguard.adapters.guard_output import verdict_lines

        lines = verdict_lines(verdict, items, method, ctx.anchor_texts, "uv", self.args.dry_run, self.request,
                              rewrite if rewrite and rewrite.lines else None, anchor_source(ctx))
        return lines + ["  note: %s" % n for n in ctx.notes]

    def _plan(self, base: Sequence[str], extra: Sequence[str]) -> Union[int, List[PlanItem]]:
        process = subprocess.run(list(base) + ["--dry-run"] + list(self.args.tool_args) + list(extra),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                 env=target_env())
        sys.stderr.write(process.stderr)
        sys.stderr.flush()
        if process.returncode != 0:
            return process.returncode
        return parse_plan(process.stderr + "\n" + process.stdout)

    def _failed(self, ctx: GuardContext, code: int, installed: bool) -> int:
        message = ("uv failed while installing the judged plan (exit %d); see its messages above" % code
                   if installed else "uv failed before installing anything (exit %d); see its messages above" % code)
        if self.args.json:
            return self.report(ctx, Outcome(code, "uv", None, [], False, None, message))
        print("pinguard: error: %s" % message, file=sys.stderr)
        return code


def uv_install(guard: GuardArgs) -> int:
    return UvGuard(guard).run()
