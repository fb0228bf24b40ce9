"""End to end against the simulator on 127.0.0.1 port 0: every variety, faults, the broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orderdesk.brokers import BrokerContext
from orderdesk.brokers.kite import create_broker
from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.errors import InputException, TokenException
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import (
    Exchange,
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)
from orderdesk.errors import BrokerAuthError, HoldingsNotAuthorised, UnknownOutcome
from orderdesk.ports.broker import BrokerEvent, OrderChanges, PlaceOrder
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.support import eventually

INFY = InstrumentKey(Exchange.NSE, "INFY")


class Requests:
    """Counts the HTTP requests a client writes, by method and path (a wire ``Trace``)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def written(self, method: str, target: str) -> None:
        self.sent.append((method, target.split("?", 1)[0]))

    def answered(self, method: str, target: str, status: int) -> None:
        pass

    def count(self, method: str, path: str) -> int:
        return self.sent.count((method, path))


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """A simulator on the test's loop: still prices, no rate limits."""
    config = SimConfig(
        host="127.0.0.1", port=0, seed=7, price_tick_interval=None, rate_limits=False
    )
    async with SimServer(config) as server:
        yield server


@pytest.fixture
def requests_seen() -> Requests:
    return Requests()


@pytest.fixture
async def kite(
    sim: SimServer, requests_seen: Requests, no_backoff: None
) -> AsyncIterator[KiteRestClient]:
    """Our client, logged in to the simulator with a fresh access token."""
    config = KiteConfig(api_key=sim.config.api_key, root=sim.rest_root, timeout_seconds=5)
    token = sim.issue_access_token()
    async with KiteRestClient(config, access_token=token, trace=requests_seen) as client:
        yield client


async def _control(sim: SimServer, path: str, body: Any) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(sim.rest_root + path, json=body) as reply,
    ):
        assert reply.status == 200, await reply.text()


async def _prices(sim: SimServer, price: float) -> None:
    await _control(sim, "/_sim/prices", {"NSE:INFY": price})


async def _faults(sim: SimServer, **switches: Any) -> None:
    await _control(sim, "/_sim/faults", switches)


def _signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 10,
        "order_type": OrderType.LIMIT,
        "product": Product.CNC,
        "price": Decimal(1400),
    }
    fields.update(overrides)
    return Signal(**fields)


async def _row(kite: KiteRestClient, order_id: str) -> OrderStatusReport:
    return next(r for r in await kite.orders() if r.broker_order_id == order_id)


async def test_market_order_completes_with_tag_and_fill(
    sim: SimServer, kite: KiteRestClient
) -> None:
    """A MARKET buy carries the tag, walks to COMPLETE in history and yields its trade."""
    await _prices(sim, 1502.5)
    order_id = await kite.place_order(
        PlaceOrder("odsimmarket000000001", _signal(order_type=OrderType.MARKET, price=None))
    )
    history = await kite.order_history(order_id)
    assert [h.status for h in history][-2:] == [BrokerStatus.OPEN, BrokerStatus.COMPLETE]
    assert history[0].status is BrokerStatus.RECEIVED
    row = await _row(kite, order_id)
    assert row.tag == "odsimmarket000000001"
    assert row.average_price == Decimal("1502.5")
    assert row.order_timestamp is not None
    assert row.order_timestamp.utcoffset() is not None
    fills = await kite.order_trades(order_id)
    assert sum(f.quantity for f in fills) == 10
    assert {f.trade_id for f in fills} <= {f.trade_id for f in await kite.trades()}


async def test_regular_limit_place_modify_cancel(sim: SimServer, kite: KiteRestClient) -> None:
    """A resting limit order is modified (history shows MODIFIED) and then cancelled."""
    await _prices(sim, 1500)
    order_id = await kite.place_order(PlaceOrder("odsimregular00000001", _signal()))
    assert (await _row(kite, order_id)).status is BrokerStatus.OPEN
    changes = OrderChanges(price=Decimal("1410.05"), quantity=5)
    assert await kite.modify_order(order_id, Variety.REGULAR, changes) == order_id
    row = await _row(kite, order_id)
    assert (row.price, row.quantity, row.modified) == (Decimal("1410.05"), 5, True)
    assert BrokerStatus.MODIFIED in [h.status for h in await kite.order_history(order_id)]
    assert await kite.cancel_order(order_id, Variety.REGULAR) == order_id
    assert (await _row(kite, order_id)).status is BrokerStatus.CANCELLED


async def test_amo_and_auction_varieties(sim: SimServer, kite: KiteRestClient) -> None:
    """AMO and auction orders are placed, modified and cancelled in their own variety."""
    await _prices(sim, 1500)
    for variety, extra in ((Variety.AMO, {}), (Variety.AUCTION, {"auction_number": "22"})):
        client_id = f"odsim{variety.value}".ljust(20, "0")
        order_id = await kite.place_order(PlaceOrder(client_id, _signal(variety=variety, **extra)))
        row = await _row(kite, order_id)
        assert row.variety is variety
        changes = OrderChanges(price=Decimal(1401))
        assert await kite.modify_order(order_id, variety, changes) == order_id
        assert await kite.cancel_order(order_id, variety) == order_id
        assert (await _row(kite, order_id)).status is BrokerStatus.CANCELLED


async def test_iceberg_with_ttl(sim: SimServer, kite: KiteRestClient) -> None:
    """An iceberg order rests, fills leg by leg, is modified, and another is cancelled."""
    await _prices(sim, 1500)
    signal = _signal(
        variety=Variety.ICEBERG, quantity=30, iceberg_legs=3, iceberg_quantity=10, price=1490
    )
    order_id = await kite.place_order(PlaceOrder("odsimiceberg00000001", signal))
    await _prices(sim, 1489)
    row = await _row(kite, order_id)
    assert (row.variety, row.filled_quantity) == (Variety.ICEBERG, 10)
    # The book row is the second leg; the desk reads the whole order from meta.iceberg.
    assert (row.quantity, row.pending_quantity) == (30, 20)
    assert row.status is BrokerStatus.OPEN
    changes = OrderChanges(price=Decimal(1488))
    assert await kite.modify_order(order_id, Variety.ICEBERG, changes) == order_id
    ttl = _signal(
        variety=Variety.ICEBERG,
        quantity=20,
        iceberg_legs=2,
        iceberg_quantity=10,
        validity=Validity.TTL,
        validity_ttl=5,
    )
    other = await kite.place_order(PlaceOrder("odsimiceberg00000002", ttl))
    assert (await _row(kite, other)).validity is Validity.TTL
    assert await kite.cancel_order(other, Variety.ICEBERG) == other


async def test_cover_order_modify_and_exit(sim: SimServer, kite: KiteRestClient) -> None:
    """A CO's stop leg is modified and then exited through a cancel naming the parent."""
    await _prices(sim, 1500)
    signal = _signal(
        variety=Variety.CO,
        order_type=OrderType.MARKET,
        price=None,
        trigger_price=Decimal(1480),
        product=Product.MIS,
        quantity=2,
    )
    parent = await kite.place_order(PlaceOrder("odsimcover0000000001", signal))
    legs = [r for r in await kite.orders() if r.parent_order_id == parent]
    assert len(legs) == 1
    leg = legs[0]
    assert leg.status is BrokerStatus.TRIGGER_PENDING
    assert leg.side is Side.SELL
    changes = OrderChanges(trigger_price=Decimal(1485))
    await kite.modify_order(leg.broker_order_id, Variety.CO, changes, parent_order_id=parent)
    assert (await _row(kite, leg.broker_order_id)).trigger_price == Decimal(1485)
    await _prices(sim, 1505)
    await kite.exit_cover_order(leg.broker_order_id, parent)
    exited = await _row(kite, leg.broker_order_id)
    assert exited.status is BrokerStatus.COMPLETE
    assert exited.average_price == Decimal(1505)


async def test_sim_input_error_is_typed(sim: SimServer, kite: KiteRestClient) -> None:
    """The simulator's InputException arrives as our InputException with HTTP 400."""
    await _prices(sim, 1500)
    with pytest.raises(InputException) as exc_info:
        await kite.modify_order("999", Variety.REGULAR, OrderChanges(quantity=0))
    assert exc_info.value.http_status == 400


async def test_expired_token_is_typed_and_not_retried(
    sim: SimServer, kite: KiteRestClient, requests_seen: Requests
) -> None:
    """With tokens expired, reads and placements raise a token error after one request each."""
    await _prices(sim, 1500)
    await _faults(sim, expire_tokens=True)
    with pytest.raises(BrokerAuthError) as read_info:
        await kite.orders()
    with pytest.raises(TokenException) as place_info:
        await kite.place_order(PlaceOrder("odsimexpired00000001", _signal()))
    await _faults(sim, expire_tokens=False)
    assert isinstance(read_info.value, TokenException)
    assert place_info.value.http_status == 403
    assert requests_seen.count("GET", "/orders") == 1
    assert requests_seen.count("POST", "/orders/regular") == 1
    # Nothing was half-written: the book holds no order with that tag.
    assert [r for r in await kite.orders() if r.tag == "odsimexpired00000001"] == []


async def test_lost_reply_is_unknown_and_the_tag_resolves_it(
    sim: SimServer, kite: KiteRestClient, requests_seen: Requests
) -> None:
    """When the sim executes a placement but drops the reply, the tag finds the order."""
    await _prices(sim, 1500)
    await _faults(sim, lost_response=1.0)
    with pytest.raises(UnknownOutcome) as exc_info:
        await kite.place_order(PlaceOrder("odsimlost00000000001", _signal()))
    await _faults(sim, lost_response=0.0)
    assert exc_info.value.tag == "odsimlost00000000001"
    assert requests_seen.count("POST", "/orders/regular") == 1
    found = [r for r in await kite.orders() if r.tag == exc_info.value.tag]
    assert len(found) == 1


async def test_503_fault_on_placement_is_unknown_not_resent(
    sim: SimServer, kite: KiteRestClient, requests_seen: Requests
) -> None:
    """A 503 on a placement is an unknown outcome, sent once; reads recover by retrying."""
    await _prices(sim, 1500)
    await _faults(sim, error_5xx=1.0)
    with pytest.raises(UnknownOutcome):
        await kite.place_order(PlaceOrder("odsim5030000000001", _signal()))
    assert requests_seen.count("POST", "/orders/regular") == 1
    await _faults(sim, error_5xx=0.0)
    assert [r for r in await kite.orders() if r.tag == "odsim5030000000001"] == []


async def test_market_data_and_portfolio_read_back(sim: SimServer, kite: KiteRestClient) -> None:
    """Quotes, instruments, positions and margins from the sim parse into the domain."""
    await _prices(sim, 1500)
    await kite.place_order(
        PlaceOrder("odsimportfolio000001", _signal(order_type=OrderType.MARKET, price=None))
    )
    quotes = await kite.quote([INFY])
    assert quotes[INFY].last_price == Decimal(1500)
    assert (await kite.ltp([INFY]))[INFY].last_price == Decimal(1500)
    info = await kite.instrument(INFY)
    assert info is not None
    assert info.tick_size > 0
    positions = await kite.positions()
    assert [p.quantity for p in positions.net if p.instrument == INFY] == [10]
    margins = await kite.margins()
    assert margins.equity is not None


async def test_kite_broker_streams_sim_updates(sim: SimServer, tmp_path: Path) -> None:
    """KiteBroker on the sim: the ticker pushes the fill of a resting order as a COMPLETE report,
    forwarded without a REST read; the trades behind it are there to read."""

    class Secrets:
        def get(self, name: str) -> str | None:
            return token if name == "kite.access_token" else None

        def set(self, name: str, value: str) -> None:
            raise NotImplementedError

        def delete(self, name: str) -> None:
            raise NotImplementedError

    token = sim.issue_access_token()
    options = {
        "api_key": sim.config.api_key,
        "root": sim.rest_root,
        "ws_url": sim.ws_url,
        "rate_limits_enabled": False,
    }
    broker = create_broker(options, BrokerContext(secrets=Secrets(), data_dir=tmp_path))
    events: list[BrokerEvent] = []

    async def collect() -> None:
        async for event in broker.events():
            events.append(event)

    await _prices(sim, 1500)
    async with broker:
        collector = asyncio.create_task(collect())
        order_id = await broker.place_order(PlaceOrder("odsimbroker000000001", _signal()))
        await eventually(
            lambda: any(isinstance(e, OrderStatusReport) for e in events), what="gap-fill"
        )
        await _prices(sim, 1399)

        def filled() -> bool:
            return any(
                isinstance(e, OrderStatusReport)
                and e.broker_order_id == order_id
                and e.status is BrokerStatus.COMPLETE
                and e.filled_quantity == 10
                for e in events
            )

        await eventually(filled, what="the completion")
        fills = await broker.order_trades(order_id)
    with contextlib.suppress(asyncio.CancelledError):
        await collector
    assert sum(f.quantity for f in fills) == 10
    assert len({f.trade_id for f in fills}) == len(fills)


async def test_an_unauthorised_sale_of_holdings_is_typed_and_an_authorisation_lets_it(
    tmp_path: Path, no_backoff: None
) -> None:
    """Without DDPI (the sim's --holdings-authorisation) a CNC sale of holdings is Kite's 428,
    typed HoldingsNotAuthorised; an authorisation asked with repeated isin and quantity fields
    and completed at its page lets that much be sold."""
    config = SimConfig(
        port=0, seed=7, price_tick_interval=None, rate_limits=False, holdings_authorisation=True
    )
    async with SimServer(config) as sim:
        await _prices(sim, 1500)
        held = {"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 10, "average_price": 1}
        await _control(sim, "/_sim/holdings", [held])
        kite_config = KiteConfig(api_key=sim.config.api_key, root=sim.rest_root)
        async with KiteRestClient(kite_config, access_token=sim.issue_access_token()) as kite:
            sale = _signal(side=Side.SELL, quantity=4)
            with pytest.raises(HoldingsNotAuthorised) as refused:
                await kite.place_order(PlaceOrder("odsell00000000000001", sale))
            assert refused.value.http_status == 428
            (holding,) = await kite.holdings()
            request_id = await kite.authorise_holdings({holding.isin: 4})
            page = f"/connect/portfolio/authorise/holdings/{sim.config.api_key}/{request_id}"
            async with (
                aiohttp.ClientSession() as session,
                session.get(sim.rest_root + page) as reply,
            ):
                assert reply.status == 200
            assert await kite.place_order(PlaceOrder("odsell00000000000002", sale))


async def test_a_position_is_converted_and_a_conversion_the_position_cannot_give_is_refused(
    sim: SimServer, kite: KiteRestClient
) -> None:
    """``PUT /portfolio/positions`` with Kite's form fields: the simulator moves the day's
    MIS buy to CNC; more than the position holds is Kite's InputException, typed."""
    await _prices(sim, 1500)
    bought = _signal(order_type=OrderType.MARKET, product=Product.MIS, price=None)
    await kite.place_order(PlaceOrder("odmis000000000000001", bought))
    move = PositionConversion(
        instrument=INFY, side=Side.BUY, quantity=4, old_product=Product.MIS, new_product=Product.CNC
    )

    async def converted() -> dict[Product, int]:
        return {p.product: p.quantity for p in (await kite.positions()).net}

    async def bought_in_full() -> bool:
        return (await converted()).get(Product.MIS) == 10

    await eventually(bought_in_full, what="the MIS buy filled")
    await kite.convert_position(move)
    assert await converted() == {Product.MIS: 6, Product.CNC: 4}
    with pytest.raises(InputException, match="insufficient quantity"):
        await kite.convert_position(replace(move, quantity=7))
    assert await converted() == {Product.MIS: 6, Product.CNC: 4}
