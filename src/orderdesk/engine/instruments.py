"""The instrument master as the engine uses it: trading rules by key, keys by token.

Kite publishes a new instrument list every morning (new contracts listed, expired ones gone,
tokens reused), so the desk reads it again whenever it opens a trading day, without a restart.
Kite's list has no freeze column: index derivatives take their exchange freeze limit from the
desk's configuration (``freeze_quantities`` by underlying).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.values import InstrumentKey
from orderdesk.ports.broker import Broker

_DERIVATIVES = frozenset({"FUT", "CE", "PE"})


class InstrumentMaster:
    """Today's instruments; the dictionaries are updated in place by :meth:`refresh`."""

    def __init__(self, broker: Broker, freeze_quantities: Mapping[str, int]) -> None:
        self._broker = broker
        self._freeze = dict(freeze_quantities)
        self.by_key: dict[InstrumentKey, InstrumentInfo] = {}
        self.by_token: dict[int, InstrumentKey] = {}
        self.loaded = False

    async def refresh(self) -> None:
        """Read the broker's list now; on failure the previous list stays (and it raises)."""
        infos = await self._broker.instruments()
        self.by_key.clear()
        self.by_key.update((info.instrument, self._with_freeze(info)) for info in infos)
        self.by_token.clear()
        self.by_token.update((info.instrument_token, info.instrument) for info in infos)
        self.loaded = True

    def get(self, instrument: InstrumentKey) -> InstrumentInfo | None:
        return self.by_key.get(instrument)

    def listed(self, instrument: InstrumentKey) -> bool:
        """Whether ``instrument`` trades today (an expired contract is gone from the list)."""
        return not self.loaded or instrument in self.by_key

    def _with_freeze(self, info: InstrumentInfo) -> InstrumentInfo:
        if info.freeze_quantity is not None or info.instrument_type not in _DERIVATIVES:
            return info
        freeze = self._freeze.get(info.name)
        return info if freeze is None else replace(info, freeze_quantity=freeze)


__all__ = ["InstrumentMaster"]
