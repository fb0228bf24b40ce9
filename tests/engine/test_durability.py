"""What must be on disk before the desk acts, and what may follow it: intents and decisions are
durable commits; broker news (the placement's reply, reports, fills) is committed without waiting
for the disk, as the broker can tell it again (see ``orderdesk.store.writer``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from orderdesk.domain import OrderStatus
from orderdesk.domain.events import Event, KillSwitchChanged
from orderdesk.engine import OrderDesk
from orderdesk.store import AsyncEventWriter
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal


@dataclass
class RecordingWriter:
    """An ``EventWriter`` that appends at once and notes each commit's durability."""

    store: MemoryStore
    commits: list[tuple[list[str], bool]] = field(default_factory=list)

    async def write(
        self,
        events: Sequence[Event],
        *,
        durable: bool = True,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.store.append(events)
        self.commits.append(([type(event).__name__ for event in events], durable))
        if on_commit is not None:
            on_commit()

    async def flushed(self) -> None:
        pass

    def durability(self, kind: str) -> set[bool]:
        return {durable for kinds, durable in self.commits if kind in kinds}


async def test_the_intent_is_durable_before_the_broker_is_called_and_its_news_is_not() -> None:
    store = MemoryStore()
    writer = RecordingWriter(store)
    broker = FakeBroker()
    at_placement: list[list[tuple[list[str], bool]]] = []
    broker.before_place.append(lambda _command: at_placement.append(list(writer.commits)))
    async with OrderDesk(
        broker, store, writer=writer, notifier=RecordingNotifier(), config=FAST
    ) as desk:
        handle = await desk.submit(signal(signal_id="d1"))
        await handle.wait()
        assert handle.status is OrderStatus.FILLED
        await desk.engage_kill_switch("durability test")
    # When the broker was called, the intent was in a durable commit already.
    assert any("OrderSubmitting" in kinds and durable for kinds, durable in at_placement[0]), (
        at_placement
    )
    assert writer.durability("OrderCreated") == {True}
    assert writer.durability("OrderSubmitting") == {True}
    # The broker's news, which reconciliation can read again after a power cut.
    assert writer.durability("OrderAccepted") == {False}
    assert writer.durability("OrderStatusChanged") == {False}  # the fill rides on the report
    # The desk's own decisions stay durable.
    assert writer.durability("KillSwitchChanged") == {True}


async def test_news_is_applied_at_once_and_shown_with_its_commit() -> None:
    """The placement's answer rides with the next commit: the desk applies it before, and
    subscribers are shown it only once it is in the log (nothing shown is missing from it)."""
    store = MemoryStore()
    seen: list[tuple[str, bool]] = []
    async with (
        AsyncEventWriter(store, news_hold=3600.0) as writer,
        OrderDesk(
            FakeBroker(), store, writer=writer, notifier=RecordingNotifier(), config=FAST
        ) as desk,
    ):
        shown = desk.events()

        async def watch() -> None:
            async for event in shown:
                logged = {(row.type, row.stream) for row in store.read()}
                seen.append((type(event).__name__, (type(event).__name__, event.stream) in logged))
                if isinstance(event, KillSwitchChanged):
                    return

        watcher = asyncio.create_task(watch())
        handle = await desk.submit(signal(signal_id="r1"))
        order = handle.order
        assert order.broker_order_id is not None  # applied before its commit
        assert "OrderAccepted" not in {row.type for row in store.read(stream=order.order_id)}
        await desk.engage_kill_switch("a durable commit for the answer to ride with")
        await asyncio.wait_for(watcher, timeout=5)
        committed = [row.type for row in store.read(stream=order.order_id)]
    assert committed[:3] == ["OrderCreated", "OrderSubmitting", "OrderAccepted"]
    assert ("OrderAccepted", True) in seen
    assert [kind for kind, logged in seen if not logged] == []
