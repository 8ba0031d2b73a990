# The environment probe: what is installed in one Python environment, read without importing any of it.
#
# Self-contained on purpose: pinguard runs this file's source with another interpreter (`python -c SOURCE`), one
# that may be Python 3.6 and may not have pinguard installed, and embeds it in the pip session script and the
# install hook. Standard library only; Python 3.6+ syntax; no `if __name__ == "__main__"` block (the callers
# append the call they need). `probe()` returns plain JSON-able data; nothing here raises for a damaged
# distribution: an unreadable one is reported with what could be read.

import json
import os
import re
import site
import sys
import sysconfig

PROBE_FORMAT = 1
_TORCH_CUDA = re.compile(r"^cuda(?:\s*:[^=]*)?\s*=\s*(?:(['\"])(.*?)\1|None)", re.MULTILINE)
_TORCH_HIP = re.compile(r"^hip(?:\s*:[^=]*)?\s*=\s*(?:(['\"])(.*?)\1|None)", re.MULTILINE)


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _headers(path):
    """(Name, Version) from a METADATA / PKG-INFO file: the header block only."""
    name = version = None
    try:
        with open(path, "rb") as handle:
            for raw in handle:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    break
                lower = line[:8].lower()
                if name is None and lower.startswith("name:"):
                    name = line[5:].strip()
                elif version is None and lower.startswith("version:"):
                    version = line[8:].strip()
                if name is not None and version is not None:
                    break
    except (OSError, IOError):
        pass
    return name, version


def _read_small(path, limit=4096):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except (OSError, IOError):
        return None


def _site_dirs():
    """Site directories of this interpreter, in sys.path order (what pip sees as installed)."""
    candidates = []
    paths = sysconfig.get_paths()
    for key in ("purelib", "platlib"):
        if paths.get(key):
            candidates.append(paths[key])
    try:
        candidates.extend(site.getsitepackages())
    except AttributeError:  # old virtualenv's site.py
        pass
    user = None
    if _user_site_enabled():
        try:
            user = site.getusersitepackages()
            candidates.append(user)
        except AttributeError:
            pass
    wanted = set(os.path.normcase(os.path.abspath(c)) for c in candidates)
    user_key = os.path.normcase(os.path.abspath(user)) if user else None
    found, seen = [], set()
    entries = list(sys.path)
    if user and sys.flags.no_user_site and user not in entries:  # pinguard runs this isolated (-I): put the
        first_site = [i for i, e in enumerate(entries) if e and os.path.normcase(os.path.abspath(e)) in wanted]
        entries.insert(first_site[0] if first_site else len(entries), user)  # user site back where site puts it
    for entry in entries:
        if not entry:
            continue
        key = os.path.normcase(os.path.abspath(entry))
        if key in wanted and key not in seen and os.path.isdir(entry):
            seen.add(key)
            found.append((os.path.abspath(entry), "user" if key == user_key else "site"))
    return found


def _user_site_enabled():
    """Whether this interpreter, started normally, puts the user site-packages on sys.path (as site.py decides)."""
    if not sys.flags.no_user_site:
        return bool(getattr(site, "ENABLE_USER_SITE", False))
    if os.environ.get("PYTHONNOUSERSITE"):
        return False
    if hasattr(os, "getuid") and (os.getuid() != os.geteuid() or os.getgid() != os.getegid()):
        return False
    base = getattr(sys, "real_prefix", None) or getattr(sys, "base_prefix", sys.prefix)
    if os.path.realpath(base) == os.path.realpath(sys.prefix):
        return True
    config = _read_small(os.path.join(sys.prefix, "pyvenv.cfg")) or ""  # a venv: only with system site-packages
    return bool(re.search(r"^\s*include-system-site-packages\s*=\s*true\s*$", config, re.I | re.M))


def _dist(directory, entry, kind):
    path = os.path.join(directory, entry)
    if kind == "dist-info":
        meta = os.path.join(path, "METADATA")
        record = os.path.isfile(os.path.join(path, "RECORD"))
    elif kind == "egg-info" and os.path.isdir(path):
        meta = os.path.join(path, "PKG-INFO")
        record = os.path.isfile(os.path.join(path, "installed-files.txt"))
    elif kind == "egg-info":
        meta, record = path, False  # a single-file egg-info is the metadata itself
    else:  # an .egg directory
        meta = os.path.join(path, "EGG-INFO", "PKG-INFO")
        record = False
    name, version = _headers(meta)
    if not name:  # fall back on the directory name: name-version.dist-info
        stem = entry.rsplit(".", 1)[0]
        parts = stem.split("-")
        name = parts[0]
        version = version or (parts[1] if len(parts) > 1 else "")
    installer = ""
    if kind == "dist-info":
        installer = (_read_small(os.path.join(path, "INSTALLER")) or "").strip()
    return {
        "name": _canonical(name),
        "display": name,
        "version": version or "",
        "kind": kind,
        "installer": installer,
        "record": record,
        "location": directory,
        "path": path,
        "direct_url": kind == "dist-info" and os.path.isfile(os.path.join(path, "direct_url.json")),
    }


def _distributions(dirs):
    found = []
    for directory, where in dirs:
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        for entry in entries:
            lower = entry.lower()
            if lower.endswith(".dist-info"):
                kind = "dist-info"
            elif lower.endswith(".egg-info"):
                kind = "egg-info"
            elif lower.endswith(".egg") and os.path.isdir(os.path.join(directory, entry)):
                kind = "egg"
            else:
                continue
            item = _dist(directory, entry, kind)
            item["where"] = where
            found.append(item)
    return found


def _conda_records(prefix):
    """name -> version from conda-meta/<name>-<version>-<build>.json (file names only: fast)."""
    meta = os.path.join(prefix, "conda-meta")
    records = {}
    try:
        entries = os.listdir(meta)
    except OSError:
        return None
    for entry in entries:
        if not entry.endswith(".json"):
            continue
        parts = entry[:-5].rsplit("-", 2)
        if len(parts) == 3:
            records[_canonical(parts[0])] = parts[1]
    return records


def _torch(dists):
    for item in dists:
        if item["name"] != "torch":
            continue
        text = _read_small(os.path.join(item["location"], "torch", "version.py"), 16384)
        if text is None:
            return {"version": item["version"], "cuda": None, "hip": None, "version_py": False}
        cuda, hip = _TORCH_CUDA.search(text), _TORCH_HIP.search(text)
        return {"version": item["version"], "version_py": True,
                "cuda": cuda.group(2) if cuda and cuda.group(1) else None,
                "hip": hip.group(2) if hip and hip.group(1) else None}
    return None


def probe():
    dirs = _site_dirs()
    dists = _distributions(dirs)
    prefix = sys.prefix
    pip = [d["version"] for d in dists if d["name"] == "pip"]
    stdlib = sysconfig.get_paths().get("stdlib") or ""
    return {
        "format": PROBE_FORMAT,
        "executable": sys.executable,
        "prefix": prefix,
        "base_prefix": getattr(sys, "real_prefix", None) or getattr(sys, "base_prefix", prefix),
        "version": list(sys.version_info[:3]),
        "implementation": getattr(getattr(sys, "implementation", None), "name", "cpython"),
        "platform": sys.platform,
        "pip": pip[0] if pip else None,
        "site_dirs": [d for d, _ in dirs],
        "purelib": sysconfig.get_paths().get("purelib"),
        "distributions": dists,
        "conda": _conda_records(prefix),
        "torch": _torch(dists),
        "writable": os.access(prefix, os.W_OK),
        "externally_managed": bool(stdlib) and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED")),
        "pip_conf": os.path.join(prefix, "pip.ini" if sys.platform == "win32" else "pip.conf"),
    }


def probe_json():
    return json.dumps(probe(), sort_keys=True)
