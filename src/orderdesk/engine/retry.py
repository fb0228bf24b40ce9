"""The engine's one retry policy: stamina's exponential backoff with jitter, for every loop.

What *may* be retried is decided by the error predicates beside the error tree
(:mod:`orderdesk.errors`: a 429 proved nothing was placed; a transport error or a 5xx proves
nothing either way) and by the caller's own "not yet" exceptions below; how long to wait comes
from the desk's config. Tests switch the waits off with stamina's test mode
(``stamina.set_testing``) rather than shrinking them.

Nothing here re-sends a command whose outcome is unknown: a placement is resolved by finding its
tag in the book (:mod:`.placement`), a modify or cancel by reading the order (:mod:`.commands`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from orderdesk.engine.config import DeskConfig
from orderdesk.errors import is_throttled
from orderdesk.first_try import Attempt, FirstTry, On


class NotYet(Exception):
    """Raised inside a retry block to wait and look again (a lookup found nothing yet, the
    trade book lags the order book, the stream delivered nothing)."""

    routine_retry = True
    """A wait, not an error: its retries are logged at DEBUG (``orderdesk.logging``)."""


def retrying(
    on: On,
    *,
    first: float,
    ceiling: float,
    attempts: int | None,
    timeout: float | None = None,
) -> AsyncIterator[Attempt]:
    """Attempts of a block, the waits growing from ``first`` to ``ceiling`` with jitter, until
    ``attempts`` or ``timeout`` (``None``: no bound) — then the last error is raised again.

    The first attempt runs outside stamina (:mod:`orderdesk.first_try`): most blocks succeed
    at once, and entering its retry loop is the cost of a retry, not of every block."""
    return FirstTry(
        on=on,
        attempts=attempts,
        timeout=timeout,
        wait_initial=first,
        wait_max=max(ceiling, first),
        wait_jitter=first,
    )


def while_throttled(config: DeskConfig) -> AsyncIterator[Attempt]:
    """Attempts of a placement: a 429 proves nothing was placed, the one error after which a
    placement is sent again (same id, same request) until the broker lets it through or
    ``rate_limit_give_up`` seconds have passed (then the 429 is raised again)."""
    return retrying(
        is_throttled,
        first=config.rate_limit_backoff,
        ceiling=config.rate_limit_max_backoff,
        attempts=None,
        timeout=config.rate_limit_give_up,
    )


__all__ = ["NotYet", "retrying", "while_throttled"]
