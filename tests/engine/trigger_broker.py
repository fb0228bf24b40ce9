"""A paper broker with GTTs and price alerts that only count what reaches them, for the tests
of the desk's triggers (engine and API)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain.reports import GttTrigger, InstrumentInfo, PriceAlert
from orderdesk.domain.values import Exchange
from tests.engine.fakes import INFY, NIFTY_FUT

NFO_LOT = 65
"""NSE's 2026 NIFTY lot, as the simulator lists it."""


class TriggerBroker(PaperBroker):
    """The paper broker with GTTs and alerts that only count what reaches them; its instrument
    list ticks in 0.05 and holds INFY and a NIFTY future in lots of :data:`NFO_LOT`."""

    def __init__(self) -> None:
        super().__init__(prices={INFY: Decimal(1500), NIFTY_FUT: Decimal(24000)})
        self.sent: list[str] = []

    async def instruments(self, exchange: Exchange | None = None) -> list[InstrumentInfo]:
        return [
            replace(info, instrument_type="FUT", lot_size=NFO_LOT)
            if info.instrument.exchange is Exchange.NFO
            else info
            for info in await super().instruments(exchange)
        ]

    async def gtt_triggers(self) -> list[GttTrigger]:
        return []

    async def place_gtt(self, trigger: GttTrigger) -> int:
        self.sent.append("place_gtt")
        return len(self.sent)

    async def modify_gtt(self, trigger_id: int, trigger: GttTrigger) -> None:
        self.sent.append("modify_gtt")

    async def delete_gtt(self, trigger_id: int) -> None:
        self.sent.append("delete_gtt")

    async def alerts(self) -> list[PriceAlert]:
        return []

    async def create_alert(self, alert: PriceAlert) -> PriceAlert:
        self.sent.append("create_alert")
        return replace(alert, alert_id=f"a{len(self.sent)}", status="enabled")

    async def modify_alert(self, alert_id: str, alert: PriceAlert) -> PriceAlert:
        self.sent.append("modify_alert")
        return replace(alert, alert_id=alert_id, status="enabled")

    async def delete_alert(self, alert_id: str) -> None:
        self.sent.append("delete_alert")

    async def alert_order_ids(self, alert_id: str) -> list[str]:
        return []
