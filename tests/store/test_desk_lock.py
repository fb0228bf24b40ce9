"""One desk per event store: the second holder is refused at once, on SQLite and PostgreSQL,
and the store is free again when the first one lets go (or its process ends)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from orderdesk.store import SqlEventStore
from orderdesk.store.desk_lock import StoreInUse, desk_holds, exclusive_desk, lock_path


def test_a_second_holder_is_refused_naming_the_first(store_url: str) -> None:
    """While one desk holds the store a second is refused with StoreInUse; after, it may."""
    with exclusive_desk(store_url):
        with pytest.raises(StoreInUse) as exc_info, exclusive_desk(store_url):
            pass
        assert "another orderdesk is already running on the event store" in str(exc_info.value)
        if store_url.startswith("sqlite"):
            assert f"(pid {os.getpid()})" in str(exc_info.value)
    with exclusive_desk(store_url):
        pass


def test_readers_are_not_locked_out(store_url: str) -> None:
    """A held store can still be opened for reading (the audit, an export)."""
    with exclusive_desk(store_url):
        store = SqlEventStore(store_url)
        try:
            assert store.verify().ok
        finally:
            store.close()


def test_a_desk_that_died_leaves_no_lock_behind(db_path: Path) -> None:
    """A holder killed without unwinding leaves the lock file, but not the lock."""
    url = f"sqlite:///{db_path}"
    holder = (
        "import os, sys\n"
        "from orderdesk.store.desk_lock import exclusive_desk\n"
        f"with exclusive_desk({url!r}):\n"
        "    print('held', flush=True)\n"
        "    os._exit(9)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", holder], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "held"
    assert lock_path(db_path).exists()
    with exclusive_desk(url):
        pass


def test_an_in_memory_store_needs_no_lock() -> None:
    """An in-memory SQLite store is its process's alone: nothing is locked."""
    with exclusive_desk("sqlite://"), exclusive_desk("sqlite://"):
        pass


def test_a_probe_tells_whether_a_desk_holds_the_store(store_url: str) -> None:
    """desk_holds is True while a desk holds the store and False before and after, and the probe
    neither takes the lock from a desk that starts next nor creates anything."""
    assert desk_holds(store_url) is False
    with exclusive_desk(store_url):
        assert desk_holds(store_url) is True
    assert desk_holds(store_url) is False
    with exclusive_desk(store_url):  # the probe left nothing held
        pass


def test_a_probe_of_a_new_store_creates_nothing(tmp_path: Path) -> None:
    """Asking about a store no desk has run on leaves no lock file and no folder behind."""
    database = tmp_path / "new" / "events.db"

    assert desk_holds(f"sqlite:///{database}") is False
    assert not database.parent.exists()
    assert desk_holds("sqlite://") is False  # in memory: no desk of another process holds it


def test_the_folders_a_desk_makes_are_its_owners_alone(tmp_path: Path) -> None:
    """A desk starting on a store whose folders do not exist makes them 0700 (whatever the
    umask), as the config dir is: the log beside them is the account's whole history. A folder
    that exists keeps its mode: it is the user's."""
    own = tmp_path / "mine"
    own.mkdir(mode=0o755)
    own.chmod(0o755)
    database = own / "new" / "deeper" / "events.db"
    previous = os.umask(0o022)  # process-wide: put back below
    try:
        with exclusive_desk(f"sqlite:///{database}"):
            pass
    finally:
        os.umask(previous)

    assert stat.S_IMODE((own / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(own.stat().st_mode) == 0o755
