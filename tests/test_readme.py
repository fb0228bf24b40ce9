"""The README's code is code that runs: every example it shows is a file under examples/, quoted
byte for byte (tests/test_examples.py runs the files; tests/test_demo_cli.py the quick start)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = ROOT / "examples"

QUOTED = re.compile(r"<!-- (examples/[\w.-]+) -->\n```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
FENCE = re.compile(r"^```(\w+)$", re.MULTILINE)
RUNNABLE = {"python", "toml"}
"""Languages of code a reader copies into a file; shell lines are the quick start's."""


def test_readme_quotes_each_example_file_exactly() -> None:
    """Each block marked `<!-- examples/NAME -->` equals that file, byte for byte."""
    quoted = QUOTED.findall(README)
    assert quoted, "no quoted examples found"
    for path, _, text in quoted:
        assert (ROOT / path).read_text(encoding="utf-8") == text, f"{path} differs from README"


def test_every_example_file_is_in_the_readme() -> None:
    """No file under examples/ is left out of the README."""
    quoted = {path for path, _, _ in QUOTED.findall(README)}
    files = {f"examples/{p.name}" for p in EXAMPLES.iterdir() if p.is_file()}
    assert files == quoted


def test_every_python_or_toml_block_is_a_quoted_example() -> None:
    """The README holds no Python or TOML that is not one of the tested files."""
    blocks = [lang for lang in FENCE.findall(README) if lang in RUNNABLE]
    quoted = [lang for _, lang, _ in QUOTED.findall(README) if lang in RUNNABLE]
    assert len(blocks) == len(quoted)
