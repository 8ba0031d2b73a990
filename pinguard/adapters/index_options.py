"""The package-source options of `fix` (and `lock`): --index-url, --extra-index-url, --find-links, --offline, and
the index client they configure (defaults: pip's and uv's configuration, see sources/index_config.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # the parser of every command adds these options: the client loads only when a command runs
    from pinguard.adapters.progress import Phases
    from pinguard.sources.index import IndexClient
    from pinguard.sources.index_config import IndexConfig

#: Per request; with 3 tries and the backoff, an index that never answers costs at most ~47 s, once per run.
TIMEOUT = 15.0
RETRIES = 3


def add_index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index-url", metavar="URL", help="the package index (default: pip's configuration: "
                        "PIP_INDEX_URL, pip.conf at every level, then uv's UV_DEFAULT_INDEX/UV_INDEX_URL, then PyPI); "
                        "http(s) or file://")
    parser.add_argument("--extra-index-url", action="append", default=[], metavar="URL",
                        help="another index whose files are merged in (added to the configured ones); repeatable")
    parser.add_argument("--find-links", action="append", default=[], metavar="PATH|URL",
                        help="a directory of wheels/sdists or an HTML page of links (added to the configured ones); "
                             "repeatable")
    parser.add_argument("--offline", action="store_true", help="use the metadata cache and local sources only "
                        "(PINGUARD_OFFLINE=1)")


def index_config(args: argparse.Namespace) -> IndexConfig:
    from pinguard.sources.index_config import resolve

    return resolve(args.index_url, args.extra_index_url, args.find_links)


def index_client(args: argparse.Namespace, phases: Optional[Phases] = None) -> IndexClient:
    """The client for these options; progress and retries go to `phases` (see adapters/progress.py)."""
    from pinguard.sources.index import IndexClient

    config = index_config(args)
    if phases is not None:
        phases.phase("package data from %s%s" % (config.describe(), " (offline: cache only)" if args.offline else ""))
    return IndexClient.from_config(config, offline=args.offline, timeout=TIMEOUT, retries=RETRIES,
                                   progress=phases.detail if phases is not None else False,
                                   on_retry=phases.note if phases is not None else None)
