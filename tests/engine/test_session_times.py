"""The session's times say only what is true. A desk restarted on Tuesday 08:00 IST with
Monday's token (dead since Tuesday 06:00) used to tell a refused session that "expired" on
Wednesday 06:00 and was "in use since" Tuesday 08:00: the expiry was reckoned from when the
desk read the token, not from its unseen login. Now a refused session has no expiry and its
``since`` is the moment of the refusal; an expired one's is its expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.engine.session import SessionState, SessionWatch
from tests.engine.conftest import FAST
from tests.engine.fakes import ExpiringBroker, FakeBroker, MemoryStore, RecordingNotifier
from tests.support import WallClock, eventually

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
DAYS = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset())))


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


@pytest.fixture
def clock() -> WallClock:
    return WallClock(ist(TUESDAY, 8))


def open_desk(broker: FakeBroker, clock: WallClock) -> OrderDesk:
    return OrderDesk(
        broker,
        MemoryStore(),
        notifier=RecordingNotifier(),
        clock=clock,
        config=DAYS,
        limits=RiskLimits(),
    )


def test_a_refused_session_has_no_expiry_and_says_when_it_was_refused() -> None:
    """Refused at 11:00 after starting at 09:26: no expiry (the refusal ended it), ``since`` is
    the first refusal, and a later refusal does not move it. A login then makes it valid
    again, since the login and until the next 06:00."""
    watch = SessionWatch(warning=timedelta(minutes=30))
    watch.started(ist(MONDAY, 9, 26), ist(TUESDAY, 6))
    assert watch.refused("logged out elsewhere", ist(MONDAY, 11))
    assert not watch.refused("reading the order book: Token expired", ist(MONDAY, 11, 5))
    info = watch.info(ist(MONDAY, 11, 10))
    assert info.state is SessionState.REFUSED
    assert info.expires_at is None
    assert info.since == ist(MONDAY, 11)
    assert info.reason == "reading the order book: Token expired"
    watch.started(ist(MONDAY, 11, 20), ist(TUESDAY, 6))
    info = watch.info(ist(MONDAY, 12))
    assert info.state is SessionState.VALID
    assert (info.expires_at, info.since) == (ist(TUESDAY, 6), ist(MONDAY, 11, 20))


def test_an_expired_session_is_expired_since_its_expiry() -> None:
    """Past its 06:00 the session is expired, and both its expiry and its ``since`` are that
    06:00, not the morning before when it began."""
    watch = SessionWatch(warning=timedelta(minutes=30))
    watch.started(ist(MONDAY, 9, 26), ist(TUESDAY, 6))
    info = watch.info(ist(TUESDAY, 7))
    assert info.state is SessionState.EXPIRED
    assert info.expires_at == ist(TUESDAY, 6)
    assert info.since == ist(TUESDAY, 6)


async def test_yesterdays_token_at_a_restart_is_refused_with_no_expiry(clock: WallClock) -> None:
    """The walker's morning: the desk starts on Tuesday 08:00 with Monday's token; the broker
    refuses it, and the desk (and the API's adapter) tell a refused session, refused at 08:00,
    with no Wednesday expiry; a refusal seen later leaves that moment as it was."""
    broker = ExpiringBroker()
    broker.token_dead = True
    async with open_desk(broker, clock) as desk:
        await eventually(
            lambda: desk.session_info().state is SessionState.REFUSED, what="the refusal"
        )
        clock.set(TUESDAY, 8, 30)
        assert not await desk.catch_up()  # the order book is refused again, at 08:30
        status = EngineDesk(desk).session()
        assert status.state == "refused"
        assert status.expires_at is None
        assert status.since == ist(TUESDAY, 8)
        assert "Token expired" in status.reason
