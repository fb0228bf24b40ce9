"""``orderdesk demo``: the simulator, a logged-in desk, the dashboard, and a sample strategy.

Everything runs in one process on loopback with a throw-away workspace: the simulator plays
Kite, the desk logs in through the same redirect-and-checksum flow a person uses with Kite,
and a small strategy places, modifies and cancels orders while prices walk. Positions and P&L
are printed in the terminal and live on the dashboard.

The event log and the simulator's secrets are throw-away; the API token is not: the demo serves
the API as ``orderdesk run`` would, with the config directory's token and on ``[api]``'s port,
and announces its address there (:mod:`orderdesk.desk_address`), so every CLI command works
against a running demo with no extra step.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
from rich.console import Console
from rich.table import Table

from orderdesk.brokers.kite.auth import exchange_request_token
from orderdesk.brokers.paper import PaperBroker
from orderdesk.config import (
    EngineSettings,
    Settings,
    StoreSettings,
    TradingDaySettings,
)
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.engine.desk import OrderDesk
from orderdesk.runtime import Runtime, open_runtime
from orderdesk.secrets import FileSecretStore
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

STRATEGY = "demo"
TICK = Decimal("0.05")
INFY = InstrumentKey.parse("NSE:INFY")
RELIANCE = InstrumentKey.parse("NSE:RELIANCE")
TCS = InstrumentKey.parse("NSE:TCS")
KEYS = (INFY, RELIANCE, TCS)


def _on_tick(price: Decimal) -> Decimal:
    return (price / TICK).to_integral_value(rounding=ROUND_DOWN) * TICK


@dataclass(frozen=True, slots=True)
class DemoOptions:
    api_port: int | None = None
    """None: ``[api]``'s port (8700 unless configured), where the CLI looks first."""
    seed: int = 7
    duration: float | None = None
    """Seconds to keep running after the strategy; None runs until interrupted."""
    workdir: Path | None = None
    price_step_seconds: float = 0.5


async def _login(sim: SimServer, http: aiohttp.ClientSession) -> str:
    """Log in the way a person does: follow Kite's login redirect, trade the request token."""
    config = sim.config
    async with http.get(
        f"{sim.rest_root}/connect/login",
        params={"api_key": config.api_key, "v": "3"},
        allow_redirects=False,
    ) as response:
        location = response.headers["Location"]
    request_token = parse_qs(urlsplit(location).query)["request_token"][0]
    session = await exchange_request_token(
        sim.rest_root, config.api_key, request_token, config.api_secret
    )
    return session.access_token.reveal()


@contextlib.asynccontextmanager
async def demo_runtime(
    options: DemoOptions, settings: Settings | None = None
) -> AsyncIterator[tuple[str, Runtime]]:
    """A desk for the demo, on whatever broker the config names (Kite means the simulator).

    Yields a one-line description of the market and the running desk. The workspace (event
    log, secrets) is a temporary directory unless ``options.workdir`` is given; the API token is
    the config directory's, the one the CLI reads.
    """
    base = settings or Settings()
    with contextlib.ExitStack() as stack:
        workdir = options.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="orderdesk-demo-"))
        )
        api = base.api
        if options.api_port is not None:
            api = api.model_copy(update={"port": options.api_port})
        overrides = {
            "data_dir": workdir,
            "store": StoreSettings(),
            "api": api,
            "engine": EngineSettings(reconcile_interval_seconds=30),
            # The demo's market never closes (the simulator runs without market hours).
            "trading_day": TradingDaySettings(enabled=False),
        }
        if base.broker == "kite":
            async with _on_simulator(options, base, workdir, overrides) as pair:
                yield pair
            return
        demo_settings = base.model_copy(update=overrides)
        options_for_broker = demo_settings.broker_options()
        if base.broker == "paper":
            # The story trades these three: a config's own prices stay, the missing ones are
            # added (an instrument without a price is unknown to the paper broker).
            prices = {**PAPER_PRICES, **(options_for_broker.get("prices") or {})}
            paper = {**options_for_broker, "prices": prices}
            demo_settings = demo_settings.model_copy(update={"paper": paper})
        secrets = FileSecretStore(workdir / "secrets.json")  # not the user's keyring
        async with open_runtime(demo_settings, secrets=secrets) as runtime:
            walker = asyncio.create_task(_walk_paper_prices(runtime, options))
            try:
                yield f"broker {base.broker} (in-process)", runtime
            finally:
                walker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await walker


@contextlib.asynccontextmanager
async def _on_simulator(
    options: DemoOptions, base: Settings, workdir: Path, overrides: dict[str, object]
) -> AsyncIterator[tuple[str, Runtime]]:
    sim_config = SimConfig(
        port=0, seed=options.seed, price_tick_interval=options.price_step_seconds
    )
    async with SimServer(sim_config) as sim, aiohttp.ClientSession() as http:
        secrets = FileSecretStore(workdir / "secrets.json")
        secrets.set("kite.api_secret", sim_config.api_secret)
        secrets.set("kite.access_token", await _login(sim, http))
        kite = {"api_key": sim_config.api_key, "root": sim.rest_root, "ws_url": sim.ws_url}
        settings = base.model_copy(update={**overrides, "kite": kite})
        async with open_runtime(settings, secrets=secrets) as runtime:
            yield f"simulator {sim.rest_root} (ticker {sim.ws_url})", runtime


PAPER_PRICES = {"NSE:INFY": "1500", "NSE:RELIANCE": "1400", "NSE:TCS": "4000"}


async def _walk_paper_prices(runtime: Runtime, options: DemoOptions) -> None:
    """The paper broker's prices only move when told to: walk them like a market would."""
    broker = runtime.broker
    if not isinstance(broker, PaperBroker):
        return
    rng = random.Random(options.seed)
    prices = {key: quote.last_price for key, quote in (await broker.quotes(KEYS)).items()}
    while True:
        await asyncio.sleep(options.price_step_seconds)
        for key, price in prices.items():
            step = Decimal(rng.choice((-2, -1, 0, 1, 2))) * TICK
            prices[key] = max(TICK, price + step)
            broker.set_price(key, prices[key])


async def sample_strategy(desk: OrderDesk, console: Console) -> None:
    """Place, modify and cancel: one of each thing a strategy does, narrated."""
    quotes = await desk.broker.quotes(KEYS)
    infy, tcs = quotes[INFY].last_price, quotes[TCS].last_price

    def limit(key: InstrumentKey, side: Side, qty: int, price: Decimal, sid: str) -> Signal:
        return Signal(
            instrument=key,
            side=side,
            quantity=qty,
            order_type=OrderType.LIMIT,
            product=Product.MIS,
            price=_on_tick(price),
            strategy=STRATEGY,
            signal_id=sid,
        )

    console.print("[bold]1.[/] buy 10 INFY with a limit 2% under the market (it rests)")
    resting = await desk.submit(limit(INFY, Side.BUY, 10, infy * Decimal("0.98"), "infy-buy"))
    await resting.wait(lambda h: h.status is OrderStatus.OPEN)

    console.print("[bold]2.[/] buy 5 RELIANCE at market")
    market = await desk.submit(
        Signal(
            instrument=RELIANCE,
            side=Side.BUY,
            quantity=5,
            order_type=OrderType.MARKET,
            product=Product.MIS,
            strategy=STRATEGY,
            signal_id="reliance-buy",
        )
    )

    console.print("[bold]3.[/] offer 3 TCS 5% above the market (it rests)")
    offer = await desk.submit(limit(TCS, Side.SELL, 3, tcs * Decimal("1.05"), "tcs-sell"))
    await offer.wait(lambda h: h.status is OrderStatus.OPEN)

    console.print("[bold]4.[/] modify the INFY bid up through the market (it fills)")
    latest = (await desk.broker.quotes([INFY]))[INFY].last_price
    await resting.modify(price=_on_tick(latest * Decimal("1.01")))

    console.print("[bold]5.[/] cancel the TCS offer")
    await offer.cancel()

    for handle in (resting, market, offer):
        await handle.wait()

    console.print("[bold]6.[/] sell 4 INFY at market once its price has moved, to book some P&L")
    await _moved_from(desk, INFY, resting.order.average_price)
    exit_ = await desk.submit(
        Signal(
            instrument=INFY,
            side=Side.SELL,
            quantity=4,
            order_type=OrderType.MARKET,
            product=Product.MIS,
            strategy=STRATEGY,
            signal_id="infy-exit",
        )
    )
    await exit_.wait()
    # Positions move with fills (trades), which can trail the status that says "filled".
    for handle in (resting, market, offer, exit_):
        await handle.wait(lambda h: h.order.fill_quantity >= h.order.filled_quantity)


async def _moved_from(desk: OrderDesk, key: InstrumentKey, price: Decimal) -> None:
    """Wait until ``key``'s last price (the desk's mark, from the ticks) is no longer ``price``.

    The bid was just filled at the market; selling at once, at the same price, would book
    exactly nothing. The market walks a tick or two every step, so this is a moment's wait;
    the bound (30 s) only guards a market that has stopped. Marks arrive with no event to
    await, so this looks at the position every 50 ms.
    """
    for _ in range(600):
        if desk.position(key, Product.MIS).last_price not in (None, price):
            return
        await asyncio.sleep(0.05)


def orders_table(desk: OrderDesk) -> Table:
    table = Table(title="orders", title_justify="left", header_style="bold")
    for column in ("order id", "instrument", "side", "qty", "filled", "status", "avg price"):
        table.add_column(column)
    for order in sorted(desk.orders(), key=lambda o: o.created_at):
        table.add_row(
            order.order_id,
            str(order.signal.instrument),
            order.signal.side.value,
            str(order.quantity),
            str(order.filled_quantity),
            order.status.value,
            f"{order.average_price:,.2f}" if order.filled_quantity else "—",  # none traded
        )
    return table


def positions_table(desk: OrderDesk) -> Table:
    total = sum((p.pnl() for p in desk.positions()), Decimal(0))
    table = Table(title=f"positions — P&L ₹{total:,.2f}", title_justify="left", header_style="bold")
    for column in ("instrument", "qty", "avg", "last", "realised", "unrealised", "P&L"):
        table.add_column(column, justify="right" if column != "instrument" else "left")
    for p in desk.positions():
        table.add_row(
            str(p.instrument),
            str(p.quantity),
            f"{p.average_price:,.2f}",
            f"{p.last_price:,.2f}" if p.last_price is not None else "—",
            f"{p.realised:,.2f}",
            f"{p.unrealised():,.2f}",
            f"{p.pnl():,.2f}",
        )
    return table


async def run_demo(
    options: DemoOptions, console: Console, settings: Settings | None = None
) -> Runtime:
    """Run the whole story; returns the runtime's final state for tests to inspect."""
    async with demo_runtime(options, settings) as (market, runtime):
        console.rule("orderdesk demo")
        console.print(f"market      {market}")
        console.print(f"dashboard   [bold]{runtime.dashboard_url}[/]")
        console.print(f"API token   [bold]{runtime.token}[/]  (paste it into the dashboard)")
        console.print("CLI         `orderdesk orders`, `positions`, `status`… reach this desk")
        console.print()
        await sample_strategy(runtime.desk, console)
        console.print(orders_table(runtime.desk))
        console.print(positions_table(runtime.desk))
        if options.duration is None:
            console.print("prices keep walking; watch P&L on the dashboard. Ctrl-C to stop.")
        await _keep_running(runtime.desk, console, options.duration)
        return runtime


async def _keep_running(desk: OrderDesk, console: Console, duration: float | None) -> None:
    loop = asyncio.get_running_loop()
    deadline = None if duration is None else loop.time() + duration
    while deadline is None or loop.time() < deadline:
        remaining = 15.0 if deadline is None else min(15.0, deadline - loop.time())
        await asyncio.sleep(max(remaining, 0))
        if deadline is None:
            console.print(positions_table(desk))


__all__ = ["DemoOptions", "demo_runtime", "run_demo", "sample_strategy"]
