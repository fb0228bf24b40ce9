"""TEMPORARY stand-in for the market owner's modules (instruments, market, ticker, postbacks,
routes_market) so the core can run before they land. Delete once the real modules exist.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from orderdesk.sim.envelope import ok
from orderdesk.sim.faults import Faults


@dataclass(frozen=True, slots=True)
class Instrument:
    instrument_token: int
    exchange_token: int
    tradingsymbol: str
    name: str
    last_price: float
    expiry: str
    strike: float
    tick_size: float
    lot_size: int
    instrument_type: str
    segment: str
    exchange: str
    freeze_quantity: int | None = None


_BUILTIN = [
    Instrument(408065, 1594, "INFY", "INFOSYS", 1500.0, "", 0.0, 0.05, 1, "EQ", "NSE", "NSE"),
    Instrument(779521, 3045, "SBIN", "SBI", 800.0, "", 0.0, 0.05, 1, "EQ", "NSE", "NSE"),
    Instrument(738561, 2885, "RELIANCE", "RELIANCE", 2900.0, "", 0.0, 0.05, 1, "EQ", "NSE", "NSE"),
    Instrument(
        13238786,
        51714,
        "NIFTY26JULFUT",
        "NIFTY",
        24000.0,
        "2026-07-30",
        0.0,
        0.1,
        75,
        "FUT",
        "NFO-FUT",
        "NFO",
        1800,
    ),
]


class InstrumentMaster:
    def __init__(self, items: list[Instrument]) -> None:
        self._items = items
        self._by_token = {i.instrument_token: i for i in items}
        self._by_key = {f"{i.exchange}:{i.tradingsymbol}": i for i in items}

    @classmethod
    def load(cls, csv_path: Path | None = None, include_builtin: bool = True) -> InstrumentMaster:
        return cls(list(_BUILTIN))

    def by_key(self, key: str) -> Instrument | None:
        return self._by_key.get(key)

    def by_token(self, token: int) -> Instrument | None:
        return self._by_token.get(token)

    def by_symbol(self, exchange: str, tradingsymbol: str) -> Instrument | None:
        return self._by_key.get(f"{exchange}:{tradingsymbol}")

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class MarketData:
    def __init__(self, master: InstrumentMaster, seed: int) -> None:
        self._master = master
        self._rng = random.Random(seed)
        self._prices = {i.instrument_token: i.last_price for i in master}
        self._listeners: list[Callable[[list[int]], None]] = []

    def last_price(self, token: int) -> float:
        return self._prices[token]

    def set_prices(self, prices: dict[str, float]) -> list[int]:
        changed = []
        for key, value in prices.items():
            inst = self._master.by_key(key)
            if inst is None:
                raise KeyError(key)
            self._prices[inst.instrument_token] = float(value)
            changed.append(inst.instrument_token)
        for cb in self._listeners:
            cb(changed)
        return changed

    def step(self) -> list[int]:
        return []

    def add_price_listener(self, cb: Callable[[list[int]], None]) -> None:
        self._listeners.append(cb)

    def ltp(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out = {}
        for key in keys:
            inst = self._master.by_key(key)
            if inst is not None:
                out[key] = {
                    "instrument_token": inst.instrument_token,
                    "last_price": self._prices[inst.instrument_token],
                }
        return out

    def record_trade(self, token: int, quantity: int, price: float) -> None:
        pass

    def reset(self, seed: int) -> None:
        self._rng.seed(seed)
        self._prices = {i.instrument_token: i.last_price for i in self._master}


class TickerHub:
    def __init__(
        self, market: MarketData, authenticate: Callable[[str, str], str | None], faults: Faults
    ) -> None:
        self.updates: list[tuple[str, dict[str, Any]]] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close()
        return ws

    def publish_order_update(self, user_id: str, order: dict[str, Any]) -> None:
        self.updates.append((user_id, order))

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def drop_all(self) -> int:
        return 0


class PostbackSender:
    def __init__(self, url: str | None, api_secret: str, session_factory: Any) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, order_payload: dict[str, Any]) -> None:
        self.sent.append(order_payload)

    async def close(self) -> None:
        pass


def add_market_routes(
    app: web.Application,
    market: MarketData,
    master: InstrumentMaster,
    require_auth: Callable[[web.Request], Awaitable[str]],
) -> None:
    async def ltp(request: web.Request) -> web.Response:
        await require_auth(request)
        return ok(market.ltp(request.query.getall("i", [])))

    app.router.add_get("/quote/ltp", ltp)
