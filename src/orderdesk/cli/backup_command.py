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

    source = store_url(db, url, config)
    if destination is None:
        settings = settings_or_exit(config)
        folder = settings.backup_path or settings.data_dir / "backups"
        try:
            folder.mkdir(parents=True, exist_ok=True)
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
    events.db.replaced-YYYYMMDDTHHMMSSZ, in UTC). Backups beside it and in the backup folder
    that hold a history other than the one restored (taken after it, of the log replaced) are
    renamed *.other-history-<time>, so they are neither taken for nor pruned as backups of the
    log that goes on. The next `orderdesk run` replays the backup and reconciles with the
    broker, which brings back what the broker still shows of the time since."""
    from orderdesk.store.backup import restore as restore_log
    from orderdesk.store.backup import set_aside_other_histories

    target = store_url(db, url, config)

    def ask(rows: int, head: Head) -> None:
        # Asked with the store held: a running desk is refused before anyone is asked.
        typer.confirm(
            f"Replace the event log ({target}) with {backup}: {rows:,} events, head {head.seq}?",
            abort=True,
            err=True,  # stdout is the report's alone, which --json makes a script's to parse
        )

    try:
        report = restore_log(target, backup, None if yes else ask)
    except OrderDeskError as exc:
        fail(str(exc), as_json=as_json)
    folders = {backup.resolve().parent}
    if url is None and db is None:
        settings = settings_or_exit(config)
        folders.add((settings.backup_path or settings.data_dir / "backups").resolve())
    try:
        others = [
            path
            for folder in sorted(folders)
            for path in set_aside_other_histories(folder, report.path)
        ]
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


def _echo_json(path: Path, rows: int, head: Head, **more: object) -> None:
    """A backup's or a restore's report as one JSON object: the file, its events, its head."""
    found = {"path": str(path), "events": rows, "head_seq": head.seq, "head_hash": head.hash}
    typer.echo(json.dumps(found | more))


__all__ = ["backup", "restore"]
