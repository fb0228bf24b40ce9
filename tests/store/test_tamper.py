"""``verify`` on a real database that was tampered with directly in SQL, on both backends.

Each test writes two order lifecycles (12 rows) through the store, closes it, edits the tables
the way someone with database access but not the code might (plain SQL through a separate
engine, no orderdesk code involved), reopens it and checks that verification fails at the right
row with a reason. The SQL is written to run unchanged on SQLite and PostgreSQL (renumbering
goes through negative seqs, as PostgreSQL checks the primary key row by row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

from orderdesk.domain import Event
from orderdesk.ports.store import VerifyReport
from orderdesk.store import SqlEventStore
from orderdesk.store.chain import row_hash

Lifecycle = Callable[[int], list[Event]]
SELECT_ROW = "SELECT seq, stream, type, at, payload, prev_hash, hash FROM events WHERE seq = :seq"
INSERT_ROW = (
    "INSERT INTO events (seq, stream, type, at, payload, prev_hash, hash)"
    " VALUES (:seq, :stream, :type, :at, :payload, :prev_hash, :hash)"
)


@pytest.fixture
def filled(store_url: str, lifecycle: Lifecycle) -> str:
    """A closed store holding 12 intact rows."""
    with SqlEventStore(store_url) as store:
        store.append(lifecycle(0))
        store.append(lifecycle(1))
        assert store.verify().ok
    return store_url


@contextmanager
def raw(url: str) -> Iterator[Connection]:
    """A plain SQLAlchemy connection (no orderdesk hooks) that commits on leaving the block."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def sql(db: Connection, statement: str, **params: Any) -> int:
    """Run one statement; the number of rows it changed."""
    return db.execute(text(statement), params).rowcount


def reverify(url: str) -> VerifyReport:
    with SqlEventStore(url) as store:
        return store.verify()


def row(db: Connection, seq: int) -> tuple[Any, ...]:
    found = db.execute(text(SELECT_ROW), {"seq": seq}).one_or_none()
    assert found is not None
    return tuple(found)


def test_an_untouched_file_verifies(filled: str) -> None:
    """The control: reopening the store without changes verifies all 12 rows."""
    report = reverify(filled)
    assert (report.ok, report.rows) == (True, 12)


def test_an_edited_payload_is_named(filled: str) -> None:
    """Changing the quantity inside one payload breaks that row's hash."""
    with raw(filled) as db:
        changed = sql(
            db,
            "UPDATE events SET payload = replace(payload, :old, :new) WHERE seq = 1",
            old='"quantity":5',
            new='"quantity":50',
        )
        assert changed == 1
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.reason is not None
    assert "edited" in report.reason


def test_an_edited_column_outside_the_payload_is_named(filled: str) -> None:
    """The time column is covered by the hash too, not only the payload."""
    with raw(filled) as db:
        sql(db, "UPDATE events SET at = '2026-01-05T03:59:59+00:00' WHERE seq = 8")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 8)


def test_a_deleted_row_is_named(filled: str) -> None:
    """Removing a row from the middle reports the missing seq."""
    with raw(filled) as db:
        sql(db, "DELETE FROM events WHERE seq = 5")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert report.reason is not None
    assert "missing" in report.reason


def test_a_deleted_and_renumbered_row_is_named(filled: str) -> None:
    """Closing the gap after a delete still breaks the chain where the row was."""
    with raw(filled) as db:
        sql(db, "DELETE FROM events WHERE seq = 5")
        sql(db, "UPDATE events SET seq = 1 - seq WHERE seq > 5")
        sql(db, "UPDATE events SET seq = -seq WHERE seq < 0")
        sql(db, "UPDATE chain_head SET seq = seq - 1")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 5)


def test_a_deleted_last_row_is_named(filled: str) -> None:
    """Truncating the tail is caught by the chain head recorded with each append."""
    with raw(filled) as db:
        sql(db, "DELETE FROM events WHERE seq = 12")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 12)


def test_a_swapped_pair_is_named(filled: str) -> None:
    """Exchanging two rows' contents (everything but seq) fails at the first of them."""
    with raw(filled) as db:
        three, four = row(db, 3), row(db, 4)
        for seq, values in ((3, four), (4, three)):
            names = ("stream", "type", "at", "payload", "prev_hash", "hash")
            columns = dict(zip(names, values[1:], strict=True))
            sql(
                db,
                "UPDATE events SET stream=:stream, type=:type, at=:at, payload=:payload,"
                " prev_hash=:prev_hash, hash=:hash WHERE seq = :seq",
                seq=seq,
                **columns,
            )
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_a_pair_swapped_by_seq_is_named(filled: str) -> None:
    """Exchanging two rows' seqs (so they read back in swapped order) fails at the first."""
    with raw(filled) as db:
        sql(db, "UPDATE events SET seq = -1 WHERE seq = 7")
        sql(db, "UPDATE events SET seq = 7 WHERE seq = 8")
        sql(db, "UPDATE events SET seq = 8 WHERE seq = -1")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 7)


def test_an_inserted_row_is_named(filled: str) -> None:
    """A row inserted mid-chain, correctly hashed onto its predecessor, breaks the next row."""
    with raw(filled) as db:
        # Make room at seq 4, as an insert into a seq-numbered log has to.
        sql(db, "UPDATE events SET seq = -seq WHERE seq >= 4")
        sql(db, "UPDATE events SET seq = 1 - seq WHERE seq < 0")
        _seq, stream, type_, at, payload, _prev, _hash = row(db, 5)
        prev = str(row(db, 3)[6])
        forged = str(payload).replace('"attempt":1', '"attempt":2')
        digest = row_hash(prev, 4, str(stream), str(type_), str(at), forged)
        sql(
            db,
            INSERT_ROW,
            seq=4,
            stream=stream,
            type=type_,
            at=at,
            payload=forged,
            prev_hash=prev,
            hash=digest,
        )
        sql(db, "UPDATE chain_head SET seq = 13")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 5)


def test_a_row_added_after_the_end_is_named(filled: str) -> None:
    """A well-hashed row appended behind the store's back lies beyond the chain head."""
    with raw(filled) as db:
        last = row(db, 12)
        digest = row_hash(str(last[6]), 13, str(last[1]), str(last[2]), str(last[3]), str(last[4]))
        sql(
            db,
            INSERT_ROW,
            seq=13,
            stream=last[1],
            type=last[2],
            at=last[3],
            payload=last[4],
            prev_hash=last[6],
            hash=digest,
        )
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 13)
    assert report.reason is not None
    assert "beyond the chain head" in report.reason


def test_a_rewritten_head_hash_is_named(filled: str) -> None:
    """A head that does not match the last row is reported at the last row."""
    with raw(filled) as db:
        sql(db, "UPDATE chain_head SET hash = :hash", hash="f" * 64)
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 12)
