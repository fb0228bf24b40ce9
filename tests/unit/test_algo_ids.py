"""The exchange algo id from config to the wire: which one a strategy's placement carries, and
that the order remembers it from its own events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.brokers.kite.config import load_config
from orderdesk.brokers.kite.mapping import place_form
from orderdesk.config import Settings, StrategySettings
from orderdesk.domain.order import Order
from orderdesk.engine.algo_ids import AlgoIds
from orderdesk.errors import ConfigError
from orderdesk.ports.broker import PlaceOrder
from orderdesk.runtime import algo_ids
from tests.domain.builders import AT, new_order, signal


def test_a_strategys_own_algo_id_wins_over_the_desks() -> None:
    """[strategies.<name>] algo_id, else the broker section's, else none."""
    settings = Settings(
        broker="kite",
        kite={"api_key": "k", "algo_id": " DESK-1 "},
        strategies={"beta": StrategySettings(algo_id="BETA-7"), "gamma": StrategySettings()},
    )
    ids = algo_ids(settings)
    assert ids == AlgoIds(default="DESK-1", by_strategy={"beta": "BETA-7"})
    assert [ids.for_strategy(s) for s in ("alpha", "beta", "gamma")] == [
        "DESK-1",
        "BETA-7",
        "DESK-1",
    ]
    assert AlgoIds().for_strategy("alpha") is None


def test_an_empty_algo_id_is_refused_naming_the_key() -> None:
    """An algo id of blanks is a mistake, not "none"."""
    with pytest.raises(ConfigError) as bad:
        load_config({"api_key": "k", "algo_id": "  "})
    assert "kite.algo_id: " in str(bad.value)


def test_the_placement_form_carries_the_algo_id_only_when_there_is_one() -> None:
    """``algo_id`` is in Kite's form when the command has one, and absent otherwise."""
    order = signal()
    with_id = place_form(PlaceOrder("od1", order, algo_id="A-1"), market_protection=Decimal(-1))
    without = place_form(PlaceOrder("od1", order), market_protection=Decimal(-1))
    assert with_id["algo_id"] == "A-1"
    assert "algo_id" not in without


def test_the_order_knows_its_algo_id_from_its_submitting_event() -> None:
    """Order.submit records the algo id; replaying the events gives it back."""
    order = new_order()
    events = order.submit(AT, algo_id="A-1")
    for event in events:
        order.apply(event)
    assert order.algo_id == "A-1"
    replayed = Order.from_events([Order.create(order.order_id, order.signal, AT), *events])
    assert replayed.algo_id == "A-1"
    assert new_order().algo_id is None
