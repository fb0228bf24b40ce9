"""The dashboard's routes on a real `orderdesk run` (paper broker, the SQLite log): what the
page reads after a reload, an order's timeline from the log on disk, the health detail, the
chain verified on the daemon's own store, funds, trades and the P&L curve."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from orderdesk.api_token import read_token
from tests.daemon import paper_config, running_daemon
from tests.support import wait_until


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("dashboard")
    with running_daemon(paper_config(home)) as url:
        token = read_token(home / "conf")  # paper_config's config_dir: where run keeps it
        assert token is not None
        yield url, {"Authorization": f"Bearer {token}"}


def _call(desk: tuple[str, dict[str, str]], method: str, path: str, **kwargs: Any) -> Any:
    url, headers = desk
    reply = requests.request(method, url + path, headers=headers, timeout=10, **kwargs)
    assert reply.ok, reply.text
    return reply.json()


def test_the_pages_data_on_a_real_daemon(desk: tuple[str, dict[str, str]]) -> None:
    signal = {
        "instrument": "NSE:INFY",
        "side": "BUY",
        "quantity": 2,
        "order_type": "MARKET",
        "product": "CNC",
    }
    order_id = _call(desk, "POST", "/api/signals", json=signal)["order"]["order_id"]

    def filled() -> Any:
        timeline = _call(desk, "GET", f"/api/orders/{order_id}/events")
        return any("2 filled at 1500" in e["text"] for e in timeline) and timeline

    timeline = wait_until(filled, timeout=20, what="the paper fill in the order's timeline")
    assert timeline[0]["text"].startswith("Signal from manual: BUY 2 NSE:INFY MARKET")

    [trade] = _call(desk, "GET", "/api/trades")
    assert (trade["order_id"], trade["quantity"]) == (order_id, 2)
    assert _call(desk, "GET", "/api/funds")["equity"]["enabled"] is True
    assert _call(desk, "GET", "/api/pnl")["points"]

    audit = _call(desk, "POST", "/api/audit/verify")
    assert audit["ok"] is True
    assert audit["rows"] >= len(timeline)
    detail = _call(desk, "GET", "/api/health/detail")
    assert detail["audit"]["rows"] == audit["rows"]
    assert detail["order_rate"]["day"] == 1

    # The stream's snapshot carries the log's latest events: the page's history on reload.
    url, headers = desk
    with requests.get(url + "/api/events", headers=headers, stream=True, timeout=10) as reply:
        lines = reply.iter_lines(decode_unicode=True)
        assert next(lines) == "event: snapshot"
        snapshot = next(lines)
    assert order_id in snapshot
    assert "2 filled at 1500" in snapshot
