"""Contract: every upstream Kite sample, served over HTTP, parses into orderdesk's domain."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.errors import MarginException
from orderdesk.brokers.kite.mapping import order_update_to_report
from orderdesk.domain.reports import GttOrderLeg, GttTrigger, OrderStatusReport
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
from orderdesk.ports.broker import OrderChanges, PlaceOrder

from .conftest import FakeKite, Reply

pytestmark = pytest.mark.usefixtures("kite_mocks")

INFY = InstrumentKey(Exchange.NSE, "INFY")
SBIN = InstrumentKey(Exchange.NSE, "SBIN")


def _limit_buy(variety: Variety = Variety.REGULAR) -> PlaceOrder:
    signal = Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1400.5"),
        variety=variety,
    )
    return PlaceOrder("od0123456789abcdefgh", signal)


async def test_orders_sample_maps_every_row(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """The order book sample becomes one report per row with enums, Decimals and UTC times."""
    fake_kite.sample("GET", "/orders", "orders.json")
    reports = await kite.orders()
    assert len(reports) == 10
    first = reports[0]
    assert first.broker_order_id == "100000000000000"
    assert first.status is BrokerStatus.CANCELLED
    assert first.instrument == InstrumentKey(Exchange.CDS, "USDINR21JUNFUT")
    assert first.price == Decimal("72")
    assert first.order_timestamp == datetime(2021, 5, 31, 3, 48, 57, tzinfo=UTC)
    iceberg = reports[3]
    assert iceberg.variety is Variety.ICEBERG
    assert iceberg.validity is Validity.TTL
    assert iceberg.status is BrokerStatus.REJECTED
    assert iceberg.status_message is not None
    assert "Insufficient funds" in iceberg.status_message
    assert iceberg.tag == "icebergord"
    # The row is the first leg (200); the order is meta.iceberg's total, nothing filled.
    assert (iceberg.quantity, iceberg.filled_quantity, iceberg.pending_quantity) == (1000, 0, 0)
    assert reports[6].variety is Variety.AUCTION
    assert reports[7].product is Product.MTF
    assert reports[8].broker_order_id == "1953341975595868160"
    assert reports[8].tags == ("mktp", "mktp:2.00")
    assert reports[9].tags[0] == "autoslice"
    assert reports[2].average_price == Decimal("109.35")


async def test_order_history_sample_walks_statuses(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """The order history sample maps Kite's transient statuses to broker-neutral ones in order."""
    fake_kite.sample("GET", "/orders/171229000724687", "order_info.json")
    history = await kite.order_history("171229000724687")
    assert [h.status for h in history] == [
        BrokerStatus.RECEIVED,
        BrokerStatus.RECEIVED,
        BrokerStatus.RECEIVED,
        BrokerStatus.OPEN,
        BrokerStatus.MODIFY_PENDING,
        BrokerStatus.MODIFY_PENDING,
        BrokerStatus.MODIFIED,
        BrokerStatus.OPEN,
    ]
    assert history[-1].price == Decimal("300.1")
    assert history[0].broker_status_text == "PUT ORDER REQ RECEIVED"


async def test_trades_samples_become_fills(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """Trades and order trades become fills timed by the exchange, in UTC."""
    fake_kite.sample("GET", "/trades", "trades.json")
    fake_kite.sample("GET", "/orders/x/trades", "order_trades.json")
    fills = await kite.trades()
    assert [f.trade_id for f in fills] == ["10000000", "40000000", "70000000", "90000000"]
    assert fills[1].price == Decimal("72.755")
    assert fills[0].filled_at == datetime(2021, 5, 31, 3, 46, 39, tzinfo=UTC)
    assert fills[0].side is Side.BUY
    assert fills[0].quantity == 1
    order_fills = await kite.order_trades("x")
    assert len(order_fills) == 1
    assert order_fills[0].broker_order_id


async def test_positions_sample(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """Net and day positions keep multiplier, overnight quantity and P&L exactly."""
    fake_kite.sample("GET", "/portfolio/positions", "positions.json")
    positions = await kite.positions()
    lead = positions.net[0]
    assert lead.instrument == InstrumentKey(Exchange.MCX, "LEADMINI17DECFUT")
    assert lead.multiplier == Decimal(1000)
    assert lead.buy_value == Decimal(161050)
    guinea = positions.net[1]
    assert guinea.overnight_quantity == 3
    assert guinea.pnl == Decimal(801)
    assert positions.net[2].product is Product.CO
    assert positions.day[0].quantity == -3


async def test_holdings_sample(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """Holdings keep ISIN, quantities and exact prices."""
    fake_kite.sample("GET", "/portfolio/holdings", "holdings.json")
    holdings = await kite.holdings()
    assert holdings[0].isin == "INE721Z01010"
    assert holdings[1].instrument == InstrumentKey(Exchange.BSE, "SBIN")
    assert holdings[1].average_price == Decimal("801.78125")
    assert holdings[1].pnl == Decimal("-629.2999999999993")


async def test_margins_samples(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """Both segments, and each segment alone, parse into exact Decimals."""
    fake_kite.sample("GET", "/user/margins", "margins.json")
    fake_kite.sample("GET", "/user/margins/equity", "margins_equity.json")
    fake_kite.sample("GET", "/user/margins/commodity", "margin_commodity.json")
    both = await kite.margins()
    assert both.equity is not None
    assert both.commodity is not None
    assert both.equity.net == Decimal("99725.05000000002")
    assert both.equity.utilised_span == Decimal(101989)
    equity = await kite.segment_margins("equity")
    assert equity.cash == Decimal("245431.6")
    commodity = await kite.segment_margins("commodity")
    assert commodity.utilised_debits == Decimal("871.17")


async def test_market_data_samples(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """Quote, OHLC and LTP samples map to quotes keyed by the instrument asked for."""
    fake_kite.sample("GET", "/quote", "quote.json")
    fake_kite.sample("GET", "/quote/ohlc", "ohlc.json")
    fake_kite.sample("GET", "/quote/ltp", "ltp.json")
    quote = (await kite.quote([INFY, SBIN]))[INFY]
    assert quote.last_price == Decimal("1412.95")
    assert quote.close == Decimal("1389.65")
    assert quote.upper_circuit_limit == Decimal("1528.6")
    assert quote.volume == 7360198
    assert quote.timestamp == datetime(2021, 6, 8, 10, 15, 56, tzinfo=UTC)
    assert fake_kite.seen[-1].query == [("i", "NSE:INFY"), ("i", "NSE:SBIN")]
    ohlc = (await kite.ohlc([INFY]))[INFY]
    assert (ohlc.open, ohlc.last_price) == (Decimal("1085.8"), Decimal("1075"))
    ltp = await kite.ltp([INFY])
    assert ltp[INFY].last_price == Decimal("1074.35")
    assert ltp[INFY].instrument_token == 408065


async def test_instrument_samples_are_cached_per_day(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """Both instrument dumps parse; a second call the same day is served from memory."""
    fake_kite.sample("GET", "/instruments", "instruments_all.csv")
    fake_kite.sample("GET", "/instruments/NSE", "instruments_nse.csv")
    everything = await kite.instruments()
    assert len(everything) == 99
    assert {i.instrument.exchange for i in everything} == {Exchange.NSE, Exchange.BSE, Exchange.NFO}
    assert await kite.instruments() is everything
    assert fake_kite.count("GET", "/instruments") == 1
    nse = await kite.instruments(Exchange.NSE)
    assert all(i.instrument.exchange is Exchange.NSE for i in nse)
    row = await kite.instrument(InstrumentKey(Exchange.NSE, "CENTRALBK-BE"))
    assert row is not None
    assert row.instrument_token == 3813889
    assert row.tick_size == Decimal("0.05")
    assert fake_kite.count("GET", "/instruments/NSE") == 1


async def test_gtt_samples(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """GTT list, get, place, modify and delete samples all parse."""
    fake_kite.sample("GET", "/gtt/triggers", "gtt_get_orders.json")
    fake_kite.sample("GET", "/gtt/triggers/123", "gtt_get_order.json")
    fake_kite.sample("POST", "/gtt/triggers", "gtt_place_order.json")
    fake_kite.sample("PUT", "/gtt/triggers/123", "gtt_modify_order.json")
    fake_kite.sample("DELETE", "/gtt/triggers/123", "gtt_delete_order.json")
    triggers = await kite.gtt_triggers()
    assert [t.trigger_id for t in triggers] == [112127, 105099]
    assert triggers[1].kind == "two-leg"
    assert triggers[1].trigger_values == (Decimal("102.0"), Decimal("103.7"))
    # Its second leg fired and its placement failed: no order, Kite's reason kept.
    assert triggers[1].order_ids == ()
    (refusal,) = triggers[1].refusals
    assert refusal.startswith("Your order price is lower than the cur")
    one = await kite.gtt_trigger(123)
    assert one.status == "triggered"
    assert len(one.orders) == 2
    trigger = GttTrigger(
        instrument=INFY,
        trigger_values=(Decimal(702),),
        last_price=Decimal(798),
        orders=(
            GttOrderLeg(side=Side.BUY, quantity=1, price=Decimal("702.5"), product=Product.CNC),
        ),
    )
    assert await kite.place_gtt(trigger) == 123
    sent = fake_kite.seen[-1].form
    assert sent["type"] == "single"
    assert json.loads(sent["condition"])["trigger_values"] == [702.0]
    assert json.loads(sent["orders"])[0]["price"] == 702.5
    assert await kite.modify_gtt(123, trigger) == 123
    assert await kite.delete_gtt(123) == 123


async def test_order_margin_and_charges_samples(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """Order margins, basket margins and the virtual contract note parse exactly."""
    fake_kite.sample("POST", "/margins/orders", "order_margins.json")
    fake_kite.sample("POST", "/margins/basket", "basket_margins.json")
    fake_kite.sample("POST", "/charges/orders", "virtual_contract_note.json")
    margins = await kite.order_margins([_limit_buy()])
    assert margins[0].total == Decimal(1498)
    assert margins[0].charges_total == Decimal("1.79255122")
    assert fake_kite.seen[-1].json[0]["tradingsymbol"] == "INFY"
    basket = await kite.basket_margins([_limit_buy(), _limit_buy()])
    assert basket.final.total == Decimal("34786.725000000006")
    assert ("consider_positions", "true") in fake_kite.seen[-1].query
    reports = [_executed(str(n)) for n in range(3)]
    charges = await kite.order_charges(reports)
    assert [c.broker_order_id for c in charges] == ["0", "1", "2"]
    assert charges[1].transaction_tax == Decimal("0.5862")
    assert charges[2].gst == Decimal("3.613527")
    assert fake_kite.seen[-1].json[0]["order_id"] == "0"


def _executed(order_id: str) -> OrderStatusReport:
    return OrderStatusReport(
        broker_order_id=order_id,
        status=BrokerStatus.COMPLETE,
        broker_status_text="COMPLETE",
        instrument=SBIN,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        product=Product.CNC,
        variety=Variety.REGULAR,
        validity=Validity.DAY,
        quantity=1,
        filled_quantity=1,
        pending_quantity=0,
        average_price=Decimal(560),
    )


async def test_session_samples(fake_kite: FakeKite, kite: KiteRestClient, kite_mocks: Path) -> None:
    """Profile, login and logout samples parse, and the login token never shows in a repr."""
    fake_kite.sample("GET", "/user/profile", "profile.json")
    login_reply = json.loads((kite_mocks / "generate_session.json").read_text())
    login_reply["data"]["access_token"] = "fresh-token-42"
    fake_kite.on("POST", "/session/token", Reply.json(login_reply))
    fake_kite.sample("DELETE", "/session/token", "session_logout.json")
    profile = await kite.profile()
    assert profile.user_id == "AB1234"
    assert "NSE" in profile.exchanges
    session = await kite.generate_session("reqtoken", SecretStr("apisecret"))
    assert session.login_time == datetime(2021, 1, 1, 10, 45, 14, tzinfo=UTC)
    assert session.access_token.get_secret_value() == "fresh-token-42"
    assert "fresh-token-42" not in repr(session)
    login = fake_kite.seen[-1]
    assert "Authorization" not in login.headers
    assert len(login.form["checksum"]) == 64
    assert await kite.invalidate_access_token() is True
    logout = fake_kite.seen[-1]
    # The client switched to the new session's token and logs that one out.
    assert ("access_token", "fresh-token-42") in logout.query
    assert logout.headers["Authorization"] == "token kitekey:fresh-token-42"


async def test_order_write_samples(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """Place, modify and cancel replies give back Kite's order id."""
    fake_kite.sample("POST", "/orders/regular", "order_response.json")
    fake_kite.sample("PUT", "/orders/regular/151220000000000", "order_modify.json")
    fake_kite.sample("DELETE", "/orders/regular/151220000000000", "order_cancel.json")
    order_id = await kite.place_order(_limit_buy())
    assert order_id == "151220000000000"
    changes = OrderChanges(price=Decimal("1401"))
    assert await kite.modify_order(order_id, Variety.REGULAR, changes) == order_id
    assert await kite.cancel_order(order_id, Variety.REGULAR) == order_id


async def test_autoslice_sample_keeps_failed_slices(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """The autoslice reply yields the parent id and each slice, a refused one as a typed error."""
    fake_kite.sample("POST", "/orders/regular", "autoslice_response.json")
    result = await kite.place_autoslice_order(_limit_buy())
    assert result.parent_order_id == "1914227164488687616"
    assert [s.order_id for s in result.slices][:2] == ["1914227164534824960", "1914227164580962304"]
    refused = result.slices[2]
    assert refused.order_id is None
    assert isinstance(refused.error, MarginException)
    assert refused.error.http_status == 400
    assert fake_kite.seen[-1].form["autoslice"] == "true"


def test_postback_sample_becomes_a_report(kite_mocks: Path) -> None:
    """The postback body maps to a COMPLETE report with its fill and UTC timestamps."""
    payload = json.loads((kite_mocks / "postback.json").read_text())
    report = order_update_to_report(payload)
    assert report.broker_order_id == "220303000308932"
    assert report.status is BrokerStatus.COMPLETE
    assert report.filled_quantity == 1
    assert report.average_price == Decimal(470)
    assert report.order_timestamp == datetime(2022, 3, 3, 3, 54, 25, tzinfo=UTC)
