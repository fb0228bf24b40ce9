"""Position conversions: the desk asks the broker, and its books follow the broker's.

A conversion is no order, so none of the order path applies; it keeps the order path's rules
all the same. The request is in the log before it leaves (``PositionConversionRequested``),
the broker's answer after it (``PositionConverted`` or ``PositionConversionRefused``), and only
a conversion the broker made moves the desk's positions. One whose answer was lost in flight
is never re-sent: the broker may have made it, and reconciliation finds out
(:meth:`Conversions.found_at_broker`), as it finds one made on Kite web.
"""

from __future__ import annotations

import asyncio

from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import (
    PositionConversionRefused,
    PositionConversionRequested,
    PositionConverted,
)
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.recorder import Recorder
from orderdesk.errors import BrokerRejected, NotOffered
from orderdesk.ports.broker import Broker, PositionConverter
from orderdesk.ports.notifier import Severity


class Conversions:
    """Converting the desk's positions at the broker, one at a time."""

    def __init__(self, broker: Broker, recorder: Recorder, book: OrderBook, alerts: Alerts) -> None:
        self.broker = broker
        self.recorder = recorder
        self.book = book
        self.alerts = alerts
        self.one_at_a_time = asyncio.Lock()
        """Held from the check against the books to the broker's answer, and by
        reconciliation while it looks for conversions made at the broker: a move the broker
        has made and not yet answered would otherwise be taken for one made there, and then
        applied again with the answer."""

    async def convert(self, conversion: PositionConversion, *, operator: str) -> None:
        """Convert at the broker and move the desk's books with it.

        Raises :class:`~orderdesk.domain.errors.ValidationError` when the desk's position
        cannot give the quantity (nothing is sent), :class:`~orderdesk.errors.NotOffered` for a
        broker without conversions, and the broker's error when it refuses or its answer is
        lost (recorded either way; nothing moves).
        """
        broker = self.broker
        if not isinstance(broker, PositionConverter):
            raise NotOffered(broker.name, "position conversion")
        clock = self.recorder.clock
        async with self.one_at_a_time:
            self.book.positions.check(conversion)
            await self.recorder.desk_event(
                PositionConversionRequested(
                    at=clock.now(), conversion=conversion, operator=operator
                )
            )
            try:
                await broker.convert_position(conversion)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                await self.recorder.desk_event(
                    PositionConversionRefused(at=clock.now(), conversion=conversion, reason=reason)
                )
                if not isinstance(exc, BrokerRejected):
                    await self.alerts.raise_(
                        Severity.WARNING,
                        "Position conversion unanswered",
                        f"{conversion.describe()}: {reason}; not re-sent, reconciliation "
                        "will show whether the broker made it",
                        key=f"convert:{conversion.instrument}",
                    )
                raise
            await self._record(conversion, source="desk")

    async def found_at_broker(self, conversion: PositionConversion) -> None:
        """Reconciliation found ``conversion`` made at the broker (Kite web, or an answer
        lost in flight): the desk's books follow, and the operator is told. The caller holds
        :attr:`one_at_a_time`."""
        await self._record(conversion, source="broker")
        await self.alerts.raise_(
            Severity.WARNING,
            "Position converted at the broker",
            f"{conversion.describe()}: found in the broker's positions, not asked for through "
            "the desk; the desk's books now follow it",
            key=f"convert:{conversion.instrument}",
        )

    async def _record(self, conversion: PositionConversion, *, source: str) -> None:
        now = self.recorder.clock.now()
        await self.recorder.desk_event(
            PositionConverted(at=now, conversion=conversion, source=source)
        )
        self.book.conversions.append((now, conversion))  # the broker made it, whatever below
        try:
            self.book.positions.convert(conversion)
        except ValidationError as exc:
            # Fills moved the position while the broker was converting it: the broker's books
            # are right and the desk's differ until reconciliation says how.
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Position conversion not applied",
                f"{conversion.describe()}: the broker made it, but {exc.reason}",
                key=f"convert:{conversion.instrument}",
            )


__all__ = ["Conversions"]
