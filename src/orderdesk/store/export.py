"""Export the log for retention: every row, hashes included, as JSON Lines or CSV.

An export carries everything needed to re-check the chain away from the database:
``seq, stream, type, at, payload, prev_hash, hash`` per row, with ``payload`` in the same
canonical JSON the hash covers. One trading day's rows (:func:`day_rows`) run from its
``DayOpened`` checkpoint up to the next day's; their chain is checked from the first row's
``prev_hash`` on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from typing import IO, Literal

from orderdesk.domain.events import DayOpened
from orderdesk.errors import OrderDeskError
from orderdesk.ports.store import EventStore, StoredEvent
from orderdesk.store.codec import canonical_json

ExportFormat = Literal["jsonl", "csv"]
COLUMNS = ("seq", "stream", "type", "at", "payload", "prev_hash", "hash")


def _columns(event: StoredEvent) -> dict[str, object]:
    return {
        "seq": event.seq,
        "stream": event.stream,
        "type": event.type,
        # Stored as the UTC ISO text of the payload's ``at``; isoformat() gives that text back.
        "at": event.at.isoformat(),
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


class DayNotInLog(OrderDeskError, LookupError):
    """The log holds no ``DayOpened`` checkpoint for the trading day asked about."""

    def __init__(self, day: date) -> None:
        super().__init__(f"the log holds no trading day {day.isoformat()}")
        self.day = day


def day_rows(store: EventStore, day: date) -> Iterator[StoredEvent]:
    """The rows of trading day ``day``: from its ``DayOpened`` checkpoint up to (not including)
    the next ``DayOpened``, oldest first. Raises :class:`DayNotInLog` at once, before any row
    is read, when the log has no such day."""
    first: int | None = None
    end: int | None = None
    for row in store.read(kind=DayOpened.__name__):
        if first is not None:
            end = row.seq
            break
        event = row.event()
        if isinstance(event, DayOpened) and event.day == day:
            first = row.seq
    if first is None:
        raise DayNotInLog(day)
    return store.read(after=first - 1, before=end)


def export(
    store: EventStore,
    fmt: ExportFormat,
    out: IO[str],
    *,
    rows: Iterable[StoredEvent] | None = None,
) -> int:
    """Write ``rows`` (default: every stored row) to ``out`` in ``fmt``, oldest first; returns
    the row count."""
    count = 0
    source = store.read() if rows is None else rows
    if fmt == "jsonl":
        for event in source:
            out.write(canonical_json(_columns(event)) + "\n")
            count += 1
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for event in source:
            row = _columns(event)
            row["payload"] = canonical_json(event.payload)
            writer.writerow([row[name] for name in COLUMNS])
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r} (jsonl or csv)")
    return count


__all__ = ["COLUMNS", "DayNotInLog", "ExportFormat", "day_rows", "export"]
