"""The instrument master as the engine uses it: trading rules by key, keys by token.

Kite publishes a new instrument list every morning (new contracts listed, expired ones gone,
tokens reused), so the desk reads it again whenever it opens a trading day, without a restart.
Kite's list has no freeze column: index derivatives take their exchange freeze limit from the
desk's configuration (``freeze_quantities`` by underlying).

The limit is added when a row is looked up, not when the list is read: a day's list holds some
100,000 rows, half of them index derivatives, and copying each with its limit made the copies
most of a day's opening (0.30 of 0.36 s CPU, ``make bench ARGS=days``) for rows mostly never
traded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import date

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.values import InstrumentKey
from orderdesk.ports.broker import Broker

_DERIVATIVES = frozenset({"FUT", "CE", "PE"})


class InstrumentMaster(Mapping[InstrumentKey, InstrumentInfo]):
    """Today's instruments by key (with freeze limits), and keys by token; read-only."""

    def __init__(
        self,
        broker: Broker,
        freeze_quantities: Mapping[str, int],
        session_of: Callable[[InstrumentKey], date] | None = None,
    ) -> None:
        """``session_of``: the trading day a new order in an instrument would be for now (the
        next session's after its segment's close); None: the desk keeps no days, and a contract
        is tradable while listed."""
        self._broker = broker
        self._freeze = dict(freeze_quantities)
        self._session_of = session_of
        self._rows: dict[InstrumentKey, InstrumentInfo] = {}
        self._gone: dict[InstrumentKey, str] = {}
        """The contracts the last refresh dropped, by expiry date: one named the next morning
        is said to have expired, not to be unknown (as a mistyped one is)."""
        self._limited: dict[InstrumentKey, InstrumentInfo] = {}
        self.by_token: dict[int, InstrumentKey] = {}
        """Updated in place by :meth:`refresh`, so holders of it see each day's list."""
        self.loaded = False

    async def refresh(self) -> None:
        """Read the broker's list now; on failure the previous list stays (and it raises)."""
        infos = await self._broker.instruments()
        rows = {info.instrument: info for info in infos}
        # Only the last list's drops: thousands of strikes expire a week, kept for months.
        self._gone = {
            key: info.expiry for key, info in self._rows.items() if info.expiry and key not in rows
        }
        self._rows = rows
        self._limited = {}
        self.by_token.clear()
        self.by_token.update((info.instrument_token, info.instrument) for info in infos)
        self.loaded = True

    def __getitem__(self, instrument: InstrumentKey) -> InstrumentInfo:
        info = self._limited.get(instrument)
        if info is None:
            info = self._limited[instrument] = self._with_freeze(self._rows[instrument])
        return info

    def __iter__(self) -> Iterator[InstrumentKey]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, instrument: object) -> bool:
        return instrument in self._rows

    def rules_for(self, instrument: InstrumentKey) -> InstrumentInfo | None:
        """The trading rules of ``instrument`` for a new order, or None without a list.

        Raises :class:`~orderdesk.domain.errors.ValidationError` for an instrument today's list
        does not hold: a mistyped symbol is refused at intake as unknown, rather than later by
        whichever check first fails to find a price for it. A broker that lists nothing (an
        empty list, or none read yet) leaves the instrument to the broker.
        """
        if not self._rows:
            return None
        if instrument not in self._rows:
            expired = self._gone.get(instrument)
            if expired is not None:
                raise ValidationError(
                    "instrument", f"{instrument} expired on {expired}: it no longer trades"
                )
            raise ValidationError("instrument", f"unknown instrument {instrument}")
        info = self[instrument]
        if info.expiry and self._session_of is not None:
            # Listed until the next morning's list, an expired contract was taken after its
            # close (an AMO, a GTT, an exit) and refused by the broker only at the next open,
            # or sent and rejected with an "act now" alert for a position already settled.
            session = self._session_of(instrument)
            if info.expiry < session.isoformat():
                raise ValidationError(
                    "instrument",
                    f"{instrument} expired on {info.expiry} and settled at that day's close: "
                    f"it does not trade in the next session ({session:%a %Y-%m-%d})",
                )
        return info

    def expires_on(self, instrument: InstrumentKey, day: date) -> bool:
        """Whether ``instrument`` is a contract whose last trading day is ``day``."""
        info = self._rows.get(instrument)
        return info is not None and info.expiry == day.isoformat()

    def listed(self, instrument: InstrumentKey) -> bool:
        """Whether ``instrument`` trades today (an expired contract is gone from the list)."""
        return not self.loaded or instrument in self._rows

    def _with_freeze(self, info: InstrumentInfo) -> InstrumentInfo:
        if info.freeze_quantity is not None or info.instrument_type not in _DERIVATIVES:
            return info
        freeze = self._freeze.get(info.name)
        return info if freeze is None else replace(info, freeze_quantity=freeze)


__all__ = ["InstrumentMaster"]
