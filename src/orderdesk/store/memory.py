"""``InMemoryEventStore``: the same chain as the SQL store, in a list, for fast tests.

Rows are kept in their stored text form (not as the caller's objects), so what a test reads back
has been through the same encoding, hashing and verification as a row on disk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from orderdesk.domain.events import Event
from orderdesk.errors import StoreError
from orderdesk.ports.store import StoredEvent, VerifyReport
from orderdesk.store.chain import (
    Encoded,
    Head,
    Row,
    encode_events,
    link,
    verify_rows,
)


class InMemoryEventStore:
    """An :class:`~orderdesk.ports.store.EventStore` that forgets everything when dropped."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        """The log itself; public so tests can tamper with it the way they would with a file."""
        self.chain_head = Head()
        self._lock = threading.Lock()
        self._closed = False

    def append(self, events: Sequence[Event]) -> list[StoredEvent]:
        """Add ``events`` after everything stored, all or nothing."""
        return [row.to_stored() for row in self.append_encoded(encode_events(events))]

    def append_encoded(self, encoded: Sequence[Encoded], *, durable: bool = True) -> list[Row]:
        """Append events already encoded by :func:`~orderdesk.store.chain.encode_events`;
        returns the rows as written (in memory, ``durable`` changes nothing)."""
        self._check_open()
        # The async writer appends from a worker thread while tests may append directly.
        with self._lock:
            rows, self.chain_head = link(encoded, self.chain_head)
            self.rows.extend(rows)
        return rows

    def read(
        self,
        *,
        stream: str | None = None,
        kind: str | None = None,
        after: int = 0,
        before: int | None = None,
    ) -> Iterator[StoredEvent]:
        """Stored events with ``after < seq < before`` (optionally of one stream or type)."""
        self._check_open()
        with self._lock:
            snapshot = list(self.rows)
        for row in snapshot:
            if (
                row.seq > after
                and (before is None or row.seq < before)
                and (stream is None or row.stream == stream)
                and (kind is None or row.type == kind)
            ):
                yield row.to_stored()

    def latest(self, kind: str) -> StoredEvent | None:
        """The newest stored event of type ``kind``."""
        self._check_open()
        with self._lock:
            found = next((row for row in reversed(self.rows) if row.type == kind), None)
        return None if found is None else found.to_stored()

    def verify(self) -> VerifyReport:
        """Walk the chain and check that it ends at the recorded head."""
        self._check_open()
        with self._lock:
            rows, head = list(self.rows), self.chain_head
        return verify_rows(rows, head)

    def last_seq(self) -> int:
        """The seq of the newest event (0 when empty)."""
        return self.chain_head.seq

    def close(self) -> None:
        """Refuse further use, like the SQL store."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the event store is closed")


__all__ = ["InMemoryEventStore"]
