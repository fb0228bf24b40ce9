"""The event store: an append-only, hash-chained log of domain events.

Each stored row carries ``hash = sha256(prev_hash + canonical_json(payload_with_type))`` so that
editing, deleting, inserting or reordering rows breaks the chain at the first bad row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orderdesk.domain.events import Event


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    stream: str
    type: str
    at: datetime
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def event(self) -> Event:
        """Decode the payload back into its domain event."""
        from orderdesk.store.codec import from_record

        return from_record(self.type, self.payload)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str | None = None


class EventStore(Protocol):
    def append(self, events: Sequence[Event]) -> list[StoredEvent]:
        """Write ``events`` atomically, in order, after every event already stored."""

    def read(
        self,
        *,
        stream: str | None = None,
        kind: str | None = None,
        after: int = 0,
        before: int | None = None,
    ) -> Iterator[StoredEvent]:
        """Stored events with ``after < seq < before``, oldest first, optionally only those of
        one stream or of one event type (``kind``, e.g. ``"DayOpened"``)."""

    def latest(self, kind: str) -> StoredEvent | None:
        """The newest stored event of type ``kind`` (the start-up checkpoint), if any."""

    def verify(self) -> VerifyReport:
        """Walk the whole chain; report the first row that does not follow."""

    def close(self) -> None: ...


__all__ = ["EventStore", "StoredEvent", "VerifyReport"]
