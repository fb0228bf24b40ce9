"""PriceWatch without a broker session: the instruments wait for the login, said once, not
once per instrument at every request, and are subscribed when a session arrives."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from orderdesk.domain.values import InstrumentKey
from orderdesk.engine.prices import PriceWatch
from orderdesk.engine.session import SessionWatch
from orderdesk.errors import BrokerAuthError, BrokerTransportError

INFY = InstrumentKey.parse("NSE:INFY")
TCS = InstrumentKey.parse("NSE:TCS")
SBIN = InstrumentKey.parse("NSE:SBIN")
HELD = [INFY, TCS, SBIN]
ATTEMPTS = 50
"""Turns of the desk's clock loop, each asking for what is held (one a second in a real desk)."""
LOGGER = "orderdesk.engine.prices"


class SubscribingBroker:
    """Records every subscribe call; raises ``error`` while it is set."""

    def __init__(self) -> None:
        self.calls: list[list[InstrumentKey]] = []
        self.error: Exception | None = None

    async def subscribe_prices(self, instruments: Sequence[InstrumentKey]) -> None:
        self.calls.append(list(instruments))
        if self.error is not None:
            raise self.error


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


async def test_without_a_session_nothing_is_asked_and_the_wait_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before the morning login many requests for the held instruments send nothing and log one
    line; once the session starts the next request subscribes them all, in one call, and one
    line says so."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    broker = SubscribingBroker()
    session = SessionWatch(warning=timedelta(minutes=30))
    session.missing("nobody has logged in yet")
    prices = PriceWatch(broker, session)

    for _ in range(ATTEMPTS):
        prices.want(HELD)
        await prices.idle()
    waiting = lines(caplog)
    session.started(datetime.now(UTC), None)
    prices.want(HELD)
    await prices.idle()

    assert broker.calls[:-1] == []
    assert sorted(broker.calls[-1], key=str) == sorted(HELD, key=str)
    assert prices.subscribed == set(HELD)
    assert prices.waiting == set()
    assert len(waiting) == 1, waiting
    assert "wait for the broker session (nobody has logged in yet)" in waiting[0]
    assert "3 instrument(s)" in waiting[0]
    assert lines(caplog)[1:] == [
        "price subscriptions resumed: the broker took them with its session"
    ]


async def test_a_refused_session_is_one_line_for_every_attempt_and_instrument(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broker that refuses the session (the desk not yet aware of it) costs one request per
    attempt, never one per instrument, and one line in all; the instruments are subscribed once
    the broker takes the session again."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    broker = SubscribingBroker()
    broker.error = BrokerAuthError("Incorrect `api_key` or `access_token`.", http_status=403)
    prices = PriceWatch(broker)

    for _ in range(ATTEMPTS):
        prices.want(HELD)
        await prices.idle()
    refused = lines(caplog)
    broker.error = None
    prices.want([])  # the clock loop's next turn: nothing new, the waiting ones go
    await prices.idle()

    assert len(broker.calls) == ATTEMPTS + 1
    assert all(len(call) == len(HELD) for call in broker.calls)
    assert len(refused) == 1, refused
    assert "wait for the broker session (Incorrect `api_key` or `access_token`.)" in refused[0]
    assert prices.subscribed == set(HELD)
    assert len(lines(caplog)) == 2
    assert "resumed" in lines(caplog)[1]


async def test_a_transient_failure_with_a_session_is_logged_once_per_instrument(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With a session, an unreachable broker is logged once per instrument however often the
    subscription is asked again, and the instrument is subscribed when the broker answers."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    broker = SubscribingBroker()
    broker.error = BrokerTransportError("cannot connect to Kite (Connection refused)")
    prices = PriceWatch(broker)

    for _ in range(ATTEMPTS):
        prices.want([INFY])
        await prices.idle()
    failed = lines(caplog)
    broker.error = None
    prices.want([INFY])
    await prices.idle()

    assert len(failed) == 1, failed
    assert failed[0].startswith("subscribing NSE:INFY failed: BrokerTransportError")
    assert prices.subscribed == {INFY}
    assert len(lines(caplog)) == 1  # nothing waited for a login: nothing to say resumed


async def test_an_unknown_instrument_is_refused_and_the_rest_subscribed() -> None:
    """An instrument the broker does not know fails the batch; the others are subscribed one
    by one and the unknown one is not asked for again."""

    class UnknownTcs(SubscribingBroker):
        async def subscribe_prices(self, instruments: Sequence[InstrumentKey]) -> None:
            self.calls.append(list(instruments))
            if TCS in instruments:
                raise ValueError("NSE:TCS is not in today's instrument list")

    broker = UnknownTcs()
    prices = PriceWatch(broker)

    prices.want(HELD)
    await prices.idle()
    prices.want(HELD)
    await prices.idle()

    assert prices.subscribed == {INFY, SBIN}
    assert prices.refused == {TCS}
    assert len(broker.calls) == 1 + len(HELD)  # the batch, then each alone; nothing after
