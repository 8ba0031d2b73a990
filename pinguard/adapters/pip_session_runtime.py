# The child side of `pinguard pip install`: runs with the target environment's interpreter, after the sources of
# env_probe.py, pip_versions.py and pip_patch.py (which define probe, SUPPORTED_PIP, pip_version_tuple, plan_of,
# patch_resolver, options_summary, empty).
#
# Protocol (JSON lines over two pipes whose descriptors arrive in PINGUARD_SESSION_FDS="read,write"):
#   child  -> {"type": "env", "env": <probe>}                  at once, before pip is imported
#   child  -> {"type": "ready"} | {"type": "unsupported", "error": ..., "pip": bool}
#   parent -> {"action": "go"} | {"action": "stop"}             after judging the requested requirements
#   child  -> {"type": "plan", "plan": [...], "options": {...}} when pip's resolver has a plan
#   parent -> {"action": "install"} | {"action": "stop"}        stop = pip installs nothing and exits 0
#   child  -> {"type": "done", "code": N, "resolved": bool}
# Self-contained, standard library only, Python 3.6+ syntax.


def _pg_session():
    import json
    import os
    import sys

    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # like `python -m pip`: never import from the current directory
    read_fd, write_fd = [int(x) for x in os.environ.pop("PINGUARD_SESSION_FDS").split(",")]
    to_parent = os.fdopen(write_fd, "w")
    from_parent = os.fdopen(read_fd, "r")

    def send(message):
        try:
            to_parent.write(json.dumps(message) + "\n")
            to_parent.flush()
        except (OSError, ValueError):
            pass

    def receive():
        try:
            line = from_parent.readline()
        except (OSError, ValueError):
            line = ""
        if not line.strip():
            return {"action": "stop"}
        return json.loads(line)

    args = sys.argv[1:]
    send({"type": "env", "env": probe()})
    state = {"resolved": False}

    def on_resolved(resolver, requirement_set, options):
        if state["resolved"]:
            return
        state["resolved"] = True
        send({"type": "plan", "plan": plan_of(resolver, requirement_set), "options": options_summary(options)})
        if receive().get("action") != "install":
            empty(requirement_set)

    try:
        import pip
    except ImportError as exc:
        send({"type": "unsupported", "error": "pip is not installed (%s)" % exc, "pip": False})
        return 0
    version = getattr(pip, "__version__", "0")
    try:
        if pip_version_tuple(version) < SUPPORTED_PIP[0]:
            raise ImportError("pip %s predates the resolver pinguard attaches to (pip %d.%d)" % (
                (version,) + SUPPORTED_PIP[0]))
        from pip._internal.cli.main import main as pip_main
        import pip._internal.resolution.resolvelib.resolver as resolver_module

        patch_resolver(resolver_module, on_resolved)
    except Exception as exc:  # noqa: BLE001 - any failure means: use another method
        send({"type": "unsupported", "error": "%s: %s" % (type(exc).__name__, exc), "pip": True, "version": version})
        return 0
    send({"type": "ready", "version": version})
    if receive().get("action") != "go":
        return 0
    sys.argv = [os.path.join(os.path.dirname(sys.executable), "pip")] + args
    code = pip_main(args)
    # pip is done (its temporary directories are gone with its context managers); skip the interpreter's
    # teardown, which only costs time: flush what pip wrote, report, and leave.
    try:
        import logging

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    send({"type": "done", "code": code, "resolved": state["resolved"]})
    os._exit(code if isinstance(code, int) else 1)
