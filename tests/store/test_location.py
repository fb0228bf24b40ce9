"""Which store URL is used: explicit URL, explicit path, environment, or the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderdesk.store import URL_ENV, default_db_path, resolve_url, sqlite_url
from orderdesk.store.location import sqlite_file


def test_an_explicit_url_wins() -> None:
    """A URL given by the caller beats a path and the environment."""
    url = resolve_url(url="sqlite:////a.db", path=Path("/b.db"), environ={URL_ENV: "sqlite:///c"})
    assert url == "sqlite:////a.db"


def test_an_explicit_path_beats_the_environment() -> None:
    """A path becomes an SQLite URL and wins over the environment."""
    assert resolve_url(path=Path("/x/e.db"), environ={URL_ENV: "sqlite:///c"}) == (
        "sqlite:////x/e.db"
    )


def test_the_environment_beats_the_default() -> None:
    """ORDERDESK_STORE__URL is used when the caller names nothing."""
    assert resolve_url(environ={URL_ENV: "sqlite:////env.db"}) == "sqlite:////env.db"


def test_the_default_is_events_db_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing given, the store lives in platformdirs' data dir for orderdesk."""
    monkeypatch.setenv("XDG_DATA_HOME", "/home/trader/.data")
    assert default_db_path() == Path("/home/trader/.data/orderdesk/events.db")
    assert resolve_url(environ={}) == sqlite_url(default_db_path())


def test_sqlite_file_names_the_file_behind_a_url() -> None:
    """File URLs give their path; memory and other backends give None."""
    assert sqlite_file("sqlite:////x/e.db") == Path("/x/e.db")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql://u@h/db") is None
