"""`orderdesk demo` tells its whole story, on the simulator and on the paper broker."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from rich.console import Console

from orderdesk.config import Settings
from orderdesk.demo import DemoOptions, demo_runtime, orders_table, sample_strategy
from orderdesk.domain.status import OrderStatus


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("broker", ["kite", "paper"])
async def test_demo_places_modifies_cancels_and_shows_positions(
    broker: str, tmp_path: Path
) -> None:
    """The sample strategy ends with three fills, one cancel, and positions that match them."""
    console = Console(file=io.StringIO(), width=120)
    options = DemoOptions(api_port=0, workdir=tmp_path, price_step_seconds=0.2)
    settings = Settings(broker=broker, config_dir=tmp_path / "conf")
    async with demo_runtime(options, settings) as (market, runtime):
        await sample_strategy(runtime.desk, console)
        statuses = sorted(o.status for o in runtime.desk.orders())
        assert statuses == sorted(
            [OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED]
        )
        modified = [o for o in runtime.desk.orders() if o.modifications]
        assert len(modified) == 1
        net = {str(p.instrument): p.quantity for p in runtime.desk.positions()}
        assert net == {"NSE:INFY": 6, "NSE:RELIANCE": 5}
        # The exit waits for the price to move off the buy's, so it books a real P&L.
        booked = {str(p.instrument): p.realised for p in runtime.desk.positions()}
        assert booked["NSE:INFY"] != 0
        assert runtime.dashboard_url is not None
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                runtime.dashboard_url + "api/positions",
                headers={"Authorization": f"Bearer {runtime.token}"},
            ) as reply,
        ):
            assert reply.status == 200
            rows = await reply.json()
        assert {row["instrument"] for row in rows} == {"NSE:INFY", "NSE:RELIANCE"}
        # The cancelled offer traded nothing: no average price (it read 0.00).
        shown = Console(file=io.StringIO(), width=120)
        shown.print(orders_table(runtime.desk))
        lines = shown.file.getvalue().splitlines()  # type: ignore[attr-defined]
        (cancelled,) = [line for line in lines if "CANCELLED" in line]
        assert "—" in cancelled
        assert "0.00" not in cancelled
    assert broker in market or "simulator" in market
    narration = console.file.getvalue()  # type: ignore[attr-defined]
    assert "modify the INFY bid" in narration


def test_demo_command_runs_on_the_configured_broker(tmp_path: Path) -> None:
    """`orderdesk demo --duration 0` tells the story, prints the dashboard and P&L, exits 0."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'broker = "paper"\nconfig_dir = "{tmp_path / "conf"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env["COLUMNS"] = "160"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "orderdesk",
            "demo",
            "--duration",
            "0",
            "--port",
            "0",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dashboard   http://127.0.0.1:" in result.stdout
    assert "API token" in result.stdout
    assert "positions — P&L" in result.stdout
    assert "CANCELLED" in result.stdout
