"""What the bot's commands do, free of Telegram: text in, a :class:`Reply` out, every command
written to the audit log.

:class:`DeskCommands` drives the desk through the operations the HTTP API uses (the
:class:`BotDesk` subset of the API's ``DeskService``, and the approval queue), so a kill switch
engaged from a phone is the same ``KillSwitchChanged`` the dashboard's button writes, and an
approval places its order through the same queue. On top, each command is recorded as an
``OperatorCommandHandled`` event naming its actor (``telegram:<chat id>``) and its outcome.

``/kill`` is two steps: it asks, and only a confirmation within ``[telegram]
kill_confirm_seconds`` (a button, or ``/kill confirm``) engages the switch. A confirmation
belongs to its chat and to that one question (a nonce in the buttons), so an old keyboard or a
retyped confirmation after the window does nothing. Questions live in memory only: a desk that
restarts forgets them, and a confirmation Telegram delivers again after a restart lapses.
*Engage and cancel* cancels the open orders but the protective ones (a cover order's stop leg,
the desk's own exit in progress, a stop that can only reduce a position:
:mod:`orderdesk.domain.protection`), which stay working;
the answer lists each one kept and why.

``/keep`` (keep an intraday position past the square-off, as the dashboard's Keep) is two steps
the same way, within the same window: it names the MIS positions it would convert to CNC (NRML
for derivatives), one button each, and only a press (or ``/keep confirm`` when it named one)
converts that position, all of it, at the broker.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from orderdesk.api.desk import (
    KillSwitchState,
    SessionStatus,
    StreamReading,
    health_word,
    stream_reading,
)
from orderdesk.api.schemas import OrderOut, order_out
from orderdesk.approvals import ApprovalQueue
from orderdesk.doctor import Check, Diagnosis, failed
from orderdesk.domain.calendar import IST
from orderdesk.domain.conversion import PositionConversion, carry_product
from orderdesk.domain.day import PositionSnapshot
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position
from orderdesk.domain.status import IN_FLIGHT, TERMINAL
from orderdesk.domain.values import InstrumentKey, Product
from orderdesk.errors import OrderDeskError
from orderdesk.ports.broker import ConnectionState
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.redaction import redact
from orderdesk.telegram import render

log = logging.getLogger(__name__)

ACTOR_PREFIX = "telegram:"
MAX_ARGUMENT = 100
"""Characters of a command's argument kept in the audit log (an approval id is 14)."""


class BotDesk(Protocol):
    """The part of the API's ``DeskService`` the bot uses (``EngineDesk`` provides it)."""

    def orders(self) -> Sequence[Order]: ...

    def children(self, order_id: str) -> Sequence[Order]: ...

    def order(self, order_id: str) -> Order: ...

    def positions(self) -> Sequence[Position]: ...

    def day_positions(self) -> Sequence[PositionSnapshot]: ...

    def kill_switch(self) -> KillSwitchState: ...

    async def set_kill_switch(
        self, engaged: bool, reason: str, *, cancel_open: bool = False
    ) -> KillSwitchState: ...

    def broker_connection(self) -> ConnectionState | None: ...

    def session(self) -> SessionStatus: ...

    def event_log_problem(self) -> str | None: ...

    def reconciliation_failing(self) -> Check | None: ...

    def trading_day(self) -> date | None: ...

    async def doctor(self) -> Diagnosis:
        """The pre-flight of ``orderdesk doctor`` and ``GET /api/doctor``."""

    async def convert_position(
        self,
        instrument: InstrumentKey,
        old: Product,
        new: Product,
        *,
        quantity: int | None,
        overnight: bool,
    ) -> PositionConversion:
        """What ``POST /api/positions/convert`` does."""


class RecordCommand(Protocol):
    """Writes one ``OperatorCommandHandled`` (``OrderDesk.record_command``)."""

    async def __call__(
        self, operator: str, command: str, outcome: str, params: str = ""
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str
    """What Telegram sends back when it is pressed (at most 64 bytes)."""


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    outcome: str
    """The audit log's words for what the command did."""
    buttons: tuple[Button, ...] = ()
    """Shown one a row under the message."""


@dataclass(slots=True)
class _Question:
    """A ``/kill`` or ``/keep`` waiting for its confirmation in one chat."""

    nonce: str
    deadline: float
    positions: tuple[InstrumentKey, ...] = ()
    """``/keep``: the MIS positions offered, in the order of the buttons."""


@dataclass(frozen=True, slots=True)
class _Asked:
    """How a two-step command words the answers that do nothing."""

    command: str
    undone: str
    """What did not happen: "engaged", "converted"."""
    aborted: str


_KILL = _Asked("kill", "engaged", "Aborted: the kill switch was not touched.")
_KEEP = _Asked("keep", "converted", "Aborted: nothing was converted.")


@dataclass(frozen=True, slots=True)
class _Command:
    run: Callable[[DeskCommands, int, str], Awaitable[Reply]]
    """(commands, chat id, argument) → reply."""
    help: str


class DeskCommands:
    """The bot's commands over a running desk; one instance serves every allowed chat."""

    def __init__(
        self,
        desk: BotDesk,
        approvals: ApprovalQueue,
        record: RecordCommand,
        *,
        clock: Clock | None = None,
        kill_confirm_seconds: float = 30.0,
    ) -> None:
        self._desk = desk
        self._approvals = approvals
        self._record = record
        self._clock: Clock = clock or SystemClock()
        self._kill_seconds = kill_confirm_seconds
        self._kills: dict[int, _Question] = {}
        self._keeps: dict[int, _Question] = {}

    @staticmethod
    def menu() -> list[tuple[str, str]]:
        """(command, description) for Telegram's command menu."""
        return [(name, command.help) for name, command in _COMMANDS.items() if command.help]

    async def handle(self, chat_id: int, text: str) -> Reply:
        """Answer one message of an allowed chat; commands are recorded, other text is not."""
        if not text.startswith("/"):
            return Reply(_help_text(), outcome="")
        # One line of printable text, as the API holds a reason to: a chat message may carry
        # newlines (a forged log line) or a terminal's escape codes into the log and a reason.
        text = render.one_line(text)
        head, _, argument = text.partition(" ")
        # "/status@orderdesk_bot" in a group names the bot; the name is not part of the command.
        typed = head[1:].partition("@")[0]
        command = _COMMANDS.get(typed.lower())
        actor = actor_of(chat_id)
        if command is None:
            # Kept as typed: the log shows what the chat sent (redacted in any letter case).
            reply = Reply(f"Unknown command /{typed}.\n\n{_help_text()}", outcome="unknown command")
            return await self._recorded(actor, typed, reply, argument)
        reply = await self._guarded(command.run(self, chat_id, argument.strip()))
        return await self._recorded(actor, typed.lower(), reply, argument)

    async def choose(self, chat_id: int, data: str) -> Reply:
        """Answer a button press (``kill:<nonce>:<choice>``, ``keep:<nonce>:<n>``); recorded
        like the command typed with that choice."""
        kind, _, rest = data.partition(":")
        nonce, _, choice = rest.partition(":")
        actor = actor_of(chat_id)
        if kind == "kill" and choice in _KILL_CHOICES:
            reply = await self._guarded(self._answer_kill(chat_id, choice, nonce))
        elif kind == "keep" and (choice == "abort" or choice.isdigit()):
            reply = await self._guarded(self._answer_keep(chat_id, choice, nonce))
        else:
            reply = Reply("That button is not one of this desk's.", outcome="unknown button")
            kind = "button"  # not a command of the desk's: recorded under a word of its own
        return await self._recorded(actor, kind, reply, choice)

    # -- the commands --------------------------------------------------------------------------

    async def status(self, chat_id: int, argument: str) -> Reply:
        desk = self._desk
        orders = self._shown()
        kill = desk.kill_switch()
        session = desk.session()
        connection = desk.broker_connection()
        log_problem = desk.event_log_problem()
        reconciliation = desk.reconciliation_failing()
        state = health_word(
            connection, session, log_problem, reconciliation_fails=failed(reconciliation)
        ).upper()
        # The day's figures as every surface reads them (a closed day: as its close recorded).
        pnl = sum((p.pnl for p in desk.day_positions()), start=Decimal(0))
        day = desk.trading_day()
        lines = [
            f"Desk {state}",
            f"kill switch: {'ENGAGED (' + kill.reason + ')' if kill.engaged else 'off'}",
            f"broker session: {_session_words(session)}",
            f"broker stream: {_stream_words(connection, session.usable)}",
            f"orders: {sum(1 for o in orders if o.status not in TERMINAL)} open, "
            f"{sum(1 for o in orders if o.status in IN_FLIGHT)} awaiting the broker, "
            f"{len(orders)} today",
            f"awaiting approval: {len(self._approvals.pending())}",
            f"P&L today: {render.money(pnl)}",
        ]
        if day is not None:
            lines.append(f"trading day: {day:%a %d %b %Y}")
        if reconciliation is not None:
            lines.insert(1, f"reconciliation {reconciliation.summary}")
        if log_problem is not None:
            lines.insert(1, f"event log cannot be written: {log_problem}; signals are refused")
        return Reply("\n".join(lines), outcome=f"answered: {state.lower()}")

    async def orders(self, chat_id: int, argument: str) -> Reply:
        orders = self._shown()
        return Reply(render.orders_text(orders), outcome=f"answered: {len(orders)} orders")

    def _shown(self) -> list[OrderOut]:
        """Today's orders as the API shows them (a sliced parent through its children)."""
        return [order_out(self._desk, order) for order in self._desk.orders()]

    async def positions(self, chat_id: int, argument: str) -> Reply:
        positions = self._desk.day_positions()
        return Reply(
            render.positions_text(positions), outcome=f"answered: {len(positions)} positions"
        )

    async def pnl(self, chat_id: int, argument: str) -> Reply:
        return Reply(render.pnl_text(self._desk.day_positions()), outcome="answered")

    async def pending(self, chat_id: int, argument: str) -> Reply:
        items = self._approvals.pending()
        return Reply(
            render.pending_text(items, self._clock.now()),
            outcome=f"answered: {len(items)} pending",
        )

    async def approve(self, chat_id: int, argument: str) -> Reply:
        approval_id = argument.split()[0] if argument else ""
        if not approval_id:
            return await self.pending(chat_id, argument)
        order = await self._approvals.approve(approval_id)
        return Reply(
            f"Approved {approval_id}: {render.order_line(order_out(self._desk, order))}",
            outcome=f"approved: order {order.order_id}",
        )

    async def reject(self, chat_id: int, argument: str) -> Reply:
        approval_id, _, reason = argument.partition(" ")
        if not approval_id:
            return await self.pending(chat_id, argument)
        item = self._approvals.reject(
            approval_id, reason.strip() or f"rejected from Telegram ({actor_of(chat_id)})"
        )
        return Reply(f"Rejected {approval_id}: {item.reason}", outcome="rejected")

    async def doctor(self, chat_id: int, argument: str) -> Reply:
        diagnosis = await self._desk.doctor()
        verdict = "ready" if diagnosis.ready else "not ready"
        return Reply(render.doctor_text(diagnosis), outcome=f"answered: {verdict}")

    async def help(self, chat_id: int, argument: str) -> Reply:
        return Reply(_help_text(), outcome="answered")

    async def kill(self, chat_id: int, argument: str) -> Reply:
        word, _, rest = argument.lower().partition(" ")
        if word in ("confirm", "abort"):
            # Typed, the answer goes to the question this chat has open, if any.
            question = self._kills.get(chat_id)
            choice = "abort" if word == "abort" else "engage"
            if word == "confirm" and rest.strip() == "cancel":
                choice = "cancel"
            return await self._answer_kill(chat_id, choice, question.nonce if question else None)
        nonce = secrets.token_hex(4)
        self._kills[chat_id] = _Question(nonce, self._clock.monotonic() + self._kill_seconds)
        open_orders = sum(1 for order in self._shown() if order.status not in TERMINAL)
        seconds = f"{self._kill_seconds:g}"
        current = self._desk.kill_switch()
        ask = (
            f"The kill switch is already engaged ({current.reason}); confirming keeps it so "
            "and can cancel the open orders."
            if current.engaged
            else "Engage the kill switch? The desk will refuse every new order until it is "
            "released (from the dashboard or the CLI)."
        )
        # Which orders are protective is judged when the cancel runs, against the positions
        # of that moment: the question counts them all and says which kind stays.
        text = (
            f"{ask}\n"
            f"Open orders now: {open_orders}.\n"
            f"Confirm within {seconds} s with a button, or send /kill confirm "
            "(/kill confirm cancel also cancels the open orders, except the protective "
            "ones: a cover order's stop leg, the desk's own exit in progress, a stop that can "
            "only reduce a position)."
        )
        return Reply(
            text,
            outcome="asked for confirmation",
            buttons=(
                Button("Engage kill switch", f"kill:{nonce}:engage"),
                Button(_CANCEL_LABEL, f"kill:{nonce}:cancel"),
                Button("Abort", f"kill:{nonce}:abort"),
            ),
        )

    async def keep(self, chat_id: int, argument: str) -> Reply:
        word = argument.split()[0] if argument else ""
        if word.lower() in ("confirm", "abort"):
            question = self._keeps.get(chat_id)
            if word.lower() == "abort":
                return await self._answer_keep(
                    chat_id, "abort", question.nonce if question else None
                )
            if question is not None and len(question.positions) > 1:
                return Reply(
                    "Which one? Press its button, or send /keep INSTRUMENT.",
                    outcome="not converted: more than one position offered",
                )
            return await self._answer_keep(chat_id, "0", question.nonce if question else None)
        intraday = {
            p.instrument: p
            for p in self._desk.positions()
            if p.product is Product.MIS and p.quantity != 0
        }
        if word:
            wanted = InstrumentKey.parse(word.upper())
            if wanted not in intraday:
                return Reply(
                    f"No open MIS position in {wanted} to keep.",
                    outcome="not converted: no such MIS position",
                )
            intraday = {wanted: intraday[wanted]}
        if not intraday:
            return Reply("No open MIS position to keep.", outcome="answered: nothing to keep")
        offered = tuple(intraday)
        nonce = secrets.token_hex(4)
        deadline = self._clock.monotonic() + self._kill_seconds
        self._keeps[chat_id] = _Question(nonce, deadline, offered)
        lines = [
            f"{render.position_line(PositionSnapshot.of(intraday[i]))} → {carry_product(i)}"
            for i in offered
        ]
        one = len(offered) == 1
        text = (
            "Keep past the square-off? The broker converts the whole position; no order is "
            "placed.\n"
            + "\n".join(lines[: render.MAX_LINES])
            + f"\nConfirm within {self._kill_seconds:g} s with "
            + ("a button, or send /keep confirm." if one else "its button.")
        )
        buttons = tuple(
            Button(f"Keep {i} as {carry_product(i)}", f"keep:{nonce}:{n}")
            for n, i in enumerate(offered[: render.MAX_LINES])
        )
        return Reply(
            text,
            outcome="asked for confirmation",
            buttons=(*buttons, Button("Abort", f"keep:{nonce}:abort")),
        )

    # -- the steps -----------------------------------------------------------------------------

    async def _recorded(self, actor: str, command: str, reply: Reply, argument: str) -> Reply:
        """Write the command to the audit log, then hand back its reply. Both are redacted: an
        error's text can quote what the chat sent, and a chat can send anything."""
        clean = Reply(render.clip(redact(reply.text)), redact(reply.outcome), reply.buttons)
        # An unknown command's name is the chat's own text, as its argument is.
        await self._record(actor, _kept(command), clean.outcome, _kept(argument))
        return clean

    async def _guarded(self, answer: Awaitable[Reply]) -> Reply:
        """The desk's refusals become the reply; anything else is logged and said plainly."""
        try:
            return await answer
        except OrderDeskError as exc:
            return Reply(f"Refused: {exc}", outcome=f"refused: {exc}")
        except Exception as exc:
            log.exception("telegram command failed")
            return Reply(
                "Failed: the desk hit an internal error (its log has the details).",
                outcome=f"failed: {type(exc).__name__}",
            )

    def _confirmed(
        self,
        questions: dict[int, _Question],
        chat_id: int,
        choice: str,
        nonce: str | None,
        asked: _Asked,
    ) -> _Question | Reply:
        """The chat's question this answer confirms in time, or the reply that does nothing
        (no such question, an abort, a late answer); any answer closes the question."""
        question = questions.get(chat_id)
        command = f"/{asked.command}"
        if question is None or nonce is None or question.nonce != nonce:
            if choice == "abort":
                return Reply(
                    f"Nothing to abort: no {command} is waiting.", outcome="nothing to abort"
                )
            return Reply(
                f"No {command} is waiting for this confirmation (it lapsed, was answered, or the "
                f"desk restarted). Nothing was {asked.undone}; send {command} again.",
                outcome=f"not {asked.undone}: no question waiting",
            )
        del questions[chat_id]
        if choice == "abort":
            return Reply(asked.aborted, outcome="aborted")
        if self._clock.monotonic() > question.deadline:
            return Reply(
                f"That {command} lapsed after {self._kill_seconds:g} s: nothing was "
                f"{asked.undone}. Send {command} again.",
                outcome=f"not {asked.undone}: the confirmation lapsed",
            )
        return question

    async def _answer_kill(self, chat_id: int, choice: str, nonce: str | None) -> Reply:
        confirmed = self._confirmed(self._kills, chat_id, choice, nonce, _KILL)
        if isinstance(confirmed, Reply):
            return confirmed
        cancel_open = choice == "cancel"
        current = self._desk.kill_switch()
        # Engaged already (the loss limit, the dashboard): its reason stays the one on record.
        reason = (
            current.reason if current.engaged else f"engaged from Telegram ({actor_of(chat_id)})"
        )
        state = await self._desk.set_kill_switch(True, reason, cancel_open=cancel_open)
        lines = ["Kill switch ENGAGED: the desk refuses every new order."]
        outcome = "kill switch engaged"
        if cancel_open:
            if state.kept:
                # First: a long answer is clipped at its end, and these are what stays working.
                kept = [f"{k.order_id}: {k.reason}" for k in state.kept]
                title = f"Kept {len(kept)} protective orders working:"
                lines.append(render.listing(title, kept, ""))
            lines.append(f"Cancels sent for {len(state.cancelled)} open orders.")
            lines += state.cancelled[: render.MAX_LINES]
            outcome += f", cancels sent for {len(state.cancelled)} open orders"
            if state.kept:
                outcome += f", {len(state.kept)} protective orders kept"
        text = "\n".join(lines)
        return Reply(text, outcome=outcome)

    async def _answer_keep(self, chat_id: int, choice: str, nonce: str | None) -> Reply:
        question = self._confirmed(self._keeps, chat_id, choice, nonce, _KEEP)
        if isinstance(question, Reply):
            return question
        index = int(choice)
        if index >= len(question.positions):
            return Reply("That button is not one of this desk's.", outcome="unknown button")
        instrument = question.positions[index]
        target = carry_product(instrument)
        made = await self._desk.convert_position(
            instrument, Product.MIS, target, quantity=None, overnight=False
        )
        text = (
            f"Kept: {made.side.value} {made.quantity} {instrument} moved from MIS to {target} at "
            "the broker; the square-off will not close it."
        )
        return Reply(text, outcome=f"converted: {instrument} {made.quantity} MIS to {target}")


def actor_of(chat_id: int) -> str:
    """Who a chat is in the audit log."""
    return f"{ACTOR_PREFIX}{chat_id}"


def _kept(argument: str) -> str:
    # The log keeps a bounded copy of what came with a command.
    return redact(argument.strip())[:MAX_ARGUMENT]


_KILL_CHOICES = frozenset({"engage", "cancel", "abort"})
_CANCEL_LABEL = "Engage and cancel open orders (exits and protective stops stay)"

_COMMANDS: dict[str, _Command] = {
    "status": _Command(DeskCommands.status, "the desk at a glance"),
    "orders": _Command(DeskCommands.orders, "today's orders, open ones first"),
    "positions": _Command(DeskCommands.positions, "positions with P&L"),
    "pnl": _Command(DeskCommands.pnl, "the day's P&L, realised and open"),
    "pending": _Command(DeskCommands.pending, "signals awaiting approval"),
    "approve": _Command(DeskCommands.approve, "approve a parked signal: /approve ID"),
    "reject": _Command(DeskCommands.reject, "reject a parked signal: /reject ID [reason]"),
    "kill": _Command(DeskCommands.kill, "engage the kill switch (asks to confirm)"),
    "keep": _Command(
        DeskCommands.keep, "keep an MIS position past the square-off (asks to confirm)"
    ),
    "doctor": _Command(DeskCommands.doctor, "the pre-flight: can the desk trade now?"),
    "help": _Command(DeskCommands.help, "this list"),
    "start": _Command(DeskCommands.help, ""),
}


def _help_text() -> str:
    lines = ["orderdesk commands:"]
    lines += [f"/{name}: {text}" for name, text in DeskCommands.menu()]
    return "\n".join(lines)


def _session_words(session: SessionStatus) -> str:
    """``valid, until 08 Dec 06:00 IST``; ``expired at 08 Dec 06:00 IST``: an expiry passed is
    no longer "until"."""
    if session.expires_at is None:
        return session.state
    moment = f"{session.expires_at.astimezone(IST):%d %b %H:%M} IST"
    return f"{session.state}, until {moment}" if session.usable else f"{session.state} at {moment}"


def _stream_words(connection: ConnectionState | None, session_usable: bool) -> str:
    """The stream as a person reads it (the desk's one rule, stream_reading): without a usable
    session it carries nothing, open or not."""
    connected = None if connection is None else connection is ConnectionState.CONNECTED
    reading = stream_reading(connected, session_usable)
    if reading is StreamReading.NONE:
        return "none (no stream)"
    if reading is StreamReading.IDLE:
        return "idle (the session has ended)"
    return str(connection)


__all__ = [
    "ACTOR_PREFIX",
    "BotDesk",
    "Button",
    "DeskCommands",
    "RecordCommand",
    "Reply",
    "actor_of",
]
