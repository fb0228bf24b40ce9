"""`orderdesk exit` over the fake desk: an exit the broker rejects at once exits 3, as `place`'s
rejection does; without --product it exits the one product the position is held in (the
strategy's own with --strategy), refuses to choose among several, and says when there is
none."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from orderdesk.api.desk import PositionExit
from orderdesk.cli import _register_commands, app
from orderdesk.domain import InstrumentKey, Order
from orderdesk.domain.events import Doubt
from orderdesk.domain.values import OrderType, Product, Side
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal, step

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")

NIFTY_CE = "NFO:NIFTY27JAN25300CE"
CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."


async def held(
    desk: FakeDesk,
    instrument: str,
    product: Product,
    quantity: int,
    price: str = "100",
    *,
    strategy: str = "manual",
) -> None:
    """A buy of ``quantity`` in ``instrument`` (``product``) filled whole at ``price``."""
    order = await desk.submit(
        signal(
            instrument=InstrumentKey.parse(instrument),
            side=Side.BUY,
            quantity=quantity,
            product=product,
            price=Decimal(price),
            strategy=strategy,
            signal_id=f"{instrument}-{product}-{strategy}".replace(":", "-"),
        )
    )
    desk.fill(order.order_id, Decimal(price))


def exits_by_selling(desk: FakeDesk) -> Callable[..., Awaitable[PositionExit]]:
    """The fake's exit, placing a MARKET sell of 65 as the desk's would (the fake's own never
    places one): a broker set to reject (``reject_with``) rejects it as it answers."""
    recorded = desk.exit_position

    async def exit_position(instrument: InstrumentKey, **asked: object) -> PositionExit:
        await recorded(instrument, **asked)
        order = await desk.submit(
            signal(
                instrument=instrument,
                side=Side.SELL,
                quantity=65,
                order_type=OrderType.MARKET,
                product=asked["product"],
                price=None,
                strategy="account_exit",
                signal_id=f"exit-{len(desk.exits)}",
            )
        )
        return PositionExit(order)

    return exit_position


async def cli(where: list[str], *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(runner.invoke, app, [*args, *where])
    return result.exit_code, result.output


async def test_an_exit_the_broker_rejects_at_once_exits_3(
    served: tuple[FakeDesk, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Markets are closed": the REJECTED exit is shown, with the broker's reason, and the
    command exits 3 (its --json answer keeps its shape: order, detail, cancelled)."""
    desk, where = served
    monkeypatch.setattr(desk, "exit_position", exits_by_selling(desk))
    desk.reject_with = CLOSED
    code, out = await cli(where, "exit", NIFTY_CE, "--product", "NRML")
    assert code == 3, out
    assert "rejected by the broker" in out
    assert "Markets are closed" in out
    code, out = await cli(where, "exit", NIFTY_CE, "--product", "NRML", "--json")
    assert code == 3, out
    answer = json.loads(out)
    assert set(answer) == {"order", "detail", "cancelled", "warnings"}
    assert answer["order"]["status"] == "REJECTED"


async def test_an_exit_the_broker_takes_still_exits_0(
    served: tuple[FakeDesk, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exit resting at the broker is watched until it fills: exit 0."""
    desk, where = served
    monkeypatch.setattr(desk, "exit_position", exits_by_selling(desk))
    code, out = await cli(where, "exit", NIFTY_CE, "--product", "NRML")
    assert code == 0, out
    assert "watched until it fills" in out


async def test_without_product_the_exit_takes_the_one_product_held(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """An NRML position (MIS would be the old default) is the one exited: the account's, and
    with --strategy the strategy's own."""
    desk, where = served
    await held(desk, NIFTY_CE, Product.NRML, 65, strategy="late")
    code, out = await cli(where, "exit", NIFTY_CE)
    assert code == 0, out
    assert desk.exits[-1]["product"] == "NRML"
    assert desk.exits[-1]["strategy"] == "manual"
    code, out = await cli(where, "exit", NIFTY_CE, "--strategy", "late")
    assert code == 0, out
    assert (desk.exits[-1]["product"], desk.exits[-1]["strategy"]) == ("NRML", "late")


async def test_with_strategy_its_own_product_is_taken_not_the_accounts(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """The account holds NIFTY in MIS and NRML, strategy late only in NRML: `--strategy late`
    exits its NRML share, where the account's exit refuses to choose."""
    desk, where = served
    await held(desk, NIFTY_CE, Product.MIS, 65, strategy="early")
    await held(desk, NIFTY_CE, Product.NRML, 65, strategy="late")
    code, out = await cli(where, "exit", NIFTY_CE, "--strategy", "late")
    assert code == 0, out
    assert (desk.exits[-1]["product"], desk.exits[-1]["strategy"]) == ("NRML", "late")
    code, out = await cli(where, "exit", NIFTY_CE)
    assert code == 3, out


async def test_held_in_several_products_the_exit_asks_which(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """MIS and NRML both open: nothing is asked of the desk's exit, the command exits 3 naming
    both and --product."""
    desk, where = served
    await held(desk, NIFTY_CE, Product.NRML, 65)
    await held(desk, NIFTY_CE, Product.MIS, 65)
    code, out = await cli(where, "exit", NIFTY_CE)
    assert code == 3, out
    text = " ".join(out.split())
    assert "MIS, NRML" in text
    assert "--product" in text
    code, out = await cli(where, "exit", NIFTY_CE, "--json")
    assert code == 3, out
    assert json.loads(out)["products"] == ["MIS", "NRML"]
    assert desk.exits == []


async def test_held_in_no_product_there_is_nothing_to_exit(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """No position at all: "nothing to exit", for every product, exit 0, no exit asked; a
    strategy holding none is named."""
    desk, where = served
    await held(desk, "NSE:INFY", Product.CNC, 10)
    code, out = await cli(where, "exit", NIFTY_CE)
    assert code == 0, out
    assert f"nothing to exit: no position in {NIFTY_CE} (in any product)" in out
    code, out = await cli(where, "exit", "NSE:INFY", "--strategy", "late")
    assert code == 0, out
    text = " ".join(out.split())
    assert "nothing to exit: strategy late holds no position in NSE:INFY (in any product)" in text
    assert desk.exits == []


async def test_an_exit_whose_answer_was_lost_says_so_not_placed(
    served: tuple[FakeDesk, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exit whose placement's answer was lost read "exit … placed … (watched until it
    fills)": it says the outcome is unknown and not to exit again by hand."""
    desk, where = served
    recorded = desk.exit_position

    async def unknown_exit(instrument: InstrumentKey, **asked: object) -> PositionExit:
        await recorded(instrument, **asked)
        exit_signal = signal(
            instrument=instrument,
            side=Side.SELL,
            quantity=65,
            order_type=OrderType.MARKET,
            product=asked["product"],
            price=None,
            strategy="account_exit",
            signal_id="exit-lost",
        )
        order = Order.from_events([Order.create("odexitlost", exit_signal, desk.now())])
        step(order, order.submit(desk.now()))
        step(order, order.submit_unknown("ReadTimeout", desk.now(), Doubt.NO_REPLY))
        desk._orders[order.order_id] = order
        return PositionExit(order)

    monkeypatch.setattr(desk, "exit_position", unknown_exit)
    code, out = await cli(where, "exit", NIFTY_CE, "--product", "NRML")
    assert code == 0, out
    said = " ".join(out.split())
    assert "sent, outcome unknown" in said
    assert "do not exit again by hand" in said
    assert "watched until it fills" not in said


async def test_an_exit_that_leaves_others_orders_exposed_warns(
    served: tuple[FakeDesk, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk names other strategies' orders the exit leaves without a position: the command
    prints the warning, and --json carries it."""
    desk, where = served
    selling = exits_by_selling(desk)

    async def exposing(instrument: InstrumentKey, **asked: object) -> PositionExit:
        placed = await selling(instrument, **asked)
        return PositionExit(placed.order, (), ("odstop (beta: SL-M SELL 30)",))

    monkeypatch.setattr(desk, "exit_position", exposing)
    code, out = await cli(where, "exit", NIFTY_CE, "--product", "NRML", "--strategy", "alpha")
    assert code == 0, out
    said = " ".join(out.split())
    assert "warning: with the account's position exited, these orders of other" in said
    assert "odstop (beta: SL-M SELL 30)" in said
    code, out = await cli(where, "exit", NIFTY_CE, "--product", "NRML", "--json")
    assert json.loads(out)["warnings"] == [
        "with the account's position exited, these orders of other strategies would open a "
        "position if they filled: odstop (beta: SL-M SELL 30); cancel them or exit those "
        "strategies too"
    ]
