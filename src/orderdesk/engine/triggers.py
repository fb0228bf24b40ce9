"""GTTs and price alerts as the desk's own: placed for a strategy, recorded, reconciled, and the
orders they place credited to that strategy.

The broker keeps the trigger and fires it; the desk keeps what it placed and for whom
(:class:`~orderdesk.domain.triggers.DeskTrigger`, the fold of the ``Trigger*`` events on their
own stream, read whole at start-up because a trigger outlives the day it was placed on).

**Whose order is it.** Kite's order rows carry nothing that names the GTT or alert that placed
them (no tag, no documented field), so an order the desk did not place is matched the other way
round: the broker's own record of the trigger names the order it placed (a GTT's leg
``result.order_result.order_id``; an ATO's history ``order_meta``). When an unknown order shows
up on the instrument and side of one of the desk's live triggers, :meth:`Triggers.owner` reads
those records and claims the order only if one of them names its broker order id. That is an
exact match on the broker's id, never a guess by instrument or quantity: an order placed on
Kite web on the same instrument is named by no trigger and stays external. The instrument check
only decides whether the broker is asked at all, so the usual external order costs no call.

**Reconciliation.** :meth:`Triggers.reconcile` compares the live triggers with the broker's
lists: one that fired is ended as ``fired`` (with its orders), one that the broker no longer
shows, or shows deleted, cancelled, expired or disabled without firing, as ``gone``; each is
recorded and alerted. A simple alert that fired stays live at the broker; its firing is
recorded (``TriggerRang``) and alerted when reconciliation sees Kite's count go up.

**Held when made.** The broker keeps a trigger whatever its orders say and judges them only
when it fires, days later perhaps: a stop loss refused then is an exit that never happened. So
a GTT or an ATO is held, when it is made or changed, to what a signal is held to at intake, in
the same order: its instrument's tick and lot sizes (``ValidationError``, as
``OrderDesk.submit`` raises it), then the risk checks that judge an order by its own terms
(``RiskDenied``). A refused trigger reaches neither the broker nor the log.

**A GTT's last price is checked.** Kite reads a single GTT's direction from the ``last_price``
it is sent (a trigger above it fires on a rise, below it on a fall) and never checks it: a
mistyped one (100 for a stock at 1500) makes a stop loss fire at once. So the desk reads the
instrument's price from a broker quote and refuses (``ValidationError`` naming
``last_price``) a last price further from it than the desk's price band, and, band or none,
one that sets a trigger the price has already reached, so that it would fire at once (an
OCO's two values are checked against the quote alike). The caller's last price is never
trusted unchecked: a broker that cannot give the quote is answered as any broker call is (the
broker's own error), and a quote that fails otherwise refuses the GTT. A price alert's instrument is
held to the instrument list as a GTT's is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from orderdesk.domain.calendar import check_product
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import (
    TRIGGER_STREAM,
    TriggerDeleted,
    TriggerEnded,
    TriggerEvent,
    TriggerModified,
    TriggerPlaced,
    TriggerRang,
)
from orderdesk.domain.reports import (
    ALERT_OPERATORS,
    GttTrigger,
    InstrumentInfo,
    OrderStatusReport,
    PriceAlert,
)
from orderdesk.domain.signal import Signal
from orderdesk.domain.triggers import (
    DeskTrigger,
    TriggerKind,
    TriggerState,
    alert_trigger_id,
    check_basket_order_rules,
    check_gtt_rules,
    gtt_trigger_id,
)
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.engine.adoption import signal_from_report
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.errors import CommandRefused
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.risk import KillSwitch
from orderdesk.errors import NotOffered, OrderDeskError, RiskDenied
from orderdesk.ports.broker import AlertControl, Broker, GttControl
from orderdesk.ports.clock import Clock
from orderdesk.ports.notifier import Severity
from orderdesk.ports.store import EventStore

log = logging.getLogger(__name__)

HUNDRED = Decimal(100)

InstrumentRules = Callable[[InstrumentKey], InstrumentInfo | None]
"""An instrument's trading rules for a new order, as the desk's instrument master answers
(``InstrumentMaster.rules_for``): None without a list; raises ``ValidationError`` for an
instrument the list does not hold."""

GTT_ENDED = {"deleted", "cancelled", "expired", "rejected", "disabled"}
"""Kite's GTT statuses that end a trigger without firing it."""


class TriggerNotFound(OrderDeskError, LookupError):
    """No trigger of the desk by that id."""


@dataclass(frozen=True, slots=True)
class TriggerFinding:
    """What reconciliation noticed about one trigger."""

    trigger: DeskTrigger
    state: TriggerState
    detail: str


def _refused(trigger_id: str, reason: str) -> CommandRefused:
    return CommandRefused(trigger_id, reason, message=f"{trigger_id} {reason}")


class Triggers:
    """The desk's GTTs and alerts."""

    def __init__(
        self,
        broker: Broker,
        recorder: Recorder,
        store: EventStore,
        alerts: Alerts,
        clock: Clock,
        kill_switch: KillSwitch | None = None,
        rules: InstrumentRules | None = None,
        price_band: Decimal | None = None,
    ) -> None:
        self.broker = broker
        self.rules = rules
        """Where the tick and lot sizes come from that the orders a trigger would place are
        held to, as a signal's are (the desk passes its instrument master's ``rules_for``);
        None leaves them to the broker."""
        self.price_band = price_band
        """How far (percent) a GTT's ``last_price`` may sit from the broker's quote (the
        desk's ``price_band_percent``); None checks only that no trigger is already reached."""
        self.kill_switch = kill_switch or KillSwitch()
        """Engaged, no trigger that would place orders is made or changed: a GTT or an ATO is
        an order waiting at the broker, and the switch means no new orders."""
        self.screen: Callable[[Signal], Awaitable[None]] | None = None
        """Holds each order a trigger would place to the risk checks that judge an order by
        its own terms (the desk sets it; it raises ``RiskDenied``)."""
        self.recorder = recorder
        self.store = store
        self.alerts = alerts
        self.clock = clock
        self._triggers: dict[str, DeskTrigger] = {}
        self._owners: dict[str, str] = {}
        """Broker order id → the trigger that placed it."""
        self._reconciling = asyncio.Lock()
        """One comparison with the broker's lists at a time (its own watch and the desk's
        reconciliation)."""
        self._firing = asyncio.Lock()
        """A firing is told by a comparison and by the news path's claim of an order alike:
        one at a time, so it is recorded once."""

    # -- the log -------------------------------------------------------------------------------

    def replay(self) -> int:
        """Rebuild every trigger from its stream; returns the number of events read."""
        count = 0
        for stored in self.store.read(stream=TRIGGER_STREAM):
            event = stored.event()
            if isinstance(event, TriggerEvent):
                self._apply(event)
                count += 1
        return count

    def _apply(self, event: TriggerEvent) -> None:
        if isinstance(event, TriggerPlaced):
            self._triggers[event.trigger_id] = DeskTrigger(
                trigger_id=event.trigger_id,
                kind=TriggerKind(event.kind),
                strategy=event.strategy,
                broker_id=event.broker_id,
                gtt=event.gtt,
                alert=event.price_alert,
            )
            return
        trigger = self._triggers.get(event.trigger_id)
        if trigger is None:
            log.warning("trigger event for unknown trigger %s", event.trigger_id)
            return
        if isinstance(event, TriggerModified):
            trigger = replace(
                trigger,
                gtt=event.gtt if event.gtt is not None else trigger.gtt,
                alert=event.price_alert if event.price_alert is not None else trigger.alert,
            )
        elif isinstance(event, TriggerDeleted):
            trigger = trigger.ended(TriggerState.DELETED, event.reason, trigger.order_ids)
        elif isinstance(event, TriggerRang) and trigger.alert is not None:
            trigger = replace(trigger, alert=replace(trigger.alert, fired=event.fired))
        elif isinstance(event, TriggerEnded):
            trigger = trigger.ended(TriggerState(event.state), event.detail, event.order_ids)
            for order_id in event.order_ids:
                self._owners[order_id] = trigger.trigger_id
        self._triggers[event.trigger_id] = trigger

    async def _record(self, event: TriggerEvent) -> DeskTrigger:
        await self.recorder.desk_event(event)
        self._apply(event)
        return self._triggers[event.trigger_id]

    # -- reading -------------------------------------------------------------------------------

    def listing(
        self, *, strategy: str | None = None, active_only: bool = False
    ) -> list[DeskTrigger]:
        """The desk's triggers, oldest first."""
        return [
            t
            for t in self._triggers.values()
            if (strategy is None or t.strategy == strategy) and (t.active or not active_only)
        ]

    def get(self, trigger_id: str) -> DeskTrigger:
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise TriggerNotFound(f"no GTT or alert {trigger_id!r}")
        return trigger

    # -- capabilities --------------------------------------------------------------------------

    def check_offered(self, kind: TriggerKind) -> None:
        """Raise :class:`NotOffered` when the broker has no ``kind`` of trigger."""
        if kind is TriggerKind.GTT:
            self._gtt_broker()
        else:
            self._alert_broker()

    def _gtt_broker(self) -> GttControl:
        broker = self.broker
        if not isinstance(broker, GttControl):
            raise NotOffered(broker.name, "GTT triggers")
        return broker

    def _alert_broker(self) -> AlertControl:
        broker = self.broker
        if not isinstance(broker, AlertControl):
            raise NotOffered(broker.name, "price alerts")
        return broker

    def _live(self, trigger_id: str, kind: TriggerKind) -> DeskTrigger:
        trigger = self.get(trigger_id)
        if trigger.kind is not kind:
            raise _refused(trigger_id, f"is a {trigger.kind.value}, not a {kind.value}")
        if not trigger.active:
            raise _refused(trigger_id, f"is {trigger.state.value}; only an active one can change")
        return trigger

    # -- GTT -----------------------------------------------------------------------------------

    def _rules_for(self, instrument: InstrumentKey, field: str) -> InstrumentInfo | None:
        """``instrument``'s rules, or None to leave them to the broker; an instrument the
        desk's list does not hold is refused naming ``field``."""
        if self.rules is None:
            return None
        try:
            return self.rules(instrument)
        except ValidationError as exc:
            raise ValidationError(field, exc.reason) from None

    def _check_gtt_rules(self, gtt: GttTrigger) -> None:
        for n, leg in enumerate(gtt.orders):
            check_product(f"orders[{n}].product", gtt.instrument, leg.product)
        info = self._rules_for(gtt.instrument, "instrument")
        if info is not None:
            check_gtt_rules(gtt, info)

    async def _check_last_price(self, gtt: GttTrigger) -> None:
        """Refuse ``gtt`` when its ``last_price`` is not the price the broker quotes (within
        the band), or when that quote has already reached a trigger value: Kite would fire it
        at once (see the module's docstring)."""
        instrument = gtt.instrument
        try:
            quote = (await self.broker.quotes([instrument])).get(instrument)
        except OrderDeskError:
            # The broker away or the session refused: answered as any broker call is (503 to
            # try again, a login), not as a GTT refused for its terms; nothing is sent.
            raise
        except Exception as exc:  # anything else: the caller's price cannot be checked
            raise ValidationError(
                "last_price",
                f"the desk could not read {instrument}'s price to check it ({exc}); "
                "the GTT is not sent",
            ) from None
        price = quote.last_price if quote is not None else None
        if price is None or price <= 0:
            raise ValidationError(
                "last_price",
                f"the broker quotes no price for {instrument} to check it; the GTT is not sent",
            )
        check_gtt_last_price(gtt, price, self.price_band)

    def _check_alert_rules(self, alert: PriceAlert) -> None:
        # The alert's own instrument, as a GTT's is: a mistyped one would reach the broker
        # and come back as its refusal, naming no field.
        self._rules_for(alert.instrument, "instrument")
        for n, order in enumerate(alert.basket):
            check_product(f"basket[{n}].product", order.instrument, order.product)
            info = self._rules_for(order.instrument, f"basket[{n}].instrument")
            if info is not None:
                check_basket_order_rules(n, order, info)

    async def _orders_allowed(self, orders: Sequence[Signal]) -> None:
        """Refuse a trigger whose orders the desk would not place: the kill switch first, then
        each order against the checks of its own terms (size, value, symbol)."""
        refusal = self.kill_switch.refusal()
        if refusal is not None:
            raise RiskDenied(
                "kill_switch",
                f"{refusal}: no GTT or ATO alert, which would place orders, is made or changed",
            )
        if self.screen is not None:
            for order in orders:
                await self.screen(order)

    async def place_gtt(self, strategy: str, gtt: GttTrigger) -> DeskTrigger:
        """Place a GTT for ``strategy``; the orders it places when it fires are that
        strategy's."""
        broker = self._gtt_broker()
        _check_gtt(gtt)
        self._check_gtt_rules(gtt)
        await self._check_last_price(gtt)
        await self._orders_allowed(gtt_orders(strategy, gtt))
        broker_id = await broker.place_gtt(gtt)
        return await self._record(
            TriggerPlaced(
                at=self.clock.now(),
                trigger_id=gtt_trigger_id(broker_id),
                kind=TriggerKind.GTT.value,
                strategy=strategy,
                broker_id=str(broker_id),
                gtt=replace(gtt, trigger_id=broker_id, status="active"),
            )
        )

    async def modify_gtt(self, trigger_id: str, gtt: GttTrigger) -> DeskTrigger:
        trigger = self._live(trigger_id, TriggerKind.GTT)
        _check_gtt(gtt)
        self._check_gtt_rules(gtt)
        await self._check_last_price(gtt)
        await self._orders_allowed(gtt_orders(trigger.strategy, gtt))
        broker_id = int(trigger.broker_id)
        await self._gtt_broker().modify_gtt(broker_id, gtt)
        stored = replace(gtt, trigger_id=broker_id, status="active")
        return await self._record(
            TriggerModified(at=self.clock.now(), trigger_id=trigger_id, gtt=stored)
        )

    # -- alerts --------------------------------------------------------------------------------

    async def place_alert(self, strategy: str, alert: PriceAlert) -> DeskTrigger:
        """Create a price alert for ``strategy`` (an ATO when it has a basket: the broker
        places the basket, for the strategy, when it fires)."""
        broker = self._alert_broker()
        _check_alert(alert)
        self._check_alert_rules(alert)
        if alert.basket:
            await self._orders_allowed(basket_orders(strategy, alert))
        kept = await broker.create_alert(alert)
        assert kept.alert_id is not None
        return await self._record(
            TriggerPlaced(
                at=self.clock.now(),
                trigger_id=alert_trigger_id(kept.alert_id),
                kind=TriggerKind.ALERT.value,
                strategy=strategy,
                broker_id=kept.alert_id,
                price_alert=kept,
            )
        )

    async def modify_alert(self, trigger_id: str, alert: PriceAlert) -> DeskTrigger:
        trigger = self._live(trigger_id, TriggerKind.ALERT)
        _check_alert(alert)
        assert trigger.alert is not None
        if bool(alert.basket) != bool(trigger.alert.basket):
            raise _refused(trigger_id, "an alert's type (simple or ATO) cannot change")
        self._check_alert_rules(alert)
        if alert.basket:
            await self._orders_allowed(basket_orders(trigger.strategy, alert))
        kept = await self._alert_broker().modify_alert(trigger.broker_id, alert)
        return await self._record(
            TriggerModified(at=self.clock.now(), trigger_id=trigger_id, price_alert=kept)
        )

    # -- both ----------------------------------------------------------------------------------

    async def delete(self, trigger_id: str, reason: str = "") -> DeskTrigger:
        """Delete a live GTT or alert at the broker."""
        trigger = self.get(trigger_id)
        if not trigger.active:
            raise _refused(trigger_id, f"is {trigger.state.value} already")
        if trigger.kind is TriggerKind.GTT:
            await self._gtt_broker().delete_gtt(int(trigger.broker_id))
        else:
            await self._alert_broker().delete_alert(trigger.broker_id)
        return await self._record(
            TriggerDeleted(at=self.clock.now(), trigger_id=trigger_id, reason=reason)
        )

    # -- whose order ---------------------------------------------------------------------------

    async def claim(self, report: OrderStatusReport) -> Signal | None:
        """The signal of an order one of the desk's triggers placed: what the broker shows,
        for the trigger's strategy, its signal id naming the trigger and the broker order (so
        the order is found by its trigger); None when no trigger of the desk placed it."""
        trigger = await self.owner(report)
        if trigger is None:
            return None
        return replace(
            signal_from_report(report),
            strategy=trigger.strategy,
            signal_id=f"{trigger.trigger_id}.{report.broker_order_id}",
        )

    async def owner(self, report: OrderStatusReport) -> DeskTrigger | None:
        """The trigger that placed the broker order ``report`` describes, if one of the desk's
        did (see the module's docstring for why the match is safe). Raises what the broker
        raises when it had to be asked and could not answer: the order is then not adopted
        now, and the next read of the book brings it again."""
        known = self._owners.get(report.broker_order_id)
        if known is not None:
            return self._triggers[known]
        candidates = [
            t
            for t in self._triggers.values()
            if t.places_orders and t.could_place(report.instrument, report.side)
        ]
        if not candidates:
            return None
        await self._learn(candidates)
        known = self._owners.get(report.broker_order_id)
        return self._triggers[known] if known is not None else None

    async def _learn(self, candidates: Sequence[DeskTrigger]) -> None:
        """Read what the broker says the candidates placed, and record those that fired."""
        if any(t.kind is TriggerKind.GTT for t in candidates):
            rows = {str(g.trigger_id): g for g in await self._gtt_broker().gtt_triggers()}
            for trigger in candidates:
                row = rows.get(trigger.broker_id)
                if trigger.kind is TriggerKind.GTT and row is not None and row.order_ids:
                    await self._fired(trigger, row.order_ids)
        for trigger in candidates:
            if trigger.kind is TriggerKind.ALERT:
                placed = await self._alert_broker().alert_order_ids(trigger.broker_id)
                if placed:
                    await self._fired(trigger, tuple(placed))

    async def _fired(
        self, trigger: DeskTrigger, order_ids: tuple[str, ...], refusals: tuple[str, ...] = ()
    ) -> None:
        async with self._firing:
            await self._fire(self._triggers[trigger.trigger_id], order_ids, refusals)

    async def _fire(
        self, trigger: DeskTrigger, order_ids: tuple[str, ...], refusals: tuple[str, ...]
    ) -> None:
        if trigger.fired and set(order_ids) <= set(trigger.order_ids):
            return
        what = "GTT" if trigger.kind is TriggerKind.GTT else "ATO alert"
        detail = f"{what} {trigger.trigger_id} fired: orders {', '.join(order_ids)}"
        severity, title, state = Severity.INFO, None, TriggerState.FIRED
        if refusals:
            # Spent, and (some of) its orders never existed: the exit it stood for did not
            # happen, which its owner must hear louder than a fill.
            placed = f"orders {', '.join(order_ids)}" if order_ids else "no order"
            detail = (
                f"{what} {trigger.trigger_id} fired, but the broker refused its order: "
                f"{'; '.join(refusals)} ({placed} placed)"
            )
            severity, title = Severity.WARNING, "Trigger fired, its order refused"
            if not order_ids:  # "fired" alone read as if its order had been placed
                state = TriggerState.REFUSED
        elif order_ids and self.kill_switch.engaged:
            # Kite placed its orders though the desk refuses every new one: its owner must
            # know the switch did not stop them (triggers already live at the broker stay).
            detail += (
                "; the kill switch is engaged, but a trigger already live at the broker "
                "places its orders: check them"
            )
            severity = Severity.WARNING
        await self._end(trigger, state, detail, order_ids, severity, title)

    async def _end(
        self,
        trigger: DeskTrigger,
        state: TriggerState,
        detail: str,
        order_ids: tuple[str, ...],
        severity: Severity,
        title: str | None = None,
    ) -> None:
        await self._record(
            TriggerEnded(
                at=self.clock.now(),
                trigger_id=trigger.trigger_id,
                state=state.value,
                detail=detail,
                order_ids=order_ids,
            )
        )
        title = title or (
            "Trigger fired" if state is TriggerState.FIRED else "Trigger gone at the broker"
        )
        await self.alerts.raise_(
            severity,
            title,
            f"{detail} (strategy {trigger.strategy})",
            key=f"trigger:{trigger.trigger_id}:{state.value}",
        )

    async def _rang(self, trigger: DeskTrigger, fired: int) -> None:
        """A simple alert fired at the broker (it only notifies, and stays live)."""
        assert trigger.alert is not None
        alert = trigger.alert
        detail = (
            f"price alert {trigger.trigger_id} ({alert.name}: {alert.instrument} LTP "
            f"{alert.operator} {alert.value}) fired at the broker ({fired} so far)"
        )
        await self._record(
            TriggerRang(
                at=self.clock.now(), trigger_id=trigger.trigger_id, fired=fired, detail=detail
            )
        )
        await self.alerts.raise_(
            Severity.INFO,
            "Price alert fired",
            f"{detail} (strategy {trigger.strategy})",
            key=f"trigger:{trigger.trigger_id}:rang:{fired}",
        )

    # -- reconciliation ------------------------------------------------------------------------

    async def reconcile(self) -> list[TriggerFinding]:
        """Compare the live triggers with the broker's lists; record and alert what ended."""
        async with self._reconciling:
            return await self._reconcile()

    async def _reconcile(self) -> list[TriggerFinding]:
        live = [t for t in self._triggers.values() if t.active]
        findings: list[TriggerFinding] = []
        gtts = [t for t in live if t.kind is TriggerKind.GTT]
        if gtts and isinstance(self.broker, GttControl):
            rows = {str(g.trigger_id): g for g in await self.broker.gtt_triggers()}
            for trigger in gtts:
                row = rows.get(trigger.broker_id)
                if row is not None and row.status == "active":
                    changed = await self._modified_outside(trigger, row)
                    if changed is not None:
                        findings.append(changed)
                    continue
                if row is not None and (row.status == "triggered" or row.order_ids):
                    await self._fired(trigger, row.order_ids, row.refusals)
                    fired = self.get(trigger.trigger_id)
                    state, detail = fired.state, fired.detail
                else:
                    status = row.status if row is not None else "missing"
                    detail = (
                        f"GTT {trigger.trigger_id} is {status} at the broker; the desk did not "
                        f"delete it{self._delisted(trigger)}"
                    )
                    await self._end(trigger, TriggerState.GONE, detail, (), Severity.WARNING)
                    state = TriggerState.GONE
                findings.append(TriggerFinding(self.get(trigger.trigger_id), state, detail))
        alerts = [t for t in live if t.kind is TriggerKind.ALERT]
        if alerts and isinstance(self.broker, AlertControl):
            kept = {a.alert_id: a for a in await self.broker.alerts()}
            for trigger in alerts:
                finding = await self._reconcile_alert(trigger, kept.get(trigger.broker_id))
                if finding is not None:
                    findings.append(finding)
        return findings

    def _delisted(self, trigger: DeskTrigger) -> str:
        """Why a GTT may have gone that the broker's row does not say: its contract expired
        (the broker drops it then), so it left today's instrument list."""
        if trigger.gtt is None or self.rules is None:
            return ""
        try:
            self.rules(trigger.gtt.instrument)
        except ValidationError:
            return f"; {trigger.gtt.instrument} is no longer listed (an expired contract is not)"
        return ""

    async def _modified_outside(
        self, trigger: DeskTrigger, row: GttTrigger
    ) -> TriggerFinding | None:
        """A live GTT whose terms at the broker are not the desk's: changed on Kite web or by
        another client. Recorded as the broker holds it (so that the order it places is
        credited to its strategy, and its list shows what will happen) and alerted, from and
        to; the last price is Kite's reading of the moment, no term of the GTT's."""
        held = trigger.gtt
        if held is None or _gtt_terms(held) == _gtt_terms(row):
            return None
        stored = replace(row, trigger_id=int(trigger.broker_id), status="active")
        detail = (
            f"GTT {trigger.trigger_id} ({trigger.strategy}) was changed at the broker, not by "
            f"the desk: {_gtt_words(held)} -> {_gtt_words(row)}; the desk holds it as the "
            "broker does"
        )
        await self._record(
            TriggerModified(at=self.clock.now(), trigger_id=trigger.trigger_id, gtt=stored)
        )
        await self.alerts.raise_(
            Severity.WARNING,
            "GTT modified outside orderdesk",
            detail,
            key=f"trigger:modified:{trigger.trigger_id}:{_gtt_words(row)}",
        )
        return TriggerFinding(self.get(trigger.trigger_id), TriggerState.ACTIVE, detail)

    async def _reconcile_alert(
        self, trigger: DeskTrigger, row: PriceAlert | None
    ) -> TriggerFinding | None:
        assert trigger.alert is not None
        if row is not None and not row.basket and row.fired > trigger.alert.fired:
            await self._rang(trigger, row.fired)
        if row is not None and row.status == "enabled" and not (row.basket and row.fired):
            return None
        if row is not None and row.basket and row.fired:
            assert isinstance(self.broker, AlertControl)
            placed = tuple(await self.broker.alert_order_ids(trigger.broker_id))
            await self._fired(trigger, placed)
            fired = self.get(trigger.trigger_id)
            return TriggerFinding(fired, fired.state, fired.detail)
        status = row.status if row is not None else "missing"
        detail = f"alert {trigger.trigger_id} is {status} at the broker; the desk did not delete it"
        await self._end(trigger, TriggerState.GONE, detail, (), Severity.WARNING)
        return TriggerFinding(self.get(trigger.trigger_id), TriggerState.GONE, detail)


def _gtt_terms(gtt: GttTrigger) -> tuple[object, ...]:
    """What a GTT does: its instrument, kind, trigger values and orders (not the last price
    it was sent with, nor its id or state)."""
    return (gtt.instrument, gtt.kind, tuple(gtt.trigger_values), tuple(gtt.orders))


def _gtt_words(gtt: GttTrigger) -> str:
    """``NSE:INFY at 1500 / 1650: SELL 10 CNC @ 1499, SELL 10 CNC @ 1651``."""
    values = " / ".join(str(v) for v in gtt.trigger_values)
    legs = ", ".join(f"{o.side} {o.quantity} {o.product} @ {o.price}" for o in gtt.orders)
    return f"{gtt.instrument} at {values}: {legs}"


def _check_gtt(gtt: GttTrigger) -> None:
    """The shape Kite takes: a single trigger has one value and one order, an OCO two of each
    (the lower first)."""
    wanted = 1 if gtt.kind == "single" else 2
    if gtt.kind not in ("single", "two-leg"):
        raise ValidationError("type", f"a GTT is single or two-leg, not {gtt.kind!r}")
    if len(gtt.trigger_values) != wanted or len(gtt.orders) != wanted:
        raise ValidationError(
            "trigger_values", f"a {gtt.kind} GTT takes {wanted} trigger value(s) and order(s)"
        )
    if wanted == 2 and not gtt.trigger_values[0] < gtt.trigger_values[1]:
        raise ValidationError("trigger_values", "an OCO GTT's lower trigger value comes first")
    if any(leg.quantity <= 0 or leg.price <= 0 for leg in gtt.orders):
        raise ValidationError("orders", "each GTT order needs a positive quantity and price")


def check_gtt_last_price(gtt: GttTrigger, price: Decimal, band: Decimal | None) -> None:
    """Refuse ``gtt`` (``ValidationError``) when its ``last_price`` is further than ``band``
    percent from ``price`` (the broker's quote), or when ``price`` has already reached a
    trigger value in the direction Kite would read from that last price: it would fire at
    once. An OCO fires at once when ``price`` is outside its two values."""
    given = gtt.last_price
    if band is not None:
        distance = abs(given - price) / price * HUNDRED
        if distance > band:
            raise ValidationError(
                "last_price",
                f"{given} is {distance.quantize(Decimal('0.01'))}% from {gtt.instrument}'s "
                f"price {price}; the band is {band}% (Kite reads the trigger's direction "
                "from the last price)",
            )
    if gtt.kind == "two-leg":
        lower, upper = gtt.trigger_values
        if not lower < price < upper:
            raise ValidationError(
                "trigger_values",
                f"{gtt.instrument} trades at {price}, outside {lower} to {upper}: the OCO "
                "would fire at once",
            )
        return
    value = gtt.trigger_values[0]
    rising = value > given
    if (rising and price >= value) or (not rising and price <= value):
        way = "rises to" if rising else "falls to"
        raise ValidationError(
            "last_price",
            f"{given} makes the GTT fire when the price {way} {value}, and {gtt.instrument} "
            f"trades at {price}: it would fire at once",
        )


def _order_to_screen(
    strategy: str,
    instrument: InstrumentKey,
    side: Side,
    quantity: int,
    product: Product,
    price: Decimal | None,
    signal_id: str,
) -> Signal:
    """An order a trigger would place, as the risk checks read a signal: valued at ``price``
    or, without one, at the last price (as a market order is)."""
    priced = price is not None and price > 0
    return Signal(
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT if priced else OrderType.MARKET,
        product=product,
        price=price if priced else None,
        strategy=strategy,
        signal_id=signal_id,
    )


def gtt_orders(strategy: str, gtt: GttTrigger) -> list[Signal]:
    """The orders ``gtt`` would place, for the risk checks (``gtt-leg-1``, ``gtt-leg-2``)."""
    return [
        _order_to_screen(
            strategy, gtt.instrument, leg.side, leg.quantity, leg.product, leg.price, f"gtt-leg-{n}"
        )
        for n, leg in enumerate(gtt.orders, 1)
    ]


def basket_orders(strategy: str, alert: PriceAlert) -> list[Signal]:
    """The orders an ATO would place, for the risk checks (``ato-order-1``, …); an order
    without a limit price is valued at its trigger price, else at the last price."""
    return [
        _order_to_screen(
            strategy,
            order.instrument,
            order.side,
            order.quantity,
            order.product,
            order.price if order.price > 0 else order.trigger_price,
            f"ato-order-{n}",
        )
        for n, order in enumerate(alert.basket, 1)
    ]


def _check_alert(alert: PriceAlert) -> None:
    if alert.operator not in ALERT_OPERATORS:
        raise ValidationError("operator", f"use one of {' '.join(ALERT_OPERATORS)}")
    if not alert.name.strip():
        raise ValidationError("name", "an alert needs a name")
    if any(order.quantity <= 0 for order in alert.basket):
        raise ValidationError("basket", "each ATO order needs a positive quantity")


__all__ = [
    "TriggerFinding",
    "TriggerNotFound",
    "Triggers",
    "basket_orders",
    "check_gtt_last_price",
    "gtt_orders",
]
