"""Kite's error replies to a placement that prove nothing: the one table of them.

Kite can answer a placement with an error that does not mean "refused": HTTP 400
``InputException`` "Order request timed out. Please check the order book…", after which the
order may still appear in the book seconds later (KITE_API.md §14.2; kite.trade forum
comment/35732). Read as its ``error_type`` says, that reply would be a rejection, and a strategy
that placed again would hold two orders. The client looks every error reply to a placement up
in :data:`AMBIGUOUS_REPLIES`; a match becomes :class:`~orderdesk.errors.AmbiguousReply`, the
unknown outcome the engine resolves by the book (and never sends again), and anything else keeps
the class its ``error_type`` gives it.

A reply matches an entry when its ``error_type`` is the entry's and its message opens with the
entry's words. Only the opening is documented (the sources quote it and trail off), so the rest
of the text is not compared; case and runs of whitespace are not either, as Kite's texts have
changed in both before. A new ambiguous text is one more row here, with its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderdesk.brokers.kite.errors import KiteError


@dataclass(frozen=True, slots=True)
class AmbiguousText:
    """One known reply that leaves a placement's outcome open."""

    error_type: str
    """Kite's ``error_type`` on the reply."""
    opening: str
    """The message's documented opening words."""
    source: str
    """Where the text and its meaning are documented."""

    def matches(self, error_type: str | None, message: str) -> bool:
        """Whether a reply with this ``error_type`` and ``message`` is this entry's."""
        return error_type == self.error_type and _words(message).startswith(_words(self.opening))


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


AMBIGUOUS_REPLIES: tuple[AmbiguousText, ...] = (
    AmbiguousText(
        error_type="InputException",
        opening="Order request timed out",
        source="KITE_API.md §14.2 (kite.trade forum comment/35732): HTTP 400, "
        '"Order request timed out. Please check the order book…", and the order still '
        "appeared seconds later",
    ),
)
"""Every reply to a placement known to prove nothing about whether the order exists."""


def ambiguous_text(error: KiteError) -> AmbiguousText | None:
    """The table's entry for ``error`` if it is an ambiguous reply, else ``None``."""
    for entry in AMBIGUOUS_REPLIES:
        if entry.matches(error.error_type, error.message):
            return entry
    return None


__all__ = ["AMBIGUOUS_REPLIES", "AmbiguousText", "ambiguous_text"]
