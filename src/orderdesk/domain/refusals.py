"""A refused command or broker update in a trader's words, not the state machine's.

:class:`~orderdesk.domain.errors.InvalidTransition` names the edge it could not take
(``CANCELLED -> REQUEST_CANCEL``): exact, and what the tests and the log's reader of last resort
need, but not what a person who typed ``orderdesk cancel`` twice should read. Whatever a person
sees — an API answer, the CLI, an alert, the dashboard — goes through :func:`describe_refusal`,
which says where the order is and what that means for the request::

    order od3k… is already cancelled; nothing to cancel
    order od3k… is filled; it cannot be modified

The phrases follow the order's id: ``f"order {order_id} {describe_refusal(error)}"``.
"""

from __future__ import annotations

from orderdesk.domain.errors import InvalidTransition
from orderdesk.domain.status import BrokerStatus, OrderStatus, Trigger

_WHERE: dict[OrderStatus, str] = {
    OrderStatus.INITIALIZED: "not sent to the broker yet",
    OrderStatus.SUBMITTING: "still being sent to the broker",
    OrderStatus.SUBMIT_UNKNOWN: "being looked up at the broker (its placement's outcome is "
    "unknown)",
    OrderStatus.ACCEPTED: "accepted by the broker",
    OrderStatus.TRIGGER_PENDING: "waiting for its trigger",
    OrderStatus.OPEN: "open",
    OrderStatus.PARTIALLY_FILLED: "partly filled",
    OrderStatus.MODIFY_PENDING: "waiting for the broker to answer a modification",
    OrderStatus.CANCEL_PENDING: "already being cancelled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELLED: "already cancelled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.LAPSED: "lapsed (its trading day ended)",
}
"""Where the order is, as the end of "order od… is …"."""

_NOT_AT_BROKER = frozenset(
    {OrderStatus.INITIALIZED, OrderStatus.SUBMITTING, OrderStatus.SUBMIT_UNKNOWN}
)
_FINISHED = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.LAPSED}
)

_REPORTED: dict[str, str] = {
    Trigger.BROKER_ACCEPTED.value: "accepted",
    Trigger.BROKER_TRIGGER_PENDING.value: "waiting for its trigger",
    Trigger.BROKER_OPENED.value: "open",
    Trigger.BROKER_PARTIALLY_FILLED.value: "partly filled",
    Trigger.BROKER_FILLED.value: "filled",
    Trigger.BROKER_CANCELLED.value: "cancelled",
    Trigger.BROKER_REJECTED.value: "rejected",
    BrokerStatus.RECEIVED.value: "received",
    BrokerStatus.TRIGGER_PENDING.value: "waiting for its trigger",
    BrokerStatus.OPEN.value: "open",
    BrokerStatus.MODIFIED.value: "modified",
    BrokerStatus.COMPLETE.value: "filled",
    BrokerStatus.CANCELLED.value: "cancelled",
    BrokerStatus.REJECTED.value: "rejected",
}
"""What a broker report said, for the updates the order refused (triggers and raw statuses)."""

_ENGINE_STEP: dict[str, str] = {
    Trigger.SUBMIT.value: "sending it",
    Trigger.RESUBMIT.value: "sending it again",
    Trigger.SUBMIT_UNKNOWN.value: "marking its placement unknown",
    Trigger.SUBMIT_REJECTED.value: "recording a refused placement",
    Trigger.MODIFY_ACCEPTED.value: "recording a modification",
    Trigger.MODIFY_REJECTED.value: "recording a refused modification",
    Trigger.CANCEL_REJECTED.value: "recording a refused cancel",
    Trigger.SESSION_REFUSED.value: "deferring it to the next login",
    Trigger.DAY_ENDED.value: "lapsing it",
}


def describe_refusal(error: InvalidTransition) -> str:
    """What ``error`` means for the order, as the rest of "order od… …" (see the module)."""
    try:
        status = OrderStatus(error.source)
    except ValueError:
        return _with_detail(f"refused an update ({error.source}, {error.trigger})", error.detail)
    where = _WHERE[status]
    if error.trigger == Trigger.REQUEST_CANCEL:
        return f"is {where}; {_why_no_cancel(status)}"
    if error.trigger == Trigger.REQUEST_MODIFY:
        return f"is {where}; {_why_no_modify(status)}"
    if error.trigger == "FILL":
        return _with_detail(
            f"is {where}; a trade the broker reported was not applied", error.detail
        )
    reported = _REPORTED.get(error.trigger)
    if reported is not None:
        return _with_detail(
            f"is {where}; the broker's report that it is {reported} was not applied", error.detail
        )
    step = _ENGINE_STEP.get(error.trigger, "that step")
    return _with_detail(f"is {where}; {step} does not apply", error.detail)


def _why_no_cancel(status: OrderStatus) -> str:
    if status in _FINISHED:
        return "nothing to cancel"
    if status is OrderStatus.CANCEL_PENDING:
        return "wait for the broker's answer"
    if status is OrderStatus.MODIFY_PENDING:
        return "cancel it once the broker has answered"
    if status in _NOT_AT_BROKER:
        return "cancel it once the broker has it"
    return "it cannot be cancelled now"


def _why_no_modify(status: OrderStatus) -> str:
    if status in _FINISHED or status is OrderStatus.CANCEL_PENDING:
        return "it cannot be modified"
    if status is OrderStatus.MODIFY_PENDING:
        return "send the next change once the broker has answered"
    if status in _NOT_AT_BROKER:
        return "modify it once the broker has it"
    return "it cannot be modified now"


def _with_detail(text: str, detail: str) -> str:
    return f"{text} ({detail})" if detail else text


__all__ = ["describe_refusal"]
