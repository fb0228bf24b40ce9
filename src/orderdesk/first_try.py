"""A retry block whose first attempt runs outside stamina: the retry loop is entered only
after an error it would retry.

Nearly every block succeeds at once (a placement, a command, a look), yet entering stamina's
retry context costs 21-51 µs and about 48 objects that only the cyclic garbage collector frees
(issue 14's measurements), and a placement enters two (the engine's and the Kite adapter's):
a tenth of the work that signals the daemon leaves to its collector's pauses.

The policy is unchanged. The first attempt runs bare; an error the policy would not retry
propagates from it as from stamina's first attempt. An error it would retry is handed to
stamina as its first attempt's (re-raised inside it), so stamina counts the same attempts,
waits the same waits, calls the same hooks (its retry logging) and honours its test mode and
deactivation exactly as if it had run the first attempt itself. A ``timeout`` counts from the
first attempt: stamina gets what is left of it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Protocol, Self

import stamina

On = type[Exception] | tuple[type[Exception], ...] | Callable[[Exception], bool]


class Attempt(Protocol):
    """One attempt of a retry block: run it inside ``with attempt:``."""

    def __enter__(self) -> object: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None: ...


def retries(on: On, error: BaseException) -> bool:
    """Whether stamina would retry after ``error`` under ``on`` (types, or a predicate)."""
    if not isinstance(error, Exception):
        return False
    if isinstance(on, type | tuple):
        return isinstance(error, on)
    return bool(on(error))


class _FirstAttempt:
    """The bare first attempt: keeps an error the policy retries instead of raising it."""

    __slots__ = ("error", "on")

    def __init__(self, on: On) -> None:
        self.on = on
        self.error: Exception | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if error is None or not retries(self.on, error):
            return False
        assert isinstance(error, Exception)  # retries() says so
        self.error = error
        return True


class FirstTry:
    """``async for attempt in FirstTry(...): with attempt: ...`` as with stamina's
    ``retry_context`` (same keyword arguments), the first attempt outside it.

    A class rather than an async generator: a caller that returns from inside the loop leaves
    the iterator unfinished, and asyncio finalizes an unfinished async generator with a task.
    """

    __slots__ = ("_first", "_on", "_policy", "_rest", "_started", "_timeout")

    def __init__(
        self,
        *,
        on: On,
        attempts: int | None,
        timeout: float | None,
        wait_initial: float,
        wait_max: float,
        wait_jitter: float,
    ) -> None:
        self._on = on
        self._timeout = timeout
        self._policy = (attempts, wait_initial, wait_max, wait_jitter)
        self._first: _FirstAttempt | None = None
        self._rest: AsyncIterator[stamina.Attempt] | None = None
        self._started = 0.0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Attempt:
        rest = self._rest
        if rest is not None:
            return await rest.__anext__()
        first = self._first
        if first is None:
            self._started = time.monotonic()
            first = self._first = _FirstAttempt(self._on)
            return first
        error = first.error
        if error is None:  # the first attempt succeeded: done, as stamina would be
            raise StopAsyncIteration
        first.error = None
        rest = self._rest = await self._enter_stamina(error)
        return await rest.__anext__()

    async def _enter_stamina(self, error: Exception) -> AsyncIterator[stamina.Attempt]:
        timeout = self._timeout
        if timeout is not None:
            timeout -= time.monotonic() - self._started
            if timeout <= 0:
                # stamina would stop after its first attempt, with no retry hook called.
                raise error
        attempts, wait_initial, wait_max, wait_jitter = self._policy
        rest = stamina.retry_context(
            on=self._on,
            attempts=attempts,
            timeout=timeout,
            wait_initial=wait_initial,
            wait_max=wait_max,
            wait_jitter=wait_jitter,
        ).__aiter__()
        # stamina's first attempt is the one that already failed: it records the same error
        # (as ``with attempt: raise error`` would; its attempts keep what fails), and its next
        # attempt waits and retries, or raises that error when the policy is spent.
        attempt = await rest.__anext__()
        attempt.__enter__()
        attempt.__exit__(type(error), error, error.__traceback__)
        return rest


__all__ = ["Attempt", "FirstTry", "retries"]
