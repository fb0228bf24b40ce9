"""The Telegram bot inside a real paper desk, against the Bot API stand-in: every command, the
kill switch's confirmation, approvals, the allow-list, and the audit log's record of each."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from orderdesk import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.approvals import ApprovalState, NotApproved
from orderdesk.doctor import Check, Status
from orderdesk.domain.events import KillSwitchChanged
from orderdesk.engine.handle import OrderHandle
from tests.support import eventually
from tests.telegram.conftest import KILL_SECONDS, OWNER, PARTNER, STRANGER, Desk

INFY = InstrumentKey.parse("NSE:INFY")


def buy(strategy: str, signal_id: str, *, limit: str | None = None) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        price=Decimal(limit) if limit else None,
        product=Product.CNC,
        strategy=strategy,
        signal_id=signal_id,
    )


async def filled_order(desk: Desk) -> OrderHandle:
    handle = await desk.runtime.submit(buy("quick", "q-1"))
    await handle.wait(timeout=10)
    assert handle.status is OrderStatus.FILLED
    return handle


async def test_status_orders_positions_and_pnl_answer_from_the_desk(desk: Desk) -> None:
    """/status, /orders, /positions and /pnl describe the desk's own book after a fill."""
    handle = await filled_order(desk)
    telegram = desk.telegram

    status = await telegram.ask(OWNER, "/status")
    orders = await telegram.ask(OWNER, "/orders")
    positions = await telegram.ask(OWNER, "/positions")
    pnl = await telegram.ask(OWNER, "/pnl@desk_test_bot")

    assert status.text.startswith(
        "Desk OK\nkill switch: off\nbroker session: valid\nbroker stream: CONNECTED"
    )
    assert "1 today" in status.text
    assert "Orders today: 1 (0 open)" in orders.text
    assert f"BUY 2 NSE:INFY MARKET · FILLED 2/2 avg 1500 · {handle.order_id}" in orders.text
    assert "NSE:INFY CNC +2 @1500.00" in positions.text
    assert pnl.text.startswith("P&L today: +₹0.00")
    recorded = desk.commands()
    assert [(c.operator, c.command) for c in recorded] == [
        (f"telegram:{OWNER}", "status"),
        (f"telegram:{OWNER}", "orders"),
        (f"telegram:{OWNER}", "positions"),
        (f"telegram:{OWNER}", "pnl"),
    ]
    assert recorded[1].outcome == "answered: 1 orders"


async def test_status_says_an_idle_stream_and_an_event_log_that_cannot_be_written(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the session's end the stream read CONNECTED; with the log unwritable the desk read
    OK, while every signal was refused."""
    problem = "the event log at sqlite:///events.db cannot be written: disk I/O error"
    monkeypatch.setattr(EngineDesk, "event_log_problem", lambda self: problem)
    desk.runtime.desk.session.refused("Token expired", desk.clock.now())

    status = await desk.telegram.ask(OWNER, "/status")

    assert status.text.startswith(f"Desk DEGRADED\nevent log cannot be written: {problem};")
    assert "broker stream: idle (the session has ended)" in status.text


async def test_status_says_reconciliations_that_keep_failing_as_the_api_does(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk whose every reconciliation failed read "degraded" on /api/health and "Desk OK" on
    the phone: the bot says the doctor's line and the same word."""
    failing = Check(
        "reconciliation",
        Status.FAIL,
        "failing since 09:30 IST: AttributeError: 'dict' object has no attribute 'x'",
    )
    monkeypatch.setattr(EngineDesk, "reconciliation_failing", lambda self: failing)

    status = await desk.telegram.ask(OWNER, "/status")

    assert status.text.startswith(f"Desk DEGRADED\nreconciliation {failing.summary}\n")


async def test_doctor_help_and_an_unknown_command_are_answered_and_recorded(desk: Desk) -> None:
    """/doctor reports the desk's health checks, /help lists the commands, and a command the
    bot does not know gets the list; all three are in the audit log."""
    telegram = desk.telegram

    doctor = await telegram.ask(OWNER, "/doctor")
    help_ = await telegram.ask(OWNER, "/help")
    unknown = await telegram.ask(OWNER, "/sell everything")

    assert doctor.text.startswith("Doctor: ready to trade\n")
    assert "ok   address: not applicable: the paper broker" in doctor.text
    assert "warn stream" not in doctor.text  # the paper broker's stream says it is connected
    assert "ok   kill switch: released" in doctor.text
    for command in ("/status", "/orders", "/positions", "/pnl", "/kill", "/approve", "/doctor"):
        assert command in help_.text
    assert unknown.text.startswith("Unknown command /sell.")
    assert [(c.command, c.params, c.outcome) for c in desk.commands()] == [
        ("doctor", "", "answered: ready"),
        ("help", "", "answered"),
        ("sell", "everything", "unknown command"),
    ]
    menu = telegram.calls("setMyCommands")
    assert len(menu) == 1
    assert '"command":"kill"' in menu[0].params["commands"].replace(" ", "")


async def test_kill_asks_first_and_engages_with_cancels_on_the_button(desk: Desk) -> None:
    """/kill changes nothing until its button is pressed; "Engage and cancel" engages the
    switch (the reason names the chat) and cancels the open order."""
    resting = await desk.runtime.submit(buy("quick", "rest-1", limit="1450"))
    await eventually(lambda: resting.status is OrderStatus.OPEN, what="a resting order")
    telegram = desk.telegram

    question = await telegram.ask(OWNER, "/kill")
    assert not desk.runtime.desk.kill_switch.engaged
    assert "Open orders now: 1." in question.text
    labels = [label for label, _ in question.buttons]
    assert labels == [
        "Engage kill switch",
        "Engage and cancel open orders (exits and protective stops stay)",
        "Abort",
    ]
    cancel = next(data for label, data in question.buttons if label.startswith("Engage and"))

    answer = await telegram.choose(question, cancel)

    assert answer.method == "editMessageText"
    assert answer.message_id == question.message_id  # the buttons are gone with the question
    assert answer.text.startswith("Kill switch ENGAGED")
    assert resting.order_id in answer.text
    assert desk.runtime.desk.kill_switch.engaged
    await resting.wait(timeout=10)
    assert resting.status is OrderStatus.CANCELLED
    assert len(telegram.calls("answerCallbackQuery")) == 1
    switch = [
        row.event()
        for row in desk.runtime.store.read(kind=KillSwitchChanged.__name__)
        if row.event().at  # every one
    ]
    assert [(e.engaged, e.reason, e.cancel_open) for e in switch] == [  # type: ignore[attr-defined]
        (True, f"engaged from Telegram (telegram:{OWNER})", True)
    ]
    assert [(c.command, c.outcome) for c in desk.commands()] == [
        ("kill", "asked for confirmation"),
        ("kill", "kill switch engaged, cancels sent for 1 open orders"),
    ]


async def test_kill_with_cancel_keeps_the_protective_stop_and_says_why(desk: Desk) -> None:
    """Long 2 INFY with a sell stop of 2 under it and a buy limit resting: "Engage and cancel"
    cancels the buy, leaves the stop working, and the answer (and the audit log) lists the
    stop with the reason it was kept; the question promises no cancel of protective stops."""
    await filled_order(desk)
    stop = await desk.runtime.submit(
        Signal(
            instrument=INFY,
            side=Side.SELL,
            quantity=2,
            order_type=OrderType.SL_M,
            trigger_price=Decimal("1400"),
            product=Product.CNC,
            strategy="quick",
            signal_id="stop-1",
        )
    )
    resting = await desk.runtime.submit(buy("quick", "rest-3", limit="1450"))
    await eventually(lambda: stop.status is OrderStatus.TRIGGER_PENDING, what="a pending stop")
    await eventually(lambda: resting.status is OrderStatus.OPEN, what="a resting order")
    telegram = desk.telegram

    question = await telegram.ask(OWNER, "/kill")
    cancel = next(data for label, data in question.buttons if label.startswith("Engage and"))
    answer = await telegram.choose(question, cancel)

    assert "except the protective ones: a cover order's stop leg" in question.text
    lines = answer.text.splitlines()
    assert lines[:2] == [
        "Kill switch ENGAGED: the desk refuses every new order.",
        "Kept 1 protective orders working:",
    ]
    assert lines[2].startswith(
        f"{stop.order_id}: protective stop of the CNC long 2 in NSE:INFY (SELL 2 SL-M, "
        "trigger 1400): it can only reduce that position"
    )
    assert lines[3:] == ["Cancels sent for 1 open orders.", resting.order_id]
    await resting.wait(timeout=10)
    assert resting.status is OrderStatus.CANCELLED
    assert stop.status is OrderStatus.TRIGGER_PENDING
    assert desk.commands()[-1].outcome == (
        "kill switch engaged, cancels sent for 1 open orders, 1 protective orders kept"
    )


async def test_kill_confirm_typed_engages_without_cancelling(desk: Desk) -> None:
    """`/kill confirm` answers the chat's open question: the switch is engaged, and /status and
    /doctor say so."""
    telegram = desk.telegram
    await telegram.ask(OWNER, "/kill")

    answer = await telegram.ask(OWNER, "/kill confirm")

    assert answer.text == "Kill switch ENGAGED: the desk refuses every new order."
    assert desk.runtime.desk.kill_switch.engaged
    status = await telegram.ask(OWNER, "/status")
    doctor = await telegram.ask(OWNER, "/doctor")
    assert f"ENGAGED (engaged from Telegram (telegram:{OWNER}))" in status.text
    assert doctor.text.startswith("Doctor: NOT ready to trade\n")
    assert f"FAIL kill switch: engaged (engaged from Telegram (telegram:{OWNER}))" in doctor.text


async def test_kill_on_an_engaged_switch_keeps_its_reason_and_cancels(desk: Desk) -> None:
    """/kill while the switch is already engaged says so and why; confirming with cancel
    cancels the open orders and leaves the reason on record as it was."""
    resting = await desk.runtime.submit(buy("quick", "rest-2", limit="1450"))
    await eventually(lambda: resting.status is OrderStatus.OPEN, what="a resting order")
    await desk.runtime.desk.engage_kill_switch("daily loss limit reached")
    telegram = desk.telegram

    question = await telegram.ask(OWNER, "/kill")
    answer = await telegram.ask(OWNER, "/kill confirm cancel")

    assert question.text.startswith("The kill switch is already engaged (daily loss limit reached)")
    assert answer.text.startswith("Kill switch ENGAGED")
    assert "Cancels sent for 1 open orders." in answer.text
    await resting.wait(timeout=10)
    assert resting.status is OrderStatus.CANCELLED
    assert desk.runtime.desk.kill_switch.reason == "daily loss limit reached"


async def test_kill_abort_by_button_or_typed_leaves_the_switch_off(desk: Desk) -> None:
    """Abort, pressed or typed, answers the question and engages nothing; a later confirm finds
    no question."""
    telegram = desk.telegram
    question = await telegram.ask(OWNER, "/kill")
    aborted = await telegram.choose(question, question.buttons[-1][1])
    await telegram.ask(OWNER, "/kill")
    typed = await telegram.ask(OWNER, "/kill abort")
    late = await telegram.ask(OWNER, "/kill confirm")

    assert aborted.text.startswith("Aborted")
    assert typed.text.startswith("Aborted")
    assert late.text.startswith("No /kill is waiting")
    assert not desk.runtime.desk.kill_switch.engaged
    assert [c.outcome for c in desk.commands()] == [
        "asked for confirmation",
        "aborted",
        "asked for confirmation",
        "aborted",
        "not engaged: no question waiting",
    ]


async def test_a_kill_confirmation_lapses_and_an_old_keyboard_is_dead(desk: Desk) -> None:
    """A confirmation after `kill_confirm_seconds` engages nothing, and the buttons of an
    earlier /kill do not answer a newer one."""
    telegram = desk.telegram
    first = await telegram.ask(OWNER, "/kill")
    second = await telegram.ask(OWNER, "/kill")
    old = await telegram.choose(first, first.buttons[0][1])
    desk.clock.offset += KILL_SECONDS + 1
    lapsed = await telegram.choose(second, second.buttons[0][1])

    assert old.text.startswith("No /kill is waiting")
    assert lapsed.text.startswith(f"That /kill lapsed after {KILL_SECONDS:g} s")
    assert not desk.runtime.desk.kill_switch.engaged
    assert [c.outcome for c in desk.commands()][2:] == [
        "not engaged: no question waiting",
        "not engaged: the confirmation lapsed",
    ]


async def test_a_kill_question_is_answered_only_in_its_own_chat(desk: Desk) -> None:
    """Another allowed chat cannot confirm this chat's /kill, typed or with its buttons; the
    audit log names each chat."""
    telegram = desk.telegram
    question = await telegram.ask(OWNER, "/kill")
    typed = await telegram.ask(PARTNER, "/kill confirm")
    borrowed = question.__class__(**{**question.__dict__, "chat_id": PARTNER})
    pressed = await telegram.choose(borrowed, question.buttons[0][1])

    assert typed.text.startswith("No /kill is waiting")
    assert pressed.text.startswith("No /kill is waiting")
    assert not desk.runtime.desk.kill_switch.engaged
    assert [(c.operator, c.outcome) for c in desk.commands()] == [
        (f"telegram:{OWNER}", "asked for confirmation"),
        (f"telegram:{PARTNER}", "not engaged: no question waiting"),
        (f"telegram:{PARTNER}", "not engaged: no question waiting"),
    ]


async def test_approve_and_reject_decide_parked_signals(desk: Desk) -> None:
    """/pending lists a parked signal; /approve places it (the strategy's submit returns its
    filled order) and /reject drops another with the reason given; a wrong id is refused."""
    telegram = desk.telegram
    runtime = desk.runtime
    first = asyncio.create_task(runtime.submit(buy("careful", "c-1")))
    second = asyncio.create_task(runtime.submit(buy("careful", "c-2")))
    parked = await eventually(
        lambda: len(runtime.approvals.pending()) == 2 and runtime.approvals.pending(),
        what="two parked signals",
    )
    yes, no = parked[0].approval_id, parked[1].approval_id

    listed = await telegram.ask(OWNER, "/pending")
    approved = await telegram.ask(OWNER, f"/approve {yes}")
    # A newline and a terminal's escape code reach no log line: one line of printable text.
    rejected = await telegram.ask(OWNER, f"/reject {no} too late\n in the\x1b[31m day")
    again = await telegram.ask(OWNER, f"/approve {no}")
    bogus = await telegram.ask(OWNER, "/approve ap000000000000")

    assert "Awaiting approval: 2" in listed.text
    assert f"{yes} · careful: BUY 2 NSE:INFY MARKET" in listed.text
    handle = await first
    await handle.wait(timeout=10)
    assert handle.status is OrderStatus.FILLED
    assert approved.text.startswith(f"Approved {yes}: BUY 2 NSE:INFY MARKET")
    assert handle.order_id in approved.text
    with pytest.raises(NotApproved) as exc_info:
        await second
    assert exc_info.value.state is ApprovalState.REJECTED
    assert exc_info.value.reason == "too late in the [31m day"
    assert rejected.text == f"Rejected {no}: too late in the [31m day"
    assert again.text == f"Refused: signal {no} is rejected, not pending"
    assert bogus.text == "Refused: no pending signal 'ap000000000000'"
    assert [(c.command, c.params, c.outcome) for c in desk.commands()] == [
        ("pending", "", "answered: 2 pending"),
        ("approve", yes, f"approved: order {handle.order_id}"),
        ("reject", f"{no} too late in the [31m day", "rejected"),
        ("approve", no, f"refused: signal {no} is rejected, not pending"),
        ("approve", "ap000000000000", "refused: no pending signal 'ap000000000000'"),
    ]


async def test_a_chat_not_allowed_is_ignored_and_logged(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """Messages and button presses from a chat outside `allowed_chat_ids` get no answer, do
    nothing and stay out of the audit log; the log names the chat, never the text."""
    telegram = desk.telegram
    caplog.set_level(logging.DEBUG, logger="orderdesk.telegram")
    question = await telegram.ask(OWNER, "/kill")
    mark = len(telegram.sent)
    await telegram.say(STRANGER, "/kill confirm secret-looking-words")
    await telegram.say(STRANGER, "/status")
    stolen = question.__class__(**{**question.__dict__, "chat_id": STRANGER})
    await telegram.press(stolen, question.buttons[0][1])

    # Updates are handled in order: once the owner's next answer is out, the stranger's three
    # were dealt with before it.
    answer = await telegram.ask(OWNER, "/kill abort")

    assert answer.text.startswith("Aborted")
    assert [s.chat_id for s in telegram.sent[mark:]] == [OWNER]
    assert not desk.runtime.desk.kill_switch.engaged
    assert all(c.operator == f"telegram:{OWNER}" for c in desk.commands())
    unknown = [r for r in caplog.records if "telegram.unknown_chat" in r.getMessage()]
    assert [(r.levelno, str(STRANGER) in r.getMessage()) for r in unknown] == [
        (logging.WARNING, True),
        (logging.DEBUG, True),
        (logging.DEBUG, True),
    ]
    assert "button" in unknown[2].getMessage()
    assert not any("secret-looking-words" in r.getMessage() for r in caplog.records)


def intraday_buy(signal_id: str) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        strategy="quick",
        signal_id=signal_id,
    )


async def bought_intraday(desk: Desk, signal_id: str = "mis-1") -> None:
    handle = await desk.runtime.submit(intraday_buy(signal_id))
    await handle.wait(timeout=10)
    assert handle.status is OrderStatus.FILLED


def products(desk: Desk) -> dict[Product, int]:
    return {p.product: p.quantity for p in desk.runtime.desk.positions() if p.quantity}


async def test_keep_asks_then_converts_the_mis_position_on_the_button(desk: Desk) -> None:
    """/keep names the MIS position and what it would become, and converts nothing until its
    button is pressed; then the whole position is CNC at the broker and in the desk's books."""
    await bought_intraday(desk)
    telegram = desk.telegram

    question = await telegram.ask(OWNER, "/keep")
    assert products(desk) == {Product.MIS: 2}
    assert "NSE:INFY MIS +2 @1500.00 · last 1500 · +₹0.00 → CNC" in question.text
    assert [label for label, _ in question.buttons] == ["Keep NSE:INFY as CNC", "Abort"]

    answer = await telegram.choose(question, question.buttons[0][1])

    assert answer.text.startswith("Kept: BUY 2 NSE:INFY moved from MIS to CNC at the broker")
    assert products(desk) == {Product.CNC: 2}
    at_broker = await desk.runtime.desk.broker.positions()
    assert {p.product: p.quantity for p in at_broker if p.quantity} == {Product.CNC: 2}
    positions = await telegram.ask(OWNER, "/positions")
    assert "NSE:INFY CNC +2 @1500.00" in positions.text
    assert [(c.command, c.outcome) for c in desk.commands()] == [
        ("keep", "asked for confirmation"),
        ("keep", "converted: NSE:INFY 2 MIS to CNC"),
        ("positions", "answered: 2 positions"),  # the MIS line stays, at 0
    ]


async def test_keep_typed_names_lapses_and_aborts(desk: Desk) -> None:
    """/keep INSTRUMENT asks about that position only (none: says so); a confirmation after
    the window converts nothing, nor does an abort; /keep confirm in time converts it."""
    telegram = desk.telegram
    nothing = await telegram.ask(OWNER, "/keep")
    await bought_intraday(desk)
    other = await telegram.ask(OWNER, "/keep NSE:TCS")
    await telegram.ask(OWNER, "/keep nse:infy")
    desk.clock.offset += KILL_SECONDS + 1
    lapsed = await telegram.ask(OWNER, "/keep confirm")
    await telegram.ask(OWNER, "/keep")
    aborted = await telegram.ask(OWNER, "/keep abort")
    late = await telegram.ask(OWNER, "/keep confirm")
    assert products(desk) == {Product.MIS: 2}
    await telegram.ask(OWNER, "/keep NSE:INFY")
    kept = await telegram.ask(OWNER, "/keep confirm")

    assert nothing.text == "No open MIS position to keep."
    assert other.text == "No open MIS position in NSE:TCS to keep."
    assert lapsed.text.startswith(f"That /keep lapsed after {KILL_SECONDS:g} s")
    assert aborted.text == "Aborted: nothing was converted."
    assert late.text.startswith("No /keep is waiting")
    assert kept.text.startswith("Kept: BUY 2 NSE:INFY moved from MIS to CNC")
    assert products(desk) == {Product.CNC: 2}
    assert [c.outcome for c in desk.commands()] == [
        "answered: nothing to keep",
        "not converted: no such MIS position",
        "asked for confirmation",
        "not converted: the confirmation lapsed",
        "asked for confirmation",
        "aborted",
        "not converted: no question waiting",
        "asked for confirmation",
        "converted: NSE:INFY 2 MIS to CNC",
    ]


async def test_a_button_the_desk_never_made_does_nothing(desk: Desk) -> None:
    """Callback data no question of this desk's carries (a forged or mangled press) is
    answered as unknown and recorded as such, engaging and converting nothing."""
    await bought_intraday(desk)
    question = await desk.telegram.ask(OWNER, "/keep")
    mangled = question.__class__(**{**question.__dict__, "buttons": [("?", "keep:deadbeef:x")]})
    forged = await desk.telegram.choose(mangled, "keep:deadbeef:x")
    assert forged.text == "That button is not one of this desk's."
    assert products(desk) == {Product.MIS: 2}
    assert not desk.runtime.desk.kill_switch.engaged
    assert [(c.command, c.outcome) for c in desk.commands()][-1] == ("button", "unknown button")
