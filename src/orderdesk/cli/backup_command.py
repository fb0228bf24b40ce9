"""``orderdesk backup`` — a verified copy of the event log, taken while the desk runs;
``orderdesk restore`` — a backup put back in its place, with the desk stopped.

The copy is one SQLite file, consistent as of one commit, its hash chain walked before it is
kept (:mod:`orderdesk.store.backup`). Without a destination it goes to ``[store] backup_dir``
(else ``backups`` in ``data_dir``) as ``events-YYYYMMDDTHHMMSSZ.db`` (UTC), a name the daily
backups' pruning leaves alone. The report ends with the chain head (seq and hash), which
``orderdesk audit verify --against`` holds the live log to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orderdesk.cli import app
from orderdesk.cli._common import ConfigOption, fail, settings_or_exit
from orderdesk.cli.audit_command import DbOption, ReportJsonOption, UrlOption, store_url
from orderdesk.errors import OrderDeskError

if TYPE_CHECKING:
    from orderdesk.store import Head  # the store (SQLAlchemy) loads with the command alone


@app.command("backup", rich_help_panel="Safety")
def backup(
    destination: Annotated[
        Path | None,
        typer.Argument(
            help="The backup file to write (default: `[store] backup_dir`, else `backups` in "
            "`data_dir`, as events-YYYYMMDDTHHMMSSZ.db in UTC).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite an existing backup file.")
    ] = False,
    db: DbOption = None,
    url: UrlOption = None,
    config: ConfigOption = None,
    as_json: ReportJsonOption = False,
) -> None:
    """Copy the event log (SQLite) to one verified file, safely while the desk runs; exit 1
    with nothing written if the copy cannot be made or its hash chain is broken. Put it back
    with `orderdesk restore`; hold the live log to it with `orderdesk audit verify --against`."""
    from orderdesk.store.backup import back_up
    from orderdesk.store.location import make_private_dir

    source = store_url(db, url, config)
    if destination is None:
        settings = settings_or_exit(config)
        folder = settings.backup_path or settings.data_dir / "backups"
        try:
            make_private_dir(folder)  # the history's copies: a folder made here is private
        except OSError as exc:
            fail(f"cannot make the backup folder {folder}: {exc.strerror or exc}", as_json=as_json)
        destination = folder / f"events-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.db"
    try:
        report = back_up(source, destination, replace=replace)
    except OrderDeskError as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        _echo_json(
            report.path,
            report.rows,
            report.head,
            bytes=report.size,
            seconds=round(report.seconds, 3),
        )
        return
    typer.echo(
        f"backed up {report.rows:,} events to {report.path} "
        f"({report.size / 1_048_576:,.1f} MiB in {report.seconds:.2f} s), chain verified; "
        f"head {report.head.seq} {report.head.hash}"
    )


@app.command("restore", rich_help_panel="Safety")
def restore(
    backup: Annotated[
        Path,
        typer.Argument(
            help="A backup written by `orderdesk backup` or the daily backups.",
            dir_okay=False,
            show_default=False,
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before replacing the log.")
    ] = False,
    db: DbOption = None,
    url: UrlOption = None,
    config: ConfigOption = None,
    as_json: ReportJsonOption = False,
) -> None:
    """Put a backup in place of the event log (SQLite), with the desk stopped: its chain is
    walked first, and the log it replaces is kept beside it (as
    events.db.replaced-YYYYMMDDTHHMMSSZ, in UTC). Backups in the desk's backup folder (`[store]
    backup_dir` of the config in use; none with --db or --url) that hold a history other than
    the one restored (taken after it, of the log replaced) are renamed *.other-history-<time>,
    so they are neither taken for nor pruned as backups of the log that goes on. The next
    `orderdesk run` replays the backup and reconciles with the broker, which brings back what
    the broker still shows of the time since."""
    from orderdesk.store.backup import restore as restore_log
    from orderdesk.store.backup import set_aside_other_histories
    from orderdesk.store.location import sqlite_file

    target = store_url(db, url, config)
    live = sqlite_file(target)
    before: list[_Switch | None] = [None]

    def ask(rows: int, head: Head) -> None:
        # With the store held: no desk changes the switch between this look and the swap.
        if live is not None:
            before[0] = _kill_switch(live)
        if yes:
            return
        # Asked with the store held: a running desk is refused before anyone is asked.
        typer.confirm(
            f"Replace the event log ({target}) with {backup}: {rows:,} events, head {head.seq}?",
            abort=True,
            err=True,  # stdout is the report's alone, which --json makes a script's to parse
        )

    try:
        report = restore_log(target, backup, ask)
    except OrderDeskError as exc:
        fail(str(exc), as_json=as_json)
    replaced_switch = before[0] if report.replaced is not None else None
    restored_switch = _kill_switch(report.path)
    switch_note = _switch_note(replaced_switch, restored_switch)
    # Only this desk's own backup folder: the backup may come from another desk's, whose
    # backups are of that desk's history, not of the one replaced here.
    folder = None
    if url is None and db is None:
        settings = settings_or_exit(config)
        folder = settings.backup_path or settings.data_dir / "backups"
    try:
        others = [] if folder is None else set_aside_other_histories(folder, report.path)
    except OSError as exc:
        fail(
            f"restored, but the backups of the replaced history could not be set aside: "
            f"{exc.strerror or exc}",
            as_json=as_json,
        )
    replaced = None if report.replaced is None else str(report.replaced)
    if as_json:
        _echo_json(
            report.path,
            report.rows,
            report.head,
            replaced=replaced,
            other_histories=[str(path) for path in others],
            kill_switch={
                "replaced": _switch_json(replaced_switch),
                "restored": _switch_json(restored_switch),
                "changed": switch_note is not None,
                "message": switch_note,
            },
        )
        return
    kept = f"; the log it replaced is kept as {replaced}" if replaced else ""
    typer.echo(
        f"restored {report.rows:,} events (head {report.head.seq}) from {backup} to "
        f"{report.path}{kept}"
    )
    if others:
        typer.echo(
            f"set aside {len(others)} backup{'' if len(others) == 1 else 's'} of the replaced "
            "history (renamed *.other-history-<time>: neither listed nor pruned as backups of "
            f"the log that goes on): {', '.join(path.name for path in others)}"
        )
    if switch_note is not None:
        typer.echo(switch_note)


@dataclass(frozen=True, slots=True)
class _Switch:
    """The kill switch as a log leaves it: what the desk's replay would start with."""

    engaged: bool
    reason: str


def _kill_switch(database: Path) -> _Switch | None:
    """The kill switch a desk replaying this log starts with, read as the replay reads it
    (:func:`orderdesk.engine.recovery.replay`): the latest ``KillSwitchChanged``, or the latest
    ``DayOpened`` checkpoint's ``kill_switch`` when that is later; released in a log with
    neither. None when the log cannot be read (it is opened read-only: a log replaced is kept
    as it was)."""
    import sqlite3

    from orderdesk.domain.events import DayOpened, KillSwitchChanged
    from orderdesk.store.codec import from_record

    query = "SELECT seq, type, payload FROM events WHERE type = ? ORDER BY seq DESC LIMIT 1"
    try:
        connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = [
                row
                for kind in (KillSwitchChanged.__name__, DayOpened.__name__)
                for row in connection.execute(query, (kind,)).fetchall()
            ]
        finally:
            connection.close()
        if not found:
            return _Switch(engaged=False, reason="")
        _, kind, payload = max(found, key=lambda row: int(row[0]))
        event = from_record(kind, json.loads(payload))
    except (sqlite3.Error, OSError, ValueError, TypeError, KeyError, OrderDeskError):
        return None
    if isinstance(event, KillSwitchChanged):
        return _Switch(event.engaged, event.reason)
    if isinstance(event, DayOpened):
        return _Switch(event.kill_switch, event.kill_switch_reason)
    return None


def _switch_json(switch: _Switch | None) -> dict[str, object] | None:
    return None if switch is None else {"engaged": switch.engaged, "reason": switch.reason}


def _switch_note(replaced: _Switch | None, restored: _Switch | None) -> str | None:
    """What the restore did to the kill switch, when it changed it; None when it did not (or
    no log was replaced, or one of them could not be read)."""
    if replaced is None or restored is None or replaced.engaged == restored.engaged:
        return None
    if replaced.engaged:
        why = f" (reason: {replaced.reason})" if replaced.reason else ""
        return (
            f"warning: the kill switch was engaged in the log replaced{why} and is released in "
            "the restored one: the next `orderdesk run` starts with it off; engage it again "
            "with `orderdesk kill-switch on` if it should stay"
        )
    why = f" (reason: {restored.reason})" if restored.reason else ""
    return (
        f"note: the kill switch is engaged in the restored log{why} and was released in the "
        "log replaced: the next `orderdesk run` starts with it on; release it with "
        "`orderdesk kill-switch off` once the desk runs, if it should be off"
    )


def _echo_json(path: Path, rows: int, head: Head, **more: object) -> None:
    """A backup's or a restore's report as one JSON object: the file, its events, its head."""
    found = {"path": str(path), "events": rows, "head_seq": head.seq, "head_hash": head.hash}
    typer.echo(json.dumps(found | more))


__all__ = ["backup", "restore"]
