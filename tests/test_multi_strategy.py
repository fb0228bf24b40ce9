"""Several strategy processes feed one daemon: no duplicates, right attribution, intact log."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.api_token import read_token
from orderdesk.cli import _register_commands, app
from orderdesk.client import DeskClient
from tests.daemon import paper_config, running_daemon

STRATEGIES = ("alpha", "beta", "gamma")
SIGNALS = 300


@pytest.mark.slow
def test_three_processes_of_300_signals(tmp_path: Path) -> None:
    """Three processes × 300 signals (each sent twice at once) make exactly 900 orders,
    attributed to their strategies, and the audit chain verifies afterwards."""
    config = paper_config(tmp_path, paper_cash="1000000000")
    with running_daemon(config) as url:
        token = read_token(tmp_path / "conf")
        assert token is not None
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.strategy_worker", url, token, name, str(SIGNALS)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in STRATEGIES
        ]
        answers: dict[str, dict[str, list[str]]] = {}
        try:
            for name, worker in zip(STRATEGIES, workers, strict=True):
                out, err = worker.communicate(timeout=240)
                assert worker.returncode == 0, err[-3000:]
                answers[name] = json.loads(out)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.communicate()

        async def snapshot() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
            async with DeskClient(url, token) as desk:
                orders = [o.model_dump(mode="json") for o in await desk.orders()]
                strategies = [s.model_dump(mode="json") for s in await desk.strategies()]
            return orders, strategies

        orders, strategies = asyncio.run(snapshot())

    for name in STRATEGIES:
        assert len(answers[name]) == SIGNALS
        for signal_id, ids in answers[name].items():
            assert len(ids) == 2, signal_id
            assert ids[0] == ids[1], signal_id  # the retry got the same order
    assert len(orders) == len(STRATEGIES) * SIGNALS
    assert not [o for o in orders if o["status"] == "REJECTED"]
    broker_ids = [o["broker_order_id"] for o in orders]
    assert None not in broker_ids
    assert len(set(broker_ids)) == len(broker_ids)
    assert Counter(o["strategy"] for o in orders) == dict.fromkeys(STRATEGIES, SIGNALS)
    by_strategy = {s["strategy"]: s for s in strategies}
    assert {name: by_strategy[name]["orders"] for name in STRATEGIES} == dict.fromkeys(
        STRATEGIES, SIGNALS
    )

    _register_commands()
    verify = CliRunner().invoke(
        app, ["audit", "verify", "--db", str(tmp_path / "data" / "events.db")]
    )
    assert verify.exit_code == 0, verify.output
    assert "chain intact" in verify.output
