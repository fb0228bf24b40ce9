"""Refusals in a trader's words: every edge the state machine refuses has a sentence without
the machine's own names in it."""

from __future__ import annotations

import pytest

from orderdesk.domain.errors import InvalidTransition
from orderdesk.domain.refusals import describe_refusal
from orderdesk.domain.status import TRANSITIONS, BrokerStatus, OrderStatus, Trigger

REFUSED = [
    (status, trigger)
    for status in OrderStatus
    for trigger in Trigger
    if (status, trigger) not in TRANSITIONS
]


@pytest.mark.parametrize(("status", "trigger"), REFUSED)
def test_every_refused_edge_reads_without_state_machine_names(
    status: OrderStatus, trigger: Trigger
) -> None:
    """No refused (state, trigger) pair is described with an arrow or a trigger's name."""
    text = describe_refusal(InvalidTransition(status.value, trigger.value))
    assert "->" not in text
    assert trigger.value not in text
    assert text.startswith("is ")


@pytest.mark.parametrize(
    ("status", "trigger", "expected"),
    [
        (OrderStatus.CANCELLED, Trigger.REQUEST_CANCEL, "is already cancelled; nothing to cancel"),
        (OrderStatus.FILLED, Trigger.REQUEST_CANCEL, "is filled; nothing to cancel"),
        (OrderStatus.FILLED, Trigger.REQUEST_MODIFY, "is filled; it cannot be modified"),
        (
            OrderStatus.CANCEL_PENDING,
            Trigger.REQUEST_CANCEL,
            "is already being cancelled; wait for the broker's answer",
        ),
        (
            OrderStatus.SUBMITTING,
            Trigger.REQUEST_CANCEL,
            "is still being sent to the broker; cancel it once the broker has it",
        ),
    ],
)
def test_commands_on_an_order_that_cannot_take_them(
    status: OrderStatus, trigger: Trigger, expected: str
) -> None:
    """A cancel or modify the order's state rules out says where the order is and what follows."""
    assert describe_refusal(InvalidTransition(status.value, trigger.value)) == expected


def test_a_contradicting_broker_report_names_what_the_broker_said() -> None:
    """A broker report the order refuses is described by what it said, with its detail."""
    error = InvalidTransition(
        OrderStatus.OPEN.value, BrokerStatus.COMPLETE.value, "COMPLETE with 5 of 10 filled"
    )
    assert describe_refusal(error) == (
        "is open; the broker's report that it is filled was not applied "
        "(COMPLETE with 5 of 10 filled)"
    )
