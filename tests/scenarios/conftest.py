"""The store every scenario runs on: an SQLite file, and a database on a throwaway PostgreSQL.

``store_url`` runs each scenario once per backend. The PostgreSQL server (``tests/pg.py``) is
started once per session and each test gets a fresh database on it; where no server can start
the PostgreSQL cases are skipped, loudly (or fail, under CI or ``ORDERDESK_REQUIRE_POSTGRES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from orderdesk.store.location import sqlite_url
from tests import pg

_postgres_skipped: list[str] = []


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.PostgresServer]:
    """One PostgreSQL server for the session, stopped and deleted at its end."""
    try:
        server = pg.start_server()
    except pg.PostgresUnavailable as exc:
        message = f"PostgreSQL scenario tests cannot run: {exc}"
        if pg.required():
            pytest.fail(message, pytrace=False)
        _postgres_skipped.append(message)
        pytest.skip(message)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store: an SQLite file in the test's folder, or a fresh database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "desk.db")
    server: pg.PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """Say in red, at the end of the run, that the scenarios went untested on PostgreSQL."""
    if _postgres_skipped:
        terminalreporter.write_sep("!", "PostgreSQL scenarios were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_postgres_skipped[0], red=True)
