"""Real domain events for the store tests, and the stores to run them against.

Events are order lifecycles built from ``orderdesk.domain``. ``store_url`` runs a test once on an
SQLite file and once on a database of a throwaway PostgreSQL server (see ``tests/pg.py``), which
is started once per session; where no server can start the PostgreSQL cases are skipped, loudly
(or fail, under CI or ``ORDERDESK_REQUIRE_POSTGRES``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from orderdesk.domain import (
    BrokerStatus,
    Event,
    Exchange,
    Fill,
    InstrumentKey,
    KillSwitchChanged,
    OrderAccepted,
    OrderCreated,
    OrderFillRecorded,
    OrderStatus,
    OrderStatusChanged,
    OrderSubmitting,
    OrderType,
    Product,
    Side,
    Signal,
    client_order_id,
)
from orderdesk.store import SqlEventStore
from tests import pg

START = datetime(2026, 1, 5, 3, 45, tzinfo=UTC)

Lifecycle = Callable[[int], list[Event]]


def order_lifecycle(n: int) -> list[Event]:
    """Order ``n`` created from a limit signal, accepted, opened, filled in one trade."""
    order_id = client_order_id("test", f"sig-{n}")
    broker_id = f"25010500{n:07d}"
    at = [START + timedelta(minutes=n, seconds=i) for i in range(6)]
    signal = Signal(
        instrument=InstrumentKey(Exchange.NSE, "INFY"),
        side=Side.BUY,
        quantity=5 + n,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1520.35"),
        strategy="test",
        signal_id=f"sig-{n}",
    )

    def changed(status: OrderStatus, broker: BrokerStatus, filled: int, i: int) -> Event:
        return OrderStatusChanged(
            at=at[i],
            order_id=order_id,
            status=status,
            base_status=status,
            broker_status=broker,
            broker_status_text=broker.value,
            filled_quantity=filled,
            average_price=Decimal("1520.35") if filled else Decimal(0),
            broker_order_id=broker_id,
        )

    fill = Fill(
        trade_id=f"T{n:08d}",
        broker_order_id=broker_id,
        instrument=signal.instrument,
        side=signal.side,
        product=signal.product,
        quantity=signal.quantity,
        price=Decimal("1520.35"),
        filled_at=at[4],
    )
    return [
        OrderCreated(at=at[0], order_id=order_id, signal=signal),
        OrderSubmitting(at=at[1], order_id=order_id, attempt=1),
        OrderAccepted(at=at[2], order_id=order_id, broker_order_id=broker_id),
        changed(OrderStatus.OPEN, BrokerStatus.OPEN, 0, 3),
        OrderFillRecorded(at=at[4], order_id=order_id, fill=fill),
        changed(OrderStatus.FILLED, BrokerStatus.COMPLETE, signal.quantity, 5),
    ]


def desk_event(n: int = 0) -> Event:
    """An event of the desk stream (not an order)."""
    return KillSwitchChanged(at=START + timedelta(hours=n), engaged=True, reason="test")


@pytest.fixture
def desk() -> Callable[[int], Event]:
    """The desk-event factory as a fixture."""
    return desk_event


@pytest.fixture
def lifecycle() -> Lifecycle:
    """The order-lifecycle factory as a fixture."""
    return order_lifecycle


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's SQLite store file goes."""
    return tmp_path / "data" / "events.db"


_postgres_skipped: list[str] = []


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.PostgresServer]:
    """One PostgreSQL server for the session, stopped and deleted at its end."""
    try:
        server = pg.start_server()
    except pg.PostgresUnavailable as exc:
        message = f"PostgreSQL store tests cannot run: {exc}"
        if pg.required():
            pytest.fail(message, pytrace=False)
        _postgres_skipped.append(message)
        pytest.skip(message)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """The URL of an empty store: an SQLite file, or a fresh database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{db_path}"
    server: pg.PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def sql_store(store_url: str) -> Iterator[SqlEventStore]:
    """A fresh store holding nothing yet, on each backend."""
    store = SqlEventStore(store_url)
    yield store
    store.close()


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """Say in red, at the end of the run, that the PostgreSQL backend went untested."""
    if _postgres_skipped:
        terminalreporter.write_sep("!", "PostgreSQL store tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_postgres_skipped[0], red=True)
