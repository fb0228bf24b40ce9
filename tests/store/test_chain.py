"""The hash chain itself: the envelope's bytes, linking, and what verification reports."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from orderdesk.domain import Event
from orderdesk.store import InMemoryEventStore
from orderdesk.store.chain import GENESIS_HASH, Head, encode_events, link, row_hash, verify_rows
from orderdesk.store.codec import canonical_json, to_record

Lifecycle = Callable[[int], list[Event]]

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    prev=st.text(max_size=64),
    seq=st.integers(min_value=1, max_value=2**62),
    stream=st.text(),
    type_=st.text(),
    at=st.text(),
    payload=st.dictionaries(st.text(), _json, max_size=4),
)
def test_row_hash_covers_the_canonical_json_of_the_whole_envelope(
    prev: str, seq: int, stream: str, type_: str, at: str, payload: dict[str, object]
) -> None:
    """The text-built envelope is byte for byte canonical_json of the dict it stands for."""
    envelope = {"at": at, "payload": payload, "seq": seq, "stream": stream, "type": type_}
    expected = hashlib.sha256((prev + canonical_json(envelope)).encode()).hexdigest()
    assert row_hash(prev, seq, stream, type_, at, canonical_json(payload)) == expected


def test_link_starts_at_genesis_and_chains_each_row_to_the_last(lifecycle: Lifecycle) -> None:
    """Rows get consecutive seqs and each prev_hash is the hash of the row before."""
    rows, head = link(encode_events(lifecycle(0)), Head())
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert head == Head(6, rows[-1].hash)


# The head after order_lifecycle(0..4) and desk_event(1), recorded when the codec began to
# write format 2 (msgspec), and recorded again when OrderCreated gained `leg_of` (new created
# events carry "leg_of":null), when OrderSubmitting gained `algo_id` ("algo_id":null) and when
# KillSwitchChanged gained `by_loss_limit` ("by_loss_limit":false) and OrderStatusChanged
# `cancelled_outside` ("cancelled_outside":false). The same log in format 1
# ended at 47a09238…, the first 31 rows of tests/fixtures/log_format1.jsonl, which
# test_log_formats holds to it.
RECORDED_HEAD = Head(31, "bfcb94bb36cc363deb4903b54f1c95db27d2f93e059a87ee06009c6373cf4df0")


def test_the_chain_of_a_fixed_log_is_the_one_recorded_for_format_2(
    lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """Every byte an append hashes is unchanged: a known log still ends at the recorded head."""
    store = InMemoryEventStore()
    for n in range(5):
        store.append(lifecycle(n))
    store.append([desk(1)])
    assert store.chain_head == RECORDED_HEAD


def test_link_hashes_each_row_as_row_hash_defines(lifecycle: Lifecycle) -> None:
    """The envelope pieces prepared before the lock hash to exactly row_hash of the row."""
    rows, _ = link(encode_events(lifecycle(7)), Head(41, "ab" * 32))
    for row in rows:
        assert row.hash == row_hash(
            row.prev_hash, row.seq, row.stream, row.type, row.at, row.payload
        )
    assert rows[0].seq == 42


def test_payload_and_at_are_stored_as_the_codec_writes_them(lifecycle: Lifecycle) -> None:
    """The payload column is canonical JSON and ``at`` is the payload's UTC ISO time."""
    (event,) = lifecycle(3)[:1]
    (encoded,) = encode_events([event])
    assert encoded.text == canonical_json(to_record(event)[1])
    assert encoded.text == canonical_json(json.loads(encoded.text))
    assert encoded.at == "2026-01-05T03:48:00+00:00"
    assert encoded.stream == json.loads(encoded.text)["order_id"]


def test_an_intact_memory_store_verifies(lifecycle: Lifecycle) -> None:
    """Two appends to the in-memory store make one chain that verifies in full."""
    store = InMemoryEventStore()
    store.append(lifecycle(0))
    store.append(lifecycle(1))
    report = store.verify()
    assert report.ok
    assert report.rows == 12
    assert report.first_bad_seq is None


def test_an_empty_store_verifies() -> None:
    """No rows and a genesis head is a valid (empty) chain."""
    report = InMemoryEventStore().verify()
    assert report.ok
    assert report.rows == 0


def test_verification_names_an_edited_row(lifecycle: Lifecycle) -> None:
    """Changing a payload makes that row's hash wrong."""
    store = InMemoryEventStore()
    store.append(lifecycle(0))
    row = store.rows[2]
    store.rows[2] = row._replace(payload=row.payload.replace("25010500", "99999999"))
    report = store.verify()
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.reason is not None
    assert "hash" in report.reason


def test_an_edit_with_a_recomputed_hash_breaks_the_next_row(lifecycle: Lifecycle) -> None:
    """Rehashing an edited row still leaves the following row pointing at the old hash."""
    store = InMemoryEventStore()
    store.append(lifecycle(0))
    row = store.rows[2]
    payload = row.payload.replace("25010500", "99999999")
    digest = row_hash(row.prev_hash, row.seq, row.stream, row.type, row.at, payload)
    store.rows[2] = row._replace(payload=payload, hash=digest)
    report = store.verify()
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.reason is not None
    assert "prev_hash" in report.reason


def test_a_non_canonical_payload_is_reported_even_if_it_means_the_same(
    lifecycle: Lifecycle,
) -> None:
    """Re-spacing the stored JSON counts as an edit: the bytes are what is attested."""
    store = InMemoryEventStore()
    store.append(lifecycle(0))
    row = store.rows[0]
    store.rows[0] = row._replace(payload=json.dumps(json.loads(row.payload), indent=1))
    report = store.verify()
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.reason is not None
    assert "canonical" in report.reason


def test_a_dropped_tail_is_caught_by_the_head(lifecycle: Lifecycle) -> None:
    """Deleting the last row leaves a valid chain, but shorter than the recorded head."""
    store = InMemoryEventStore()
    store.append(lifecycle(0))
    del store.rows[-1]
    report = store.verify()
    assert (report.ok, report.first_bad_seq) == (False, 6)
    assert report.reason is not None
    assert "missing" in report.reason


def test_verify_rows_stops_at_the_first_failure(lifecycle: Lifecycle) -> None:
    """With two damaged rows the earlier one is named and later rows are not counted."""
    rows, head = link(encode_events(lifecycle(0)), Head())
    rows[1] = rows[1]._replace(stream="other")
    rows[4] = rows[4]._replace(type="OrderAccepted")
    report = verify_rows(rows, head)
    assert (report.ok, report.first_bad_seq, report.rows) == (False, 2, 2)


def test_status_rows_written_before_fills_existed_still_verify_and_replay(
    lifecycle: Lifecycle,
) -> None:
    """Logs from before OrderStatusChanged carried fills stay valid: their rows verify as
    stored and decode to the same events, with no fills."""
    events = lifecycle(0)
    rows, _ = link(encode_events(events), Head())
    old_rows = []
    prev = GENESIS_HASH
    for row in rows:
        payload = json.loads(row.payload)
        if row.type == "OrderStatusChanged":
            assert payload.pop("fills") == []  # as the codec wrote it before the field existed
        text = canonical_json(payload)
        digest = row_hash(prev, row.seq, row.stream, row.type, row.at, text)
        old_rows.append(row._replace(payload=text, prev_hash=prev, hash=digest))
        prev = digest
    assert any(r.type == "OrderStatusChanged" for r in old_rows)
    assert verify_rows(old_rows, Head(len(old_rows), prev)).ok
    assert [row.to_stored().event() for row in old_rows] == events
