"""Every command's --help reads as prose: a paragraph of a command's docstring is reflowed to
the terminal's width, not broken where the source line ended."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app

_register_commands()
runner = CliRunner()


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        (
            ["positions"],
            "that part is valued as stock sold against the previous close, not as a short. "
            "With --day, an earlier day's positions as they stood at its close.",
        ),
        (
            ["reconcile"],
            "every difference is recorded in the audit log and alerted. Exits 3 when any "
            "difference was found.",
        ),
        (
            ["doctor"],
            "the broker takes orders from there; the session's age and expiry; order-rate "
            "headroom (this second, minute and day",
        ),
    ],
)
def test_a_docstring_paragraph_is_one_flowing_paragraph(command: list[str], sentence: str) -> None:
    """In a wide terminal the sentence, which spans source lines, is on one line of the help."""
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.strip(" │").split()) for line in result.output.splitlines()]
    assert any(sentence in line for line in lines), result.output
