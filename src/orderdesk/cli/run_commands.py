"""``orderdesk run`` (the daemon) and ``orderdesk demo`` (the whole story on the simulator)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape

from orderdesk import event_loop
from orderdesk.cli import app
from orderdesk.cli._common import ConfigOption, console, fail, settings_or_exit
from orderdesk.config import check_folders
from orderdesk.errors import OrderDeskError


@app.command("run", rich_help_panel="Running")
def run(config: ConfigOption = None) -> None:
    """Run the daemon: the engine, the broker stream, the HTTP API and the dashboard.

    On start it replays the audit log, resolves orders whose placement outcome was unknown,
    and reconciles with the broker before accepting signals. Stop it with Ctrl-C.

    One desk per event store: a second `orderdesk run` on the same store stops at once, before
    it replays or connects. With `log_file` set, the log also goes to that file (JSON lines,
    rotated at 10 MB, 5 kept).
    """
    from orderdesk.logging import configure_logging
    from orderdesk.runtime import open_runtime

    settings = settings_or_exit(config)
    try:
        check_folders(settings, backups=False)  # before anything is made in them
    except OrderDeskError as exc:
        fail(str(exc))
    try:
        configure_logging(settings.log_level, file=settings.log_path)
    except OSError as exc:
        fail(f"log_file: cannot open {settings.log_path}: {exc.strerror or exc}")
    # alembic narrates every plugin it loads at INFO; the migration result is all that matters.
    logging.getLogger("alembic").setLevel(logging.WARNING)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_runtime(settings) as runtime:
            console.print(f"orderdesk running — broker [bold]{settings.broker}[/]")
            console.print(f"dashboard  [bold]{runtime.dashboard_url}[/]")
            console.print("API token  `orderdesk config show-token`")
            session = runtime.desk.session_info()
            if not session.usable:
                console.print(
                    f"[yellow]no broker session[/] ({escape(session.reason)}): log in with "
                    "`orderdesk login` — it hands the session to this running desk"
                )
            await stop.wait()
            console.print("stopping…")

    try:
        event_loop.run(serve())
    except OrderDeskError as exc:
        fail(str(exc))


@app.command("demo", rich_help_panel="Running")
def demo(
    port: Annotated[
        int | None,
        typer.Option(
            help="Port of the dashboard and API (default: the config's, 8700 unless set; "
            "0: any free one, which the CLI still finds).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated market.")] = 7,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: run until Ctrl-C)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Simulator + order desk + a sample strategy placing, modifying and cancelling orders.

    Prints the dashboard URL and its token, then positions and P&L as prices move. With
    `broker = "kite"` (the default) the simulator plays Kite on 127.0.0.1; with another broker
    in the config (e.g. `broker = "paper"`) the same story runs on that adapter. Nothing leaves
    this machine; the demo's event log lives in a temporary directory. While it runs, every
    CLI command (`orderdesk orders`, `positions`, `place`…) works against it: it uses the
    config's API token, like `orderdesk run`.
    """
    from orderdesk.demo import DemoOptions, run_demo
    from orderdesk.logging import configure_logging

    settings = settings_or_exit(config)
    configure_logging("WARNING")
    options = DemoOptions(api_port=port, seed=seed, duration=duration)

    async def until_stopped() -> None:
        # SIGTERM (a service manager, `kill`) and SIGHUP (the terminal closed) stop the demo as
        # Ctrl-C does: the story unwinds, and its temporary directory — event log, secrets,
        # the simulator's session — is removed instead of left behind.
        main = asyncio.current_task()
        assert main is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, cancel_once(main))
        await run_demo(options, console, settings)

    try:
        asyncio.run(until_stopped())
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("demo stopped")
    except OrderDeskError as exc:
        fail(str(exc))


def cancel_once(task: asyncio.Task[None]) -> Callable[[], None]:
    """A stop-signal handler cancelling ``task`` at the first signal and ignoring the rest.

    A stop may arrive twice: `timeout`, or a service manager signalling the whole process
    group, reaches both `uv run` (`make demo`) and this process, and uv forwards its copy. A
    second cancel would land in the unwinding and cut it short, mid-way through closing the API
    (uvicorn's lifespan traceback, a directory left behind).
    """

    def stop() -> None:
        if not task.cancelling():
            task.cancel()

    return stop
