"""Exits that really exit: an exit order watched until it fills, re-priced when it does not.

Kite turns a MARKET order into a LIMIT at its protected price (KITE_API.md §14.2). When the
market runs past that price, what is left of an exit rests there and never fills while the loss
grows. ``exit_position`` therefore hands its order to :class:`ExitEscalation`, which follows
the desk's :class:`~orderdesk.engine.config.ExitPolicy`:

0. while the exit order's placement is unresolved (``SUBMIT_UNKNOWN``: the broker answered
   that it cannot tell, or did not answer; ``SUBMITTING``), wait for its outcome: there is
   nothing at the broker to re-price yet, so no attempt is spent. The desk resolves it within
   its late-order window (:func:`resolution_bound`); still unknown past that, a CRITICAL alert
   says so (do not exit again until it is resolved or given up: the order may still appear
   and fill, and a second exit would then exit twice), and the wait goes on;
1. wait up to ``reprice_after`` seconds for the exit to fill (woken by the order's changes);
2. not filled: read the last price and modify every working part of the exit to a LIMIT
   ``band_percent`` beyond it (a sell below, a buy above: through the market, as far as the
   broker's protection band reaches, rounded to the tick towards the market and kept inside the
   circuit limits), and wait again; at most ``max_reprices`` times. "Exit re-priced" is said
   only when the broker took the new price; a refusal is said once, by the refusal's own alert
   ("Modify failed", a risk denial), and the broker's refusal is followed by a read of the
   part's row (:meth:`~orderdesk.engine.commands.Commands.modify`): "cannot be modified as it
   is complete" is often the fill's first news. A part found filled (or ended) that way is no
   failed attempt: an attempt in which no part took the price and none still works is not
   counted;
3. still not filled (or rejected, or lapsed): a CRITICAL alert, because the position is still
   open and a person must act; cancelled (by a person, or by a newer exit of the same
   position), a WARNING. Before the CRITICAL, the broker's rows of the working parts are read:
   if they show the exit complete, the desk has only not heard yet, and nothing is alerted. An
   exit alerted as not filled that fills after all is said so ("Exit filled", WARNING), so that
   the CRITICAL is not the operator's last word on it.

An exit is one order whichever position it closes: one strategy's share (the order is that
strategy's) or the account's whole position (under ``account_exit``); the alerts say which.

Before the exit is placed, the orders still working in the position's instrument and product
are cancelled, and each cancel waited for until the order has ended (``cancel_working``, on by
default): a stop-loss left working against the position would fill after the exit and open the
opposite position. The account's exit cancels all of them; a strategy's exit of its share, that
strategy's own, leaving the other strategies' orders alone. An order that cannot be cancelled
stops the exit before anything is placed (:class:`~orderdesk.errors.ExitBlocked`).

Every step is an event in the log (``ExitStarted``, ``ExitRepriced``, ``ExitUnfilled``), and a
restart resumes an escalation from it: after start-up reconciliation the desk escalates every
exit started today and not ended, under the policy its ``ExitStarted`` recorded, with the
re-prices it had already made (its wait starts again from the restart). An exit that filled
meanwhile ends quietly; one cancelled or rejected meanwhile ends with its alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from orderdesk.domain.events import ExitRepriced, ExitStarted, ExitUnfilled
from orderdesk.domain.order import CANCELLED_OUTSIDE, Order
from orderdesk.domain.reports import InstrumentInfo, Quote
from orderdesk.domain.signal import ACCOUNT_EXIT_STRATEGY
from orderdesk.domain.status import BrokerStatus, OrderStatus
from orderdesk.domain.values import InstrumentKey, Side
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.config import DeskConfig, ExitPolicy
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.recorder import Recorder
from orderdesk.errors import ExitBlocked
from orderdesk.ports.broker import Broker
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)

Reprice = Callable[[str, Decimal], Awaitable[object]]
"""Modify one working order (by client id) to a LIMIT at the given price."""


@dataclass(frozen=True, slots=True)
class ExitPlaced:
    """What an exit did: its order (None when the broker showed nothing to exit, after the
    cancels), and the ids of the orders it cancelled first, in the book's order."""

    handle: OrderHandle | None
    cancelled: tuple[str, ...] = ()
    exposed: tuple[str, ...] = ()
    """Other strategies' orders working in the line that a strategy's exit leaves without the
    account's position behind them: each would open a position at the broker if it filled (a
    stop of beta's, once alpha's exit flattened the account), in words."""


class EarlierExitPending(ExitBlocked):
    """An exit not placed: the earlier exit in its line (which the new one retires first) did
    not settle in time, its placement still unresolved (the broker may yet show it and fill
    it) or not ended after its cancel. Nothing new was placed; placing one now could exit
    twice. An :class:`~orderdesk.errors.ExitBlocked` (HTTP 409, CLI exit 3)."""

    def __init__(self, line: str, order_id: str, reason: str, *, unresolved: bool) -> None:
        super().__init__(line, [(order_id, reason)])
        if unresolved:
            advice = (
                "the desk cannot tell yet whether the broker placed it, and it may still "
                "appear there and fill. Nothing new was placed. Do not exit again until it is "
                f"resolved or given up: check it with `orderdesk orders` (or the broker's order "
                f"book, tag {order_id}); the desk keeps looking and alerts what it finds, and "
                "once it has ended (or works and is re-priced) exit again if the position is "
                "still open"
            )
        else:
            advice = (
                "nothing new was placed. Check it with `orderdesk orders` (or the broker's "
                "order book) and exit again once it has ended"
            )
        message = f"exit of {line} not placed: the earlier exit {order_id} {reason}; {advice}"
        self.args = (message,)
        self.unresolved = unresolved


def resolution_bound(config: DeskConfig) -> float:
    """Seconds within which the desk settles an unknown placement outcome: its late-order
    window, the first look before it, and the last look of the window plus the absences that
    prove the order was never placed, each at most ``resolve_max_interval`` apart."""
    return (
        config.late_order_window
        + config.resolve_first_delay
        + (config.resolve_absences + 1) * config.resolve_max_interval
    )


def band_price(side: Side, quote: Quote, band_percent: Decimal, tick: Decimal | None) -> Decimal:
    """The most aggressive LIMIT price within ``band_percent`` of the last price.

    A sell goes below the last price, a buy above; the tick rounding goes towards the last
    price so the band is never exceeded, and the circuit limits are never crossed.
    """
    last = quote.last_price
    band = last * band_percent / 100
    price = last - band if side is Side.SELL else last + band
    if tick is not None and tick > 0:
        rounding = ROUND_CEILING if side is Side.SELL else ROUND_FLOOR
        price = (price / tick).to_integral_value(rounding=rounding) * tick
    if side is Side.SELL and quote.lower_circuit_limit:
        price = max(price, quote.lower_circuit_limit)
    if side is Side.BUY and quote.upper_circuit_limit:
        price = min(price, quote.upper_circuit_limit)
    floor = tick if tick is not None and tick > 0 else Decimal("0.01")
    return max(price, floor)


class ExitEscalation:
    """Watches exit orders and escalates them (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        recorder: Recorder,
        alerts: Alerts,
        instrument: Callable[[InstrumentKey], InstrumentInfo | None],
        reprice: Reprice,
        *,
        resolve_within: float = 45.5,
    ) -> None:
        """``resolve_within``: how long an exit order's unknown placement outcome is waited
        for before the alert that it is unresolved (:func:`resolution_bound`)."""
        self.broker = broker
        self.recorder = recorder
        self.alerts = alerts
        self.clock = recorder.clock
        self._instrument = instrument
        self._reprice = reprice
        self.resolve_within = resolve_within
        self._escalated: set[str] = set()
        """The exit orders escalated in this process: their cancellation is told by
        ``_unfilled``'s alert, not also as a cancel outside orderdesk (:meth:`watches`)."""

    def watches(self, order: Order) -> bool:
        """Whether ``order`` is an exit order escalated here, or one of its slices."""
        return order.order_id in self._escalated or order.parent_id in self._escalated

    async def started(self, handle: OrderHandle, policy: ExitPolicy) -> None:
        """Record that ``handle``'s order is an exit watched under ``policy``: one from now on,
        before its escalation's task first runs (the kill switch keeps it, say)."""
        self._escalated.add(handle.order_id)
        await self.recorder.desk_event(
            ExitStarted(
                at=self.clock.now(),
                order_id=handle.order_id,
                reprice_after=Decimal(str(policy.reprice_after)),
                max_reprices=policy.max_reprices,
                band_percent=policy.band_percent,
            )
        )

    async def escalate(self, handle: OrderHandle, policy: ExitPolicy, *, reprices: int = 0) -> None:
        """Wait, re-price, repeat; then alert if the exit is still not filled. ``reprices``:
        those already made (an escalation resumed after a restart)."""
        self._escalated.add(handle.order_id)
        try:
            while True:
                # Nothing to re-price while the broker may not hold the order: no attempt
                # is spent on it, and the wait for a fill starts once it is placed.
                await self._until_placed(handle, reprices)
                if await self._done_within(handle, policy.reprice_after):
                    break
                if _unresolved(handle):
                    continue  # sent again meanwhile: its outcome first
                if reprices >= policy.max_reprices:
                    break
                if await self._reprice_once(handle, policy, reprices + 1):
                    reprices += 1
            if handle.status is not OrderStatus.FILLED and await self._unfilled(handle, reprices):
                await self._filled_after_all(handle)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("escalating exit %s failed", handle.order_id)
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Exit not watched",
                f"{handle.order_id}: escalating the exit failed ({type(exc).__name__}: {exc}); "
                "check the position and the order yourself",
                key=f"exit:{handle.order_id}",
                order_id=handle.order_id,
            )

    async def _until_placed(self, handle: OrderHandle, reprices: int) -> None:
        """Return once no part of the exit has an unknown placement outcome (or it is done);
        past ``resolve_within``, alert that its placement is unresolved and wait on."""
        if not _unresolved(handle):
            return
        try:
            await handle.wait(_placed, timeout=self.resolve_within)
            return
        except TimeoutError:
            pass
        order = handle.order
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Exit placement unresolved",
            f"{handle.order_id} ({order.signal.instrument} {order.signal.side} "
            f"{order.signal.quantity}, {_whose(order)}): the exit order's placement is still "
            f"unresolved ({handle.status}) {self.resolve_within:g}s after the desk began "
            "watching it: the desk cannot tell whether the broker placed it, so it is not "
            f"re-priced ({reprices} re-prices made), and it may still appear at the broker and "
            "fill. The position may still be open, but do not exit again until this order is "
            "resolved or given up: a second exit now can exit twice. Check it with `orderdesk "
            f"orders` (or the broker's order book, tag {handle.order_id}); the desk keeps "
            "looking, re-prices it once it is working, and alerts if it is given up",
            key=f"exit:{handle.order_id}",
            order_id=handle.order_id,
        )
        await handle.wait(_placed)

    async def _done_within(self, handle: OrderHandle, seconds: float) -> bool:
        try:
            await handle.wait(timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _reprice_once(self, handle: OrderHandle, policy: ExitPolicy, attempt: int) -> bool:
        """Re-price every working part of the exit; whether the attempt counts (some part took
        the new price, was left at it, or still works after a refusal: not when every part
        asked turned out ended meanwhile, filled most often)."""
        signal = handle.order.signal
        instrument = signal.instrument
        quote = (await self.broker.quotes([instrument])).get(instrument)
        if quote is None or not quote.last_price:
            raise LookupError(f"no last price for {instrument}")
        info = self._instrument(instrument)
        price = band_price(
            signal.side, quote, policy.band_percent, info.tick_size if info else None
        )
        working = [o for o in _parts(handle) if o.is_working and o.remaining_quantity > 0]
        # A part already at the price is left alone: the last price has not moved since the
        # previous re-price, and sending the same price spent a modification for nothing.
        moved = [order for order in working if order.price != price]
        taken, refused = await self._reprice_parts(moved, price)
        if moved and not taken and not refused:
            # Every part asked had ended (filled) when its refusal was read: nothing failed.
            log.info("exit %s: its parts ended before the re-price", handle.order_id)
            return False
        await self.recorder.desk_event(
            ExitRepriced(
                at=self.clock.now(),
                order_id=handle.order_id,
                attempt=attempt,
                last_price=quote.last_price,
                price=price,
            )
        )
        if moved and not taken:
            # Refused every time: the refusal's own alert said so ("Modify failed", a risk
            # denial); an "Exit re-priced" beside it would say the opposite.
            return True
        await self.alerts.raise_(
            Severity.WARNING,
            "Exit re-priced",
            f"{handle.order_id} ({instrument} {signal.side}) was not filled in "
            f"{policy.reprice_after:g}s: "
            + ("re-priced to" if moved else "left at (the last price has not moved)")
            + f" {price} (last {quote.last_price}, band {policy.band_percent}%), attempt "
            f"{attempt} of {policy.max_reprices}"
            + (f"; refused: {'; '.join(refused)}" if refused else ""),
            key=f"exit:{handle.order_id}",
            order_id=handle.order_id,
        )
        return True

    async def _reprice_parts(self, parts: list[Order], price: Decimal) -> tuple[int, list[str]]:
        """Modify each of ``parts`` to ``price``: how many the broker took, and the refusals
        of parts still working (a part found ended when refused, filled most often, is none:
        a refused modify reads the part's row at once)."""
        taken = 0
        refused: list[str] = []
        for order in parts:
            try:
                await self._reprice(order.order_id, price)
            except Exception as exc:
                # One part refused (the modification limit, filled meanwhile): the rest go on.
                if not order.is_terminal:
                    refused.append(f"{order.order_id}: {type(exc).__name__}: {exc}")
            else:
                taken += 1
        return taken, refused

    async def _unfilled(self, handle: OrderHandle, reprices: int) -> bool:
        """Say that the exit did not fill; whether "Exit not filled" (CRITICAL) was said."""
        if await self._complete_at_broker(handle):
            # The broker has it filled and the desk has not heard yet (the stream lags or
            # lost it): telling the operator to exit again would exit twice.
            log.warning("exit %s: complete at the broker, not yet heard", handle.order_id)
            return False
        order = handle.order
        remaining = order.signal.quantity - handle.filled_quantity
        status = handle.status
        detail = (
            f"still {status} after {reprices} re-prices"
            if status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.LAPSED)
            else f"ended {status} ({order.reason or 'no reason given'})"
        )
        await self.recorder.desk_event(
            ExitUnfilled(
                at=self.clock.now(),
                order_id=handle.order_id,
                reprices=reprices,
                remaining=remaining,
                detail=detail,
            )
        )
        if status is OrderStatus.CANCELLED:
            # Someone (or a newer exit of the same position) cancelled it: said, not shouted.
            outside = any(_cancelled_outside(part) for part in _parts(handle))
            await self.alerts.raise_(
                Severity.WARNING,
                "Exit cancelled",
                f"{handle.order_id} ({order.signal.instrument} {order.signal.side}, "
                f"{_whose(order)}): cancelled{' outside orderdesk' if outside else ''} with "
                f"{remaining} not filled; the position may still be open",
                key=f"exit:{handle.order_id}",
                order_id=handle.order_id,
            )
            return False
        advice = (
            "its placement is unresolved (the broker may still show it and fill it): do not "
            "exit again until it is resolved or given up; check it with `orderdesk orders` (or "
            f"the broker's order book, tag {handle.order_id})"
            if _unresolved(handle)
            else "the position is still open: act now (re-price or cancel it, exit again)"
        )
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Exit not filled",
            f"{handle.order_id} ({order.signal.instrument} {order.signal.side} "
            f"{order.signal.quantity}, {_whose(order)}): {remaining} not filled, {detail}; "
            + advice,
            key=f"exit:{handle.order_id}",
            order_id=handle.order_id,
        )
        return True

    async def _complete_at_broker(self, handle: OrderHandle) -> bool:
        """Whether the broker's book shows every part of the exit still working at the desk
        as complete (False when the book cannot be read: then the desk's view stands)."""
        working = [part for part in _parts(handle) if not part.is_terminal]
        if not working or any(part.broker_order_id is None for part in working):
            return False
        try:
            rows = {row.broker_order_id: row for row in await self.broker.orders()}
        except Exception as exc:
            log.warning("exit %s: the order book could not be read: %r", handle.order_id, exc)
            return False
        return all(
            (row := rows.get(part.broker_order_id or "")) is not None
            and row.status is BrokerStatus.COMPLETE
            for part in working
        )

    async def _filled_after_all(self, handle: OrderHandle) -> None:
        """Wait for the exit alerted as not filled to end; filled, say so, once: the
        CRITICAL must not be the last word on a position that is closed."""
        await handle.wait()
        if handle.status is not OrderStatus.FILLED:
            return  # cancelled or rejected: what the operator did, or told by its own news
        order = handle.order
        await self.alerts.raise_(
            Severity.WARNING,
            "Exit filled",
            f"{handle.order_id} ({order.signal.instrument} {order.signal.side} "
            f"{order.signal.quantity}, {_whose(order)}), alerted as not filled, has filled "
            "after all: the exit is done, nothing more to do for it",
            key=f"exit:{handle.order_id}:filled",
            order_id=handle.order_id,
        )


def recorded_policy(started: ExitStarted) -> ExitPolicy:
    """The policy an exit was started under, as its ``ExitStarted`` recorded it."""
    return ExitPolicy(
        reprice_after=float(started.reprice_after),
        max_reprices=started.max_reprices,
        band_percent=started.band_percent,
    )


def _whose(order: Order) -> str:
    """Whose position the exit closes, for its alerts."""
    strategy = order.signal.strategy
    if strategy == ACCOUNT_EXIT_STRATEGY:
        return "the account's position"
    return f"booked to {strategy}"


def _cancelled_outside(order: Order) -> bool:
    """Whether someone outside orderdesk cancelled ``order`` (news.py marks it so)."""
    return order.reason is not None and order.reason.startswith(CANCELLED_OUTSIDE)


def _parts(handle: OrderHandle) -> list[Order]:
    """The broker orders an exit consists of: its slices, or itself."""
    return handle.children or [handle.order]


def _unresolved(handle: OrderHandle) -> bool:
    """Some part of the exit may or may not be at the broker: nothing there to re-price."""
    return not handle.is_done and any(part.is_unresolved for part in _parts(handle))


def _placed(handle: OrderHandle) -> bool:
    return not _unresolved(handle)


__all__ = [
    "EarlierExitPending",
    "ExitEscalation",
    "ExitPlaced",
    "Reprice",
    "band_price",
    "recorded_policy",
    "resolution_bound",
]
