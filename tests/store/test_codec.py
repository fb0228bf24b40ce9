"""Events survive the trip to JSON and back, byte-stably, and byte-identically to a plain
recursive reference walk of each canonical format (the hash chain covers those bytes): format 2,
which the codec writes, and format 1, which every log written before it holds and which it
still reads."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.domain import (
    BrokerStatus,
    Event,
    InstrumentKey,
    KillSwitchChanged,
    OrderAccepted,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
    OrderFillRecorded,
    OrderModified,
    OrderModifyRejected,
    OrderModifyRequested,
    OrderStatus,
    OrderStatusChanged,
    OrderSubmitRejected,
    OrderSubmitting,
    OrderSubmitUnknown,
    OrderTransitionRefused,
    OrderType,
    OrderUpdateIgnored,
    Product,
    ReconciliationCompleted,
    ReconciliationMismatch,
    Side,
    Signal,
    SignalDenied,
    Validity,
    Variety,
)
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import CarriedPosition, Holding, PositionSnapshot
from orderdesk.domain.events import (
    EVENT_TYPES,
    ApprovalDecided,
    AutosliceAnswered,
    AutosliceFailed,
    AutosliceSent,
    BrokerSquaredOff,
    DayClosed,
    DayOpened,
    ExitRepriced,
    ExitStarted,
    ExitUnfilled,
    LossLimitReached,
    OperatorCommandHandled,
    OrderLapsed,
    OrderSubmitDeferred,
    OrderWithdrawn,
    PositionConversionRefused,
    PositionConversionRequested,
    PositionConverted,
    SessionLost,
    SessionRenewed,
    SignalParked,
    TriggerDeleted,
    TriggerEnded,
    TriggerModified,
    TriggerPlaced,
    TriggerRang,
)
from orderdesk.domain.reports import AlertOrder, GttOrderLeg, GttTrigger, PriceAlert
from orderdesk.store.codec import (
    FORMAT,
    FORMAT_KEY,
    canonical_json,
    canonical_text,
    decode,
    encode,
    from_record,
    is_canonical_json,
    to_record,
)
from tests.domain.builders import AT, fill, signal

IST = timezone(timedelta(hours=5, minutes=30))


def reference_encode(value: object) -> Any:
    """The codec's encoder as it was before it was compiled per type: the definition of
    format 1, kept verbatim so that logs written in it are held to it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; convert to UTC at the edge")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):  # added with trading days; datetime, its subclass, goes first
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        items = [reference_encode(item) for item in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: reference_encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and f.repr
        }
    if isinstance(value, dict):
        return {str(k): reference_encode(v) for k, v in value.items()}
    raise TypeError(f"cannot encode {type(value).__name__}")


def reference_json(payload: Any) -> str:
    """canonical_json as it was: one json.dumps per payload."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def reference_encode_2(value: object) -> Any:
    """Format 2 by the same walk: a time in UTC is spelled with Z (as msgspec writes a zero
    offset), and a dataclass is written with all its fields (events have no others)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; convert to UTC at the edge")
        return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"
    if isinstance(value, tuple | list | frozenset | set):
        items = [reference_encode_2(item) for item in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: reference_encode_2(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(k): reference_encode_2(v) for k, v in value.items()}
    return reference_encode(value)


def reference_text_2(event: Event) -> str:
    """An event's format-2 payload text: its fields, led by the format marker."""
    return reference_json({FORMAT_KEY: 2, **reference_encode_2(event)})


def reference_text_1(event: Event) -> str:
    """An event's format-1 payload text, as every row written before format 2 holds it."""
    return reference_json(reference_encode(event))


_CONVERSION = PositionConversion(
    instrument=InstrumentKey.parse("NFO:NIFTY26DECFUT"),
    side=Side.BUY,
    quantity=65,
    old_product=Product.MIS,
    new_product=Product.NRML,
)


def every_event() -> list[Event]:
    """At least one event of every registered type, with optional fields both set and empty,
    non-UTC and sub-second times, non-ASCII text and unusual Decimal spellings."""
    at_ist = datetime(2026, 11, 23, 9, 15, 0, 123456, tzinfo=IST)
    iceberg = signal(
        variety=Variety.ICEBERG,
        quantity=100,
        iceberg_legs=4,
        iceberg_quantity=25,
        validity=Validity.TTL,
        validity_ttl=5,
        disclosed_quantity=10,
        signal_id="s-ice",
        tag="ice1",
        strategy="mean_rev-2",
    )
    stop = signal(
        order_type=OrderType.SL_M,
        side=Side.SELL,
        price=None,
        trigger_price=Decimal("1.50E+3"),
        market_protection=Decimal("-1"),
        product=Product.MIS,
    )
    auction = signal(variety=Variety.AUCTION, auction_number="22", price=Decimal("0.0500"))
    unicode_text = 'रुपया ₹ "quoted" \\ back\nslash\t\u2028 \x00 é'
    return [
        OrderCreated(at=AT, order_id="od1", signal=signal(tag="x1", signal_id="s-1")),
        OrderCreated(
            at=at_ist,
            order_id="od2",
            signal=iceberg,
            parent_id="od1",
            external=True,
            broker_order_id="250101000000009",
        ),
        OrderCreated(at=AT, order_id="od3", signal=stop),
        OrderCreated(at=AT, order_id="od4", signal=auction),
        OrderSubmitting(at=AT, order_id="od1", attempt=2),
        OrderSubmitUnknown(at=at_ist, order_id="od1", reason=unicode_text),
        OrderSubmitRejected(at=AT, order_id="od1", reason="InputException: bad price"),
        OrderAccepted(at=AT, order_id="od1", broker_order_id="250101000000001"),
        OrderStatusChanged(
            at=AT,
            order_id="od1",
            status=OrderStatus.OPEN,
            base_status=OrderStatus.OPEN,
            broker_status=BrokerStatus.OPEN,
            broker_status_text="OPEN",
            filled_quantity=0,
            average_price=Decimal("0.10"),
            broker_order_id="1",
        ),
        OrderStatusChanged(
            at=AT + timedelta(microseconds=1),
            order_id="od1",
            status=OrderStatus.REJECTED,
            base_status=OrderStatus.REJECTED,
            broker_status=BrokerStatus.REJECTED,
            broker_status_text="REJECTED",
            filled_quantity=0,
            average_price=Decimal("-0"),
            broker_order_id="1",
            message=unicode_text,
        ),
        OrderStatusChanged(
            at=AT,
            order_id="od1",
            status=OrderStatus.PARTIALLY_FILLED,
            base_status=OrderStatus.PARTIALLY_FILLED,
            broker_status=BrokerStatus.OPEN,
            broker_status_text="OPEN",
            filled_quantity=5,
            average_price=Decimal("1500.25"),
            broker_order_id="1",
            fills=(fill("t1", 2, "1500.5"), fill("t2", 3, "1500.0833")),
        ),
        OrderModifyRequested(
            at=AT,
            order_id="od1",
            quantity=5,
            price=Decimal("1501"),
            trigger_price=None,
            order_type=OrderType.LIMIT,
        ),
        OrderModified(
            at=AT,
            order_id="od1",
            quantity=5,
            price=None,
            trigger_price=Decimal("1E-2"),
            order_type=OrderType.SL_M,
            external=True,
        ),
        OrderModifyRejected(at=AT, order_id="od1", reason="too late"),
        OrderCancelRequested(at=AT, order_id="od1"),
        OrderCancelRejected(at=AT, order_id="od1", reason="already complete"),
        OrderFillRecorded(at=AT, order_id="od1", fill=fill("t1", 3), inferred=True),
        OrderFillRecorded(
            at=AT,
            order_id="od1",
            fill=dataclasses.replace(
                fill("t2", 2, "99999999.99", Side.SELL),
                filled_at=at_ist,
                exchange_order_id="1100000000000001",
                instrument=InstrumentKey.parse("NFO:NIFTY26NOV24000CE"),
            ),
        ),
        OrderUpdateIgnored(
            at=AT,
            order_id="od1",
            reason="stale",
            broker_status_text="OPEN",
            filled_quantity=0,
        ),
        OrderTransitionRefused(at=AT, order_id="od1", detail="FILLED -> OPEN"),
        SignalDenied(at=AT, signal=signal(), check="max_quantity", reason="too big"),
        KillSwitchChanged(at=AT, engaged=True, reason="drill"),
        KillSwitchChanged(at=at_ist, engaged=False, reason="", cancel_open=True),
        ReconciliationMismatch(at=AT, kind="missed_fill", detail="t9", order_id="od1"),
        ReconciliationMismatch(at=AT, kind="position", detail="NSE:INFY 10 != 0"),
        ReconciliationCompleted(at=AT, orders_checked=3, trades_checked=2**40, mismatches=0),
        OrderSubmitDeferred(at=AT, order_id="od1", reason="session refused"),
        OrderLapsed(at=AT, order_id="od1", day=date(2026, 11, 23), reason=unicode_text),
        DayOpened(at=AT, day=date(2026, 11, 24)),
        DayOpened(
            at=at_ist,
            day=date(2026, 11, 25),
            positions=(
                CarriedPosition(
                    instrument=InstrumentKey.parse("NFO:NIFTY26NOVFUT"),
                    product=Product.NRML,
                    quantity=-75,
                    close_price=Decimal("24010.05"),
                    average_price=Decimal("23999.9"),
                    multiplier=Decimal("1"),
                ),
            ),
            holdings=(
                Holding(
                    instrument=InstrumentKey.parse("NSE:INFY"),
                    quantity=10,
                    t1_quantity=5,
                    average_price=Decimal("1500.5"),
                    close_price=Decimal("1510"),
                ),
            ),
            carried_orders=("od1", "od2"),
            kill_switch=True,
            kill_switch_reason=unicode_text,
        ),
        DayClosed(
            at=AT,
            day=date(2026, 11, 23),
            pnl=Decimal("-1000.50"),
            realised=Decimal("0"),
            positions=(
                PositionSnapshot(
                    instrument=InstrumentKey.parse("NSE:INFY"),
                    product=Product.MIS,
                    quantity=0,
                    overnight_quantity=0,
                    average_price=Decimal("0"),
                    last_price=None,
                    realised=Decimal("-1000.50"),
                    unrealised=Decimal("0"),
                    pnl=Decimal("-1000.50"),
                    buy_quantity=10,
                    sell_quantity=10,
                ),
            ),
            orders=4,
            fills=6,
            lapsed=("od3",),
            still_open=("od4",),
        ),
        SessionRenewed(at=AT, expires_at=at_ist, source="api"),
        SessionLost(at=AT, reason="TokenException"),
        BrokerSquaredOff(at=AT, order_id="od9", detail="NSE:INFY MIS SELL 10"),
        TriggerPlaced(
            at=at_ist,
            trigger_id="gtt-101",
            kind="gtt",
            strategy="swing",
            broker_id="101",
            gtt=GttTrigger(
                instrument=InstrumentKey.parse("NSE:INFY"),
                trigger_values=(Decimal("1300.5"), Decimal("1700")),
                last_price=Decimal("1500"),
                orders=(
                    GttOrderLeg(
                        side=Side.SELL, quantity=1, price=Decimal("1299"), product=Product.CNC
                    ),
                    GttOrderLeg(
                        side=Side.SELL, quantity=1, price=Decimal("1701"), product=Product.CNC
                    ),
                ),
                trigger_id=101,
                status="active",
                kind="two-leg",
            ),
        ),
        TriggerPlaced(
            at=AT,
            trigger_id="alert-a5a2",
            kind="alert",
            strategy="meanrev",
            broker_id="a5a2",
            price_alert=PriceAlert(
                name="buy the dip née",
                instrument=InstrumentKey.parse("NSE:INFY"),
                operator="<=",
                value=Decimal("1400"),
                basket=(
                    AlertOrder(
                        instrument=InstrumentKey.parse("NSE:INFY"),
                        side=Side.BUY,
                        quantity=3,
                        product=Product.CNC,
                        price=Decimal("1401"),
                    ),
                ),
                alert_id="a5a2",
                status="enabled",
            ),
        ),
        TriggerModified(at=AT, trigger_id="gtt-101"),
        TriggerDeleted(at=AT, trigger_id="gtt-101", reason="deleted through the API"),
        TriggerEnded(
            at=AT, trigger_id="alert-a5a2", state="fired", detail="fired", order_ids=("1", "2")
        ),
        TriggerRang(at=AT, trigger_id="alert-b6", fired=2, detail="rang"),
        OperatorCommandHandled(
            at=at_ist, operator="telegram:-100123", command="kill", outcome="kill switch engaged"
        ),
        OperatorCommandHandled(
            at=AT, operator="telegram:42", command="reject", params="ap1 née", outcome="rejected"
        ),
        SignalParked(
            at=at_ist,
            approval_id="ap0a1b2c3d4e5f",
            strategy="mean_rev",
            signal_id="mr-2026-11-23-née",
            terms="BUY 10 NSE:INFY",
            expires_at=at_ist,
        ),
        SignalParked(
            at=AT,
            approval_id="ap0a1b2c3d4e61",
            strategy="mean_rev",
            signal_id=None,
            terms="SELL 1 NFO:NIFTY26DECFUT",
            expires_at=AT,
        ),
        ApprovalDecided(
            at=at_ist,
            approval_id="ap0a1b2c3d4e5f",
            strategy="mean_rev",
            signal_id="mr-2026-11-23-née",
            decision="REJECTED",
            reason="too close to the close",
        ),
        ApprovalDecided(
            at=AT,
            approval_id="ap0a1b2c3d4e60",
            strategy="mean_rev",
            signal_id="mr-2026-11-23-2",
            decision="APPROVED",
            order_id="od25",
        ),
        PositionConversionRequested(at=at_ist, conversion=_CONVERSION, operator="api"),
        PositionConverted(at=AT, conversion=_CONVERSION, source="desk"),
        PositionConverted(
            at=AT, conversion=replace(_CONVERSION, side=Side.SELL, overnight=True), source="broker"
        ),
        PositionConversionRefused(at=AT, conversion=_CONVERSION, reason="Kite says nö"),
        AutosliceSent(at=AT, order_id="od20", algo_id="ALGO-1"),
        AutosliceSent(at=at_ist, order_id="od21"),
        AutosliceAnswered(
            at=AT, order_id="od20", broker_parent_id="2501", placed=("2502", "2503"), refused=()
        ),
        AutosliceAnswered(
            at=AT, order_id="od21", broker_parent_id="2504", placed=("2505",), refused=("od21.2",)
        ),
        AutosliceFailed(at=AT, order_id="od22", reason="InputException: too many slices"),
        AutosliceFailed(at=AT, order_id="od23", reason="no answer", unknown=True),
        ExitStarted(
            at=at_ist,
            order_id="od24",
            reprice_after=Decimal("2.5"),
            max_reprices=3,
            band_percent=Decimal(2),
        ),
        ExitRepriced(
            at=AT,
            order_id="od24",
            attempt=1,
            last_price=Decimal("1411.2"),
            price=Decimal("1382.98"),
        ),
        ExitUnfilled(at=AT, order_id="od24", reprices=3, remaining=5, detail="book too thin"),
        OrderWithdrawn(at=AT, order_id="od1", reason="cancelled while held for a login"),
        LossLimitReached(
            at=AT, day=date(2026, 11, 23), pnl=Decimal("-200.05"), limit=Decimal("150")
        ),
        LossLimitReached(
            at=at_ist,
            day=date(2026, 11, 23),
            strategy="mean_rev",
            pnl=Decimal("-110"),
            limit=Decimal("100"),
        ),
    ]


def test_the_samples_cover_every_event_type() -> None:
    """The byte-identity tests below see every type the registry can store."""
    assert {type(event).__name__ for event in every_event()} == set(EVENT_TYPES)


def _dataclasses_in(hint: Any) -> set[type]:
    """Every dataclass a value of ``hint`` can hold, ``hint`` itself included."""
    found: set[type] = set()
    for arg in typing.get_args(hint):
        found |= _dataclasses_in(arg)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        found.add(hint)
        for field_hint in typing.get_type_hints(hint).values():
            found |= _dataclasses_in(field_hint)
    return found


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES.values(), key=lambda k: k.__name__))
def test_both_formats_write_the_same_fields_and_the_marker_sorts_first(kind: type) -> None:
    """Every field of an event and of what it holds is an init and repr field (format 1
    wrote only those, format 2 writes all), and every field name sorts after the marker."""
    for dataclass in _dataclasses_in(kind):
        for field in dataclasses.fields(dataclass):
            assert field.init, (dataclass.__name__, field.name)
            assert field.repr, (dataclass.__name__, field.name)
            assert field.name > FORMAT_KEY, (dataclass.__name__, field.name)


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_encoding_is_byte_identical_to_the_reference(event: Event) -> None:
    """The payload text, its JSON data and encode() all match the format-2 reference walk."""
    expected = reference_text_2(event)
    assert canonical_text(event) == expected
    assert to_record(event) == (type(event).__name__, json.loads(expected))
    assert encode(event) == reference_encode_2(event)
    # The same again once every class's walk is cached.
    assert canonical_text(event) == expected
    assert canonical_json(to_record(event)[1]) == expected


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_format_2_differs_from_format_1_only_by_the_marker_and_the_zone_spelling(
    event: Event,
) -> None:
    """Taking the marker out and spelling Z as +00:00 in the times gives format 1's bytes."""
    payload = json.loads(canonical_text(event))
    assert payload.pop(FORMAT_KEY) == FORMAT == 2

    def respell(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: respell(item) for key, item in value.items()}
        if isinstance(value, list):
            return [respell(item) for item in value]
        if isinstance(value, str) and value.endswith("Z") and _is_time(value):
            return value.removesuffix("Z") + "+00:00"
        return value

    assert reference_json(respell(payload)) == reference_text_1(event)


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return len(text) > 10


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_every_event_type_round_trips(event: Event) -> None:
    """Each event decodes from its payload to an equal event that encodes to the same bytes."""
    name, payload = to_record(event)
    again = from_record(name, payload)
    assert again == event
    assert canonical_text(again) == canonical_text(event)


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_a_format_1_payload_decodes_to_the_same_event(event: Event) -> None:
    """Rows written before format 2 (no marker, +00:00 times) still read back exactly."""
    name, payload = type(event).__name__, json.loads(reference_text_1(event))
    again = from_record(name, payload)
    assert again == event
    assert canonical_text(again) == canonical_text(event)


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_a_format_2_payload_is_canonical_by_format_1s_rules_too(event: Event) -> None:
    """json.dumps writes a format-2 payload back to the same bytes, so an orderdesk from before
    format 2 still verifies a newer log (and reads it: it skips the marker, and Python 3.11
    reads a time ending in Z)."""
    text = canonical_text(event)
    assert reference_json(json.loads(text)) == text


def test_decoding_a_stored_payload_reading_it_from_json() -> None:
    """A payload as read back from the database (plain JSON types) decodes to the event."""
    event = every_event()[1]
    assert from_record(type(event).__name__, json.loads(canonical_text(event))) == event


def test_a_close_logged_before_positions_knew_holdings_reads_none_sold_from_them() -> None:
    """``PositionSnapshot.from_holdings`` came later: a stored close without it decodes, as 0."""
    (closed,) = [event for event in every_event() if isinstance(event, DayClosed)]
    kind, payload = to_record(closed)
    positions = payload["positions"]
    assert isinstance(positions, list)
    assert len(positions) == 1
    older = [
        {key: value for key, value in position.items() if key != "from_holdings"}
        for position in positions
        if isinstance(position, dict)
    ]
    assert from_record(kind, {**payload, "positions": older}) == closed


def test_a_payload_in_a_newer_format_is_refused() -> None:
    """A format this codec does not know is an error, not a guess at what the fields mean."""
    event = every_event()[0]
    payload = {**to_record(event)[1], FORMAT_KEY: FORMAT + 1}
    with pytest.raises(ValueError, match="format 3") as exc_info:
        from_record(type(event).__name__, payload)
    assert "reads 1 and 2" in str(exc_info.value)


_json_leaf = st.none() | st.booleans() | st.integers() | st.text()
_json_data = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=16,
)


@given(_json_data)
def test_canonical_json_of_json_data_is_the_one_it_always_was(data: object) -> None:
    """On what a stored payload can hold (no floats: no format writes them), canonical_json
    writes format 1's json.dumps bytes, so the rows of old logs are still canonical."""
    text = canonical_json(data)
    assert text == reference_json(data)
    assert is_canonical_json(text)
    spaced = json.dumps(data, ensure_ascii=False)  # ", " and ": " between items
    assert is_canonical_json(spaced) == (spaced == text)


AWARE_TIMES = st.datetimes(
    # A year in from datetime's ends: every zone's wall time there has a time in UTC and in
    # every other zone (the codec refuses one that has none: test_codec_text).
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.timezones(),
)
_values = st.recursive(
    _json_leaf
    | st.decimals(allow_nan=False, allow_infinity=False)
    | AWARE_TIMES
    | st.sampled_from([*Side, *OrderStatus, *Variety]),
    lambda inner: (
        st.lists(inner, max_size=3).map(tuple)
        | st.lists(inner, max_size=3)
        | st.frozensets(st.text(max_size=3), max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(_values)
def test_any_domain_value_encodes_like_the_reference(value: object) -> None:
    """Beyond events: tuples, sets, dicts, enums, Decimals and aware datetimes match too."""
    assert canonical_json(encode(value)) == reference_json(reference_encode_2(value))


@given(reason=st.text(), price=st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_arbitrary_text_and_prices_match_the_reference(reason: str, price: Decimal) -> None:
    """Any text (quotes, controls, surrogates' neighbours) and any price give the same bytes."""
    for event in (
        OrderSubmitUnknown(at=AT, order_id="od1", reason=reason),
        OrderModified(
            at=AT,
            order_id="od1",
            quantity=1,
            price=price,
            trigger_price=None,
            order_type=OrderType.LIMIT,
        ),
    ):
        assert canonical_text(event) == reference_text_2(event)
        assert from_record(*to_record(event)) == event


_times = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    # Fixed offsets: a wall time in a zone's fold or gap compares unequal to its own UTC
    # instant (PEP 495), which would fail the equality below for a reason not the codec's.
    timezones=st.just(UTC)
    | st.builds(timezone, st.timedeltas(timedelta(hours=-23), timedelta(hours=23))),
)
_signals = st.sampled_from([event.signal for event in every_event() if hasattr(event, "signal")])
_conversions = st.sampled_from(
    [event.conversion for event in every_event() if hasattr(event, "conversion")]
)
_instruments = st.sampled_from(
    [InstrumentKey.parse(text) for text in ("NSE:INFY", "NFO:NIFTY26NOVFUT", "MCX:GOLD-M")]
)


def _for_hint(hint: Any) -> st.SearchStrategy[Any]:
    """Any value of the field type ``hint``, as events declare their fields."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([_for_hint(arg) for arg in typing.get_args(hint)])
    if origin is tuple:
        return st.lists(_for_hint(typing.get_args(hint)[0]), max_size=2).map(tuple)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        bool: st.booleans(),
        int: st.integers(),
        str: st.text(),
        Decimal: st.decimals(allow_nan=False, allow_infinity=False),
        datetime: _times,
        date: st.dates(),
        Signal: _signals,
        PositionConversion: _conversions,
        InstrumentKey: _instruments,
    }
    if hint in simple:
        return simple[hint]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(hint)
    assert dataclasses.is_dataclass(hint), hint
    fields = typing.get_type_hints(hint)
    return st.builds(hint, **{name: _for_hint(field) for name, field in fields.items()})


_events = st.sampled_from(sorted(EVENT_TYPES.values(), key=lambda k: k.__name__)).flatmap(_for_hint)


@given(_events)
def test_any_event_of_any_type_is_written_and_read_as_the_references_say(event: Event) -> None:
    """Events of every type with any field values: format 2 bytes as the reference walk
    writes them, read back equal, and the same event written in format 1 reads back equal."""
    assert canonical_text(event) == reference_text_2(event)
    name = type(event).__name__
    assert from_record(*to_record(event)) == event
    assert from_record(name, json.loads(reference_text_1(event))) == event


def test_a_naive_datetime_is_refused() -> None:
    """Times without a zone raise, as they always did, rather than being stored ambiguously."""
    with pytest.raises(ValueError, match="naive") as exc_info:
        to_record(KillSwitchChanged(at=datetime(2026, 1, 5, 9, 15), engaged=True, reason="x"))
    assert "UTC" in str(exc_info.value)


def test_an_unknown_type_is_refused_by_both_directions() -> None:
    """A value msgspec cannot write raises TypeError; data a hint cannot hold, ValueError."""
    with pytest.raises(TypeError) as encode_error:
        encode(object())
    assert "cannot encode object" in str(encode_error.value)
    with pytest.raises(ValueError, match="Expected `complex`") as decode_error:
        decode(complex, "1j")
    assert "got `str`" in str(decode_error.value)


def test_decimals_are_strings_in_the_payload() -> None:
    """Prices are stored as exact strings, never floats."""
    _, payload = to_record(OrderFillRecorded(at=AT, order_id="od1", fill=fill("t1", 3, "0.1")))
    assert payload["fill"]["price"] == "0.1"
    assert '"price":"0.1"' in canonical_text(
        OrderFillRecorded(at=AT, order_id="od1", fill=fill("t1", 3, "0.1"))
    )
