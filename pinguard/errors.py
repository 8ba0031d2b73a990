"""Errors a user can act on.

Every error pinguard raises on purpose is a :class:`PinguardError`; the CLI prints its message on one line and
exits with its ``exit_code``, never with a traceback. Exit codes across commands: 0 ok, 1 findings / refused / no
repair, 2 bad input, 3 internal error (a bug: no input may reach it), 4 network (the index cannot be reached, or,
offline, the cache cannot answer).
"""

EXIT_OK, EXIT_FOUND, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_NETWORK = 0, 1, 2, 3, 4
#: The longest piece of the user's input an error line repeats.
QUOTE_LIMIT = 120


def quote(text: object, limit: int = QUOTE_LIMIT) -> str:
    """repr() of a piece of input for an error line, cut to `limit` characters (a 1 MB line is not repeated)."""
    value = str(text)
    if len(value) > limit:
        return repr(value[:limit]) + "... (%d characters)" % len(value)
    return repr(value)


def one_line(text: object) -> str:
    """`text` with every run of whitespace (newlines included) as one space: a message fit for one line."""
    return " ".join(str(text).split())


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

    exit_code = EXIT_NETWORK


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
