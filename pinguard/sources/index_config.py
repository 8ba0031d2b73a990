"""Which package indexes to read, resolved the way pip (and, after it, uv) would: one dataclass for fix and lock.

Each setting is taken from the first place that sets it:

1. the command line: `--index-url` (replaces), `--extra-index-url` and `--find-links` (added, as pip adds them
   to what its configuration lists);
2. pip's environment variables: PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS (space-separated), PIP_NO_INDEX;
3. pip's configuration files, in pip's order, a later file overriding an earlier one: global
   (`$XDG_CONFIG_DIRS/pip/pip.conf`, default /etc/xdg/pip/pip.conf, then /etc/pip.conf), user (~/.pip/pip.conf,
   then `$XDG_CONFIG_HOME/pip/pip.conf`; skipped when PIP_CONFIG_FILE names an existing file), site
   (`$VIRTUAL_ENV/pip.conf`, else this interpreter's prefix), then PIP_CONFIG_FILE (`os.devnull`: no files at
   all); in each, `[global]`, then `[download]`, then `[install]`;
4. uv's environment variables: UV_DEFAULT_INDEX / UV_INDEX_URL, UV_INDEX / UV_EXTRA_INDEX_URL (space-separated,
   `name=url` allowed), UV_FIND_LINKS (comma-separated);
5. PyPI.

`origins` says where each setting came from, for messages ("index https://mirror/simple (from PIP_INDEX_URL)").
"""

from __future__ import annotations

import configparser
import os
import sys
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from pinguard.errors import BadInput

DEFAULT_INDEX_URL = "https://pypi.org/simple"
SECTIONS = ("global", "download", "install")
_TRUE = ("1", "true", "yes", "on", "y")
_FALSE = ("0", "false", "no", "off", "n", "")


@dataclass(frozen=True)
class IndexConfig:
    """The package sources to read: the primary index ("" with no_index), extra indexes, find-links locations."""

    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: Tuple[str, ...] = ()
    find_links: Tuple[str, ...] = ()
    no_index: bool = False
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def indexes(self) -> Tuple[str, ...]:
        """Every index to ask, the primary first (none with no_index)."""
        if self.no_index:
            return ()
        return tuple(dict.fromkeys((self.index_url,) + self.extra_index_urls))

    def describe(self) -> str:
        """One line: where packages come from and why."""
        parts = []
        if self.no_index:
            parts.append("no index (%s)" % self.origins.get("no_index", "configured"))
        else:
            parts.append("index %s (%s)" % (self.index_url, self.origins.get("index_url", "default")))
        if self.extra_index_urls and not self.no_index:
            parts.append("extra %s (%s)" % (" ".join(self.extra_index_urls), self.origins.get("extra_index_urls")))
        if self.find_links:
            parts.append("find-links %s (%s)" % (" ".join(self.find_links), self.origins.get("find_links")))
        return "; ".join(parts)


def resolve(index_url: Optional[str] = None, extra_index_urls: Sequence[str] = (), find_links: Sequence[str] = (),
            environ: Optional[Mapping[str, str]] = None, prefix: Optional[str] = None) -> IndexConfig:
    """The configuration for these command-line values (None / empty: not given), as pip and uv would read it."""
    environ = os.environ if environ is None else environ
    layers = [_flags(index_url), _pip_env(environ)] + _pip_files(environ, prefix) + [_uv_env(environ)]
    chosen: Dict[str, Tuple[Any, str]] = {}
    for layer in layers:
        for key, value_origin in layer.items():
            chosen.setdefault(key, value_origin)
    primary, primary_origin = chosen.get("index_url", (DEFAULT_INDEX_URL, "default: PyPI"))
    extras, extras_origin = chosen.get("extra_index_urls", ((), ""))
    links, links_origin = chosen.get("find_links", ((), ""))
    no_index, no_index_origin = chosen.get("no_index", (False, ""))
    if extra_index_urls:
        extras, extras_origin = tuple(extras) + tuple(extra_index_urls), _joined(extras_origin, "--extra-index-url")
    if find_links:
        links, links_origin = tuple(links) + tuple(find_links), _joined(links_origin, "--find-links")
    origins = {"index_url": primary_origin, "extra_index_urls": extras_origin, "find_links": links_origin,
               "no_index": no_index_origin}
    config = IndexConfig(check_index_url(str(primary), origins["index_url"]),
                         tuple(check_index_url(u, extras_origin) for u in extras),
                         tuple(_location(link) for link in links),
                         bool(no_index), origins)
    if config.no_index and not config.find_links:
        raise BadInput("no index to read: no-index is set (%s) and no --find-links location is given" % (
            no_index_origin))
    return config


def check_index_url(url: str, origin: str = "") -> str:
    """An http(s) or file URL without its trailing slash; BadInput naming where it came from otherwise."""
    text = (url or "").strip()
    parts = urllib.parse.urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc or parts.scheme == "file" and parts.path:
        return text.rstrip("/")
    raise BadInput("index URL must be an http(s) or file URL, got %r%s" % (text[:200], " (from %s)" % origin
                                                                            if origin else ""))


def _location(link: str) -> str:
    """A find-links entry: an http(s)/file URL as given, a local path made absolute."""
    text = link.strip()
    if urllib.parse.urlsplit(text).scheme in ("http", "https", "file"):
        return text
    return os.path.abspath(os.path.expanduser(text))


def _joined(first: str, second: str) -> str:
    return "%s + %s" % (first, second) if first else second


def _words(text: str, separators: str = " \t\n") -> Tuple[str, ...]:
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    return tuple(w for w in text.split(separators[0]) if w)


Layer = Dict[str, Tuple[object, str]]  # setting -> (value, where it came from)


def _flags(index_url: Optional[str]) -> Layer:
    return {"index_url": (index_url, "--index-url")} if index_url else {}


def _pip_env(environ: Mapping[str, str]) -> Layer:
    values: Layer = {}
    if environ.get("PIP_INDEX_URL", "").strip():
        values["index_url"] = (environ["PIP_INDEX_URL"].strip(), "PIP_INDEX_URL")
    if environ.get("PIP_EXTRA_INDEX_URL", "").strip():
        values["extra_index_urls"] = (_words(environ["PIP_EXTRA_INDEX_URL"]), "PIP_EXTRA_INDEX_URL")
    if environ.get("PIP_FIND_LINKS", "").strip():
        values["find_links"] = (_words(environ["PIP_FIND_LINKS"]), "PIP_FIND_LINKS")
    if environ.get("PIP_NO_INDEX", "").strip():
        values["no_index"] = (_boolean(environ["PIP_NO_INDEX"], "PIP_NO_INDEX"), "PIP_NO_INDEX")
    return values


def config_files(environ: Mapping[str, str], prefix: Optional[str] = None) -> List[str]:
    """pip's configuration files for this environment, lowest priority first (they need not exist)."""
    explicit = environ.get("PIP_CONFIG_FILE")
    if explicit == os.devnull:
        return []
    xdg_dirs = [d for d in (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep) if d]
    files = [os.path.join(d, "pip", "pip.conf") for d in xdg_dirs] + ["/etc/pip.conf"]
    if not (explicit and os.path.exists(explicit)):
        home = environ.get("HOME") or os.path.expanduser("~")
        config_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        files += [os.path.join(home, ".pip", "pip.conf"), os.path.join(config_home, "pip", "pip.conf")]
    site = prefix or environ.get("VIRTUAL_ENV") or sys.prefix
    files.append(os.path.join(site, "pip.conf"))
    if explicit:
        files.append(explicit)
    return files


def _pip_files(environ: Mapping[str, str], prefix: Optional[str]) -> List[Layer]:
    """One layer per file, highest priority first."""
    return [_read_pip_conf(path) for path in reversed(config_files(environ, prefix))]


def _read_pip_conf(path: str) -> Layer:
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle, source=path)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())[:200]
        raise BadInput("cannot read pip's configuration file %s: %s" % (path, reason))
    values: Layer = {}
    for section in SECTIONS:
        if not parser.has_section(section):
            continue
        origin = "%s [%s]" % (path, section)
        for key, raw in parser.items(section):
            name = key.lower().replace("_", "-").lstrip("-")
            if name == "index-url" and raw.strip():
                values["index_url"] = (raw.strip(), origin)
            elif name == "extra-index-url":
                values["extra_index_urls"] = (_words(raw), origin)
            elif name == "find-links":
                values["find_links"] = (_words(raw), origin)
            elif name == "no-index":
                values["no_index"] = (_boolean(raw, "no-index in %s" % origin), origin)
    return values


def _uv_env(environ: Mapping[str, str]) -> Layer:
    values: Layer = {}
    for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        if environ.get(variable, "").strip() and "index_url" not in values:
            values["index_url"] = (_uv_url(environ[variable].strip()), variable)
    extras = [_uv_url(w) for w in _words(environ.get("UV_INDEX", ""))]
    extras += list(_words(environ.get("UV_EXTRA_INDEX_URL", "")))
    if extras:
        names = [v for v in ("UV_INDEX", "UV_EXTRA_INDEX_URL") if environ.get(v, "").strip()]
        values["extra_index_urls"] = (tuple(extras), " + ".join(names))
    if environ.get("UV_FIND_LINKS", "").strip():
        values["find_links"] = (_words(environ["UV_FIND_LINKS"], ", \t\n"), "UV_FIND_LINKS")
    return values


def _uv_url(entry: str) -> str:
    """uv's `name=url` index entries name the index; the URL is what is read."""
    name, sep, url = entry.partition("=")
    return url if sep and "://" not in name else entry


def _boolean(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadInput("%s must be true or false, not %r" % (what, text[:40]))
