"""A PostgreSQL store's password never leaves the process, and a log that cannot be written is
known until it can be again.

The operator's walk: the desk on ``postgresql+psycopg://desk:<password>@…``, the database then
refusing the desk. Every error of the store, the desk's CRITICAL alert and the JSON log are
searched for the password; the URL they name has it as ``***``. The test server trusts local
connections, so the password in the URL is carried (as an operator's is) but never checked.
"""

from __future__ import annotations

import io
import socket
import traceback
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from orderdesk.engine import OrderDesk
from orderdesk.engine.recorder import STORE_ALERT_TITLE
from orderdesk.errors import StoreError
from orderdesk.logging import get_logger
from orderdesk.redaction import redact
from orderdesk.store import SqlEventStore
from orderdesk.store.desk_lock import exclusive_desk
from tests import pg
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, RecordingNotifier, signal
from tests.store.conftest import Lifecycle
from tests.support import json_logs

PASSWORD = "Hunter2Secret"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The process's logging as ``orderdesk run --log-json`` writes it, into a buffer."""
    with json_logs() as buffer:
        yield buffer


def with_password(url: str) -> str:
    """``url`` with the desk's password in it, as an operator's ``ORDERDESK_STORE__URL``."""
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def texts(error: BaseException) -> str:
    """str, repr and the formatted traceback (causes included) of an exception."""
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error))])


def refuse_connections(server: pg.PostgresServer, url: str, *, refused: bool) -> None:
    """The database stops taking the desk (its sessions ended, new ones refused), or takes it
    again: the server's side of "PostgreSQL stopped", for this database alone."""
    name = make_url(url).database
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=pg.SUPERUSER, dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not refused).lower()}')
        if refused:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def test_a_store_that_cannot_be_reached_names_its_url_without_the_password(
    log_stream: io.StringIO,
) -> None:
    """The error of a store whose server is down shows the URL with ``***``, and the JSON
    log of it (a traceback included) has no password either."""
    with socket.socket() as probe:  # a port nothing listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://desk:{PASSWORD}@127.0.0.1:{port}/desk"
    with pytest.raises(StoreError) as caught:
        SqlEventStore(url)
    assert f"postgresql+psycopg://desk:***@127.0.0.1:{port}/desk" in str(caught.value)
    assert PASSWORD not in texts(caught.value)
    get_logger("test").error("store down", exc_info=caught.value)
    get_logger("test").error(f"a driver quoting it: password={PASSWORD}")
    logged = log_stream.getvalue()
    assert "store down" in logged
    assert "a driver quoting it" in logged
    assert PASSWORD not in logged
    assert PASSWORD not in redact(f"connection to {PASSWORD}")  # registered when opened


def test_the_desk_lock_of_an_unreachable_store_hides_a_password_given_as_a_parameter() -> None:
    """libpq takes the password as ``?password=`` too; the lock's error showed the URL as
    SQLAlchemy renders it, which hides only the one before the host."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://desk@127.0.0.1:{port}/desk?password={PASSWORD}"
    with pytest.raises(StoreError) as caught, exclusive_desk(url):
        pass
    assert f"127.0.0.1:{port}/desk?password=***" in str(caught.value)
    assert PASSWORD not in texts(caught.value)


def test_a_malformed_url_is_a_store_error_not_a_traceback() -> None:
    """A URL given to the store directly (``--store`` of the audit commands) that SQLAlchemy
    could not use is one StoreError, its password hidden."""
    for url, reason in (
        (f"postgresql+psycopg://desk:{PASSWORD}@127.0.0.1:notaport/desk", "not a number"),
        (f"mysql://desk:{PASSWORD}@host/desk", "cannot be in 'mysql'"),
    ):
        with pytest.raises(StoreError, match=reason) as caught:
            SqlEventStore(url)
        assert PASSWORD not in texts(caught.value)


async def test_a_database_that_refuses_the_desk_is_alerted_without_the_password(
    postgres: pg.PostgresServer, log_stream: io.StringIO, lifecycle: Lifecycle
) -> None:
    """The operator's walk: the database stops taking the desk mid-day. A signal is refused
    (its stream cannot be read), the kill switch cannot be recorded (CRITICAL alert); neither
    error, the alert nor the log shows the password; the store says it cannot be used until
    the database takes it again."""
    url = with_password(postgres.new_database())
    notifier = RecordingNotifier()
    with SqlEventStore(url) as store:
        async with OrderDesk(FakeBroker(), store, notifier=notifier, config=FAST) as desk:
            assert store.failure is None
            refuse_connections(postgres, url, refused=True)
            try:
                with pytest.raises(StoreError) as read:
                    await desk.submit(signal(signal_id="s-down"))
                read_failure = store.failure
                with pytest.raises(StoreError) as written:
                    await desk.engage_kill_switch("the operator's walk")
                write_failure = store.failure
                get_logger("test").error("signal refused", exc_info=read.value)
                get_logger("test").error("switch not recorded", exc_info=written.value)
            finally:
                refuse_connections(postgres, url, refused=False)
            assert read_failure is not None
            assert "cannot read the event store" in read_failure
            assert write_failure is not None
            assert "cannot append to the event store" in write_failure
            assert ":***@127.0.0.1" in write_failure
            [alert] = [a for a in notifier.alerts if a.title == STORE_ALERT_TITLE]
            assert ":***@127.0.0.1" in alert.body
            said = [texts(read.value), texts(written.value), alert.body, log_stream.getvalue()]
            assert all(PASSWORD not in text for text in said)
            store.append(lifecycle(1))  # the database takes the desk again
            assert store.failure is not None  # the last read's failure: no read since
            written_again = [type(event).__name__ for event in lifecycle(1)]
            assert [row.type for row in store.read()][-len(written_again) :] == written_again
            assert store.failure is None
