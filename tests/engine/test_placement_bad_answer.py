"""A broker adapter whose placement answer is not an order id (a third-party plugin returning
an int, None, an empty string): the broker may have placed the order, so the outcome is
unknown and settled by the tag in the book. Nothing the store's decoder refuses is written, so
the log still replays: an ``OrderAccepted`` with ``broker_order_id: 1`` once left a desk that
could not start again, whatever broker was configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from orderdesk.domain import OrderStatus
from orderdesk.domain.events import Doubt, OrderAccepted
from orderdesk.engine import OrderDesk
from orderdesk.ports.broker import PlaceOrder
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import RATE_LIMITED, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually


@dataclass
class BadAnswerBroker(FakeBroker):
    """Answers the next placements with ``answers`` in place of the broker's order id, having
    put each order in the book (``books``) or not. Scripted faults (429s) come first."""

    answers: list[Any] = field(default_factory=list)
    books: bool = True

    async def place_order(self, command: PlaceOrder) -> str:
        if self.script or not self.answers:
            return await super().place_order(command)
        answer = self.answers.pop(0)
        if self.books:
            await super().place_order(command)
        else:
            self.placements.append(command)
        return answer  # type: ignore[no-any-return]


def _ids_are_str(store: MemoryStore) -> bool:
    """Every broker order id the log holds is a non-empty str (or none yet, as an order's
    creation has), and every row decodes."""
    store.events()  # raises msgspec.ValidationError on a row the decoder refuses
    ids = [row.payload.get("broker_order_id") for row in store.rows]
    return all(i is None or (isinstance(i, str) and i.strip()) for i in ids)


@pytest.mark.parametrize("answer", [1, None, "", "   ", b"250000000000001"])
async def test_a_placement_answered_without_an_id_is_unknown_and_found_by_its_tag(
    store: MemoryStore, notifier: RecordingNotifier, answer: Any
) -> None:
    """The broker booked the order but the adapter answered ``answer``: SUBMIT_UNKNOWN (no
    usable reply), alerted naming the bad answer, then bound to the order the book shows under
    its tag, never sent again; the log replays into a desk that starts."""
    broker = BadAnswerBroker(answers=[answer])
    broker.stream_muted = True  # only the book can say where the order is
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(signal(signal_id="bad-answer"))
        await handle.wait(lambda h: h.is_resolved)
        order = handle.order
        [booked] = list(broker.book)
        assert order.broker_order_id == booked
        await eventually(lambda: "Placement outcome settled" in notifier.titles())
    assert len(broker.placements) == 1
    types = store.types(handle.order_id)
    assert "OrderSubmitUnknown" in types
    assert "OrderSubmitRejected" not in types
    unknown = next(e for e in store.events() if type(e).__name__ == "OrderSubmitUnknown")
    assert unknown.doubt is Doubt.NO_REPLY  # type: ignore[attr-defined]
    assert type(answer).__name__ in unknown.reason  # type: ignore[attr-defined]
    assert repr(answer) in unknown.reason  # type: ignore[attr-defined]
    [alert] = [a for a in notifier.alerts if a.title == "Placement outcome unknown"]
    assert alert.severity is Severity.WARNING
    assert repr(answer) in alert.body
    assert _ids_are_str(store)
    accepted = [e for e in store.events() if isinstance(e, OrderAccepted)]
    assert [e.broker_order_id for e in accepted] in ([], [booked])

    # The same log, another start: it replays, and the order is where it was.
    broker.stream_muted = False
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as again:
        assert again.order(handle.order_id).broker_order_id == booked
        assert again.order(handle.order_id).status is order.status


async def test_a_bad_answer_after_429s_is_unknown_too(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The send that the broker's 429s held back, answered without an id at last: the same
    unknown outcome, settled by the book (not left SUBMITTING with nobody sending it)."""
    broker = BadAnswerBroker(answers=[None])
    broker.stream_muted = True
    broker.script = [RATE_LIMITED]
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(signal(signal_id="held-bad"))
        await handle.wait(lambda h: h.is_resolved)
        [booked] = list(broker.book)
        assert handle.order.broker_order_id == booked
    assert len(broker.placements) == 2
    assert "OrderSubmitUnknown" in store.types(handle.order_id)
    assert _ids_are_str(store)


async def test_a_bad_answer_for_an_order_not_booked_is_sent_again_once_proven_absent(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The adapter answered 1 and the book never shows the tag: absent after the late-order
    window, it is sent again under the same id (its intent fresh), and accepted then."""
    broker = BadAnswerBroker(answers=[1], books=False)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(signal(signal_id="bad-absent"))
        await handle.wait()
        assert handle.status is OrderStatus.FILLED
    assert [p.client_order_id for p in broker.placements] == [handle.order_id] * 2
    assert broker.tags() == [handle.order_id]
    assert _ids_are_str(store)


class _Id(str):
    """A str of its own, as an adapter's library may hand back."""


async def test_an_id_of_a_str_subclass_is_recorded_as_a_str(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An id that is a str subclass is an id: accepted as the plain str (the store's encoder
    refuses the subclass), the log replays."""
    broker = BadAnswerBroker(answers=[_Id("250000000000001")], books=False)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(signal(signal_id="sub"))
        await eventually(lambda: handle.order.broker_order_id == "250000000000001")
        assert type(handle.order.broker_order_id) is str
    assert "OrderSubmitUnknown" not in store.types(handle.order_id)
    assert _ids_are_str(store)


async def test_a_long_bad_answer_is_named_bounded(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An adapter that answers with something huge: its reason and alert stay short."""
    broker = BadAnswerBroker(answers=[{"order_id": "x" * 10_000}])
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(signal(signal_id="bad-long"))
        await handle.wait(lambda h: h.is_resolved)
    unknown = next(e for e in store.events() if type(e).__name__ == "OrderSubmitUnknown")
    reason: str = unknown.reason  # type: ignore[attr-defined]
    assert "dict" in reason
    assert len(reason) < 400
    [alert] = [a for a in notifier.alerts if a.title == "Placement outcome unknown"]
    assert "x" * 200 not in alert.body
