"""The command group behind ``orderdesk``: how the CLI parses and reports what typer leaves.

Three things a trader meets before any command runs:

- **Negative numbers are arguments.** ``orderdesk place NSE:INFY BUY -5`` is a quantity the
  desk refuses with its reason (exit 3), not "No such option: -5": a token that reads as a
  negative number where no option takes a value is passed as an argument.
- **Usage errors are one line** (exit 2) naming the option and pointing at ``--help``, or one
  JSON object on stderr when the command line asks for ``--json`` — not a framed panel.
- **Flags show no value type.** typer labels ``--json`` and ``--help`` ``<bool>``, which reads
  as if they took one; they are shown bare.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NoReturn

# typer carries its own copy of click (typer._click); its parameters, contexts and usage errors
# are that copy's classes, reachable only there — the ``click`` package's are different ones.
from typer import _click
from typer.core import TyperGroup, TyperOption

from orderdesk.cli._common import EXIT_USAGE, JSON_ERRORS, fail

_NEGATIVE_NUMBER = re.compile(r"-\d+(?:\.\d+)?")


class DeskGroup(TyperGroup):
    """``orderdesk`` and its sub-groups (see the module docstring)."""

    def get_params(self, ctx: _click.Context) -> list[_click.Parameter]:
        return _bare_flags(super().get_params(ctx))

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        # Known before any parsing, so even a usage error answers in JSON when asked to.
        JSON_ERRORS.set("--json" in args)
        try:
            return super().parse_args(ctx, args)
        except _click.exceptions.NoArgsIsHelpError:
            raise
        except _click.exceptions.UsageError as exc:
            # The group's own options (``orderdesk --bogus``) fail here, before invoke().
            _usage_error(exc)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _bare_flags_everywhere(command, ctx)
        return command

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not isinstance(command, TyperGroup):
            rest = numbers_as_arguments(command, ctx, rest)
        return name, command, rest

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _click.exceptions.NoArgsIsHelpError:
            raise  # "orderdesk audit" alone: the help is the answer
        except _click.exceptions.UsageError as exc:
            _usage_error(exc)


def _usage_error(exc: _click.exceptions.UsageError) -> NoReturn:
    hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
    # typer words a refused choice "Value error, …" (its converter's exception name).
    message = exc.format_message().replace("Value error, ", "").rstrip(".")
    fail(message + hint, EXIT_USAGE, error="usage")


def numbers_as_arguments(
    command: _click.Command, ctx: _click.Context, args: list[str]
) -> list[str]:
    """``args`` with every option first and the arguments after ``--`` when an argument is a
    negative number, so the parser does not take ``-5`` for an option; unchanged otherwise
    (including when an unknown option is present: the parser's own error names it)."""
    if "--" in args or not any(_NEGATIVE_NUMBER.fullmatch(a) for a in args):
        return args
    takes: dict[str, int] = {}
    for param in command.get_params(ctx):
        if isinstance(param, TyperOption):
            width = 0 if param.is_flag or param.count else param.nargs
            takes.update(dict.fromkeys((*param.opts, *param.secondary_opts), width))
    options: list[str] = []
    arguments: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if _NEGATIVE_NUMBER.fullmatch(word) or not word.startswith("-") or word == "-":
            arguments.append(word)
            continue
        name, has_value, _ = word.partition("=")
        if name not in takes:
            return args
        options.append(word)
        if not has_value:
            options += args[index : index + takes[name]]
            index += takes[name]
    return [*options, "--", *arguments]


def _bare_flags(params: Sequence[_click.Parameter]) -> list[_click.Parameter]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # typer shows a metavar in place of the type; empty shows none
    return list(params)


def _bare_flags_everywhere(command: _click.Command, ctx: _click.Context) -> None:
    # get_params includes the help option, which click creates once per command and caches.
    _bare_flags(command.get_params(ctx))
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _bare_flags_everywhere(sub, ctx)


__all__ = ["DeskGroup", "numbers_as_arguments"]
