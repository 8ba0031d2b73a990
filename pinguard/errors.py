"""Errors a user can act on.

Every error pinguard raises on purpose is a :class:`PinguardError`; the CLI prints its message on one line and
exits with its ``exit_code`` (2 = bad input), never with a traceback.
"""


class PinguardError(Exception):
    """An expected failure with a one-line message for the user."""

    exit_code = 2


class BadInput(PinguardError):
    """The user's input cannot be understood (unparsable requirement, unreadable file, unknown option value)."""


class KnowledgeError(PinguardError):
    """The shipped knowledge base is damaged: names the file and the entry."""


class ImpossibleAnchor(PinguardError):
    """Anchors contradict each other, the Python version, or the knowledge base."""


class UnknownPackage(BadInput):
    """A package or release the knowledge base or the index does not know."""


class NetworkError(PinguardError):
    """The package index cannot be reached (and the cache cannot answer)."""


class CacheError(PinguardError):
    """The on-disk cache is unreadable or corrupt."""


CONFIDENCE = ("H", "M", "L")


def require_sources(entry, where: str):
    """(sources, confidence) of a knowledge entry; KnowledgeError naming `where` when either is missing or bad.

    Lives here, beside KnowledgeError, so the conda plugin's light imports can share it with the full loader."""
    sources = entry.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise KnowledgeError("%s has no sources (every fact needs at least one)" % where)
    confidence = entry.get("confidence")
    if not (isinstance(confidence, str) and confidence[:1] in CONFIDENCE):
        raise KnowledgeError("%s has confidence %r (expected H, M or L)" % (where, confidence))
    return tuple(sources), confidence
