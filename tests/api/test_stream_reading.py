"""The desk's one rule for reading its broker stream (orderdesk.api.desk.stream_reading), which
the doctor, `orderdesk status` and the bot's /status each word their own way. Restarted before
the morning login, a desk read its dropped socket as "not connected: the desk polls the order
book" (doctor) and "DISCONNECTED" (status), with a refused token that could poll nothing."""

from __future__ import annotations

import pytest

from orderdesk.api.desk import StreamReading, stream_reading


@pytest.mark.parametrize("connected", [True, False])
def test_without_a_usable_session_the_stream_is_idle_whatever_the_socket(connected: bool) -> None:
    assert stream_reading(connected, session_usable=False) is StreamReading.IDLE


def test_with_a_usable_session_the_socket_says_it() -> None:
    assert stream_reading(True, session_usable=True) is StreamReading.CONNECTED
    assert stream_reading(False, session_usable=True) is StreamReading.DOWN


@pytest.mark.parametrize("usable", [True, False])
def test_a_broker_without_a_stream_has_none_session_or_not(usable: bool) -> None:
    assert stream_reading(None, session_usable=usable) is StreamReading.NONE
