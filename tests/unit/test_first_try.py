"""FirstTry: stamina's policy, its first attempt outside stamina's retry loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina
import stamina.instrumentation

from orderdesk.first_try import FirstTry, On, retries


class Flaky(Exception):
    pass


class Fatal(Exception):
    pass


@pytest.fixture(autouse=True)
def _no_waits() -> Iterator[None]:
    """stamina's test mode: its attempt counts kept, its waits zero."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
def scheduled() -> Iterator[list[int]]:
    """The retries stamina scheduled (its instrumentation hook), by attempt number."""
    seen: list[int] = []
    old = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([lambda details: seen.append(details.retry_num)])
    yield seen
    stamina.instrumentation.set_on_retry_hooks(old)


async def _run(
    outcomes: list[Exception | str],
    on: On = Flaky,
    attempts: int | None = 3,
    timeout: float | None = None,
) -> tuple[str, int]:
    """Run a block that meets ``outcomes`` in turn: its result, and how often it ran."""
    runs = 0
    async for attempt in FirstTry(
        on=on, attempts=attempts, timeout=timeout, wait_initial=0.1, wait_max=1.0, wait_jitter=0.1
    ):
        with attempt:
            outcome = outcomes[runs]
            runs += 1
            if isinstance(outcome, Exception):
                raise outcome
            return outcome, runs
    raise AssertionError("unreachable")


async def test_a_first_success_never_enters_stamina(
    monkeypatch: pytest.MonkeyPatch, scheduled: list[int]
) -> None:
    def refuse(**_: object) -> None:
        raise AssertionError("stamina entered")

    monkeypatch.setattr(stamina, "retry_context", refuse)
    assert await _run(["done"]) == ("done", 1)
    assert scheduled == []


async def test_a_retried_error_is_stamina_s_first_attempt(scheduled: list[int]) -> None:
    assert await _run([Flaky("1"), Flaky("2"), "done"]) == ("done", 3)
    # stamina scheduled a retry after the first attempt too: it saw that attempt's error.
    assert scheduled == [1, 2]


async def test_the_same_attempts_in_total_then_the_last_error() -> None:
    with pytest.raises(Flaky, match="3"):
        await _run([Flaky("1"), Flaky("2"), Flaky("3"), "never"])


async def test_one_attempt_means_the_first_error_is_raised(scheduled: list[int]) -> None:
    with pytest.raises(Flaky, match="1"):
        await _run([Flaky("1"), "never"], attempts=1)
    assert scheduled == []


async def test_an_error_not_retried_propagates_from_the_first_attempt() -> None:
    with pytest.raises(Fatal):
        await _run([Fatal(), "never"])


async def test_an_error_not_retried_after_a_retry_propagates() -> None:
    with pytest.raises(Fatal):
        await _run([Flaky(), Fatal(), "never"])


async def test_a_predicate_decides_like_stamina_s() -> None:
    def transient(error: Exception) -> bool:
        return "transient" in str(error)

    assert await _run([Flaky("transient"), "done"], on=transient) == ("done", 2)
    with pytest.raises(Flaky, match="lasting"):
        await _run([Flaky("lasting"), "never"], on=transient)


async def test_a_timeout_already_spent_by_the_first_attempt_raises_its_error() -> None:
    with pytest.raises(Flaky, match="1"):
        await _run([Flaky("1"), "never"], attempts=None, timeout=1e-9)


async def test_stamina_switched_off_retries_nothing() -> None:
    stamina.set_active(False)
    try:
        with pytest.raises(Flaky, match="1"):
            await _run([Flaky("1"), "never"])
    finally:
        stamina.set_active(True)


@pytest.mark.parametrize(
    ("on", "error", "expected"),
    [
        (Flaky, Flaky(), True),
        (Flaky, Fatal(), False),
        ((Fatal, Flaky), Flaky(), True),
        (lambda e: isinstance(e, Fatal), Flaky(), False),
    ],
)
def test_retries_reads_on_as_stamina_does(on: On, error: Exception, expected: bool) -> None:
    assert retries(on, error) is expected
