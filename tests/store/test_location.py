"""Which store URL is used: explicit URL, explicit path, environment, or the data dir."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from orderdesk.config import Settings
from orderdesk.domain import Event
from orderdesk.store import URL_ENV, SqlEventStore, default_db_path, resolve_url, sqlite_url
from orderdesk.store.location import create_log, sqlite_file
from tests.store.conftest import desk_event


def drills(count: int) -> list[Event]:
    return [desk_event(n) for n in range(count)]


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


@pytest.mark.parametrize("folder", ["trading?live", "100%20", "50% off"])
def test_a_folder_named_with_url_characters_holds_the_log(tmp_path: Path, folder: str) -> None:
    """'?' would start the URL's query and '%20' be decoded to a space: the log would go
    elsewhere. The store is opened, and the lock taken, where the folder says."""
    path = tmp_path / folder / "events.db"
    assert sqlite_file(sqlite_url(path)) == path
    with SqlEventStore.open(path) as store:
        assert store.append(drills(3))[-1].seq == 3
    assert path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]
    settings = Settings(data_dir=tmp_path / folder)
    assert sqlite_file(settings.store_url) == path


def test_a_fresh_log_is_never_seen_empty(tmp_path: Path) -> None:
    """Another process looking at a log being made finds it whole or absent, never 0 bytes
    (which it would refuse as a truncated log). A watcher spinning on the path sees the
    file's first size; made in place, that was 0."""
    path = tmp_path / "events.db"
    first_size: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                first_size.append(path.stat().st_size)
                return
            except FileNotFoundError:
                continue

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with SqlEventStore(sqlite_url(path)) as store:
            store.append(drills(1))
    finally:
        done.set()
        watcher.join()
    assert len(first_size) == 1
    assert first_size[0] > 0
    assert not list(tmp_path.glob(".events.db.*"))  # the draft is gone


def test_a_log_made_while_another_exists_keeps_the_first(tmp_path: Path) -> None:
    """create_log on an existing log leaves it as it was."""
    path = tmp_path / "events.db"
    with SqlEventStore(sqlite_url(path)) as store:
        store.append(drills(2))
    before = path.read_bytes()
    create_log(path)
    assert path.read_bytes() == before
