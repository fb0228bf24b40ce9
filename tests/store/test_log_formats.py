"""Logs written in canonical format 1 still verify and replay, alone and with format-2 rows
appended after them, in every store.

``tests/fixtures/log_format1.jsonl`` is such a log, written by the format-1 codec (the one
before msgspec, at commit cd3a670) through ``InMemoryEventStore``: ``order_lifecycle(0..4)``
and ``desk_event(1)`` from conftest in six appends, then every sample of
``tests.store.test_codec.every_event()`` in one. Each line is one row's seven columns, the
payload as the text that was stored and hashed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, update

from orderdesk.domain import Event, OrderStatus
from orderdesk.ports.store import EventStore
from orderdesk.store import InMemoryEventStore, SqlEventStore, replay_orders
from orderdesk.store.chain import Head, Row, verify_rows
from orderdesk.store.codec import FORMAT_KEY
from orderdesk.store.schema import HEAD_ID, chain_head, events
from tests.store.test_codec import every_event, reference_text_1

Lifecycle = Callable[[int], list[Event]]

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "log_format1.jsonl"
FORMAT_1_HEAD = Head(65, "260d5c6896f87f1782ccb54d4813471c2e127939e398597385bf8aa38cdc45ab")
"""The head the format-1 codec left after writing the whole fixture."""
FORMAT_1_FIXED_LOG_HEAD = Head(
    31, "47a092385ca17610e6ab64adc9257e97419424f0bdbd49e245e66e17cbd9746c"
)
"""The fixed log's head as test_chain recorded it for format 1: the fixture's first 31 rows."""


def format_1_rows(count: int | None = None) -> list[Row]:
    """The fixture's rows (the first ``count`` of them), exactly as stored."""
    with FIXTURE.open(encoding="utf-8") as file:
        rows = [Row(**json.loads(line)) for line in file]
    return rows[:count]


def written_events(lifecycle: Lifecycle, desk: Callable[[int], Event]) -> list[Event]:
    """The events the fixture was written from, in order: the samples of its day are the first
    of today's (a sample for a new event type is appended after them)."""
    first = [*(e for n in range(5) for e in lifecycle(n)), desk(1)]
    return [*first, *every_event()[: len(format_1_rows()) - len(first)]]


def _load_sql(url: str, rows: list[Row]) -> None:
    """Put ``rows`` and their head into the database as an older orderdesk left them."""
    SqlEventStore(url).close()  # creates the schema
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(insert(events), [row._asdict() for row in rows])
            connection.execute(
                update(chain_head)
                .where(chain_head.c.id == HEAD_ID)
                .values(seq=rows[-1].seq, hash=rows[-1].hash)
            )
    finally:
        engine.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def holding(
    request: pytest.FixtureRequest, db_path: Path
) -> Iterator[Callable[[list[Row]], EventStore]]:
    """Opens a store (in memory, an SQLite file, a PostgreSQL database) holding the rows it is
    given, as an older orderdesk left them."""
    opened: list[EventStore] = []

    def open_with(rows: list[Row]) -> EventStore:
        store: EventStore
        if request.param == "memory":
            store = InMemoryEventStore()
            store.rows.extend(rows)
            store.chain_head = Head(rows[-1].seq, rows[-1].hash)
        else:
            url = f"sqlite:///{db_path}"
            if request.param == "postgresql":
                url = request.getfixturevalue("postgres").new_database()
            _load_sql(url, rows)
            store = SqlEventStore(url)
        opened.append(store)
        return store

    yield open_with
    for store in opened:
        store.close()


def test_the_fixture_is_the_log_format_1_wrote() -> None:
    """Its rows verify against the head format 1 left, the first 31 end at the fixed log's
    recorded format-1 head, and no row carries a format marker."""
    rows = format_1_rows()
    assert verify_rows(rows, FORMAT_1_HEAD).ok
    assert verify_rows(rows[:31], FORMAT_1_FIXED_LOG_HEAD).ok
    assert not any(FORMAT_KEY in json.loads(row.payload) for row in rows)


def _as_then(now: Any, then: Any) -> Any:
    """``now`` without the object keys ``then`` lacks: fields added since a row was written."""
    if isinstance(now, dict) and isinstance(then, dict):
        return {key: _as_then(now[key], then[key]) for key in then if key in now}
    if isinstance(now, list) and isinstance(then, list) and len(now) == len(then):
        return [_as_then(a, b) for a, b in zip(now, then, strict=True)]
    return now


def test_format_1_rows_decode_to_the_events_they_were_written_from(
    lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """Every row reads back as its event (fields added since take their defaults), and
    format 1's reference writes that event back to the stored values: decoding an old row
    loses nothing."""
    rows = format_1_rows()
    decoded = [row.to_stored().event() for row in rows]
    assert decoded == written_events(lifecycle, desk)
    for row, event in zip(rows, decoded, strict=True):
        stored = json.loads(row.payload)
        assert _as_then(json.loads(reference_text_1(event)), stored) == stored


def test_a_format_1_log_verifies_and_reads_back_in_every_store(
    holding: Callable[[list[Row]], EventStore], lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """Loaded as an older orderdesk left it, the log verifies and reads back event for event."""
    store = holding(format_1_rows())
    report = store.verify()
    assert (report.ok, report.rows) == (True, 65)
    assert [stored.event() for stored in store.read()] == written_events(lifecycle, desk)


def test_a_mixed_log_verifies_and_reads_back_in_every_store(
    holding: Callable[[list[Row]], EventStore], lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """Format-2 rows appended after format-1 rows make one chain that verifies; every row
    reads back, and each says its format (the old ones by having no marker)."""
    store = holding(format_1_rows())
    appended = [*lifecycle(5), *every_event()]
    store.append(appended)
    report = store.verify()
    assert (report.ok, report.rows) == (True, 65 + len(appended))
    stored = list(store.read())
    assert [s.event() for s in stored] == [*written_events(lifecycle, desk), *appended]
    assert [s.payload.get(FORMAT_KEY) for s in stored] == [None] * 65 + [2] * len(appended)


def test_orders_replay_across_the_change_of_format(
    holding: Callable[[list[Row]], EventStore], lifecycle: Lifecycle
) -> None:
    """Orders written in format 1 and orders written after it in format 2 all replay."""
    store = holding(format_1_rows(30))  # five order lifecycles
    store.append([*lifecycle(5), *lifecycle(6)])
    assert store.verify().ok
    orders = replay_orders(store)
    assert len(orders) == 7
    assert {order.status for order in orders.values()} == {OrderStatus.FILLED}
