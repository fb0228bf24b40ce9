"""Free text an operator reads: one line of printable text.

A reason, a broker's status message or an alert's name is shown on a terminal, written to the
desk's log and sent to a phone: an ESC sequence in it drives the terminal that shows it, and a
newline forges a line of the log. The API refuses such text from operators; adapters clean
what their broker sends (:func:`one_line`).
"""

from __future__ import annotations

import re

CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
"""C0 and C1 control characters, DEL, and Unicode's line and paragraph separators."""


def one_line(text: str) -> str:
    """``text`` with each run of control characters replaced by a space."""
    return CONTROL_CHARACTERS.sub(" ", text)


__all__ = ["CONTROL_CHARACTERS", "one_line"]
