"""Exporting the log for retention, and rebuilding orders by replaying it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest

from orderdesk.domain import Event, Order, OrderAccepted, OrderEvent, OrderStatus
from orderdesk.errors import StoreError
from orderdesk.store import InMemoryEventStore, SqlEventStore, export, replay_orders
from orderdesk.store.chain import Head, Row, verify_rows
from orderdesk.store.export import COLUMNS

Lifecycle = Callable[[int], list[Event]]


def rows_from_jsonl(text: str) -> list[Row]:
    rows = []
    for line in text.splitlines():
        record = json.loads(line)
        payload = json.dumps(record["payload"], sort_keys=True, separators=(",", ":"))
        rows.append(Row(**{**record, "payload": payload}))
    return rows


def test_jsonl_export_holds_every_row_and_can_be_verified_offline(
    sql_store: SqlEventStore, lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """Each line is one row with all seven columns; the lines re-verify as a chain."""
    sql_store.append([*lifecycle(0), desk(0)])
    out = io.StringIO()
    assert export(sql_store, "jsonl", out) == 7
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [set(r) for r in records] == [set(COLUMNS)] * 7
    assert [r["seq"] for r in records] == list(range(1, 8))
    assert records[6]["stream"] == "desk"
    head = sql_store.head()
    assert verify_rows(rows_from_jsonl(out.getvalue()), head).ok


def test_csv_export_matches_the_stored_columns(
    sql_store: SqlEventStore, lifecycle: Lifecycle
) -> None:
    """A header then one line per row, payload as the canonical JSON the hash covers."""
    stored = sql_store.append(lifecycle(0))
    out = io.StringIO()
    export(sql_store, "csv", out)
    reader = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(reader) == 6
    rows = [
        Row(int(r["seq"]), r["stream"], r["type"], r["at"], r["payload"], r["prev_hash"], r["hash"])
        for r in reader
    ]
    assert [r.hash for r in rows] == [s.hash for s in stored]
    assert verify_rows(rows, Head(6, stored[-1].hash)).ok


def test_export_rejects_an_unknown_format() -> None:
    """Only jsonl and csv are offered."""
    with pytest.raises(ValueError, match="format") as exc_info:
        export(InMemoryEventStore(), "xml", io.StringIO())  # type: ignore[arg-type]
    assert "xml" in str(exc_info.value)


def test_replay_rebuilds_every_order(sql_store: SqlEventStore, lifecycle: Lifecycle) -> None:
    """Replaying two filled lifecycles gives two filled orders, identical to folding in memory."""
    for n in (0, 1):
        sql_store.append(lifecycle(n))
    orders = replay_orders(sql_store)
    histories = [[e for e in lifecycle(n) if isinstance(e, OrderEvent)] for n in (0, 1)]
    expected = {h[0].order_id: Order.from_events(h) for h in histories}
    assert orders == expected
    assert {o.status for o in orders.values()} == {OrderStatus.FILLED}
    assert sorted(o.filled_quantity for o in orders.values()) == [5, 6]


def test_replay_skips_desk_events(lifecycle: Lifecycle, desk: Callable[[int], Event]) -> None:
    """Events that belong to no order do not become orders."""
    store = InMemoryEventStore()
    store.append([desk(0), *lifecycle(0), desk(1)])
    assert list(replay_orders(store)) == [lifecycle(0)[0].stream]


def test_replay_refuses_an_order_that_was_never_created(lifecycle: Lifecycle) -> None:
    """An order event with no OrderCreated before it is reported, naming the row."""
    store = InMemoryEventStore()
    accepted = lifecycle(0)[2]
    assert isinstance(accepted, OrderAccepted)
    store.append([accepted])
    with pytest.raises(StoreError) as exc_info:
        replay_orders(store)
    assert "event 1" in str(exc_info.value)
    assert "never created" in str(exc_info.value)
