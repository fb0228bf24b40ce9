"""The ``orderdesk`` command line: thin commands that parse, call one service, and render.

Each command group lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import typer

from orderdesk.cli._group import DeskGroup

app = typer.Typer(
    # Markdown, not typer's default rich markup: that keeps a docstring's line breaks inside a
    # paragraph, so --help broke sentences where the source line ended. Every typer.Typer of
    # the CLI sets the same.
    rich_markup_mode="markdown",
    cls=DeskGroup,
    name="orderdesk",
    help="A personal order desk for Zerodha Kite Connect, with a Kite-compatible simulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Imported for their side effect of adding commands to ``app``; kept in one place so the
    # command list reads like the table of contents of the CLI.
    from orderdesk.cli import audit_command  # noqa: F401, I001  (one line per command module)
    from orderdesk.cli import auth_commands  # noqa: F401
    from orderdesk.cli import backup_command  # noqa: F401
    from orderdesk.cli import book_commands  # noqa: F401
    from orderdesk.cli import config_commands  # noqa: F401
    from orderdesk.cli import convert_command  # noqa: F401
    from orderdesk.cli import day_commands  # noqa: F401
    from orderdesk.cli import desk_commands  # noqa: F401
    from orderdesk.cli import doctor_command  # noqa: F401
    from orderdesk.cli import exit_command  # noqa: F401
    from orderdesk.cli import run_commands  # noqa: F401
    from orderdesk.cli import sim_command  # noqa: F401
    from orderdesk.cli import telegram_command  # noqa: F401
    from orderdesk.cli import trigger_commands  # noqa: F401


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    app()


__all__ = ["app", "main"]
