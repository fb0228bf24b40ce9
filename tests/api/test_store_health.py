"""While the event log cannot be used the desk is degraded, says why, and never shows the
database's password: every signal was refused 503 ``store_unavailable`` while ``/api/health``
said ``ok`` (and ``orderdesk status`` "desk ok"), and the refusal named the store's URL with its
password in clear."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from orderdesk.doctor import Status, assess
from orderdesk.domain import Signal
from orderdesk.domain.order import Order
from orderdesk.errors import StoreError
from orderdesk.store import SqlEventStore
from tests.api.conftest import Api
from tests.api.fakes import FakeDesk

PASSWORD = "Hunter2Secret"


def store_error() -> StoreError:
    """What the store raises when its PostgreSQL server is down, from the store itself."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        SqlEventStore(f"postgresql+psycopg://desk:{PASSWORD}@127.0.0.1:{port}/desk")
    except StoreError as exc:
        return exc
    raise AssertionError("a store on a closed port opened")


class StoreDownDesk(FakeDesk):
    """The fake desk with an event log that can be switched off, as the engine's store says."""

    def __init__(self) -> None:
        super().__init__()
        self.log_problem: StoreError | None = None

    def event_log_problem(self) -> str | None:
        return None if self.log_problem is None else str(self.log_problem)

    async def submit(self, signal: Signal) -> Order:
        if self.log_problem is not None:
            raise self.log_problem
        return await super().submit(signal)


@pytest.fixture
def desk() -> FakeDesk:
    return StoreDownDesk()


SIGNAL = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 1,
    "order_type": "MARKET",
    "product": "CNC",
    "strategy": "s1",
    "signal_id": "down-1",
}


async def test_health_is_degraded_with_the_reason_while_the_log_cannot_be_written(
    api: Api,
) -> None:
    """Degraded with the store's reason (its URL's password hidden) while the log cannot be
    used, and the refusal of a signal shows no password; ``ok`` again once it can."""
    desk = api.desk
    assert isinstance(desk, StoreDownDesk)
    desk.log_problem = store_error()
    async with api.client.get("/api/health") as response:
        assert (await response.json())["status"] == "degraded"
    async with api.client.get("/api/health/detail") as response:
        detail = await response.json()
    assert detail["event_log_unwritable"].startswith(
        "cannot open the event store at postgresql+psycopg://desk:***@127.0.0.1:"
    )
    async with api.client.post("/api/signals", json=SIGNAL) as response:
        assert response.status == 503
        body = await response.text()
    assert '"store_unavailable"' in body
    assert ":***@127.0.0.1" in body
    assert PASSWORD not in body + str(detail)

    desk.log_problem = None
    async with api.client.get("/api/health") as response:
        assert (await response.json())["status"] == "ok"
    async with api.client.get("/api/health/detail") as response:
        assert (await response.json())["event_log_unwritable"] is None


async def test_doctor_fails_the_event_log_check_with_the_reason_redacted(api: Api) -> None:
    """The doctor's facts with the store's failure: a failing ``event log`` line saying why
    (no password, even one a driver quoted), and the desk not ready."""
    desk = api.desk
    facts = (await desk.doctor()).facts
    assert {c.name: c.status for c in assess(facts).checks}["event log"] is Status.OK
    reason = f"{store_error()} (the driver said password={PASSWORD})"
    diagnosis = assess(replace(facts, event_log=reason))
    [check] = [c for c in diagnosis.checks if c.name == "event log"]
    assert check.status is Status.FAIL
    assert check.summary.startswith(
        "cannot be written or read: cannot open the event store at postgresql+psycopg://desk:***@"
    )
    assert "check the database server" in check.summary
    assert PASSWORD not in check.summary
    assert not diagnosis.ready
