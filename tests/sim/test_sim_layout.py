"""The simulator's modules keep to STYLE.md's layout: one concept each, roughly 50-600 lines, and
``orderdesk.sim.exchange`` still answers for the names other modules and tests import from it."""

from __future__ import annotations

from pathlib import Path

import orderdesk.sim
from orderdesk.sim import exchange

MAX_LINES = 600
"""STYLE.md: "One module per concept, roughly 50-600 lines. A 1,000-line module is a smell."."""


def test_no_simulator_module_outgrows_the_style_guidance() -> None:
    """Every module of ``orderdesk.sim`` is at most 600 lines long."""
    package = Path(orderdesk.sim.__file__).parent
    lengths = {path.name: len(path.read_text().splitlines()) for path in package.glob("*.py")}
    assert lengths
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


def test_the_exchange_module_still_exports_its_names() -> None:
    """The names importers take from ``orderdesk.sim.exchange`` are still there after its
    split into placement, matching, amendments, the exchange's day and their helpers."""
    assert set(exchange.__all__) >= {
        "MARKET_CLOSED",
        "MASS_CANCEL_MESSAGE",
        "SQUARE_OFF_PLACER",
        "Exchange",
        "Trade",
        "segment_of",
    }
    for name in exchange.__all__:
        assert getattr(exchange, name) is not None, name
