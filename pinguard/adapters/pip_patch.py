# The seam pinguard uses inside pip: the resolver's result, before pip installs anything.
#
# Self-contained on purpose (standard library only, Python 3.6+ syntax): its source is embedded in the script that
# `pinguard pip install` runs with the target environment's interpreter (which may not have pinguard) and in the
# install hook. pip has no plugin API (pypa/pip#12766), so this wraps one internal method:
#
#     pip._internal.resolution.resolvelib.resolver.Resolver.resolve(self, root_reqs, check_supported_wheels)
#
# It returns the RequirementSet pip is about to install (`.requirements`: canonical name -> InstallRequirement,
# only what will be installed or reinstalled) and leaves `self._result.mapping` (name -> candidate with
# `.project_name`, `.version`). Both hold for every pip in pip_versions.SUPPORTED_PIP (from the first release with
# this resolver as default); `install_options` finds the running `pip install` command by its frame, so
# `pip download`, `pip wheel` and `pip lock`, which use the same resolver, are left alone.

import re
import sys

RESOLVER_MODULE = "pip._internal.resolution.resolvelib.resolver"
INSTALL_MODULE = "pip._internal.commands.install"


def _pg_canonical(name):
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def install_options():
    """The optparse `options` of the running `pip install`, or None when another command resolves."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "run" and frame.f_globals.get("__name__") == INSTALL_MODULE:
            return frame.f_locals.get("options")
        frame = frame.f_back
    return None


def options_summary(options):
    def get(name, default=None):
        return getattr(options, name, default)

    return {
        "dry_run": bool(get("dry_run", False)),
        "isolated": bool(get("isolated_mode", False)),
        "target": get("target_dir"),
        "prefix": get("prefix_path"),
        "root": get("root_path"),
        "user": bool(get("use_user_site", False)),
        "force_reinstall": bool(get("force_reinstall", False)),
        "ignore_installed": bool(get("ignore_installed", False)),
        "no_deps": bool(get("ignore_dependencies", False)),
        "constraints": list(get("constraints", None) or []),
    }


def plan_of(resolver, requirement_set):
    """[{name, version, url, direct, editable, reinstall}] for what pip is about to install."""
    versions = {}
    result = getattr(resolver, "_result", None)
    mapping = getattr(result, "mapping", None) or {}
    for candidate in mapping.values():
        try:
            project = candidate.project_name
            if candidate.name != project:
                continue  # an extras wrapper; its base candidate carries the version
            versions[_pg_canonical(project)] = str(candidate.version)
        except Exception:  # noqa: BLE001 - an odd candidate leaves its entry without a version
            continue
    plan = []
    for key, ireq in list(requirement_set.requirements.items()):
        name = _pg_canonical(getattr(ireq, "name", None) or key)
        link = getattr(ireq, "original_link", None)
        url = getattr(link, "url", None) if link is not None else None
        plan.append({
            "name": name,
            "version": versions.get(name, ""),
            "url": url,
            "direct": link is not None,
            "editable": bool(getattr(ireq, "editable", False)),
            "reinstall": bool(getattr(ireq, "should_reinstall", False)),
        })
    return plan


def empty(requirement_set):
    """Make pip install nothing: it then cleans up and exits 0 without touching the environment."""
    requirement_set.requirements.clear()
    unnamed = getattr(requirement_set, "unnamed_requirements", None)
    if isinstance(unnamed, list):
        del unnamed[:]


def patch_resolver(module, on_resolved):
    """Wrap module.Resolver.resolve so `on_resolved(resolver, requirement_set, options)` sees every plan of
    `pip install`. It may empty the set, or raise pip's InstallationError to stop pip with a message."""
    cls = module.Resolver
    original = cls.resolve
    if getattr(original, "_pinguard", False):
        return
    if "check_supported_wheels" not in getattr(getattr(original, "__code__", None), "co_varnames", ()):
        raise ImportError("pip's Resolver.resolve has an unknown signature")

    def resolve(self, *args, **kwargs):
        requirement_set = original(self, *args, **kwargs)
        options = install_options()
        if options is not None:
            on_resolved(self, requirement_set, options)
        return requirement_set

    resolve._pinguard = True
    resolve.__doc__ = original.__doc__
    cls.resolve = resolve
