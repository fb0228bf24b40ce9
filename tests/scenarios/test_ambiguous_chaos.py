"""Issue 13: 500 signals through Kite's ambiguous "Order request timed out" 400s, lost replies,
5xx and SIGKILLs of the desk: no duplicate, none lost. Beside it, the plain retry loop on the
official client under the same faults, whose duplicates are printed (a baseline, not asserted).

Every fifth placement (seeded) is answered 400 while its order appears up to MAX_DELAY_MS later
on the simulator's clock, which follows real time here. The delays are shorter than the 10 s the
simulator draws by default so that the scenario fits CI; the desk's late-order window is set to
twice the longest delay, the relation its 30 s default keeps with Kite's "seconds later". (The
full 10 s delay against the default window is tests/scenarios/test_ambiguous_resolution.py.) The
official ``kiteconnect`` client referees the simulator's book.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from kiteconnect import KiteConnect

from orderdesk.domain import OrderStatus
from orderdesk.domain.events import Doubt
from orderdesk.domain.ids import client_order_id
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.store.location import sqlite_url
from tests.scenarios.engine_child import crash_signal
from tests.scenarios.harness import BrokerView, ListNotifier, SimAddress, compare, open_desk
from tests.scenarios.test_crash import (
    LogLength,
    child_env,
    engine_process,
    kill_then_finish,
    sim_process,
)

SIGNALS = 500
KILLS = 8
SEED = 1313
MAX_DELAY_MS = 3_000
WINDOW = 2 * MAX_DELAY_MS / 1000
FAULTS: dict[str, Any] = {
    "ambiguous_timeout": 0.2,
    "ambiguous_delay_max_ms": MAX_DELAY_MS,
    "lost_response": 0.1,
    "error_5xx": 0.05,
}
TAGS = {client_order_id("crash", f"sig-{i}"): i for i in range(SIGNALS)}
"""The client order id (the tag at the broker) of each signal the engine child submits."""


def referee_book(address: SimAddress) -> list[dict[str, Any]]:
    """The simulator's order book, read by the official client."""
    kite = KiteConnect(address.api_key, root=address.rest_root, timeout=30)
    kite.set_access_token(address.access_token)
    rows: list[dict[str, Any]] = kite.orders()
    return rows


@pytest.mark.slow
async def test_ambiguous_replies_lost_replies_5xx_and_kills_no_duplicate_none_lost(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SIGKILL at seeded moments of a 500-signal run under 20% ambiguous 400s, 10% lost replies
    and 5% 5xx, a restart after each: the official client finds exactly one order per signal at
    the simulator, and the desk's log, replayed, agrees with it."""
    started = time.monotonic()
    env = child_env(tmp_path_factory)
    store_url = sqlite_url(tmp_path / "desk.db")
    log = tmp_path / "engine.log"
    rng = random.Random(SEED)
    with contextlib.closing(LogLength(store_url)) as log_length:
        async with sim_process(env, SEED) as address:
            view = BrokerView(address)
            await view.faults(**FAULTS)
            # Kill after 1..150 new events: from start-up to deep into placing (an order takes
            # about four events; 500 orders, about 2,000).
            killed, finished_early, code = await kill_then_finish(
                lambda: engine_process(
                    env, store_url, tmp_path, address, log, signals=SIGNALS, window=WINDOW
                ),
                log_length,
                rng,
                kills=KILLS,
                most_events=150,
                finish_timeout=180,
            )
            assert code == 0, log.read_text()[-3000:]

            await view.calm()
            rows = await asyncio.to_thread(referee_book, address)
            counts = Counter(str(row["tag"]) for row in rows)
            duplicates = {tag: n for tag, n in counts.items() if n > 1}
            lost = sorted(tag for tag in TAGS if tag not in counts)
            strangers = sorted(tag for tag in counts if tag not in TAGS)
            assert not duplicates, duplicates
            assert not lost, [TAGS[tag] for tag in lost]
            assert not strangers, strangers

            notifier = ListNotifier()
            async with open_desk(address, store_url, tmp_path, notifier=notifier) as desk:
                # The log, replayed, already agrees with the broker: nothing to repair at start.
                assert desk.startup_report is not None
                assert desk.startup_report.ok, desk.startup_report.rows
                by_tag = {str(row["tag"]): str(row["order_id"]) for row in rows}
                for tag in TAGS:
                    order = desk.order(tag)
                    assert order.status is OrderStatus.FILLED, (tag, order.status, order.reason)
                    assert order.broker_order_id == by_tag[tag]
                books = await view.books()
                differences = compare(desk, books)
                assert not differences, str(differences)
                unknown = [
                    row.event() for row in desk.store.read() if row.type == "OrderSubmitUnknown"
                ]
    doubts = Counter(getattr(event, "doubt", None) for event in unknown)
    elapsed = time.monotonic() - started
    # Shown with -s: what the faults and kills left in doubt, all resolved from the book.
    print(
        f"desk: {SIGNALS} signals, {len(rows)} orders at the simulator, duplicates "
        f"{len(duplicates)}, lost {len(lost)}; killed {killed}, finished early "
        f"{finished_early}; unknown outcomes: broker unsure {doubts[Doubt.BROKER_UNSURE]}, "
        f"no answer {doubts[Doubt.NO_ANSWER]}, interrupted {doubts[Doubt.INTERRUPTED]}; "
        f"{elapsed:.1f} s"
    )
    assert killed >= KILLS * 3 // 4, (killed, finished_early)
    assert doubts[Doubt.BROKER_UNSURE] >= SIGNALS * 0.1, doubts


def test_baseline_plain_retry_loop_on_the_official_client() -> None:
    """The same 500 signals and faults through the official client and a loop that sends again
    on any error: how many orders it doubles is printed, not asserted (it is the baseline the
    desk is measured against)."""
    started = time.monotonic()
    config = SimConfig(
        host="127.0.0.1",
        port=0,
        seed=SEED,
        rate_limits=False,
        price_tick_interval=None,
        faults=FAULTS,
    )
    sends = 0
    with SimServer.run_in_thread(config) as sim:
        kite = KiteConnect(config.api_key, root=sim.rest_root, timeout=10)
        kite.set_access_token(sim.issue_access_token())
        for tag, i in TAGS.items():
            s = crash_signal(i)
            for _ in range(20):
                sends += 1
                try:
                    kite.place_order(
                        variety="regular",
                        exchange=s.instrument.exchange.value,
                        tradingsymbol=s.instrument.tradingsymbol,
                        transaction_type=s.side.value,
                        quantity=s.quantity,
                        product=s.product.value,
                        order_type=s.order_type.value,
                        market_protection=2,
                        tag=tag,
                    )
                except Exception:  # noqa: S112 - the baseline's point: any error, send again
                    continue
                break
        control = requests.Session()
        control.post(f"{sim.rest_root}/_sim/faults", json={"error_5xx": 0}, timeout=10)
        # Every late order of the ambiguous replies is due by now on the simulator's clock.
        control.post(
            f"{sim.rest_root}/_sim/clock",
            json={"advance_seconds": MAX_DELAY_MS / 1000 + 1},
            timeout=10,
        )
        counts = Counter(str(row["tag"]) for row in kite.orders())
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    doubled = sum(1 for n in counts.values() if n > 1)
    lost = sum(1 for tag in TAGS if tag not in counts)
    print(
        f"baseline (retry on any error): {SIGNALS} signals, {sends} sends, "
        f"{sum(counts.values())} orders, {duplicates} duplicate orders over {doubled} signals, "
        f"lost {lost}; {time.monotonic() - started:.1f} s"
    )
    assert sum(counts.values()) >= SIGNALS - lost  # it ran; its duplicates are the figure
