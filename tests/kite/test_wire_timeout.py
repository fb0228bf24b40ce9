"""``Origin.request(..., timeout=)``: the total timeout the REST send path relies on, bounding
the wait for a free connection, the connect and the reply, as ``asyncio.timeout`` did around
the call. Against raw loopback servers (:mod:`tests.kite.test_wire`), on asyncio and uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from orderdesk.wire import Origin, Reply
from tests.kite.test_wire import HEADERS, OK, Request, Server, ok, serving
from tests.support import eventually

TIMEOUT = 0.2
EARLY = 0.005
"""How much earlier than its deadline a timeout may be seen to end: uvloop keeps time and
timers in whole milliseconds, and float subtraction may lose the last bit."""


def silent_until(gate: asyncio.Event) -> Callable[[Request, asyncio.StreamWriter], Awaitable[None]]:
    """An answer that holds the request until ``gate`` is set (never, if nobody sets it)."""

    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await gate.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")

    return answer


async def a_reply_on_a_kept_alive_connection(server: Server) -> None:
    """The second exchange on a warm connection never gets its reply: TimeoutError once the
    timeout has passed, that connection is dropped, and the next request opens another."""
    server.answers = [ok, silent_until(asyncio.Event()), ok]
    pool = Origin(server.root, connect_timeout=1.0)
    try:
        assert (await pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT)).body == OK
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT)
        assert loop.time() - started >= TIMEOUT - EARLY
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0  # the caller's task is left as it was
        assert pool.connections_opened == 0
        assert (await pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT)).body == OK
        assert [r.connection for r in server.requests] == [0, 0, 1]
    finally:
        await pool.close()


async def the_wait_for_a_connection(server: Server) -> None:
    """Every connection busy: a request that cannot get one within its timeout ends in
    TimeoutError without being sent, and the busy exchange is untouched."""
    gate = asyncio.Event()
    server.answers = [silent_until(gate), ok]
    pool = Origin(server.root, connect_timeout=1.0, max_connections=1)
    busy = asyncio.create_task(pool.request("GET", "/orders", HEADERS, timeout=30.0))
    try:
        await eventually(lambda: server.requests, what="the busy request holds the connection")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT)
        assert loop.time() - started >= TIMEOUT - EARLY
        assert len(server.requests) == 1
        assert not busy.done()
        gate.set()
        assert (await busy).body == b"late"
        assert (await pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT)).body == OK
        assert [r.connection for r in server.requests] == [0, 0]
    finally:
        gate.set()
        await pool.close()
        await asyncio.gather(busy, return_exceptions=True)  # settled here, whatever failed


async def shorter_timeouts_sent_later(server: Server) -> None:
    """Exchanges in flight at once, each with its own timeout: each ends at its own deadline,
    a shorter one sent later before a longer one sent first, and one without a deadline in
    reach still gets its reply."""
    gate = asyncio.Event()
    server.answers = [silent_until(gate), silent_until(asyncio.Event())]
    pool = Origin(server.root, connect_timeout=1.0)
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[Reply]] = []
    try:
        for path, timeout in (("/a", 30.0), ("/b", 3 * TIMEOUT), ("/c", TIMEOUT)):
            tasks.append(asyncio.create_task(pool.request("GET", path, HEADERS, timeout=timeout)))
            await eventually(lambda: len(server.requests) == len(tasks), what=f"{path} was read")
        longest, longer, short = tasks
        sent = loop.time()
        with pytest.raises(TimeoutError):
            await short
        assert not longer.done()
        with pytest.raises(TimeoutError):
            await longer
        assert loop.time() - sent >= 2 * TIMEOUT - EARLY  # longer was sent before ``sent``
        assert not longest.done()
        gate.set()
        assert (await longest).body == b"late"
    finally:
        gate.set()
        await pool.close()
        await asyncio.gather(*tasks, return_exceptions=True)


async def a_cancelled_exchange(server: Server) -> None:
    """Cancelled while its reply is awaited, under a timeout: CancelledError (never turned into
    TimeoutError), the connection dropped, the pool usable."""
    server.answers = [ok, silent_until(asyncio.Event()), ok]
    pool = Origin(server.root, connect_timeout=1.0)
    try:
        assert (await pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT)).body == OK
        hung = asyncio.create_task(pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT))
        await eventually(lambda: len(server.requests) == 2, what="the request was read")
        hung.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hung
        assert pool.connections_opened == 0
        assert (await pool.request("GET", "/orders", HEADERS, timeout=TIMEOUT)).body == OK
    finally:
        await pool.close()


SCENARIOS = [
    a_reply_on_a_kept_alive_connection,
    the_wait_for_a_connection,
    shorter_timeouts_sent_later,
    a_cancelled_exchange,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda fn: fn.__name__)
async def test_the_timeout_bounds(scenario: Callable[[Server], Awaitable[None]]) -> None:
    async with serving() as server:
        await scenario(server)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda fn: fn.__name__)
def test_the_timeout_bounds_on_uvloop(scenario: Callable[[Server], Awaitable[None]]) -> None:
    async def run() -> None:
        async with serving() as server:
            await scenario(server)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())
