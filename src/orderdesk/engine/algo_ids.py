"""Which exchange algo id goes with a strategy's placements.

Every algo order carries an exchange algo id (KITE_API.md §14.2): one Zerodha registered for
the user's strategy, or, under 10 orders a second, a generic one the broker applies itself. The
2026 SDKs send it as the order parameter ``algo_id``; the desk sends it only when the user has
one (``[kite] algo_id``, overridden per strategy by ``[strategies.<name>] algo_id``) and records
in every ``OrderSubmitting`` which one went out (None: none), so an order's algo id is known
from the log whatever the broker echoes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AlgoIds:
    """The desk-wide algo id and the strategies' own."""

    default: str | None = None
    by_strategy: Mapping[str, str] = field(default_factory=dict)

    def for_strategy(self, strategy: str) -> str | None:
        """The strategy's own algo id, else the desk-wide one, else None (send none)."""
        return self.by_strategy.get(strategy, self.default)


__all__ = ["AlgoIds"]
