"""An in-memory stand-in for the engine's GTTs and alerts, for the API's tests and fuzzing."""

from __future__ import annotations

import itertools
from dataclasses import replace

from orderdesk.domain.reports import GttTrigger, PriceAlert
from orderdesk.domain.triggers import DeskTrigger, TriggerKind, TriggerState
from orderdesk.engine.errors import CommandRefused
from orderdesk.engine.triggers import TriggerNotFound


class FakeTriggers:
    """Keeps what it is given; refuses changes to one that is not active, as the engine does."""

    def __init__(self) -> None:
        self.rows: dict[str, DeskTrigger] = {}
        self._ids = itertools.count(1)

    def listing(
        self, *, strategy: str | None = None, active_only: bool = False
    ) -> list[DeskTrigger]:
        return [
            t
            for t in self.rows.values()
            if (strategy is None or t.strategy == strategy) and (t.active or not active_only)
        ]

    def check_offered(self, kind: TriggerKind) -> None:
        """Its broker offers both kinds."""

    def get(self, trigger_id: str) -> DeskTrigger:
        try:
            return self.rows[trigger_id]
        except KeyError:
            raise TriggerNotFound(f"no GTT or alert {trigger_id!r}") from None

    def _live(self, trigger_id: str) -> DeskTrigger:
        trigger = self.get(trigger_id)
        if not trigger.active:
            raise CommandRefused(trigger_id, "is not active", message=f"{trigger_id} is done")
        return trigger

    def _keep(self, trigger: DeskTrigger) -> DeskTrigger:
        self.rows[trigger.trigger_id] = trigger
        return trigger

    async def place_gtt(self, strategy: str, gtt: GttTrigger) -> DeskTrigger:
        n = next(self._ids)
        return self._keep(
            DeskTrigger(
                trigger_id=f"gtt-{n}",
                kind=TriggerKind.GTT,
                strategy=strategy,
                broker_id=str(n),
                gtt=gtt,
            )
        )

    async def modify_gtt(self, trigger_id: str, gtt: GttTrigger) -> DeskTrigger:
        return self._keep(replace(self._live(trigger_id), gtt=gtt))

    async def place_alert(self, strategy: str, alert: PriceAlert) -> DeskTrigger:
        n = next(self._ids)
        return self._keep(
            DeskTrigger(
                trigger_id=f"alert-{n}",
                kind=TriggerKind.ALERT,
                strategy=strategy,
                broker_id=str(n),
                alert=alert,
            )
        )

    async def modify_alert(self, trigger_id: str, alert: PriceAlert) -> DeskTrigger:
        return self._keep(replace(self._live(trigger_id), alert=alert))

    async def delete(self, trigger_id: str, reason: str = "") -> DeskTrigger:
        trigger = self._live(trigger_id)
        return self._keep(trigger.ended(TriggerState.DELETED, reason, ()))
