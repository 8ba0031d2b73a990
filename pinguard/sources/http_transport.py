"""HTTP for the index client: GET with retries and backoff, range reads of one remote file, a progress line.

Only the standard library is used (``urllib.request``); proxies come from the usual environment variables.
Transient failures (connection trouble, timeouts, HTTP 408/425/429/5xx) are retried with exponential backoff; any
other failure is a one-line :class:`~pinguard.errors.NetworkError`.

:class:`RangeSource` gives :mod:`pinguard.sources.wheel_range` the ``tail``/``read`` it needs over HTTP range
requests, so one member of a remote zip (a wheel's ``METADATA``, or any other member) is read without downloading
the file.
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from pinguard import __version__
from pinguard.errors import NetworkError, one_line
from pinguard.sources.simple_page import strongest_hash
from pinguard.sources.wheel_range import BadWheel

log = logging.getLogger(__name__)

PROGRESS_DELAY = 1.0

_USER_AGENT = "pinguard/{} (Python {}.{}; urllib)".format(__version__, *sys.version_info[:2])
_RETRY_STATUSES = frozenset([408, 425, 429, 500, 502, 503, 504])
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")

Progress = Union[bool, Callable[[str], None]]


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


class Retryable(Exception):
    """A failure worth another try (connection trouble, timeout, HTTP 5xx/429)."""


class Unreachable(Retryable):
    """The host did not answer at all (no route, refused, timed out): after the last try, the whole run treats it as
    down, so a batch of requests waits for one request's retries, not for each one's."""


class TooLarge(Exception):
    """A full (non-range) response would exceed the caller's byte limit; ``size`` is None if unknown."""

    def __init__(self, size: Optional[int]) -> None:
        super().__init__(size)
        self.size = size


class RangeUnsupported(Exception):
    """The server answered a range request with the whole (too large) file."""


class HttpTransport:
    """GET requests with retries; counts the requests sent and the body bytes received (thread-safe)."""

    def __init__(self, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                 on_retry: Optional[Callable[[str], None]] = None) -> None:
        self.timeout = timeout
        self.retries = max(1, int(retries))
        self.backoff = backoff
        self.on_retry = on_retry
        self._opener = urllib.request.build_opener()
        self._lock = threading.Lock()
        self._bytes = 0
        self._requests = 0
        self._down: Dict[str, str] = {}  # host -> why it did not answer: later requests to it fail at once

    @property
    def bytes_fetched(self) -> int:
        """Response body bytes received from the network so far (headers not counted)."""
        return self._bytes

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests

    @property
    def hosts_down(self) -> Dict[str, str]:
        """Hosts that did not answer at all in this run (host -> why)."""
        with self._lock:
            return dict(self._down)

    def fetch(self, url: str, headers: Mapping[str, str], accept: Tuple[int, ...] = (200,),
              limit_full: Optional[int] = None) -> Response:
        """GET ``url``, retrying transient failures with exponential backoff.

        Returns responses whose status is in ``accept``; raises :class:`NetworkError` otherwise. ``limit_full``
        caps the size of a 200 (full-body) response: :class:`TooLarge` is raised before reading past it.
        """
        host = urllib.parse.urlsplit(url).netloc
        with self._lock:
            down = self._down.get(host)
        if down is not None:
            raise NetworkError("cannot fetch {}: {} did not answer earlier in this run ({})".format(url, host, down))
        reason, unreachable = "", False
        for attempt in range(self.retries):
            if attempt:
                if self.on_retry is not None:
                    self.on_retry("{} did not answer ({}); trying again ({}/{})".format(
                        host, reason, attempt + 1, self.retries))
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self._fetch_once(url, headers, limit_full)
            except Unreachable as exc:
                reason, unreachable = str(exc), True
                log.debug("attempt %d for %s failed: %s", attempt + 1, url, reason)
                continue
            except Retryable as exc:
                reason, unreachable = str(exc), False
                log.debug("attempt %d for %s failed: %s", attempt + 1, url, reason)
                continue
            if resp.status in accept:
                return resp
            raise NetworkError("cannot fetch {}: HTTP {}".format(url, resp.status))
        if unreachable:
            with self._lock:
                self._down[host] = reason
        tries = "1 try" if self.retries == 1 else "{} tries".format(self.retries)
        raise NetworkError("cannot fetch {}: {} (gave up after {})".format(url, reason, tries))

    def _fetch_once(self, url: str, headers: Mapping[str, str], limit_full: Optional[int]) -> Response:
        request = urllib.request.Request(url, headers=dict(headers, **{"User-Agent": _USER_AGENT}))
        with self._lock:
            self._requests += 1
        try:
            resp = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            status, phrase, resp_headers = exc.code, exc.reason, exc.headers
            exc.close()
            if status in _RETRY_STATUSES:
                raise Retryable("HTTP {} {}".format(status, one_line(phrase))) from None
            # an HTTPError's headers are an email Message, which reads as the Mapping Response keeps
            return Response(status, resp_headers or {}, b"", url)  # type: ignore[arg-type]
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise NetworkError("cannot fetch {}: {}".format(url, one_line(exc.reason))) from None
            raise Unreachable(one_line(exc.reason)) from None
        except (OSError, HTTPException) as exc:
            raise Unreachable(describe(exc)) from None
        except ValueError as exc:
            raise NetworkError("cannot fetch {}: {}".format(url, one_line(exc))) from None
        with resp:
            status = resp.getcode()
            try:
                body = self._read_body(resp, limit_full if status == 200 else None)
            except (OSError, HTTPException) as exc:
                raise Retryable(describe(exc)) from None
            return Response(status, resp.headers, body, resp.geturl())

    def _read_body(self, resp: Any, limit: Optional[int]) -> bytes:
        if limit is not None:
            length = resp.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise TooLarge(int(length))
        chunks = []
        total = 0
        while True:
            chunk = resp.read(64 * 1024)
            if not chunk:
                break
            with self._lock:
                self._bytes += len(chunk)
            total += len(chunk)
            chunks.append(chunk)
            if limit is not None and total > limit:
                raise TooLarge(None)
        return b"".join(chunks)


class RangeSource:
    """``tail``/``read`` over HTTP range requests of one file, for :mod:`pinguard.sources.wheel_range`.

    ``size`` is the file's size when the index listed it; ``whole_file_limit`` caps a server's answer of the
    whole file to a range request (:class:`RangeUnsupported` beyond it); ``notice`` receives a one-line notice
    when the whole file had to be downloaded.
    """

    def __init__(self, transport: HttpTransport, url: str, size: Optional[int], whole_file_limit: int,
                 notice: Callable[[str], None]) -> None:
        self.transport = transport
        self.url = url.partition("#")[0]
        self.size = size
        self.whole_file_limit = whole_file_limit
        self.notice = notice
        self.got_whole_file = False

    def tail(self, length: int) -> Tuple[bytes, int]:
        size = self.size
        if size is not None and size > 0:
            start = max(0, size - length)
            resp = self._get("bytes={}-{}".format(start, size - 1))
        else:
            start = None
            resp = self._get("bytes=-{}".format(length))
        if resp.status == 200:
            self.got_whole_file = True
            self.notice("{} does not support range requests; downloaded all of it ({}) to read its "
                        "metadata".format(self.url, megabytes(len(resp.body))))
            return resp.body, len(resp.body)
        first, total = self._content_range(resp)
        if start is not None and first != start:
            raise BadWheel("server returned bytes from {} instead of {}".format(first, start))
        return resp.body, total

    def read(self, offset: int, length: int) -> bytes:
        resp = self._get("bytes={}-{}".format(offset, offset + length - 1))
        if resp.status == 200:
            return resp.body[offset:offset + length]
        first, _ = self._content_range(resp)
        if first != offset:
            raise BadWheel("server returned bytes from {} instead of {}".format(first, offset))
        return resp.body

    def _get(self, byte_range: str) -> Response:
        try:
            return self.transport.fetch(self.url, {"Range": byte_range}, accept=(200, 206),
                                        limit_full=self.whole_file_limit)
        except TooLarge:
            raise RangeUnsupported() from None

    def _content_range(self, resp: Response) -> Tuple[int, int]:
        match = _CONTENT_RANGE.match((resp.headers.get("Content-Range") or "").strip())
        if not match or match.group(3) == "*":
            raise BadWheel("server sent a partial response without a usable Content-Range header")
        first, last, total = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if len(resp.body) != last - first + 1:
            raise BadWheel("server sent {} bytes for a {}-byte range".format(len(resp.body), last - first + 1))
        return first, total


class ProgressLine:
    """``fetched metadata 12/40 (1.3 MB)`` on stderr (or to a callback), only once a batch has run > 1 s."""

    def __init__(self, progress: Progress, total: int, transport: HttpTransport) -> None:
        self.sink: Optional[Callable[[str], None]] = None
        if callable(progress):
            self.sink = progress
        elif progress:
            self.sink = _stderr_line
        self.total = total
        self.transport = transport
        self.start = time.monotonic()
        self.start_bytes = transport.bytes_fetched
        self.shown = False

    def update(self, done: int) -> None:
        if self.sink is None or time.monotonic() - self.start < PROGRESS_DELAY:
            return
        self.shown = True
        self.sink("fetching metadata: {}/{} files, {} downloaded".format(
            done, self.total, megabytes(self.transport.bytes_fetched - self.start_bytes)))

    def finish(self) -> None:
        if self.shown and self.sink is _stderr_line:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _stderr_line(text: str) -> None:
    sys.stderr.write("\r" + text + "\033[K" if sys.stderr.isatty() else "\r" + text)
    sys.stderr.flush()


def verify_hash(data: bytes, hashes: Mapping[str, str], what: str) -> None:
    """:class:`NetworkError` when ``data`` does not match the strongest of ``hashes`` (none known: no check)."""
    algo = strongest_hash(hashes)
    if algo is None:
        return
    actual = hashlib.new(algo, data).hexdigest()
    if actual.lower() != hashes[algo].lower():
        raise NetworkError("{} does not match its {} hash from the index (damaged download or a tampered "
                           "index)".format(what, algo))


def describe(exc: BaseException) -> str:
    text = one_line(exc)
    return text if text else type(exc).__name__


def megabytes(size: Optional[int]) -> str:
    return "unknown size" if size is None else "{:.1f} MB".format(size / 1e6)
