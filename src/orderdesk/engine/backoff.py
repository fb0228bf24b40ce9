"""Exponential backoff with full jitter, the one shape every retry loop of the engine uses."""

from __future__ import annotations

import random


class Backoff:
    """``next()`` returns a delay in ``[base/2, current]``; ``current`` doubles up to a ceiling.

    Jitter keeps many orders that failed together (a 429 storm) from retrying in lock-step.
    """

    def __init__(self, base: float, ceiling: float) -> None:
        self._base = base
        self._ceiling = max(ceiling, base)
        self._current = base

    def next(self) -> float:
        delay = random.uniform(self._base / 2, self._current)
        self._current = min(self._current * 2, self._ceiling)
        return delay

    def reset(self) -> None:
        self._current = self._base


__all__ = ["Backoff"]
