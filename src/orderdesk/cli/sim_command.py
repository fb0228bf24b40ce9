"""``orderdesk sim`` — placeholder until the simulator lands."""

from __future__ import annotations

from orderdesk.cli import app


@app.command("sim")
def sim() -> None:
    """Run the Kite-compatible simulator (not yet implemented)."""
    raise SystemExit("the simulator is not built yet")
