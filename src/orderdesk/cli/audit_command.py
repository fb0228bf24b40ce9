"""``orderdesk audit`` — prove the event log's hash chain, and export it for retention.

``verify`` exits 0 with ``chain intact: N events``, or 1 naming the first bad row and why.
``export`` writes every row (hashes included) as JSON Lines or CSV, to stdout or a file;
``--day`` only one trading day's (from its ``DayOpened`` checkpoint to the next day's).
The store is found by ``--url``, else ``--db``, else the configuration the desk itself reads
(``--config``, ``$ORDERDESK_CONFIG``, ./orderdesk.toml…): its ``[store] url``
(``ORDERDESK_STORE__URL``), else ``events.db`` in its ``data_dir`` — the log ``orderdesk run``
writes with the same config.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import os
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from orderdesk.cli import app
from orderdesk.cli._common import ConfigOption, fail, settings_or_exit
from orderdesk.errors import OrderDeskError

if TYPE_CHECKING:
    # The store (SQLAlchemy) is loaded by the audit commands alone: registering them with the
    # CLI cost every other command half a second of imports.
    from orderdesk.store import ExportFormat, Head, SqlEventStore

audit = typer.Typer(
    rich_markup_mode="markdown",
    name="audit",
    help="Verify the event log's hash chain, or export it.",
    no_args_is_help=True,
)
app.add_typer(audit, name="audit", rich_help_panel="Safety")


class Format(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


_FORMATS: dict[Format, ExportFormat] = {Format.JSONL: "jsonl", Format.CSV: "csv"}


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite file of the event store.", dir_okay=False),
]
ReportJsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="SQLAlchemy URL of the event store (default: the config's store, as `orderdesk "
        "run` uses it).",
    ),
]


def _fail(message: str) -> NoReturn:
    fail(message)


def store_url(db: Path | None, url: str | None, config: Path | None) -> str:
    """The event store's URL: ``--url``, else ``--db``, else the config's, as the desk's."""
    from orderdesk.store import resolve_url

    if url or db is not None:
        return resolve_url(url=url, path=db)
    return settings_or_exit(config).store_url


def _open(db: Path | None, url: str | None, config: Path | None) -> SqlEventStore:
    from orderdesk.store import SqlEventStore
    from orderdesk.store.location import sqlite_file

    resolved = store_url(db, url, config)
    file = sqlite_file(resolved)
    # Auditing must not conjure up an empty (and therefore "intact") log where none was,
    # nor write to the log it proves: an SQLite log is read as it is (an empty file refused).
    if file is not None and not file.is_file():
        _fail(f"no event store at {file}")
    try:
        return SqlEventStore(resolved, read_only=True)
    except OrderDeskError as exc:
        _fail(str(exc))


SIGPIPE_STATUS = 128 + 13
"""What a shell reports for a program killed by SIGPIPE, as ``cat big | head`` leaves ``cat``."""


def _reader_went_away() -> NoReturn:
    """Stop quietly because whoever read stdout (``head``, a closed pager) has stopped reading.

    Python ignores SIGPIPE, so the write fails with EPIPE instead of ending the process the way
    it ends a C tool; this gives the same outcome: no message, status 141. Standard output is
    pointed at /dev/null first, or the interpreter's last flush would hit the pipe again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real descriptor behind stdout (e.g. captured in tests)
        pass
    raise typer.Exit(SIGPIPE_STATUS)


@audit.command("verify")
def verify(
    db: DbOption = None,
    url: UrlOption = None,
    config: ConfigOption = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="A backup (`orderdesk backup`) whose events the log must still hold unchanged: "
            "proves the log was not rewritten since, head and all, which the chain alone cannot.",
            dir_okay=False,
        ),
    ] = None,
    as_json: ReportJsonOption = False,
) -> None:
    """Walk the whole chain; exit 1 naming the first row that was edited, removed or moved (or,
    with --against, the backup's event the log no longer holds as it was)."""
    from orderdesk.store.backup import backup_head

    store = _open(db, url, config)
    try:
        backed_up = None if against is None else backup_head(against, not_done="not compared")
        report = store.verify()
        differs = None
        if against is not None and backed_up is not None and report.ok:
            differs = _differs(store, against, backed_up[1])
    except OrderDeskError as exc:
        _fail(str(exc))
    finally:
        store.close()
    ok = report.ok and differs is None
    if as_json:
        found: dict[str, object] = dataclasses.asdict(report)
        found["ok"] = ok  # the chain intact, and holding the backup when one was given
        if against is not None and backed_up is not None:
            found["backup"] = {
                "path": str(against),
                "events": backed_up[0],
                "held": report.ok and differs is None,
                "reason": differs,
            }
        typer.echo(json.dumps(found))
    elif not report.ok:
        typer.echo(f"chain broken at event {report.first_bad_seq}: {report.reason}", err=True)
    elif differs is not None:
        typer.echo(f"the log does not hold the backup {against}: {differs}", err=True)
    elif backed_up is not None:
        typer.echo(
            f"chain intact: {report.rows} events, the first {backed_up[0]} as backed up in "
            f"{against}"
        )
    else:
        typer.echo(f"chain intact: {report.rows} events")
    raise typer.Exit(0 if ok else 1)


def _differs(store: SqlEventStore, backup: Path, head: Head) -> str | None:
    """Why the log does not hold the backup whose chain ends at ``head`` (None: it does). The
    log's chain is intact, so its event at the backup's last seq having the backup's hash
    means every event up to it is the backup's; when it has another, the first event that
    differs is the one named."""
    if head.seq == 0:
        return None
    held = _hash_in(store, head.seq)
    if held is None:
        return f"event {head.seq}, the backup's last, is not in the log: events were removed"
    if held != head.hash:
        first = _first_difference(store, backup, head.seq)
        return f"event {first} differs from the backup's: the log was rewritten since"
    return None


def _first_difference(store: SqlEventStore, backup: Path, last: int) -> int:
    """The first seq up to ``last`` whose hash the log and the backup disagree on, found by
    bisection. Both chains are intact, and a row's hash covers the one before it, so the two
    agree up to some event and differ from it on: the event that was rewritten, not the
    backup's last, whose hash merely inherits the change."""
    from orderdesk.store.backup import backup_hashes

    with backup_hashes(backup) as backed_up:
        return (
            bisect.bisect_left(
                range(1, last + 1), True, key=lambda seq: _hash_in(store, seq) != backed_up(seq)
            )
            + 1
        )


def _hash_in(store: SqlEventStore, seq: int) -> str | None:
    """The log's hash of its event ``seq`` (None: it holds none)."""
    held = next(store.read(after=seq - 1, before=seq + 1), None)
    return None if held is None else held.hash


@audit.command("export")
def export_log(
    fmt: Annotated[Format, typer.Option("--format", help="jsonl or csv.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: stdout).", dir_okay=False),
    ] = None,
    day: Annotated[
        datetime | None,
        typer.Option(
            "--day",
            formats=["%Y-%m-%d"],
            help="Only this trading day's rows (YYYY-MM-DD): from its DayOpened checkpoint up "
            "to the next day's.",
        ),
    ] = None,
    db: DbOption = None,
    url: UrlOption = None,
    config: ConfigOption = None,
) -> None:
    """Write every stored row — seq, stream, type, at, payload, prev_hash, hash — oldest first;
    with --day, one trading day's rows. A day the log does not hold exits 1."""
    from orderdesk.store import export
    from orderdesk.store.export import day_rows
    from orderdesk.store.location import open_private

    store = _open(db, url, config)
    try:
        # Bounds first, so a day not in the log fails before a file is created or written.
        rows = None if day is None else day_rows(store, day.date())
        if output is None:
            try:
                export(store, _FORMATS[fmt], sys.stdout, rows=rows)
                sys.stdout.flush()
            except BrokenPipeError:
                _reader_went_away()
            return
        # The whole trading history, as private as the log itself: an existing file too is
        # made 0600 before a row is written to it.
        with open(open_private(output), "w", encoding="utf-8", newline="") as out:
            count = export(store, _FORMATS[fmt], out, rows=rows)
        of_day = "" if day is None else f" of trading day {day.date().isoformat()}"
        typer.echo(f"exported {count} events{of_day} to {output}", err=True)
    except (OrderDeskError, OSError) as exc:
        _fail(str(exc))
    finally:
        store.close()


__all__ = [
    "DbOption",
    "ReportJsonOption",
    "UrlOption",
    "audit",
    "export_log",
    "store_url",
    "verify",
]
