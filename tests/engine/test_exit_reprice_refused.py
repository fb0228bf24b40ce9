"""An exit whose re-price the broker refuses because the exit has filled meanwhile is done,
not "not filled".

The operator walk: ``orderdesk exit NSE:TCS`` timed out ambiguously (the order found later),
filled 3 of 5, and the broker filled the last 2 while the desk had not heard (its stream lost
them). Each of the 3 re-prices was refused with Kite's "Order cannot be modified as it is
complete.", each said twice ("Modify failed", and "Exit re-priced … refused"), and the desk
then alerted CRITICAL "Exit not filled … the position is still open: act now (… exit again)"
while the broker's position was 0; nothing ever took it back.

Here the stream is muted (``stream_muted``) and the desk's own polls are off (``FAST``: no
reconciliation, ``quiet_after`` 60 s), so a refusal's row read is the only way the desk can
hear of the fill.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from orderdesk.domain import OrderStatus, Product
from orderdesk.domain.events import ExitRepriced, ExitUnfilled
from orderdesk.domain.status import BrokerStatus
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import ExitPolicy
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import OrderRejected
from orderdesk.ports.broker import OrderChanges
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

MIS = Product.MIS
QUICK = ExitPolicy(reprice_after=0.05, max_reprices=3, band_percent=Decimal(2))


class ExitBroker(FakeBroker):
    """Modifies refused with ``refusal`` while it is set (the order still working), or, with
    ``fill_when_modified``, taken and then filled silently (a re-price through the market
    fills, and the stream loses the news)."""

    refusal: str | None = None
    fill_when_modified = False

    async def modify_order(
        self, broker_order_id: str, variety: Any, changes: OrderChanges, **kw: Any
    ) -> None:
        if self.refusal is not None:
            self.modify_calls += 1
            raise OrderRejected(self.refusal, http_status=400)
        await super().modify_order(broker_order_id, variety, changes, **kw)
        if self.fill_when_modified:
            self.stream_muted = True
            self.fill(broker_order_id)


@asynccontextmanager
async def resting_exit(
    broker: ExitBroker,
    notifier: RecordingNotifier,
    store: MemoryStore,
    policy: ExitPolicy = QUICK,
) -> AsyncIterator[tuple[OrderDesk, OrderHandle]]:
    """A desk that held 5 INFY MIS and whose exit of them rests at the broker, 3 filled."""
    desk = OrderDesk(broker, store, notifier=notifier, config=FAST, limits=RiskLimits())
    async with desk:
        await settled(desk)
        await (await desk.submit(signal(quantity=5))).wait()
        broker.fill_market = False
        handle = await desk.exit_position(INFY, product=MIS, policy=policy)
        assert handle is not None
        await handle.wait(lambda h: h.order.broker_order_id is not None, timeout=5)
        broker_order_id = handle.order.broker_order_id
        assert broker_order_id is not None
        broker.fill(broker_order_id, 3)
        await handle.wait(lambda h: h.filled_quantity == 3, timeout=5)
        yield desk, handle


def events_of(store: MemoryStore, kind: type[Any], order_id: str) -> list[Any]:
    return [e for e in store.events() if isinstance(e, kind) and e.order_id == order_id]


async def test_a_reprice_refused_as_complete_reads_the_fill_and_ends_the_exit(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The last 2 fill while the stream is lost; the first re-price is refused "complete": the
    desk reads the row at once and records FILLED with its trades. No CRITICAL, no "Exit
    re-priced" for a price the broker never took, no "Modify failed", no attempt counted."""
    broker = ExitBroker()
    async with resting_exit(broker, notifier, store) as (desk, handle):
        broker_order_id = handle.order.broker_order_id
        assert broker_order_id is not None
        broker.stream_muted = True
        broker.fill(broker_order_id)  # the broker has it COMPLETE; the desk does not hear
        assert broker.report(broker_order_id).status is BrokerStatus.COMPLETE
        await eventually(
            lambda: handle.is_done or "Exit not filled" in notifier.titles(), what="an end"
        )
        modifies = broker.modify_calls
        await desk.idle()
        position = desk.position(INFY, MIS).quantity
    assert handle.status is OrderStatus.FILLED
    assert handle.order.fill_quantity == 5  # the trades were read with the row
    assert position == 0
    assert modifies == 1, "the refusal's row read ended the exit: no second re-price"
    titles = notifier.titles()
    assert "Exit not filled" not in titles
    assert "Exit re-priced" not in titles
    assert "Modify failed" not in titles
    assert "Order update refused" not in titles
    assert events_of(store, ExitRepriced, handle.order_id) == []
    assert events_of(store, ExitUnfilled, handle.order_id) == []


async def test_a_reprice_refused_while_working_is_said_once(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A re-price the broker refuses while the exit still works (its RMS, say): the refusal's
    own alert says it, once an attempt; no "Exit re-priced" beside it. The attempts count, and
    the exit, still open, ends CRITICAL."""
    broker = ExitBroker()
    async with resting_exit(broker, notifier, store) as (_desk, handle):
        broker.refusal = "RMS: price outside the allowed band"
        await eventually(lambda: "Exit not filled" in notifier.titles(), what="CRITICAL")
    assert broker.modify_calls == QUICK.max_reprices
    titles = notifier.titles()
    assert titles.count("Modify failed") == QUICK.max_reprices
    assert "Exit re-priced" not in titles
    assert [e.attempt for e in events_of(store, ExitRepriced, handle.order_id)] == [1, 2, 3]
    (critical,) = [a for a in notifier.alerts if a.title == "Exit not filled"]
    assert critical.severity is Severity.CRITICAL
    assert "still PARTIALLY_FILLED after 3 re-prices" in critical.body


async def test_an_exit_complete_at_the_broker_is_not_alerted_not_filled(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The last re-price is taken and fills the exit, and the stream loses that: before its
    CRITICAL the desk reads the broker's rows, which show it complete, and alerts nothing."""
    broker = ExitBroker()
    # The desk's own watcher waits a minute: the one run here, to its end, is the test's.
    patient = ExitPolicy(reprice_after=60.0)
    once = ExitPolicy(reprice_after=0.05, max_reprices=1, band_percent=Decimal(2))
    async with resting_exit(broker, notifier, store, patient) as (desk, handle):
        broker.fill_when_modified = True
        await desk.exits.escalate(handle, once)
        broker_order_id = handle.order.broker_order_id
        assert broker_order_id is not None
        assert broker.report(broker_order_id).status is BrokerStatus.COMPLETE
        assert handle.status is OrderStatus.PARTIALLY_FILLED  # not heard: the stream lost it
    assert [e.attempt for e in events_of(store, ExitRepriced, handle.order_id)] == [1]
    assert "Exit not filled" not in notifier.titles()
    assert events_of(store, ExitUnfilled, handle.order_id) == []


async def test_an_exit_alerted_not_filled_that_fills_later_says_so(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Re-priced 3 times and still resting: CRITICAL "Exit not filled". It fills later: one
    "Exit filled" (WARNING, to reach the channel the CRITICAL reached), so the CRITICAL is not
    the last word."""
    broker = ExitBroker()
    async with resting_exit(broker, notifier, store) as (_desk, handle):
        await eventually(lambda: "Exit not filled" in notifier.titles(), what="CRITICAL")
        assert "Exit filled" not in notifier.titles()
        broker_order_id = handle.order.broker_order_id
        assert broker_order_id is not None
        broker.fill(broker_order_id)
        await handle.wait(timeout=5)
        clear = await eventually(
            lambda: [a for a in notifier.alerts if a.title == "Exit filled"], what="all-clear"
        )
    assert len(clear) == 1
    assert clear[0].severity is Severity.WARNING
    assert clear[0].order_id == handle.order_id
    assert clear[0].key.startswith(f"exit:{handle.order_id}")
