"""Export the log for retention: every row, hashes included, as JSON Lines or CSV.

An export carries everything needed to re-check the chain away from the database:
``seq, stream, type, at, payload, prev_hash, hash`` per row, with ``payload`` in the same
canonical JSON the hash covers.
"""

from __future__ import annotations

import csv
from typing import IO, Literal

from orderdesk.domain.codec import canonical_json
from orderdesk.ports.store import EventStore, StoredEvent

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


def export(store: EventStore, fmt: ExportFormat, out: IO[str]) -> int:
    """Write every stored row to ``out`` in ``fmt``, oldest first; returns the row count."""
    count = 0
    if fmt == "jsonl":
        for event in store.read():
            out.write(canonical_json(_columns(event)) + "\n")
            count += 1
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for event in store.read():
            row = _columns(event)
            row["payload"] = canonical_json(event.payload)
            writer.writerow([row[name] for name in COLUMNS])
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r} (jsonl or csv)")
    return count


__all__ = ["COLUMNS", "ExportFormat", "export"]
