"""Sliced orders: a parent above the freeze quantity and the child orders that carry it.

The parent holds the intent and is never sent; its children are ordinary orders, each at most
the freeze quantity in whole lots, created and sent one after another. What a parent still
lacks is derived from the children the log holds, so a restart continues where the last
process stopped. A rejected child stops the rest (the next would most likely fail the same
way), whenever its rejection comes: the children are read before each next one is cut. A
cancel of the parent (or of its children by ``cancel_all`` or the kill switch) stops slicing
before the next child, and so does the kill switch engaged (but for an exit's slices). A stop
is recorded on the parent (:meth:`Slicer.stop`, which ends it as CANCELLED), so no restart
places the rest at the old terms.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from orderdesk.domain.events import OrderWithdrawn
from orderdesk.domain.ids import child_order_id
from orderdesk.domain.order import Order
from orderdesk.domain.parent import slicing_complete
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.placement import Placement
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.slicing import slice_quantities
from orderdesk.ports.notifier import Severity


class Slicer:
    """Creates and sends orders, and the children of sliced parents."""

    def __init__(
        self,
        book: OrderBook,
        recorder: Recorder,
        placement: Placement,
        alerts: Alerts,
        instrument: Callable[[InstrumentKey], InstrumentInfo | None],
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.book = book
        self.recorder = recorder
        self.placement = placement
        self.alerts = alerts
        self.clock = recorder.clock
        self._instrument = instrument
        self._settle = settle
        """Waits until the broker news received so far is recorded: a rejection that came
        right after a child's placement answer is read before the next child is cut."""
        self.stopped: set[str] = set()
        """Parents whose remaining children are not to be placed (cancelled): at once, before
        the stop's record (:meth:`stop`) is written."""

    @staticmethod
    def is_parent(order: Order) -> bool:
        return (
            order.status is OrderStatus.INITIALIZED
            and order.parent_id is None
            and not order.deferred
        )

    def children(self, parent_id: str) -> list[Order]:
        return self.book.children_of(parent_id)

    def complete(self, parent: Order) -> bool:
        """Every child the parent needs exists, or a rejection stopped the slicing."""
        return slicing_complete(parent, self.children(parent.order_id))

    async def create_and_send(
        self,
        order_id: str,
        signal: Signal,
        parent_id: str | None = None,
        *,
        created: Callable[[], None] | None = None,
    ) -> Order:
        """Log the order and its submission in one append, then place it; ``created`` is
        called in between, once the order is in the book."""
        now = self.clock.now()
        order = Order.create(order_id, signal, now, parent_id=parent_id)
        outcome = await self.recorder.create(
            order, lambda o: o.submit(now, algo_id=self.placement.algo_id(o))
        )
        if created is not None:
            created()
        await self.placement.send(outcome.order)
        return outcome.order

    async def send_again(self, order: Order) -> None:
        """Send an order whose placement was deferred for want of a session."""
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: o.submit(now, algo_id=self.placement.algo_id(o)) if o.deferred else [],
        )
        if outcome.events:
            await self.placement.send(order)

    async def create_parent(
        self,
        order_id: str,
        signal: Signal,
        *,
        created: Callable[[], None] | None = None,
        exiting: bool = False,
    ) -> None:
        """Log a parent, then create and send its children; ``created`` is called in between,
        once the parent is in the book. ``exiting``: the desk's exit (see :meth:`continue_`)."""
        outcome = await self.recorder.create(Order.create(order_id, signal, self.clock.now()))
        if created is not None:
            created()
        await self.continue_(outcome.order, exiting=exiting)

    async def stop(self, parent: Order, reason: str) -> None:
        """No more children are cut from ``parent``: said at once, and recorded on the parent
        (withdrawn: CANCELLED, its children carrying what was placed) so that a restart does
        not place the rest."""
        self.stopped.add(parent.order_id)
        now = self.clock.now()
        await self.recorder.decide(
            parent,
            lambda o: (
                [OrderWithdrawn(at=now, order_id=o.order_id, reason=reason)]
                # Kite's autoslice placed every slice at once: nothing left to stop.
                if o.status is OrderStatus.INITIALIZED and not o.deferred and not o.autoslice
                else []
            ),
        )

    async def continue_(self, parent: Order, *, exiting: bool = False) -> None:
        """Create and send the children a parent still lacks (also after a restart).

        ``exiting``: the desk's exit, whose slices go on with the kill switch engaged (a
        strategy's exit is known as one only once placed: :attr:`Placement.held_refusal` knows
        it after that, and the account's by its name)."""
        if parent.is_terminal:
            return  # lapsed with its day, or stopped: what it lacks is never placed
        info = self._instrument(parent.signal.instrument)
        if info is None:
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Cannot slice order",
                f"{parent.order_id}: no instrument data for {parent.signal.instrument}",
                key=f"slice:{parent.order_id}",
                order_id=parent.order_id,
            )
            return
        children = self.children(parent.order_id)
        remaining = parent.signal.quantity - sum(child.signal.quantity for child in children)
        if remaining <= 0 or self.complete(parent):
            return
        quantities = slice_quantities(remaining, info.freeze_quantity, info.lot_size)
        for offset, quantity in enumerate(quantities):
            if offset and self._settle is not None:
                await self._settle()
            if parent.order_id in self.stopped or parent.is_terminal:
                return
            placed = self.children(parent.order_id)
            if (rejected := _stopping(placed)) is not None:
                await self._stopped(parent, f"slice {rejected.order_id} was {_ended(rejected)}")
                return
            refusal = None if exiting else self.placement.held_refusal(parent)
            if refusal is not None:
                # Admitted before the switch engaged, the rest would be new orders now: not
                # held for a release either, as a restart would then send them at old terms.
                await self.stop(parent, f"slicing stopped: {refusal}")
                await self._stopped(parent, f"{refusal}, which refuses new orders")
                return
            child_id = child_order_id(parent.order_id, len(children) + offset)
            child_signal = parent.signal.with_quantity(quantity, signal_id=child_id)
            child = await self.create_and_send(child_id, child_signal, parent.order_id)
            if child.status is OrderStatus.REJECTED or child.deferred:
                await self._stopped(parent, f"slice {child_id} was {_ended(child)}")
                return

    async def _stopped(self, parent: Order, why: str) -> None:
        await self.alerts.raise_(
            Severity.WARNING,
            "Slicing stopped",
            f"{parent.order_id}: {why}; the remaining slices are not placed",
            key=f"slice:{parent.order_id}",
            order_id=parent.order_id,
        )


def _stopping(children: list[Order]) -> Order | None:
    """The child whose end stops the slicing (rejected, at the placement or by the broker
    after taking it; or held for a login), if any."""
    return next(
        (child for child in children if child.status is OrderStatus.REJECTED or child.deferred),
        None,
    )


def _ended(child: Order) -> str:
    if child.deferred:
        return f"held for a login ({child.reason})"
    return f"rejected ({child.reason})"


__all__ = ["Slicer"]
