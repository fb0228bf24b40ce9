"""The doctor's "private files" check: every file in the backup folders, the secrets file and
the desk's log file, besides the event log's own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from orderdesk.daily_backups import StorageProbe
from orderdesk.doctor import Status, Storage, assess
from orderdesk.store.location import create_log
from tests.unit.test_doctor import FACTS


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "data" / "events.db"
    log.parent.mkdir()
    create_log(log)
    return log


def _copy(path: Path, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00")
    path.chmod(mode)
    return path


def test_an_on_demand_backup_others_can_read_is_found(tmp_path: Path) -> None:
    """`orderdesk backup` names its copies by the second (events-20261207T010318Z.db), not by
    the day: each is the whole history, and one at 0644 is reported as the daily one is."""
    log = _log(tmp_path)
    folder = tmp_path / "data" / "backups"
    daily = _copy(folder / "events-2026-12-07.db", 0o600)
    on_demand = _copy(folder / "events-20261207T010318Z.db", 0o644)
    probe = StorageProbe(f"sqlite:///{log}", folder)
    storage = probe(None)
    assert storage is not None
    assert storage.open_to_others == ((on_demand, 0o644),)
    daily.chmod(0o640)
    storage = probe(None)
    assert storage is not None
    assert storage.open_to_others == ((daily, 0o640), (on_demand, 0o644))


def test_without_a_backup_dir_the_on_demand_folder_is_checked(tmp_path: Path) -> None:
    """Without [store] backup_dir, `orderdesk backup` writes to data_dir/backups."""
    log = _log(tmp_path)
    copy = _copy(tmp_path / "data" / "backups" / "events-20261207T010318Z.db", 0o644)
    storage = StorageProbe(f"sqlite:///{log}", None, copies_dir=tmp_path / "data" / "backups")(None)
    assert storage is not None
    assert storage.open_to_others == ((copy, 0o644),)


def test_the_secrets_file_and_the_log_file_are_checked(tmp_path: Path) -> None:
    log = _log(tmp_path)
    secrets = _copy(tmp_path / "conf" / "secrets.json", 0o644)
    desk_log = _copy(tmp_path / "data" / "desk.log", 0o644)
    rotated = _copy(tmp_path / "data" / "desk.log.1", 0o604)
    probe = StorageProbe(f"sqlite:///{log}", None, secrets_file=secrets, log_file=desk_log)
    storage = probe(None)
    assert storage is not None
    assert storage.open_to_others == ((secrets, 0o644), (desk_log, 0o644), (rotated, 0o604))
    assert (storage.secrets_file, storage.log_file) == (secrets, desk_log)
    secrets.unlink()
    desk_log.unlink()
    storage = probe(None)
    assert storage is not None
    assert (storage.secrets_file, storage.log_file) == (None, None)  # none there to name


def checked(**changes: Any) -> Storage:
    """A log whose secrets file and log file were checked with it."""
    storage = Storage(
        log=Path("/d/events.db"),
        log_bytes=2**20,
        free_bytes=2**40,
        backup_dir=None,
        last_backup=None,
        last_closed=None,
        secrets_file=Path("/c/secrets.json"),
        log_file=Path("/d/desk.log"),
    )
    return replace(storage, **changes)


def private(storage: Storage) -> tuple[Status, str]:
    [check] = [
        c for c in assess(replace(FACTS, storage=storage)).checks if c.name == "private files"
    ]
    return check.status, check.summary


def test_all_private_names_what_was_checked() -> None:
    assert private(checked()) == (
        Status.OK,
        "the event log, its backups, the secrets file and the desk's log file are yours alone",
    )
    bare = checked(secrets_file=None, log_file=None)
    assert private(bare) == (Status.OK, "the event log and its backups are yours alone")


def test_a_secrets_file_others_can_read_warns_to_rotate_them() -> None:
    """A chmod does not take back a secret another user may have read already."""
    exposed = checked(open_to_others=((Path("/c/secrets.json"), 0o644),))
    assert private(exposed) == (
        Status.WARN,
        "other users of this machine can read the account's secrets: /c/secrets.json (0644); "
        "rotate the secrets in /c/secrets.json, then run `chmod 600 /c/secrets.json`",
    )
    both = checked(
        open_to_others=((Path("/d/desk.log"), 0o644), (Path("/c/secrets.json"), 0o644)),
    )
    status, summary = private(both)
    assert status is Status.WARN
    assert summary.startswith(
        "other users of this machine can read the account's secrets and trading history: "
        "/d/desk.log (0644), /c/secrets.json (0644); rotate the secrets in /c/secrets.json"
    )
    log_only = checked(open_to_others=((Path("/d/desk.log"), 0o644),))
    assert private(log_only) == (
        Status.WARN,
        "other users of this machine can read the account's trading history: /d/desk.log "
        "(0644); run `chmod 600 /d/desk.log`",
    )
