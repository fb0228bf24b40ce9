"""The exchange's running bookkeeping against fresh recomputation over the whole book.

The blocked margin per user, the per-user order and position indexes and the order book's
encoded rows are kept up to date incrementally (so a placement costs the same at 10,000 resting
orders as at none); these tests drive random operations and compare with the sums a walk over
everything gives.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.envelope import SimError, encode_json, encode_ok, encode_ok_list
from orderdesk.sim.order_params import ModifyRequest, PlaceRequest
from orderdesk.sim.orders import TERMINAL, WORKING, Order, OrderType
from orderdesk.sim.portfolio import Holding

USERS = ("AB1234", "CD5678")
OPEN_AT = datetime(2025, 1, 6, 10, 0)  # a Monday inside the session
CLOSED_AT = datetime(2025, 1, 6, 20, 0)  # the same day after the close: AMOs are held


@dataclass(frozen=True)
class Place:
    user: int
    symbol: int
    buy: bool
    product: str
    order_type: str
    ticks: int
    lots: int
    amo: bool


@dataclass(frozen=True)
class Modify:
    pick: int
    ticks: int
    lots: int


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class Move:
    symbol: int
    ticks: int


@dataclass(frozen=True)
class Hold:
    user: int
    symbol: int
    quantity: int


@dataclass(frozen=True)
class Session:
    open_now: bool


@dataclass(frozen=True)
class PartialFills:
    on: bool


PLACE = st.builds(
    Place,
    user=st.integers(0, 1),
    symbol=st.integers(0, 3),
    buy=st.booleans(),
    product=st.sampled_from(["CNC", "MIS", "NRML"]),
    order_type=st.sampled_from(["MARKET", "LIMIT", "SL", "SL-M"]),
    ticks=st.integers(-6, 6),
    lots=st.integers(1, 4),
    amo=st.booleans(),
)
MOVE = st.builds(Move, symbol=st.integers(0, 3), ticks=st.integers(-8, 8))
# Placements and price moves listed twice: drawn more often, so books fill and orders fill.
OPS = st.one_of(
    PLACE,
    PLACE,
    MOVE,
    MOVE,
    st.builds(Modify, pick=st.integers(0, 50), ticks=st.integers(-6, 6), lots=st.integers(1, 5)),
    st.builds(Cancel, pick=st.integers(0, 50)),
    st.builds(Hold, user=st.integers(0, 1), symbol=st.integers(0, 3), quantity=st.integers(1, 6)),
    st.builds(Session, open_now=st.booleans()),
    st.builds(PartialFills, on=st.booleans()),
)


def _tradables(sim: SimServer) -> list[Any]:
    """Two equities, a future and an option: every branch of the margin model."""
    master = sim.master
    future = next(i for i in master if i.instrument_type == "FUT")
    option = next(i for i in master if i.instrument_type == "CE")
    return [master.by_symbol("NSE", "INFY"), master.by_symbol("NSE", "SBIN"), future, option]


def _fresh_blocked(sim: SimServer, user_id: str) -> Decimal:
    """The blocked margin summed over the whole book, the way it was before the ledger."""
    exchange = sim.exchange
    total = Decimal(0)
    for order in exchange.all_orders():
        if order.user_id != user_id or order.status in TERMINAL or order.parent_order_id:
            continue
        inst = sim.master.by_token(order.instrument_token)
        assert inst is not None
        if order.order_type in (OrderType.LIMIT, OrderType.SL):
            price = order.price
        elif order.order_type is OrderType.SLM:
            price = order.trigger_price
        else:
            price = exchange.last_price(order.instrument_token)
        total += exchange.required_margin(
            user_id,
            inst,
            buy=order.is_buy,
            product=order.product,
            quantity=order.pending_quantity,
            price=price,
        )
    return total


def _price(last: Decimal, tick: Decimal, ticks: int) -> Decimal:
    return max(tick, last + ticks * tick)


def _apply(sim: SimServer, op: object, placed: list[Order]) -> None:
    insts = _tradables(sim)
    if isinstance(op, Place):
        inst = insts[op.symbol]
        tick = Decimal(str(inst.tick_size))
        last = sim.exchange.last_price(inst.instrument_token)
        price = _price(last, tick, op.ticks)
        form = {
            "exchange": inst.exchange,
            "tradingsymbol": inst.tradingsymbol,
            "transaction_type": "BUY" if op.buy else "SELL",
            "quantity": str(op.lots * inst.lot_size),
            "product": op.product if inst.exchange == "NSE" or op.product != "CNC" else "NRML",
            "order_type": op.order_type,
        }
        if op.order_type in ("LIMIT", "SL"):
            form["price"] = str(price)
        if op.order_type in ("SL", "SL-M"):
            form["trigger_price"] = str(price)
        req = PlaceRequest.parse("amo" if op.amo else "regular", form)
        placed.append(sim.exchange.place(USERS[op.user], "k", req))
    elif isinstance(op, Modify | Cancel) and placed:
        order = placed[op.pick % len(placed)]
        if order.status not in WORKING:
            return
        if isinstance(op, Cancel):
            sim.exchange.cancel(order.user_id, str(order.variety), order.order_id)
            return
        inst = sim.master.by_token(order.instrument_token)
        assert inst is not None
        last = sim.exchange.last_price(order.instrument_token)
        new_price = _price(last, Decimal(str(inst.tick_size)), op.ticks)
        form = {"quantity": str(order.filled_quantity + op.lots * inst.lot_size)}
        if order.order_type in (OrderType.LIMIT, OrderType.SL):
            form["price"] = str(new_price)
        change = ModifyRequest.parse(form)
        sim.exchange.modify(order.user_id, str(order.variety), order.order_id, change)
    elif isinstance(op, Move):
        inst = insts[op.symbol]
        tick = Decimal(str(inst.tick_size))
        last = sim.exchange.last_price(inst.instrument_token)
        key = f"{inst.exchange}:{inst.tradingsymbol}"
        sim.market.set_prices({key: float(_price(last, tick, op.ticks))})
    elif isinstance(op, Hold):
        inst = insts[op.symbol]
        price = sim.exchange.last_price(inst.instrument_token)
        holding = Holding(
            USERS[op.user],
            inst.exchange,
            inst.tradingsymbol,
            inst.instrument_token,
            op.quantity,
            price,
            price,
        )
        sim.portfolio.seed_holding(holding)
    elif isinstance(op, Session):
        sim.clock.set(OPEN_AT if op.open_now else CLOSED_AT)
        sim.exchange.sweep()
    elif isinstance(op, PartialFills):
        sim.faults.partial_fill = 0.5 if op.on else 0.0


@settings(
    max_examples=100,
    deadline=None,  # a shared, loaded machine: time is not what this test is about
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(OPS, min_size=20, max_size=80))
def test_running_blocked_margin_equals_a_fresh_sum(ops: list[object]) -> None:
    """After any run of placements, fills, modifications, cancels, price moves, holdings and
    session changes, each user's running blocked margin equals a fresh sum over the book."""
    # Cash enough that few orders are refused for margin: a refused order blocks nothing.
    config = SimConfig(
        port=0,
        seed=3,
        price_tick_interval=None,
        market_hours="nse",
        opening_cash=Decimal(10**9),
    )
    sim = SimServer(config)
    sim.clock.set(OPEN_AT)
    placed: list[Order] = []
    for op in ops:
        # A refusal (closed market, margin, bad modify) is part of the run.
        with contextlib.suppress(SimError):
            _apply(sim, op, placed)
        for user in USERS:
            assert sim.exchange.blocked_margin(user) == _fresh_blocked(sim, user), op
            book = [o for o in sim.exchange.all_orders() if o.user_id == user]
            assert sim.exchange.orders_of(user) == book
            positions = list(sim.portfolio.positions_of(user))
            assert all(p.user_id == user for p in positions)
    sim.reset()
    assert all(sim.exchange.blocked_margin(user) == 0 for user in USERS)


def test_encoded_list_envelope_matches_encoding_the_whole_list() -> None:
    """The book's envelope joined from per-row pieces is byte for byte the one-shot encoding."""
    rows: list[Any] = [{"a": 1, "b": [1.5, None], "c": "é"}, {}, {"x": "y\n"}]
    assert encode_ok_list([encode_json(r) for r in rows]) == encode_ok(rows)
    assert encode_ok_list([]) == encode_ok([])


async def test_book_after_reset_shows_the_new_orders_under_reused_ids(sim: SimServer) -> None:
    """Order ids repeat after a reset with the same seed; the book must show the new orders."""
    token = sim.issue_access_token()
    headers = {"Authorization": f"token {sim.config.api_key}:{token}", "X-Kite-Version": "3"}
    form = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": "1",
        "product": "CNC",
        "order_type": "LIMIT",
    }
    async with aiohttp.ClientSession(sim.rest_root, headers=headers) as http:

        async def place_and_read(price: str) -> list[dict[str, Any]]:
            async with http.post("/orders/regular", data=form | {"price": price}) as reply:
                assert reply.status == 200
            async with http.get("/orders") as reply:
                rows: list[dict[str, Any]] = json.loads(await reply.read())["data"]
            return rows

        first = await place_and_read("1.00")
        sim.reset()
        second = await place_and_read("2.00")
    assert [r["order_id"] for r in first] == [r["order_id"] for r in second]
    assert [r["price"] for r in second] == [2]
