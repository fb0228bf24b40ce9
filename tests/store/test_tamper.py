"""``verify`` on a real SQLite file that was tampered with directly through sqlite3.

Each test writes two order lifecycles (12 rows) through the store, closes it, edits the file
the way someone with the file but not the code might, reopens it and checks that verification
fails at the right row with a reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from orderdesk.domain import Event
from orderdesk.ports.store import VerifyReport
from orderdesk.store import SqlEventStore
from orderdesk.store.chain import row_hash

Lifecycle = Callable[[int], list[Event]]
SELECT_ROW = "SELECT seq, stream, type, at, payload, prev_hash, hash FROM events WHERE seq = ?"
INSERT_ROW = (
    "INSERT INTO events (seq, stream, type, at, payload, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@pytest.fixture
def filled(db_path: Path, lifecycle: Lifecycle) -> Path:
    """A closed store file holding 12 intact rows."""
    with SqlEventStore.open(db_path) as store:
        store.append(lifecycle(0))
        store.append(lifecycle(1))
        assert store.verify().ok
    return db_path


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection that commits on leaving the block."""
    with closing(sqlite3.connect(path)) as connection, connection:
        yield connection


def reverify(path: Path) -> VerifyReport:
    with SqlEventStore.open(path) as store:
        return store.verify()


def row(connection: sqlite3.Connection, seq: int) -> tuple[object, ...]:
    found = connection.execute(SELECT_ROW, (seq,)).fetchone()
    assert found is not None
    return tuple(found)


def test_an_untouched_file_verifies(filled: Path) -> None:
    """The control: reopening the file without changes verifies all 12 rows."""
    report = reverify(filled)
    assert (report.ok, report.rows) == (True, 12)


def test_an_edited_payload_is_named(filled: Path) -> None:
    """Changing the quantity inside one payload breaks that row's hash."""
    with raw(filled) as db:
        db.execute(
            "UPDATE events SET payload = replace(payload, ?, ?) WHERE seq = 1",
            ('"quantity":5', '"quantity":50'),
        )
        assert db.total_changes == 1
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.reason is not None
    assert "edited" in report.reason


def test_an_edited_column_outside_the_payload_is_named(filled: Path) -> None:
    """The time column is covered by the hash too, not only the payload."""
    with raw(filled) as db:
        db.execute("UPDATE events SET at = '2026-01-05T03:59:59+00:00' WHERE seq = 8")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 8)


def test_a_deleted_row_is_named(filled: Path) -> None:
    """Removing a row from the middle reports the missing seq."""
    with raw(filled) as db:
        db.execute("DELETE FROM events WHERE seq = 5")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert report.reason is not None
    assert "missing" in report.reason


def test_a_deleted_and_renumbered_row_is_named(filled: Path) -> None:
    """Closing the gap after a delete still breaks the chain where the row was."""
    with raw(filled) as db:
        db.execute("DELETE FROM events WHERE seq = 5")
        db.execute("UPDATE events SET seq = seq - 1 WHERE seq > 5")
        db.execute("UPDATE chain_head SET seq = seq - 1")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 5)


def test_a_deleted_last_row_is_named(filled: Path) -> None:
    """Truncating the tail is caught by the chain head recorded with each append."""
    with raw(filled) as db:
        db.execute("DELETE FROM events WHERE seq = 12")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 12)


def test_a_swapped_pair_is_named(filled: Path) -> None:
    """Exchanging two rows' contents (everything but seq) fails at the first of them."""
    with raw(filled) as db:
        three, four = row(db, 3), row(db, 4)
        for seq, values in ((3, four), (4, three)):
            db.execute(
                "UPDATE events SET stream=?, type=?, at=?, payload=?, prev_hash=?, hash=?"
                " WHERE seq = ?",
                (*values[1:], seq),
            )
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_a_pair_swapped_by_seq_is_named(filled: Path) -> None:
    """Exchanging two rows' seqs (so they read back in swapped order) fails at the first."""
    with raw(filled) as db:
        db.execute("UPDATE events SET seq = -1 WHERE seq = 7")
        db.execute("UPDATE events SET seq = 7 WHERE seq = 8")
        db.execute("UPDATE events SET seq = 8 WHERE seq = -1")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 7)


def test_an_inserted_row_is_named(filled: Path) -> None:
    """A row inserted mid-chain, correctly hashed onto its predecessor, breaks the next row."""
    with raw(filled) as db:
        # Make room at seq 4, as an insert into a seq-numbered log has to.
        db.execute("UPDATE events SET seq = -seq WHERE seq >= 4")
        db.execute("UPDATE events SET seq = 1 - seq WHERE seq < 0")
        _seq, stream, type_, at, payload, _prev, _hash = row(db, 5)
        prev = str(row(db, 3)[6])
        forged = str(payload).replace('"attempt":1', '"attempt":2')
        digest = row_hash(prev, 4, str(stream), str(type_), str(at), forged)
        db.execute(
            INSERT_ROW,
            (4, stream, type_, at, forged, prev, digest),
        )
        db.execute("UPDATE chain_head SET seq = 13")
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 5)


def test_a_row_added_after_the_end_is_named(filled: Path) -> None:
    """A well-hashed row appended behind the store's back lies beyond the chain head."""
    with raw(filled) as db:
        last = row(db, 12)
        digest = row_hash(str(last[6]), 13, str(last[1]), str(last[2]), str(last[3]), str(last[4]))
        db.execute(
            INSERT_ROW,
            (13, last[1], last[2], last[3], last[4], last[6], digest),
        )
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 13)
    assert report.reason is not None
    assert "beyond the chain head" in report.reason


def test_a_rewritten_head_hash_is_named(filled: Path) -> None:
    """A head that does not match the last row is reported at the last row."""
    with raw(filled) as db:
        db.execute("UPDATE chain_head SET hash = ?", ("f" * 64,))
    report = reverify(filled)
    assert (report.ok, report.first_bad_seq) == (False, 12)
