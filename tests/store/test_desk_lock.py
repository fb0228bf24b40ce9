"""One desk per event store: the second holder is refused at once, on SQLite and PostgreSQL,
and the store is free again when the first one lets go (or its process ends)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orderdesk.store import SqlEventStore
from orderdesk.store.desk_lock import StoreInUse, exclusive_desk, lock_path


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
